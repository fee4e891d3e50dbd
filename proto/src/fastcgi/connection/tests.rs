use super::*;

fn wire(records: &[Record]) -> Vec<u8> {
    let mut out = Vec::new();
    for record in records {
        record.encode(&mut out);
    }
    out
}

fn replies(conn: &mut ServerConnection) -> Vec<Record> {
    let mut decoder = Decoder::new();
    decoder.feed(&conn.take_output());
    let mut records = Vec::new();
    while let Some(record) = decoder.decode().unwrap() {
        records.push(record);
    }
    records
}

fn events(conn: &mut ServerConnection) -> Vec<Event> {
    let mut events = Vec::new();
    while let Some(event) = conn.poll_event().unwrap() {
        events.push(event);
    }
    events
}

fn begin(request_id: u16, flags: u8) -> Record {
    Record::BeginRequest { request_id, role: Role::Responder, flags }
}

fn params(request_id: u16, pairs: &[(&str, &str)]) -> Vec<Record> {
    let content = name_value::encode(pairs.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())));
    vec![Record::Params { request_id, content }, Record::Params { request_id, content: Vec::new() }]
}

fn started(flags: u8) -> ServerConnection {
    let mut conn = ServerConnection::new(Limits::default());
    let mut records = vec![begin(1, flags)];
    records.extend(params(1, &[("REQUEST_METHOD", "GET")]));
    conn.receive(&wire(&records));
    assert!(matches!(conn.poll_event().unwrap(), Some(Event::Request { request_id: 1, .. })));
    conn
}

#[test]
fn request_params_and_stdin_become_events() {
    let mut conn = ServerConnection::new(Limits::default());
    let mut records = vec![begin(1, KEEP_CONN)];
    records.extend(params(1, &[("SCRIPT_NAME", "/x"), ("QUERY_STRING", "")]));
    records.push(Record::Stdin { request_id: 1, content: b"body".to_vec() });
    records.push(Record::Stdin { request_id: 1, content: Vec::new() });
    conn.receive(&wire(&records));
    let events = events(&mut conn);
    let Event::Request { request_id: 1, keep_conn: true, params } = &events[0] else { panic!("{events:?}") };
    assert_eq!(params.get(b"SCRIPT_NAME"), Some(&b"/x"[..]));
    assert_eq!(params.get(b"QUERY_STRING"), Some(&b""[..]));
    assert_eq!(params.get(b"MISSING"), None);
    assert_eq!(
        events[1..],
        [Event::Stdin { request_id: 1, data: b"body".to_vec() }, Event::StdinEnd { request_id: 1 }]
    );
}

#[test]
fn params_split_across_records_are_joined() {
    let mut conn = ServerConnection::new(Limits::default());
    let content = name_value::encode([(&b"HTTP_HOST"[..], &b"example.org"[..])]);
    let (a, b) = content.split_at(5);
    conn.receive(&wire(&[
        begin(1, 0),
        Record::Params { request_id: 1, content: a.to_vec() },
        Record::Params { request_id: 1, content: b.to_vec() },
        Record::Params { request_id: 1, content: Vec::new() },
    ]));
    let Some(Event::Request { params, .. }) = conn.poll_event().unwrap() else { panic!() };
    assert_eq!(params.get(b"HTTP_HOST"), Some(&b"example.org"[..]));
}

#[test]
fn end_request_closes_streams_and_honours_keep_conn() {
    let mut conn = started(0);
    conn.write_stdout(1, b"Status: 200 OK\r\n\r\nhi");
    conn.end_request(1, 0);
    assert_eq!(
        replies(&mut conn),
        [
            Record::Stdout { request_id: 1, content: b"Status: 200 OK\r\n\r\nhi".to_vec() },
            Record::Stdout { request_id: 1, content: Vec::new() },
            Record::EndRequest { request_id: 1, app_status: 0, protocol_status: ProtocolStatus::RequestComplete },
        ]
    );
    assert!(conn.wants_close());

    let mut conn = started(KEEP_CONN);
    conn.end_request(1, 0);
    assert!(!conn.wants_close());
    assert_eq!(conn.active_request(), None);
}

#[test]
fn stderr_stream_is_closed_when_used() {
    let mut conn = started(KEEP_CONN);
    conn.write_stderr(1, b"oops");
    conn.end_request(1, 1);
    let replies = replies(&mut conn);
    assert_eq!(replies[1], Record::Stdout { request_id: 1, content: Vec::new() });
    assert_eq!(replies[2], Record::Stderr { request_id: 1, content: Vec::new() });
}

#[test]
fn second_request_on_busy_conn_gets_cant_mpx_conn() {
    let mut conn = started(KEEP_CONN);
    conn.receive(&wire(&[begin(2, KEEP_CONN)]));
    assert_eq!(events(&mut conn), []);
    assert_eq!(
        replies(&mut conn),
        [Record::EndRequest { request_id: 2, app_status: 0, protocol_status: ProtocolStatus::CantMpxConn }]
    );
    // Records for the refused id are ignored; the first request is untouched.
    conn.receive(&wire(&params(2, &[("A", "B")])));
    assert_eq!(events(&mut conn), []);
    assert_eq!(conn.active_request(), Some(1));
}

