//! WSGI behaviour over `--bind`, driven by our FastCGI client: PEP 3333
//! compliance (wsgiref.validate), streaming, aborts, bad input.

use crate::support::fcgi_client::{encode_request, owned, read_reply, Reply};
use crate::support::{apps_dir, serve_tcp, serve_unix, Guard};
use iiswsgi::fastcgi::{ProtocolStatus, Record, Role};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

/// `iiswsgi serve ARGS --bind unix:…`, stopped when dropped.
pub struct Bound {
    pub process: Guard,
    _dir: tempfile::TempDir,
    pub socket: std::path::PathBuf,
    pub log: std::path::PathBuf,
}

pub fn bound(args: &[&str]) -> Bound {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("fcgi.sock");
    let log = dir.path().join("iiswsgi.log");
    let server = serve_unix(args, &socket, &log);
    Bound { process: server, _dir: dir, socket, log }
}

impl Bound {
    pub fn connect(&self) -> UnixStream {
        let stream = UnixStream::connect(&self.socket).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        stream
    }

    pub fn request(&self, method: &str, path: &str, body: &[u8]) -> Reply {
        let mut stream = self.connect();
        stream.write_all(&encode_request(1, false, &params(method, path, body.len()), body)).unwrap();
        read_reply(&mut stream, 1)
    }
}

pub fn params(method: &str, path: &str, body_len: usize) -> Vec<(String, String)> {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    owned(&[
        ("REQUEST_METHOD", method),
        ("SCRIPT_NAME", ""),
        ("PATH_INFO", path),
        ("QUERY_STRING", query),
        ("SERVER_NAME", "localhost"),
        ("SERVER_PORT", "80"),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("CONTENT_LENGTH", &body_len.to_string()),
        ("CONTENT_TYPE", "application/octet-stream"),
    ])
}

#[test]
fn apps_wrapped_in_wsgiref_validator_raise_nothing() {
    let apps = ["hello", "echo", "writer", "lines", "file_wrapper"];
    for app in apps {
        let server = bound(&[&format!("apps:validated_{app}"), "--debug"]);
        let reply = server.request("POST", "/v", b"a\nb\n");
        assert_eq!(reply.status(), "200 OK", "{app}: {}", reply.stderr_text());
        let log = std::fs::read_to_string(&server.log).unwrap();
        assert!(!log.contains("AssertionError"), "{app}: {log}");
        assert!(!log.contains("Error occurred"), "{app}: {log}");
    }
}

#[test]
fn a_3_mb_response_arrives_byte_exact_in_records_of_at_most_65535() {
    let server = bound(&["apps:big"]);
    let reply = server.request("GET", "/", b"");
    let expected: Vec<u8> = (0..3 * 1024 * 1024).map(|i| (i % 256) as u8).collect();
    assert_eq!(reply.body().len(), 3 * 1024 * 1024);
    assert!(reply.body() == expected.as_slice());
}

