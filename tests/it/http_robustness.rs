//! HTTP mode under load and hostile clients, as the FastCGI path is tested
//! (tests/it/robustness.rs): figures printed with --nocapture.

use crate::http_mode::start;
use crate::robustness::{open_fds, status_kib, two_thousand_at_once};
use std::io::{Read, Write};
use std::time::Duration;

#[test]
fn two_thousand_concurrent_http_connections_are_served_without_leaking_descriptors() {
    let gateway = start(&["apps:hello"], &[]);
    let pid = gateway.process.0.id();
    let request = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    assert!(crate::support::http::request(gateway.port, "GET", "/", b"").body == b"Hello, world!");
    std::thread::sleep(Duration::from_millis(200));
    let before = open_fds(pid);
    let (answered, refused) = two_thousand_at_once(gateway.port, request);
    eprintln!("HTTP, 2,000 connections: {answered} answered, {refused} refused");
    assert_eq!(answered + refused, 2000);
    assert!(answered >= 1024, "at least --max-conns connections are served: {answered}");
    crate::support::wait_until("the gateway to close every connection", || open_fds(pid) <= before);
    eprintln!("HTTP gateway descriptors: {before} before, {} after", open_fds(pid));
}

#[test]
fn http_header_bombs_get_431_in_bounded_memory_and_the_gateway_keeps_serving() {
    let gateway = start(&["apps:hello"], &[]);
    let pid = gateway.process.0.id();
    let peak_before = status_kib(pid, "VmHWM:");
    let mut many = String::from("GET / HTTP/1.1\r\nHost: localhost\r\n");
    for i in 0..2000 {
        many.push_str(&format!("X-Bomb-{i}: {}\r\n", "b".repeat(100)));
    }
    many.push_str("\r\n");
    let huge = format!("GET / HTTP/1.1\r\nHost: localhost\r\nX-Bomb: {}\r\n\r\n", "b".repeat(16 << 20));
    for (label, bomb) in [("2,000 headers", many), ("one 16 MiB header", huge)] {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", gateway.port)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let _ = stream.write_all(bomb.as_bytes());
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let text = String::from_utf8_lossy(&answer);
        assert!(text.starts_with("HTTP/1.1 431"), "{label}: {text}");
        eprintln!("HTTP, {label}: {}", text.lines().next().unwrap_or(""));
        assert_eq!(crate::support::http::request(gateway.port, "GET", "/", b"").body, b"Hello, world!");
    }
    let peak_after = status_kib(pid, "VmHWM:");
    eprintln!("HTTP header bombs: gateway peak RSS {peak_before} KiB before, {peak_after} KiB after");
    assert!(peak_after < peak_before + 8 * 1024, "peak RSS grew from {peak_before} to {peak_after} KiB");
}