#[test]
fn authorizer_and_filter_get_unknown_role() {
    for role in [Role::Authorizer, Role::Filter, Role::Other(99)] {
        let mut conn = ServerConnection::new(Limits::default());
        conn.receive(&wire(&[Record::BeginRequest { request_id: 1, role, flags: 0 }]));
        assert_eq!(events(&mut conn), []);
        assert_eq!(
            replies(&mut conn),
            [Record::EndRequest { request_id: 1, app_status: 0, protocol_status: ProtocolStatus::UnknownRole }]
        );
        assert!(conn.wants_close());
    }
}

#[test]
fn get_values_tells_the_limits() {
    let mut conn = ServerConnection::new(Limits { max_conns: 7, max_reqs: 3, max_params_len: 10 });
    let names = [MAX_CONNS, MAX_REQS, MPXS_CONNS, "OTHER"].map(|n| n.as_bytes().to_vec()).to_vec();
    conn.receive(&wire(&[Record::GetValues { names }]));
    assert_eq!(events(&mut conn), []);
    let expected = [(MAX_CONNS, "7"), (MAX_REQS, "3"), (MPXS_CONNS, "0")]
        .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .to_vec();
    assert_eq!(replies(&mut conn), [Record::GetValuesResult { pairs: expected }]);
}

#[test]
fn unknown_management_type_gets_unknown_type() {
    let mut conn = ServerConnection::new(Limits::default());
    conn.receive(&wire(&[Record::Unknown { record_type: 77, request_id: 0, content: b"?".to_vec() }]));
    assert_eq!(events(&mut conn), []);
    assert_eq!(replies(&mut conn), [Record::UnknownType { record_type: 77 }]);
}

#[test]
fn abort_of_running_request_is_an_event() {
    let mut conn = started(KEEP_CONN);
    conn.receive(&wire(&[Record::AbortRequest { request_id: 1 }, Record::AbortRequest { request_id: 1 }]));
    assert_eq!(events(&mut conn), [Event::Abort { request_id: 1 }]);
    // Body records after the abort are dropped.
    conn.receive(&wire(&[Record::Stdin { request_id: 1, content: b"late".to_vec() }]));
    assert_eq!(events(&mut conn), []);
    conn.end_request(1, 0);
    assert!(matches!(replies(&mut conn).last(), Some(Record::EndRequest { request_id: 1, .. })));
}

#[test]
fn abort_before_params_end_is_answered_directly() {
    let mut conn = ServerConnection::new(Limits::default());
    conn.receive(&wire(&[begin(1, KEEP_CONN), Record::AbortRequest { request_id: 1 }]));
    assert_eq!(events(&mut conn), []);
    assert_eq!(
        replies(&mut conn),
        [Record::EndRequest { request_id: 1, app_status: 0, protocol_status: ProtocolStatus::RequestComplete }]
    );
    assert_eq!(conn.active_request(), None);
}

#[test]
fn params_over_the_limit_stop_buffering() {
    let mut conn = ServerConnection::new(Limits { max_params_len: 100, ..Limits::default() });
    let big = "x".repeat(200);
    let mut records = vec![begin(1, KEEP_CONN)];
    records.extend(params(1, &[("HTTP_X", &big)]));
    conn.receive(&wire(&records));
    assert_eq!(events(&mut conn), [Event::ParamsTooLarge { request_id: 1 }]);
    conn.receive(&wire(&[Record::Stdin { request_id: 1, content: b"x".to_vec() }]));
    assert_eq!(events(&mut conn), []);
    conn.end_request(1, 0);
    assert_eq!(conn.active_request(), None);
}

#[test]
fn malformed_params_are_fatal() {
    let mut conn = ServerConnection::new(Limits::default());
    conn.receive(&wire(&[
        begin(1, 0),
        Record::Params { request_id: 1, content: vec![9, 9, b'a'] },
        Record::Params { request_id: 1, content: Vec::new() },
    ]));
    assert!(matches!(conn.poll_event(), Err(Error::NameValueTruncated { .. })));
}

#[test]
fn records_only_applications_send_are_fatal() {
    let mut conn = ServerConnection::new(Limits::default());
    conn.receive(&wire(&[Record::Stdout { request_id: 1, content: Vec::new() }]));
    assert_eq!(conn.poll_event(), Err(Error::UnexpectedType("FCGI_STDOUT")));
}

#[test]
fn records_for_inactive_ids_are_ignored() {
    let mut conn = ServerConnection::new(Limits::default());
    conn.receive(&wire(&[
        Record::Stdin { request_id: 4, content: b"x".to_vec() },
        Record::AbortRequest { request_id: 4 },
        Record::Params { request_id: 4, content: Vec::new() },
    ]));
    assert_eq!(events(&mut conn), []);
    assert!(!conn.has_output());
}

#[test]
fn built_params_read_back_as_pushed() {
    let mut builder = Params::builder(64);
    builder.push(b"REQUEST_METHOD", b"GET").push_header(b"HTTP_", b"x-forwarded-for", &[b"a", b"b"], b", ");
    builder.push_header(b"HTTP_", b"cookie", &[b"one=1"], b"; ");
    let params = builder.finish();
    assert_eq!(params.get(b"REQUEST_METHOD"), Some(&b"GET"[..]));
    assert_eq!(params.get(b"HTTP_X_FORWARDED_FOR"), Some(&b"a, b"[..]));
    assert_eq!(params.get(b"HTTP_COOKIE"), Some(&b"one=1"[..]));
    assert_eq!(params.iter().count(), 3);
}
