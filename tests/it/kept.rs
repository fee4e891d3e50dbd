//! What an app keeps past its request (an exception kept for logging holds
//! its frame, and so start_response): the response still ends when the app
//! is done, and a kept start_response, write, wsgi.input or wsgi.errors can
//! never reach the next request. In IIS mode (one connection, requests one
//! after another, all with request id 1) and in bind mode with keep-alive.

use crate::support::fcgi_client::{encode_request, iis_params, read_reply, IisProcess, Reply};
use crate::support::{apps_dir, wait_until};
use crate::wsgi_apps::{bound, params};
use iiswsgi::fastcgi::ProtocolStatus;
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// Requests one after another on one connection, all with id 1, as IIS
/// and nginx's keep-alive pool send them.
trait OneConnection {
    fn send(&mut self, method: &str, path: &str, body: &[u8]) -> Reply;
}

struct Iis(IisProcess);

impl OneConnection for Iis {
    fn send(&mut self, method: &str, path: &str, body: &[u8]) -> Reply {
        let params = iis_params(method, path, "", &apps_dir(), body.len());
        self.0.conn.write_all(&encode_request(1, true, &params, body)).unwrap();
        read_reply(&mut self.0.conn, 1)
    }
}

impl OneConnection for UnixStream {
    fn send(&mut self, method: &str, path: &str, body: &[u8]) -> Reply {
        self.write_all(&encode_request(1, true, &params(method, path, body.len()), body)).unwrap();
        read_reply(self, 1)
    }
}

fn iis(app: &str, log: &std::path::Path) -> Iis {
    let process = IisProcess::start(&[app], &[], &apps_dir(), log);
    // A stuck response shows as a timeout here, not after a minute.
    process.conn.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    Iis(process)
}

fn answers_at_once(conn: &mut dyn OneConnection) {
    for _ in 0..3 {
        let started = Instant::now();
        let reply = conn.send("GET", "/nonexistent", b"");
        assert_eq!(reply.end, Some((0, ProtocolStatus::RequestComplete)), "no END_REQUEST: {reply:?}");
        assert_eq!(reply.status(), "404 NOT FOUND");
        assert_eq!(reply.body(), b"nf");
        assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    }
}

#[test]
fn a_kept_traceback_does_not_hold_the_response_in_iis_mode() {
    let log = tempfile::NamedTempFile::new().unwrap();
    answers_at_once(&mut iis("kept:minimal", log.path()));
}

#[test]
fn a_kept_traceback_does_not_hold_the_response_in_bind_mode() {
    let server = bound(&["kept:minimal", "--threads", "1"]);
    let mut conn = server.connect();
    conn.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    answers_at_once(&mut conn);
}

/// `/keep` (body unread), then `/late` using what it kept.
fn kept_objects_are_harmless(conn: &mut dyn OneConnection, log: &std::path::Path) {
    let kept = conn.send("POST", "/keep", b"the first request's body, never read");
    assert_eq!(kept.end, Some((0, ProtocolStatus::RequestComplete)));
    assert_eq!(kept.body(), b"nf");
    let late = conn.send("POST", "/late", b"the second request's body");
    assert_eq!(late.end, Some((0, ProtocolStatus::RequestComplete)));
    assert_eq!(late.status(), "200 OK", "{}", late.body_text());
    let report: serde_json::Value = serde_json::from_slice(late.body()).unwrap();
    let ended = "was called after the response to its request had ended";
    for key in ["start_response", "start_response_again"] {
        let text = report[key].as_str().unwrap();
        assert!(text.starts_with("RuntimeError: start_response ") && text.contains(ended), "{key}: {text}");
    }
    let write = report["write"].as_str().unwrap();
    assert!(write.starts_with("RuntimeError: write() ") && write.contains(ended), "{write}");
    assert_eq!(report["input_read"], "returned b''", "a kept wsgi.input reads EOF");
    assert_eq!(report["input_readline"], "returned b''");
    assert_eq!(report["errors"], "returned 30");
    assert_eq!(report["own_body"], "the second request's body", "nothing consumed the next body");
    assert!(!late.body_text().contains("into the next request"));
    let next = conn.send("GET", "/keep", b"");
    assert_eq!(next.body(), b"nf", "the connection goes on");
    let text = std::fs::read_to_string(log).unwrap();
    assert!(text.contains("a kept wsgi.errors still logs"), "{text}");
    let logged = text.matches("start_response was called after the response").count();
    assert_eq!(logged, 1, "logged once per start_response:\n{text}");
}

#[test]
fn kept_request_objects_are_harmless_in_iis_mode() {
    let log = tempfile::NamedTempFile::new().unwrap();
    kept_objects_are_harmless(&mut iis("kept:application", log.path()), log.path());
}

#[test]
fn kept_request_objects_are_harmless_in_bind_mode_with_keep_alive() {
    let server = bound(&["kept:application", "--threads", "1"]);
    let mut conn = server.connect();
    conn.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    kept_objects_are_harmless(&mut conn, &server.log);
}

/// SIGTERM waits for a request that never finishes only until
/// `--graceful-timeout`, then names it and exits 0.
fn assert_abandoned_at_the_deadline(child: &mut std::process::Child, log: &std::path::Path) {
    wait_until("the request to start", || std::fs::read_to_string(log).unwrap_or_default().contains("/forever"));
    let started = Instant::now();
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    wait_until("the process to exit", || child.try_wait().unwrap().is_some());
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(900) && waited < Duration::from_secs(5), "{waited:?}");
    assert_eq!(child.try_wait().unwrap().and_then(|status| status.code()), Some(0));
    let text = std::fs::read_to_string(log).unwrap();
    assert!(text.contains("abandoning GET /forever?100000 (FastCGI request 1) (the app is still running"), "{text}");
}

#[test]
fn a_graceful_stop_abandons_a_stuck_request_at_its_deadline_in_iis_mode() {
    let log = tempfile::NamedTempFile::new().unwrap();
    let args = ["apps:slow", "--graceful-timeout", "1", "-v"];
    let mut process = IisProcess::start(&args, &[], &apps_dir(), log.path());
    let params = iis_params("GET", "/forever", "100000", &apps_dir(), 0);
    process.conn.write_all(&encode_request(1, true, &params, b"")).unwrap();
    assert_abandoned_at_the_deadline(&mut process.child, log.path());
}

#[test]
fn a_graceful_stop_abandons_a_stuck_request_at_its_deadline_in_bind_mode() {
    let mut server = bound(&["apps:slow", "--graceful-timeout", "1", "-v"]);
    let mut conn = server.connect();
    conn.write_all(&encode_request(1, true, &params("GET", "/forever?100000", 0), b"")).unwrap();
    let log = server.log.clone();
    assert_abandoned_at_the_deadline(&mut server.process.0, &log);
}
