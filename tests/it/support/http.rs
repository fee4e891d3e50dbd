//! A minimal HTTP/1.1 client: one request per connection, whole response.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

pub struct HttpResponse {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

pub fn request(port: u16, method: &str, path: &str, body: &[u8]) -> HttpResponse {
    request_with(port, method, path, "", body)
}

/// Like [`request`], with extra header lines (each ending in CRLF).
pub fn request_with(port: u16, method: &str, path: &str, headers: &str, body: &[u8]) -> HttpResponse {
    parse(&raw_request(port, method, path, headers, body))
}

/// The response's bytes as they came, for what a decoding would hide.
pub fn raw_request(port: u16, method: &str, path: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{headers}Content-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read response");
    raw
}

/// Asserts that a response to the app `apps:latin1_header` carries its
/// reason phrase and header value as the latin-1 bytes the app gave.
pub fn assert_latin1_head(raw: &[u8]) {
    let head = &raw[..raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a header block") + 2];
    let shown = String::from_utf8_lossy(head);
    assert!(head.starts_with(b"HTTP/1.1 200 Tr\xe8s bien\r\n"), "the reason phrase's bytes: {shown}");
    let lines: Vec<&[u8]> = head.split(|&b| b == b'\n').collect();
    assert!(lines.iter().any(|l| l.eq_ignore_ascii_case(b"x-name: caf\xe9\r")), "the header value's bytes: {shown}");
}

/// One response from a keep-alive connection, by its Content-Length.
pub fn read_one(stream: &mut TcpStream) -> HttpResponse {
    let mut raw = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "closed: {}", String::from_utf8_lossy(&raw));
        raw.extend_from_slice(&buf[..n]);
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map(|v| v.trim().parse().unwrap())
                .unwrap_or(0);
            if raw.len() >= end + 4 + length {
                return parse(&raw);
            }
        }
    }
}

/// Asserts that the responses of the app `apps:declared_length` (five
/// bytes, whole, and the Content-Length its query declares) are held to
/// that length: on one keep-alive connection, 3 declared gives 3 bytes and
/// the next response still starts where it should; 9 declared gives the
/// five bytes and a closed connection, so the client knows it is cut;
/// the same when the five bytes are streamed.
pub fn assert_held_to_declared_length(port: u16) {
    let streamed = raw_request(port, "GET", "/?n=9&s", "", b"");
    let streamed = parse(&streamed);
    assert!(streamed.head.to_ascii_lowercase().contains("content-length: 9\r\n"), "{}", streamed.head);
    assert_eq!(streamed.body, b"hello", "a streamed body as far as it went");
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let get = |n: &str| format!("GET /?n={n} HTTP/1.1\r\nHost: localhost\r\n\r\n");
    stream.write_all(get("3").as_bytes()).unwrap();
    let less = read_one(&mut stream);
    assert_eq!((less.status, &less.body[..]), (200, &b"hel"[..]), "{}", less.head);
    stream.write_all(get("5").as_bytes()).unwrap();
    let next = read_one(&mut stream);
    assert!(next.head.starts_with("HTTP/1.1 200 OK\r\n"), "the next response where it belongs: {}", next.head);
    assert_eq!(next.body, b"hello");
    stream.write_all(get("9").as_bytes()).unwrap();
    let mut raw = Vec::new();
    // A reset after the last byte is as good as a close.
    let _ = stream.read_to_end(&mut raw);
    let more = parse(&raw);
    assert!(more.head.to_ascii_lowercase().contains("content-length: 9\r\n"), "{}", more.head);
    assert_eq!(more.body, b"hello", "the body as far as it went, then the connection closed");
}

/// A whole response as read from the wire.
pub fn parse(raw: &[u8]) -> HttpResponse {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a header block") + 4;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut body = raw[split..].to_vec();
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        body = dechunk(&body);
    }
    HttpResponse { status, head, body }
}

pub fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").expect("chunk size line");
        let size = usize::from_str_radix(std::str::from_utf8(&data[..line_end]).unwrap().trim(), 16).unwrap();
        data = &data[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// GETs `path` (the app `apps:gated_stream`, with `gates` as its query)
/// and reads the chunked body one chunk at a time, opening the gate for
/// the next chunk only once this one has arrived: the chunks that came.
pub fn gated_download(port: u16, path: &str, gates: &std::path::Path) -> Vec<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head = format!("GET {path}?{} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", gates.display());
    stream.write_all(head.as_bytes()).unwrap();
    let mut buf = Vec::new();
    let mut read_more = |buf: &mut Vec<u8>| {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).expect("read");
        assert!(n > 0, "the connection closed early: {}", String::from_utf8_lossy(buf));
        buf.extend_from_slice(&chunk[..n]);
    };
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        read_more(&mut buf);
    }
    let start = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let head = String::from_utf8_lossy(&buf[..start]).to_ascii_lowercase();
    assert!(head.contains("transfer-encoding: chunked"), "a streamed response: {head}");
    let mut body = buf.split_off(start);
    let mut chunks = Vec::new();
    loop {
        let Some(line_end) = body.windows(2).position(|w| w == b"\r\n") else {
            read_more(&mut body);
            continue;
        };
        let size = usize::from_str_radix(std::str::from_utf8(&body[..line_end]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            return chunks;
        }
        while body.len() < line_end + 2 + size + 2 {
            read_more(&mut body);
        }
        chunks.push(String::from_utf8_lossy(&body[line_end + 2..line_end + 2 + size]).into_owned());
        body.drain(..line_end + 2 + size + 2);
        std::fs::write(gates.join((chunks.len() - 1).to_string()), b"").unwrap();
    }
}
