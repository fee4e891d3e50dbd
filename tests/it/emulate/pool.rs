//! The process pool's lifecycle: recycling, monitored files, load spread
//! over instances and streaming.

use super::{copy_site, text, Emulator};
use crate::support::http::request;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

#[test]
fn instance_max_requests_recycles_the_process() {
    let emulator = Emulator::site("recycle");
    let pids: Vec<String> = (0..4).map(|_| text(&emulator.get("/"))).collect();
    assert_eq!(pids[0], pids[1]);
    assert_ne!(pids[1], pids[2], "recycled after 2 requests: {pids:?}");
    assert_eq!(pids[2], pids[3]);
}

#[test]
fn monitor_changes_to_recycles_and_a_missing_file_fails() {
    let dir = tempfile::tempdir().unwrap();
    let monitored = dir.path().join("touch-to-restart.txt");
    std::fs::write(&monitored, "1").unwrap();
    let site = super::sites_dir().join("monitor");
    let emulator = Emulator::site_dir(&site, &[("IISWSGI_MONITOR", monitored.to_str().unwrap())]);
    let first = text(&emulator.get("/"));
    assert_eq!(first, text(&emulator.get("/")));
    std::thread::sleep(Duration::from_millis(20));
    let file = std::fs::File::options().write(true).open(&monitored).unwrap();
    file.set_modified(std::time::SystemTime::now() + Duration::from_secs(5)).unwrap();
    assert_ne!(first, text(&emulator.get("/")), "the change recycled the process");
    std::fs::remove_file(&monitored).unwrap();
    let response = emulator.get("/");
    assert_eq!(response.status, 500);
    assert!(text(&response).contains("monitorChangesTo"), "{}", text(&response));
}

#[test]
fn twelve_clients_two_instances_every_response_correct() {
    let emulator = Emulator::site("concurrency");
    let port = emulator.port;
    std::thread::scope(|scope| {
        for client in 0..12 {
            scope.spawn(move || {
                for n in 0..200 {
                    let body = format!("client {client} request {n}");
                    let response = request(port, "POST", &format!("/c{client}?n={n}"), body.as_bytes());
                    assert_eq!(response.status, 200);
                    let environ: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
                    assert_eq!(environ["body"], body);
                    assert_eq!(environ["PATH_INFO"], format!("/c{client}"));
                    assert_eq!(environ["QUERY_STRING"], format!("n={n}"));
                }
            });
        }
    });
    let starts = emulator.log("emulator.log").matches("started FastCGI process").count();
    assert!(starts <= 2, "maxInstances=2 but {starts} processes started");
}

/// Sends a GET and returns the reader positioned after the head.
fn open_stream(port: u16, path: &str) -> BufReader<TcpStream> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" || line.is_empty() {
            return reader;
        }
    }
}

#[test]
fn unbuffered_handler_streams_while_another_instance_serves() {
    let emulator = Emulator::site("streaming");
    let gate = tempfile::tempdir().unwrap();
    let gate_file = gate.path().join("open");
    let mut reader = open_stream(emulator.port, &format!("/?gate={}", gate_file.display()));
    let mut line = String::new();
    reader.read_line(&mut line).unwrap(); // chunk size
    line.clear();
    reader.read_line(&mut line).unwrap();
    assert_eq!(line, "first chunk\n", "the first chunk arrives before the app yields the second");
    // Meanwhile the second instance serves another request.
    let other_gate = gate.path().join("other");
    std::fs::write(&other_gate, "").unwrap();
    let other = request(emulator.port, "GET", &format!("/?gate={}", other_gate.display()), b"");
    assert_eq!(text(&other), "first chunk\nsecond chunk\n");
    std::fs::write(&gate_file, "").unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut reader, &mut rest).unwrap();
    assert!(rest.contains("second chunk"), "{rest:?}");
}

#[test]
fn default_buffer_holds_the_response_until_it_ends() {
    let emulator = Emulator::site("buffered");
    let gate = tempfile::tempdir().unwrap();
    let gate_file = gate.path().join("open");
    let mut stream = TcpStream::connect(("127.0.0.1", emulator.port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_millis(1500))).unwrap();
    write!(stream, "GET /?gate={} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", gate_file.display())
        .unwrap();
    let mut buf = [0u8; 64];
    let early = std::io::Read::read(&mut stream, &mut buf);
    assert!(early.is_err(), "nothing may arrive before the app finishes: {early:?}");
    std::fs::write(&gate_file, "").unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut raw = Vec::new();
    std::io::Read::read_to_end(&mut stream, &mut raw).unwrap();
    let response = crate::support::http::parse(&raw);
    assert_eq!(text(&response), "first chunk\nsecond chunk\n");
    assert!(response.head.contains("content-length: 25"), "a held response gets a length: {}", response.head);
}

#[test]
fn editing_the_app_restarts_it_and_the_regex_decides_what_counts() {
    let cases: [(Option<&str>, bool); 3] = [(None, true), (Some(r".*\.txt$"), false), (Some(""), false)];
    std::thread::scope(|scope| {
        for (regex, py_edit_restarts) in cases {
            scope.spawn(move || {
                let site = copy_site("restart");
                if let Some(regex) = regex {
                    let config = std::fs::read_to_string(site.path().join("web.config")).unwrap().replace(
                        "<appSettings>",
                        &format!("<appSettings>\n    <add key=\"WSGI_RESTART_FILE_REGEX\" value=\"{regex}\" />"),
                    );
                    std::fs::write(site.path().join("web.config"), config).unwrap();
                }
                let emulator = Emulator::site_dir(site.path(), &[]);
                assert_eq!(text(&emulator.get("/")), "version 1");
                let app = site.path().join("app.py");
                std::fs::write(&app, std::fs::read_to_string(&app).unwrap().replace("version 1", "version 2")).unwrap();
                if py_edit_restarts {
                    crate::support::wait_until("the edit to be served", || text(&emulator.get("/")) == "version 2");
                } else {
                    std::thread::sleep(Duration::from_millis(1500));
                    assert_eq!(text(&emulator.get("/")), "version 1", "regex {regex:?}: .py edits are not watched");
                }
            });
        }
    });
}

#[test]
fn idle_processes_are_stopped_gracefully_after_idle_timeout() {
    // idleTimeout="10" (the schema's minimum) and
    // signalBeforeTerminateSeconds="5": SIGTERM first, as IIS signals its
    // shutdown event, so the gateway stops on its own.
    let emulator = Emulator::site("idle_timeout");
    let first = text(&emulator.get("/"));
    crate::support::wait_until("the idle process to be stopped", || {
        emulator.log("emulator.log").contains(&format!("stopping FastCGI process {first}: idle for 10s"))
    });
    crate::support::wait_until("the gateway to stop on SIGTERM", || {
        emulator.log("gateway.log").contains("shutting down: received SIGTERM")
    });
    assert_ne!(first, text(&emulator.get("/")), "a new process serves after the idle one stopped");
}
