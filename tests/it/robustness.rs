//! Faults, load and secure defaults (issue 7): bounded in time, real
//! processes, figures printed with --nocapture.

use crate::support::fcgi_client::{encode_request, read_reply};
use crate::support::{bin, serve_tcp};
use crate::wsgi_apps::{bound, params};
use iiswsgi::fastcgi::Record;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

pub fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap_or_else(|| panic!("{field} in /proc status"));
    line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).expect("a number")
}

pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0)
}

#[test]
fn a_malformed_record_at_every_byte_position_closes_only_that_connection() {
    let server = bound(&["apps:hello"]);
    let valid = encode_request(1, false, &params("GET", "/", 0), b"");
    let started = Instant::now();
    for position in 0..valid.len() {
        let mut corrupted = valid.clone();
        corrupted[position] ^= 0xff;
        let mut stream = server.connect();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        stream.write_all(&corrupted).unwrap();
        // Nothing more comes: the gateway answers, refuses or closes.
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        let mut sink = Vec::new();
        let ended = stream.read_to_end(&mut sink);
        assert!(
            ended.is_ok() || ended.as_ref().is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
            "position {position}: {ended:?}"
        );
        let reply = server.request("GET", "/", b"");
        assert_eq!(reply.body(), b"Hello, world!", "position {position}: the next connection is served");
    }
    assert!(server.process.0.id() > 0);
    eprintln!("{} corrupted streams in {:?}; the gateway served after each", valid.len(), started.elapsed());
}

#[test]
fn a_hundred_thousand_requests_keep_memory_flat() {
    let server = bound(&["apps:hello"]);
    let pid = server.process.0.id();
    let mut stream = server.connect();
    let request = encode_request(1, true, &params("GET", "/", 0), b"");
    let mut send = |count: usize| {
        for _ in 0..count {
            stream.write_all(&request).unwrap();
            assert_eq!(read_reply(&mut stream, 1).body(), b"Hello, world!");
        }
    };
    send(10_000);
    let warm = status_kib(pid, "VmRSS:");
    let started = Instant::now();
    send(100_000);
    let after = status_kib(pid, "VmRSS:");
    eprintln!(
        "100,000 requests on one connection in {:?}; RSS {warm} KiB after warm-up, {after} KiB after",
        started.elapsed()
    );
    assert!(after * 100 <= warm * 105, "RSS grew from {warm} to {after} KiB");
}

/// Opens 2,000 connections at once, each sending `request`, then reads
/// them all: how many got the hello app's answer, and how many were
/// refused or closed without one (a clean refusal).
pub fn two_thousand_at_once(port: u16, request: &[u8]) -> (usize, usize) {
    let mut connections = Vec::new();
    let mut refused = 0;
    for _ in 0..2000 {
        match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Ok(mut stream) => {
                stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                if stream.write_all(request).is_ok() {
                    connections.push(stream);
                } else {
                    refused += 1;
                }
            }
            Err(_) => refused += 1,
        }
    }
    let mut answered = 0;
    for mut stream in connections {
        let mut raw = Vec::new();
        match stream.read_to_end(&mut raw) {
            Ok(_) if raw.windows(13).any(|w| w == b"Hello, world!") => answered += 1,
            Ok(_) | Err(_) => refused += 1,
        }
    }
    (answered, refused)
}

#[test]
fn two_thousand_concurrent_connections_are_served_without_leaking_descriptors() {
    let log = tempfile::NamedTempFile::new().unwrap();
    let (port, server) = serve_tcp(&["apps:hello"], &[], log.path());
    let pid = server.0.id();
    let request = encode_request(1, false, &params("GET", "/", 0), b"");
    // One request first, so the app and its threads exist before counting.
    let mut first = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    first.write_all(&request).unwrap();
    read_reply(&mut first, 1);
    drop(first);
    std::thread::sleep(Duration::from_millis(200));
    let before = open_fds(pid);
    let (answered, refused) = two_thousand_at_once(port, &request);
    eprintln!("2,000 connections: {answered} answered, {refused} refused");
    assert_eq!(answered + refused, 2000);
    assert!(answered >= 1024, "at least --max-conns connections are served: {answered}");
    crate::support::wait_until("the gateway to close every connection", || open_fds(pid) <= before);
    eprintln!("gateway descriptors: {before} before, {} after", open_fds(pid));
}

#[test]
fn unix_sockets_are_owner_only_unless_told_otherwise() {
    use std::os::unix::fs::PermissionsExt;
    let server = bound(&["apps:hello"]);
    assert_eq!(std::fs::metadata(&server.socket).unwrap().permissions().mode() & 0o777, 0o600);
    let relaxed = bound(&["apps:hello", "--socket-mode", "660"]);
    assert_eq!(std::fs::metadata(&relaxed.socket).unwrap().permissions().mode() & 0o777, 0o660);
}

