//! Bind mode's application threads serving connections themselves (on
//! Linux, leader/followers over epoll): a connection holds a thread only
//! while one of its requests runs, so any number of keep-alive connections
//! share a few threads, and a slow request leaves the other threads to
//! everyone else.

use crate::support::fcgi_client::{encode_request, read_reply};
use crate::wsgi_apps::{bound, params};
use std::io::Write;
use std::time::Instant;

#[test]
fn keep_alive_connections_beyond_the_thread_count_are_all_served() {
    let server = bound(&["apps:hello", "--threads", "2"]);
    let mut connections: Vec<_> = (0..8).map(|_| server.connect()).collect();
    for round in 1..=3u16 {
        for (index, stream) in connections.iter_mut().enumerate() {
            stream.write_all(&encode_request(round, true, &params("GET", "/", 0), b"")).unwrap();
            let reply = read_reply(stream, round);
            assert_eq!(reply.status(), "200 OK", "connection {index}, round {round}");
            assert_eq!(reply.body(), b"Hello, world!");
        }
    }
}

#[test]
fn a_slow_request_leaves_the_other_threads_to_every_other_connection() {
    let server = bound(&["apps:slow", "--threads", "2"]);
    let mut slow = server.connect();
    // Ten chunks 0.2 s apart.
    slow.write_all(&encode_request(1, true, &params("GET", "/?10", 0), b"")).unwrap();
    let started = Instant::now();
    let mut others: Vec<_> = (0..4).map(|_| server.connect()).collect();
    for round in 1..=5u16 {
        for stream in &mut others {
            stream.write_all(&encode_request(round, true, &params("GET", "/?0", 0), b"")).unwrap();
            assert_eq!(read_reply(stream, round).status(), "200 OK");
        }
    }
    let others_done = started.elapsed();
    let reply = read_reply(&mut slow, 1);
    let slow_done = started.elapsed();
    assert_eq!(reply.body(), b"0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n");
    assert!(others_done < slow_done, "20 quick requests ({others_done:?}) waited for the slow one ({slow_done:?})");
}

/// Requests that arrive together while the threads are busy are queued
/// for whichever thread holds the interpreter first: every one is answered,
/// on its own connection, whatever the thread that read it.
#[test]
fn a_burst_on_many_connections_is_answered_on_each() {
    let server = bound(&["apps:echo", "--threads", "8"]);
    let mut connections: Vec<_> = (0..32).map(|_| server.connect()).collect();
    for round in 1..=20u16 {
        for (index, stream) in connections.iter_mut().enumerate() {
            let path = format!("/c{index}/r{round}");
            stream.write_all(&encode_request(round, true, &params("GET", &path, 0), b"")).unwrap();
        }
        for (index, stream) in connections.iter_mut().enumerate() {
            let reply = read_reply(stream, round);
            assert_eq!(reply.status(), "200 OK", "connection {index}, round {round}");
            let path = format!("/c{index}/r{round}");
            assert!(reply.body_text().contains(&path), "connection {index}, round {round}: {}", reply.body_text());
        }
    }
}

/// A thread that queues a request while another serves still serves it
/// itself when the interpreter is free (the other waits): requests that
/// wait run side by side, not one after another.
#[test]
fn requests_that_wait_run_side_by_side() {
    let server = bound(&["apps:slow", "--threads", "4"]);
    let request = encode_request(1, true, &params("GET", "/?5", 0), b"");
    let mut first = server.connect();
    let started = Instant::now();
    first.write_all(&request).unwrap();
    assert_eq!(read_reply(&mut first, 1).status(), "200 OK");
    let one = started.elapsed();
    let mut connections: Vec<_> = (0..4).map(|_| server.connect()).collect();
    let started = Instant::now();
    for stream in &mut connections {
        stream.write_all(&request).unwrap();
    }
    for stream in &mut connections {
        assert_eq!(read_reply(stream, 1).body(), b"0\n1\n2\n3\n4\n");
    }
    let four = started.elapsed();
    // One after another would take four times as long.
    assert!(four < one * 5 / 2, "four requests took {four:?}, one alone {one:?}");
}
