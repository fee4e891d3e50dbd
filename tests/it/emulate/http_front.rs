//! The HTTP side: keep-alive, the access log, static files and the ways a
//! URL must not leave the site.

use super::{copy_site, text, Emulator};
use crate::support::http::{assert_held_to_declared_length, assert_latin1_head, raw_request, request};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    let emulator = Emulator::site("hello");
    let mut stream = TcpStream::connect(("127.0.0.1", emulator.port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    for _ in 0..3 {
        stream.write_all(b"GET /again HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
        let mut received = Vec::new();
        let mut buf = [0u8; 4096];
        while !received.ends_with(b"Hello, world!") {
            let n = stream.read(&mut buf).unwrap();
            assert!(n > 0, "the connection closed");
            received.extend_from_slice(&buf[..n]);
        }
        assert!(received.starts_with(b"HTTP/1.1 200 OK\r\n"));
    }
}

#[test]
fn latin1_in_the_status_and_headers_passes_through_fastcgi_byte_for_byte() {
    let emulator = Emulator::site("latin1_header");
    assert_latin1_head(&raw_request(emulator.port, "GET", "/", "", b""));
}

#[test]
fn a_held_body_is_held_to_the_content_length_the_application_declared() {
    let emulator = Emulator::site("declared_length");
    assert_held_to_declared_length(emulator.port);
    let not_a_number = request(emulator.port, "GET", "/?n=five", b"");
    assert_eq!(not_a_number.status, 502, "a malformed head: {}", not_a_number.head);
    assert!(text(&not_a_number).contains("five") && text(&not_a_number).contains("is not a number"));
}

#[test]
fn access_log_has_a_w3c_line_per_request() {
    let emulator = Emulator::site("hello");
    emulator.get("/one?a=b");
    emulator.get("/two");
    let log = emulator.log("access.log");
    assert!(log.contains("#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query"), "{log}");
    let lines: Vec<&str> = log.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(lines.len(), 2, "{log}");
    let fields: Vec<&str> = lines[0].split(' ').collect();
    // date time s-ip method stem query port c-ip status substatus bytes time-taken
    assert_eq!(&fields[3..7], ["GET", "/one", "a=b", &emulator.port.to_string()]);
    assert_eq!(&fields[8..11], ["200", "0", "13"]);
    assert!(fields[11].parse::<u64>().is_ok(), "{}", lines[0]);
}

#[test]
fn static_files_under_a_nested_web_config_that_removes_the_python_handler() {
    let emulator = Emulator::site("static_nested");
    let css = emulator.get("/static/site.css");
    assert_eq!(css.status, 200, "{}", text(&css));
    assert!(css.head.contains("content-type: text/css"), "{}", css.head);
    assert_eq!(text(&css), "body { color: #333; }\n");
    let index = emulator.get("/static/");
    assert!(text(&index).contains("static index"));
    assert_eq!(emulator.get("/static").status, 301);
    assert_eq!(emulator.get("/static/missing.css").status, 404);
    let unknown = emulator.get("/static/data.unknownext");
    assert_eq!(unknown.status, 404);
    assert!(text(&unknown).contains("HTTP Error 404.3"), "{}", text(&unknown));
    // Outside /static the Python handler still answers.
    assert_eq!(text(&emulator.get("/static-not")), "Hello, world!");
}

#[test]
fn no_url_leaves_the_site_root() {
    let site = copy_site("static_nested");
    let secret = tempfile::tempdir().unwrap();
    std::fs::write(secret.path().join("secret.txt"), "top secret").unwrap();
    std::os::unix::fs::symlink(secret.path().join("secret.txt"), site.path().join("static/leak.txt")).unwrap();
    std::os::unix::fs::symlink(secret.path(), site.path().join("static/leakdir")).unwrap();
    let emulator = Emulator::site_dir(site.path(), &[]);
    let attempts = [
        "/static/../../../../etc/passwd",
        "/static/%2e%2e/%2e%2e/etc/passwd",
        "/static/%2e%2e%2fweb.config",
        "/static/..%5c..%5cetc%5cpasswd",
        "/static/%252e%252e/etc/passwd",
        "/static//etc/passwd",
        "/static/leak.txt",
        "/static/leakdir/secret.txt",
        "/web.config",
        "/static/web.config",
    ];
    for attempt in attempts {
        let mut stream = TcpStream::connect(("127.0.0.1", emulator.port)).unwrap();
        write!(stream, "GET {attempt} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        let response = crate::support::http::parse(&raw);
        assert!(response.status >= 400, "{attempt}: {}", response.status);
        let body = text(&response);
        assert!(
            !body.contains("top secret") && !body.contains("root:") && !body.contains("<handlers>"),
            "{attempt}: {body}"
        );
    }
}

#[test]
fn uploads_are_streamed_to_the_app() {
    let emulator = Emulator::site("environ");
    let body = vec![b'x'; 5 * 1024 * 1024];
    let response = request(emulator.port, "POST", "/upload", &body);
    assert_eq!(response.status, 200);
    let environ: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(environ["CONTENT_LENGTH"], "5242880");
    assert_eq!(environ["body"].as_str().map(str::len), Some(body.len()));
}