#[test]
fn the_emulator_listens_on_loopback_unless_told_otherwise() {
    let help = std::process::Command::new(bin()).args(["emulate", "--help"]).output().unwrap();
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("[default: 127.0.0.1:8080]"), "{text}");
}

#[test]
fn a_slow_loris_client_is_cut_off_and_others_are_served() {
    use crate::emulate::{sites_dir, Emulator};
    let emulator = Emulator::start(
        &["--site".into(), sites_dir().join("hello").into(), "--header-timeout".into(), "1".into()],
        &[],
    );
    let mut loris = std::net::TcpStream::connect(("127.0.0.1", emulator.port)).unwrap();
    loris.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: ").unwrap();
    let started = Instant::now();
    // Meanwhile another client is served.
    assert_eq!(emulator.get("/").body, b"Hello, world!");
    loris.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut rest = Vec::new();
    let _ = loris.read_to_end(&mut rest);
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(5), "cut off after {waited:?}");
    eprintln!("slow-loris connection closed after {waited:?}");
}

#[test]
fn header_bombs_get_an_error_in_bounded_memory_and_the_emulator_keeps_serving() {
    use crate::emulate::Emulator;
    let emulator = Emulator::site("hello");
    assert_eq!(emulator.get("/").body, b"Hello, world!");
    let peak_before = status_kib(emulator.pid(), "VmHWM:");
    let mut many = String::from("GET / HTTP/1.1\r\nHost: localhost\r\n");
    for i in 0..2000 {
        many.push_str(&format!("X-Bomb-{i}: {}\r\n", "b".repeat(100)));
    }
    many.push_str("\r\n");
    let huge = format!("GET / HTTP/1.1\r\nHost: localhost\r\nX-Bomb: {}\r\n\r\n", "b".repeat(16 << 20));
    for (label, bomb) in [("2,000 headers", many), ("one 16 MiB header", huge)] {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", emulator.port)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let _ = stream.write_all(bomb.as_bytes());
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let text = String::from_utf8_lossy(&answer);
        assert!(answer.is_empty() || text.starts_with("HTTP/1.1 4"), "{label}: {text}");
        eprintln!("{label}: {}", text.lines().next().unwrap_or("closed without an answer"));
        assert_eq!(emulator.get("/").body, b"Hello, world!", "served after {label}");
    }
    let peak_after = status_kib(emulator.pid(), "VmHWM:");
    eprintln!("header bombs: emulator peak RSS {peak_before} KiB before, {peak_after} KiB after");
    assert!(peak_after < peak_before + 8 * 1024, "peak RSS grew from {peak_before} to {peak_after} KiB");
}

#[test]
fn a_fastcgi_process_killed_mid_request_gives_500_and_is_replaced() {
    use crate::emulate::{text, Emulator};
    let emulator = Emulator::site("queue_full");
    let port = emulator.port;
    let first_pid = text(&emulator.get("/?seconds=0"));
    let slow = std::thread::spawn(move || crate::support::http::request(port, "GET", "/?seconds=20", b""));
    std::thread::sleep(Duration::from_millis(500));
    let pid: i32 = first_pid.trim().parse().unwrap();
    // SAFETY: kill(2) on the FastCGI process this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    let killed = slow.join().unwrap();
    assert_eq!(killed.status, 500);
    assert!(text(&killed).contains("The FastCGI process exited unexpectedly"), "{}", text(&killed));
    let next = emulator.get("/?seconds=0");
    assert_eq!(next.status, 200);
    assert_ne!(text(&next), first_pid, "a new process serves the next request");
}

#[test]
fn a_web_server_that_vanishes_mid_upload_frees_the_worker() {
    let server = bound(&["apps:count_upload", "--threads", "1"]);
    let mut stream = server.connect();
    let announced = 64 << 20;
    let mut partial = encode_request(1, true, &params("POST", "/", announced), &[]);
    // Keep BEGIN and PARAMS, drop the empty STDIN, send 1 MiB of the body.
    partial.truncate(partial.len() - 8);
    for _ in 0..16 {
        Record::Stdin { request_id: 1, content: vec![b'x'; 65_535] }.encode(&mut partial);
    }
    stream.write_all(&partial).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    drop(stream);
    // With one thread, this is served only once the cut-off upload let go.
    let reply = server.request("POST", "/", b"abc");
    assert_eq!(reply.body_text(), format!("3 {}", 3 * u32::from(b'a') + 3));
    // The app's read raised instead of passing off 1 MiB as the whole body.
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(log.contains("ConnectionAbortedError: the web server aborted the request before the whole body"), "{log}");
}