#[test]
fn a_large_upload_is_streamed_to_the_app() {
    let server = bound(&["apps:count_upload"]);
    let body: Vec<u8> = (0..20 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let checksum = body.iter().map(|&b| u64::from(b)).sum::<u64>() % 1_000_000_007;
    let reply = server.request("POST", "/", &body);
    assert_eq!(reply.body_text(), format!("{} {checksum}", body.len()));
}

#[test]
fn head_responses_carry_no_body() {
    let server = bound(&["apps:hello"]);
    let reply = server.request("HEAD", "/", b"");
    assert_eq!(reply.status(), "200 OK");
    assert!(reply.body().is_empty());
}

#[test]
fn write_callable_and_exc_info_replacement() {
    let server = bound(&["apps:writer"]);
    assert_eq!(server.request("GET", "/", b"").body_text(), "written and returned");
    let server = bound(&["apps:exc_info_replaces"]);
    let reply = server.request("GET", "/", b"");
    assert_eq!(reply.status(), "500 Oops");
    assert_eq!(reply.body_text(), "replaced");
}

#[test]
fn outside_iis_an_app_error_is_a_complete_500_response() {
    let server = bound(&["apps:raises"]);
    let reply = server.request("GET", "/", b"");
    assert_eq!(reply.status(), "500 Internal Server Error");
    assert!(reply.body_text().contains("The application raised RuntimeError"), "{}", reply.body_text());
    assert!(!reply.body_text().contains("Traceback"));
    // The process keeps serving.
    assert_eq!(server.request("GET", "/", b"").status(), "500 Internal Server Error");
}

#[test]
fn abort_closes_the_iterable_and_ends_the_request() {
    let server = bound(&["apps:slow_or_closed", "--threads", "2"]);
    let mut stream = server.connect();
    stream.write_all(&encode_request(1, true, &params("GET", "/?50", 0), b"")).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let mut abort = Vec::new();
    Record::AbortRequest { request_id: 1 }.encode(&mut abort);
    stream.write_all(&abort).unwrap();
    let reply = read_reply(&mut stream, 1);
    assert_eq!(reply.end, Some((0, ProtocolStatus::RequestComplete)));
    assert!(reply.body().len() < 50 * 2, "the response was cut short");
    crate::support::wait_until("close() to run", || server.request("GET", "/closed", b"").body_text() == "1");
}

#[test]
fn a_client_that_disconnects_frees_the_worker_and_closes_the_iterable() {
    let server = bound(&["apps:slow_or_closed", "--threads", "1"]);
    let mut stream = server.connect();
    stream.write_all(&encode_request(1, true, &params("GET", "/?10", 0), b"")).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    drop(stream);
    // With one thread, this is served only once the first request stopped,
    // and it sees that request's iterable closed.
    let reply = server.request("GET", "/closed", b"");
    assert_eq!(reply.body_text(), "1");
}

#[test]
fn malformed_records_close_the_connection_and_the_process_keeps_serving() {
    let server = bound(&["apps:hello"]);
    let mut stream = server.connect();
    stream.write_all(&[9, 9, 9, 9, 9, 9, 9, 9]).unwrap();
    let mut buf = Vec::new();
    let _ = stream.read_to_end(&mut buf);
    assert!(buf.is_empty());
    assert_eq!(server.request("GET", "/", b"").body(), b"Hello, world!");
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(log.contains("unsupported FastCGI version 9"), "{log}");
}

#[test]
fn a_second_request_id_on_a_busy_connection_is_refused() {
    let server = bound(&["apps:slow"]);
    let mut stream = server.connect();
    // Both at once: the second arrives while the first is being served.
    let mut both = encode_request(1, true, &params("GET", "/?2", 0), b"");
    Record::BeginRequest { request_id: 2, role: Role::Responder, flags: 1 }.encode(&mut both);
    stream.write_all(&both).unwrap();
    let refused = read_reply(&mut stream, 2);
    assert_eq!(refused.end, Some((0, ProtocolStatus::CantMpxConn)));
}

#[test]
fn oversized_params_get_431_not_unbounded_memory() {
    let server = bound(&["apps:hello", "--max-params", "4096"]);
    let mut params = params("GET", "/", 0);
    params.push(("HTTP_X_BIG".into(), "x".repeat(10_000)));
    let mut stream = server.connect();
    stream.write_all(&encode_request(1, false, &params, b"")).unwrap();
    let reply = read_reply(&mut stream, 1);
    assert_eq!(reply.status(), "431 Request Header Fields Too Large");
}

#[test]
fn authorizer_role_gets_unknown_role() {
    let server = bound(&["apps:hello"]);
    let mut stream = server.connect();
    let mut begin = Vec::new();
    Record::BeginRequest { request_id: 1, role: Role::Authorizer, flags: 0 }.encode(&mut begin);
    stream.write_all(&begin).unwrap();
    assert_eq!(read_reply(&mut stream, 1).end, Some((0, ProtocolStatus::UnknownRole)));
}

#[test]
fn paste_deploy_config_loads_the_named_app() {
    let Some(venv) = crate::support::venv_with_paste() else { return };
    let ini = apps_dir().join("paste.ini");
    let with_venv = |config: &str| -> Vec<String> { [&["--config".into(), config.into()][..], &venv].concat() };
    let args = with_venv(ini.to_str().unwrap());
    let server = bound(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(server.request("GET", "/", b"").body_text(), "paste: main section");
    let args = with_venv(&format!("{}#other", ini.display()));
    let server = bound(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(server.request("GET", "/", b"").body_text(), "paste: other section");
}

#[test]
fn factory_entry_point_is_called() {
    let server = bound(&["apps:make_app()"]);
    assert_eq!(server.request("GET", "/", b"").body(), b"Hello, world!");
}

#[test]
fn fcgi_web_server_addrs_refuses_other_peers() {
    let log = tempfile::NamedTempFile::new().unwrap();
    let (port, _server) = serve_tcp(&["apps:hello"], &[("FCGI_WEB_SERVER_ADDRS", "192.0.2.10")], log.path());
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let _ = stream.write_all(&encode_request(1, false, &params("GET", "/", 0), b""));
    let mut buf = Vec::new();
    let _ = stream.read_to_end(&mut buf);
    assert!(buf.is_empty(), "a refused peer gets no response");
    crate::support::wait_until("the refusal in the log", || {
        std::fs::read_to_string(log.path()).is_ok_and(|l| l.contains("not in FCGI_WEB_SERVER_ADDRS"))
    });
}

/// Peak resident memory of a process, from /proc (VmHWM, in KiB).
pub fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM in /proc status");
    line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).expect("a number")
}

#[test]
fn a_1_gib_upload_is_never_held_in_memory() {
    const GIB: u64 = 1 << 30;
    let server = bound(&["apps:count_bytes"]);
    let pid = server.process.0.id();
    let before = peak_rss_kib(pid);
    let mut stream = server.connect();
    let mut head = Vec::new();
    Record::BeginRequest { request_id: 1, role: Role::Responder, flags: 0 }.encode(&mut head);
    let block = iiswsgi::fastcgi::name_value::encode(
        params("POST", "/", GIB as usize).iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())),
    );
    Record::Params { request_id: 1, content: block }.encode(&mut head);
    Record::Params { request_id: 1, content: Vec::new() }.encode(&mut head);
    stream.write_all(&head).unwrap();
    // One 64 KiB STDIN record's wire form, sent over and over.
    let mut record = Vec::new();
    Record::Stdin { request_id: 1, content: vec![b'x'; 65536 - 8] }.encode(&mut record);
    let per_record = (65536 - 8) as u64;
    let mut sent = 0;
    while sent + per_record <= GIB {
        stream.write_all(&record).unwrap();
        sent += per_record;
    }
    let mut tail = Vec::new();
    Record::Stdin { request_id: 1, content: vec![b'x'; (GIB - sent) as usize] }.encode(&mut tail);
    Record::Stdin { request_id: 1, content: Vec::new() }.encode(&mut tail);
    stream.write_all(&tail).unwrap();
    let reply = read_reply(&mut stream, 1);
    assert_eq!(reply.body_text(), GIB.to_string());
    let after = peak_rss_kib(pid);
    eprintln!("gateway peak RSS: {before} KiB before, {after} KiB after a 1 GiB upload");
    assert!(after - before < 64 * 1024, "peak RSS grew by {} KiB", after - before);
}

