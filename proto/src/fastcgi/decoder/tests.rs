use super::*;
use crate::fastcgi::{ProtocolStatus, Role};
use proptest::prelude::*;

fn decode_all(decoder: &mut Decoder) -> Vec<Record> {
    let mut records = Vec::new();
    while let Some(record) = decoder.decode().unwrap() {
        records.push(record);
    }
    records
}

#[test]
fn begin_request_from_literal_bytes() {
    let mut decoder = Decoder::new();
    decoder.feed(&[1, 1, 0, 1, 0, 8, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]);
    assert_eq!(
        decoder.decode().unwrap(),
        Some(Record::BeginRequest { request_id: 1, role: Role::Responder, flags: 1 })
    );
    assert_eq!(decoder.decode().unwrap(), None);
    assert_eq!(decoder.pending(), 0);
}

#[test]
fn padding_is_skipped() {
    let mut decoder = Decoder::new();
    decoder.feed(&[1, 5, 0, 1, 0, 2, 6, 0, b'h', b'i', 9, 9, 9, 9, 9, 9]);
    assert_eq!(decoder.decode().unwrap(), Some(Record::Stdin { request_id: 1, content: b"hi".to_vec() }));
    assert_eq!(decoder.pending(), 0);
}

#[test]
fn incomplete_record_waits_for_more_bytes() {
    let mut decoder = Decoder::new();
    decoder.feed(&[1, 5, 0, 1, 0, 2, 0]);
    assert_eq!(decoder.decode().unwrap(), None);
    decoder.feed(&[0, b'h']);
    assert_eq!(decoder.decode().unwrap(), None);
    decoder.feed(b"i");
    assert_eq!(decoder.decode().unwrap(), Some(Record::Stdin { request_id: 1, content: b"hi".to_vec() }));
}

#[test]
fn begin_request_with_short_body_is_an_error() {
    let mut decoder = Decoder::new();
    decoder.feed(&[1, 1, 0, 1, 0, 2, 0, 0, 0, 1]);
    assert_eq!(
        decoder.decode(),
        Err(Error::BodyLength { record: "FCGI_BEGIN_REQUEST", request_id: 1, len: 2, expected: 8 })
    );
}

#[test]
fn get_values_with_request_id_is_an_error() {
    let mut decoder = Decoder::new();
    decoder.feed(&[1, 9, 0, 1, 0, 0, 0, 0]);
    assert!(matches!(decoder.decode(), Err(Error::ManagementRequestId { .. })));
}

#[test]
fn stdin_with_null_request_id_is_an_error() {
    let mut decoder = Decoder::new();
    decoder.feed(&[1, 5, 0, 0, 0, 0, 0, 0]);
    assert_eq!(decoder.decode(), Err(Error::NullRequestId { record: "FCGI_STDIN" }));
}

#[test]
fn unknown_type_decodes_as_a_record() {
    let mut decoder = Decoder::new();
    decoder.feed(&[1, 42, 0, 0, 0, 1, 7, 0, b'x', 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(
        decoder.decode().unwrap(),
        Some(Record::Unknown { record_type: 42, request_id: 0, content: b"x".to_vec() })
    );
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

fn request_id() -> impl Strategy<Value = u16> {
    1..=u16::MAX
}

fn any_record() -> impl Strategy<Value = Record> {
    prop_oneof![
        (request_id(), any::<u16>(), any::<u8>()).prop_map(|(request_id, role, flags)| Record::BeginRequest {
            request_id,
            role: Role::from_u16(role),
            flags
        }),
        request_id().prop_map(|request_id| Record::AbortRequest { request_id }),
        (any::<u16>(), any::<u32>(), any::<u8>()).prop_map(|(request_id, app_status, status)| Record::EndRequest {
            request_id,
            app_status,
            protocol_status: ProtocolStatus::from_u8(status),
        }),
        (request_id(), bytes(300)).prop_map(|(request_id, content)| Record::Params { request_id, content }),
        (request_id(), bytes(300)).prop_map(|(request_id, content)| Record::Stdin { request_id, content }),
        (any::<u16>(), bytes(300)).prop_map(|(request_id, content)| Record::Stdout { request_id, content }),
        (any::<u16>(), bytes(300)).prop_map(|(request_id, content)| Record::Stderr { request_id, content }),
        (request_id(), bytes(300)).prop_map(|(request_id, content)| Record::Data { request_id, content }),
        proptest::collection::vec(bytes(20), 0..4).prop_map(|names| Record::GetValues { names }),
        proptest::collection::vec((bytes(20), bytes(20)), 0..4).prop_map(|pairs| Record::GetValuesResult { pairs }),
        any::<u8>().prop_map(|record_type| Record::UnknownType { record_type }),
        (12u8.., any::<u16>(), bytes(50)).prop_map(|(record_type, request_id, content)| Record::Unknown {
            record_type,
            request_id,
            content
        }),
    ]
}

proptest! {
    #[test]
    fn encode_then_decode_round_trips(records in proptest::collection::vec(any_record(), 0..10)) {
        let mut wire = Vec::new();
        for record in &records {
            record.encode(&mut wire);
        }
        let mut decoder = Decoder::new();
        decoder.feed(&wire);
        prop_assert_eq!(decode_all(&mut decoder), records);
        prop_assert_eq!(decoder.pending(), 0);
    }

    #[test]
    fn any_split_decodes_identically(
        records in proptest::collection::vec(any_record(), 1..10),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..20),
    ) {
        let mut wire = Vec::new();
        for record in &records {
            record.encode(&mut wire);
        }
        let mut points: Vec<usize> = cuts.iter().map(|cut| cut.index(wire.len() + 1)).collect();
        points.push(0);
        points.push(wire.len());
        points.sort_unstable();
        let mut decoder = Decoder::new();
        let mut decoded = Vec::new();
        for window in points.windows(2) {
            decoder.feed(&wire[window[0]..window[1]]);
            decoded.extend(decode_all(&mut decoder));
        }
        prop_assert_eq!(decoded, records);
    }

    #[test]
    fn garbage_never_panics(garbage in bytes(2000)) {
        let mut decoder = Decoder::new();
        decoder.feed(&garbage);
        while let Ok(Some(_)) = decoder.decode() {}
    }
}