#[test]
fn a_params_bomb_gets_431_in_bounded_memory_and_the_connection_goes_on() {
    use iiswsgi::fastcgi::{name_value, Role, KEEP_CONN};
    let server = bound(&["apps:hello"]);
    let pid = server.process.0.id();
    assert_eq!(server.request("GET", "/", b"").body(), b"Hello, world!");
    let peak_before = status_kib(pid, "VmHWM:");
    // 64 MiB of PARAMS, 64 times the default --max-params.
    let pair = name_value::encode([(b"HTTP_X_BOMB".as_slice(), vec![b'x'; 65_000].as_slice())]);
    let mut bomb = Vec::new();
    Record::BeginRequest { request_id: 1, role: Role::Responder, flags: KEEP_CONN }.encode(&mut bomb);
    for _ in 0..1024 {
        Record::Params { request_id: 1, content: pair.clone() }.encode(&mut bomb);
    }
    Record::Params { request_id: 1, content: Vec::new() }.encode(&mut bomb);
    Record::Stdin { request_id: 1, content: Vec::new() }.encode(&mut bomb);
    // Then an ordinary request on the same connection.
    bomb.extend(encode_request(1, true, &params("GET", "/", 0), b""));
    let mut stream = server.connect();
    let mut writer = stream.try_clone().unwrap();
    let sent = bomb.len();
    let writing = std::thread::spawn(move || writer.write_all(&bomb));
    let refused = read_reply(&mut stream, 1);
    assert_eq!(refused.status(), "431 Request Header Fields Too Large");
    let next = read_reply(&mut stream, 1);
    assert_eq!(next.body(), b"Hello, world!");
    writing.join().unwrap().unwrap();
    let peak_after = status_kib(pid, "VmHWM:");
    eprintln!("a {sent}-byte PARAMS bomb: 431; peak RSS {peak_before} KiB before, {peak_after} KiB after");
    assert!(peak_after < peak_before + 8 * 1024, "peak RSS grew from {peak_before} to {peak_after} KiB");
}

/// An emulated IIS with one FastCGI instance of `emulated.vanishing_client`.
fn vanishing_client_site() -> (crate::emulate::Emulator, String) {
    let emulator = crate::emulate::Emulator::site("vanishing_client");
    let pid = crate::emulate::text(&emulator.get("/"));
    (emulator, pid)
}

#[test]
fn an_http_client_that_vanishes_mid_upload_leaves_the_process_serving() {
    let (emulator, pid) = vanishing_client_site();
    let files = tempfile::tempdir().unwrap();
    let error = files.path().join("error");
    let mut client = std::net::TcpStream::connect(("127.0.0.1", emulator.port)).unwrap();
    let head =
        format!("POST /?error={} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 67108864\r\n\r\n", error.display());
    client.write_all(head.as_bytes()).unwrap();
    client.write_all(&vec![b'x'; 1 << 20]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    drop(client);
    let next = crate::support::http::request(emulator.port, "POST", "/", b"abc");
    assert_eq!(crate::emulate::text(&next), format!("{pid} 3"), "the same process, freed");
    let seen = std::fs::read_to_string(&error).unwrap();
    assert!(seen.starts_with("ConnectionAbortedError after "), "the app's read raised: {seen}");
    eprintln!("mid-upload disconnect: the app saw {seen}");
}

#[test]
fn an_http_client_that_vanishes_mid_download_gets_the_iterable_closed() {
    let (emulator, pid) = vanishing_client_site();
    let files = tempfile::tempdir().unwrap();
    let (gate, closed) = (files.path().join("gate"), files.path().join("closed"));
    let mut client = std::net::TcpStream::connect(("127.0.0.1", emulator.port)).unwrap();
    let request =
        format!("GET /?gate={}&closed={} HTTP/1.1\r\nHost: localhost\r\n\r\n", gate.display(), closed.display());
    client.write_all(request.as_bytes()).unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !seen.windows(11).any(|w| w == b"first chunk") {
        let n = client.read(&mut buf).unwrap();
        assert!(n > 0, "the first chunk arrives");
        seen.extend_from_slice(&buf[..n]);
    }
    drop(client);
    std::fs::write(&gate, b"").unwrap();
    crate::support::wait_until("the app's iterable to be closed", || closed.exists());
    assert_eq!(crate::emulate::text(&emulator.get("/")), pid, "the same process serves on");
}