#[test]
fn a_fast_256_mib_download_is_never_gathered_in_memory() {
    let server = bound(&["apps:huge_download"]);
    let pid = server.process.0.id();
    let before = peak_rss_kib(pid);
    let mut stream = server.connect();
    stream.write_all(&encode_request(1, false, &params("GET", "/", 0), b"")).unwrap();
    // Read slowly at first so the app runs ahead of the socket.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let reply = read_reply(&mut stream, 1);
    assert_eq!(reply.body().len(), 256 << 20);
    let after = peak_rss_kib(pid);
    eprintln!("gateway peak RSS: {before} KiB before, {after} KiB after a 256 MiB download");
    // About 8 chunks of 64 KiB may be in flight; gathering the response
    // once grew it by over 30 MiB here.
    assert!(after - before < 16 * 1024, "peak RSS grew by {} KiB", after - before);
}

#[test]
fn headers_may_be_any_iterable_of_pairs_and_status_a_bare_code() {
    let server = bound(&["apps:lenient_headers"]);
    let reply = server.request("GET", "/", b"");
    assert_eq!(reply.status(), "200");
    assert!(reply.head().contains("X-Lenient: yes\r\n"), "{}", reply.head());
    assert_eq!(reply.body(), b"lenient");
}

#[test]
fn a_second_connection_is_served_while_a_slow_request_runs() {
    let server = bound(&["apps:slow_or_closed", "--threads", "2"]);
    let mut slow = server.connect();
    slow.write_all(&encode_request(1, false, &params("GET", "/?10", 0), b"")).unwrap();
    // The slow request yields a line every 0.2 s; the quick one must not wait for it.
    let quick = server.request("GET", "/closed", b"");
    assert_eq!(quick.status(), "200 OK");
    slow.set_nonblocking(true).unwrap();
    let mut early = Vec::new();
    let _ = slow.read_to_end(&mut early);
    let end_request_header = [1, 3, 0, 1];
    assert!(!early.windows(4).any(|w| w == end_request_header), "the slow response must still be in progress");
    slow.set_nonblocking(false).unwrap();
    let reply = read_reply(&mut std::io::Cursor::new(early).chain(slow), 1);
    assert_eq!(reply.body_text(), "0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n");
}

/// A str body or a wrong header type: a 500 that says what the app gave
/// (its type and a shortened repr), as wfastcgi's error does, without
/// debugging; with it, the traceback too.
#[test]
fn wrong_types_in_the_body_or_headers_are_named() {
    for (app, expected) in [
        (
            "apps:returns_str",
            "returned a string where WSGI needs an iterable of bytes (e.g. [b'...']); it gave str 'Hello, world!'",
        ),
        ("apps:yields_str", "the app's body item 1 must be bytes, got str 'then a str'"),
        ("apps:header_int", "header value must be a str, got int 3"),
    ] {
        let server = bound(&[app]);
        let reply = server.request("GET", "/", b"");
        let text = reply.body_text() + &reply.stderr_text();
        assert!(text.contains("The application broke the WSGI protocol: ") && text.contains(expected), "{app}: {text}");
        assert!(!text.contains("Traceback"), "{app}: no traceback without debugging");
    }
    let server = bound(&["apps:header_int", "--debug"]);
    let text = server.request("GET", "/", b"").body_text();
    assert!(text.contains("Traceback") && text.contains("in header_int"), "{text}");
}
