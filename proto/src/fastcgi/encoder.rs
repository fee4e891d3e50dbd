//! Writing records. Content is padded to a multiple of 8 bytes, as the spec
//! recommends ("for efficient processing").

use super::{Header, RecordType, MAX_CONTENT_LEN};

/// Appends one record.
///
/// # Panics
/// If `content` is longer than 65535 bytes.
pub fn record(record_type: RecordType, request_id: u16, content: &[u8], out: &mut Vec<u8>) {
    let content_length = u16::try_from(content.len()).expect("record content exceeds 65535 bytes");
    let padding_length = (8 - content.len() % 8) % 8;
    let header = Header { record_type, request_id, content_length, padding_length: padding_length as u8 };
    out.reserve(header.record_len());
    header.encode(out);
    out.extend_from_slice(content);
    out.extend_from_slice(&[0; 8][..padding_length]);
}

/// Appends `content` as stream records of at most 65535 bytes each. Empty
/// content appends nothing: an empty record would end the stream, which is
/// [`end_stream`]'s job.
pub fn stream(record_type: RecordType, request_id: u16, content: &[u8], out: &mut Vec<u8>) {
    for chunk in content.chunks(MAX_CONTENT_LEN) {
        record(record_type, request_id, chunk, out);
    }
}

/// Appends the empty record that closes a stream.
pub fn end_stream(record_type: RecordType, request_id: u16, out: &mut Vec<u8>) {
    record(record_type, request_id, &[], out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_is_padded_to_eight() {
        let mut out = Vec::new();
        record(RecordType::Stdout, 1, b"abc", &mut out);
        assert_eq!(out, [1, 6, 0, 1, 0, 3, 5, 0, b'a', b'b', b'c', 0, 0, 0, 0, 0]);
    }

    #[test]
    fn stdout_is_split_at_65535() {
        let content = vec![7u8; 65535 * 2 + 10];
        let mut out = Vec::new();
        stream(RecordType::Stdout, 3, &content, &mut out);
        let mut decoder = crate::fastcgi::Decoder::new();
        decoder.feed(&out);
        let mut lengths = Vec::new();
        while let Some(record) = decoder.decode().unwrap() {
            match record {
                crate::fastcgi::Record::Stdout { request_id: 3, content } => lengths.push(content.len()),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(lengths, [65535, 65535, 10]);
    }

    #[test]
    fn empty_stream_content_writes_nothing() {
        let mut out = Vec::new();
        stream(RecordType::Stdout, 1, b"", &mut out);
        assert!(out.is_empty());
        end_stream(RecordType::Stdout, 1, &mut out);
        assert_eq!(out, [1, 6, 0, 1, 0, 0, 0, 0]);
    }
}
