//! How IIS answers when a FastCGI process misbehaves: crashes, stderr
//! output under each stderrMode, timeouts, a full queue, rapid failures.

use super::{text, Emulator};
use crate::support::http::request;
use std::time::{Duration, Instant};

#[test]
fn crashed_process_gives_500_and_is_replaced() {
    let emulator = Emulator::site("crash");
    let before = text(&emulator.get("/"));
    let crashed = emulator.get("/?crash=1");
    assert_eq!(crashed.status, 500);
    let page = text(&crashed);
    assert!(page.contains("The FastCGI process exited unexpectedly"), "{page}");
    assert!(page.contains("<td>0x00000003</td>"), "the exit code is the error code: {page}");
    let after = emulator.get("/");
    assert_eq!(after.status, 200);
    assert_ne!(before, text(&after), "a new process serves after the crash");
}

// The stderr fixtures serve apps.error_after_body: a 200 head and a first
// chunk on FCGI_STDOUT, then the gateway's report on FCGI_STDERR.

#[test]
fn stderr_mode_return_stderr_in_500() {
    let response = Emulator::site("stderr_return500").get("/");
    assert_eq!(response.status, 500);
    // The gateway's report, without details unless debugging is on.
    assert_eq!(
        text(&response),
        "Error occurred:\n\nThe application raised ValueError. Details are in the iiswsgi log.\n"
    );
}

#[test]
fn stderr_mode_return_generic_500() {
    let response = Emulator::site("stderr_generic500").get("/");
    assert_eq!(response.status, 500);
    let page = text(&response);
    assert!(page.contains("HTTP Error 500.0 - Internal Server Error"), "{page}");
    assert!(!page.contains("ValueError"), "{page}");
}

#[test]
fn stderr_mode_ignore_and_return_200() {
    let response = Emulator::site("stderr_ignore").get("/");
    assert_eq!((response.status, text(&response).as_str()), (200, "first chunk"));
}

#[test]
fn stderr_mode_terminate_process_kills_it() {
    let emulator = Emulator::site("stderr_terminate");
    let response = emulator.get("/");
    assert_eq!(response.status, 500);
    assert!(!text(&response).contains("ValueError"));
    assert_eq!(emulator.get("/").status, 500);
    let starts = emulator.log("emulator.log").matches("started FastCGI process").count();
    assert_eq!(starts, 2, "each request needed a new process");
}

#[test]
fn stderr_after_the_first_chunk_still_gives_500_when_buffered() {
    // headers_error_after_body: the app yields a chunk, then fails; the
    // gateway reports on FCGI_STDERR. The default 4 MiB buffer still holds
    // the chunk, so IIS can turn the response into a 500.
    let response = Emulator::site("headers_error_after_body").get("/");
    assert_eq!(response.status, 500);
    assert!(!text(&response).contains("first chunk"), "{}", text(&response));
}

#[test]
fn activity_timeout_kills_the_process_with_iis_message() {
    let emulator = Emulator::site("activity_timeout");
    let response = emulator.get("/?seconds=60");
    assert_eq!(response.status, 500);
    assert!(
        text(&response).contains("The FastCGI process exceeded configured activity timeout"),
        "{}",
        text(&response)
    );
    assert_eq!(emulator.get("/?seconds=0").status, 200, "a new process serves the next request");
}

#[test]
fn request_timeout_kills_the_process_with_iis_message() {
    let emulator = Emulator::site("request_timeout");
    let response = emulator.get("/?seconds=60");
    assert_eq!(response.status, 500);
    assert!(text(&response).contains("The FastCGI process exceeded configured request timeout"), "{}", text(&response));
}

#[test]
fn full_queue_answers_503() {
    let emulator = Emulator::site("queue_full");
    let port = emulator.port;
    std::thread::scope(|scope| {
        // One request holds the only process, one waits in the queue of one.
        let busy = scope.spawn(move || request(port, "GET", "/?seconds=3", b"").status);
        std::thread::sleep(Duration::from_millis(800));
        let queued = scope.spawn(move || request(port, "GET", "/?seconds=0", b"").status);
        std::thread::sleep(Duration::from_millis(300));
        let refused = request(port, "GET", "/?seconds=0", b"");
        assert_eq!(refused.status, 503, "{}", text(&refused));
        assert_eq!(busy.join().unwrap(), 200);
        assert_eq!(queued.join().unwrap(), 200);
    });
}

#[test]
fn rapid_failures_stop_new_processes_for_a_while() {
    let emulator = Emulator::site("rapid_fail");
    for _ in 0..2 {
        assert!(text(&emulator.get("/?crash=1")).contains("exited unexpectedly"));
    }
    let started = Instant::now();
    let response = emulator.get("/");
    assert_eq!(response.status, 500);
    assert!(
        text(&response)
            .contains("The FastCGI process has failed frequently recently. Try the request again in a while"),
        "{}",
        text(&response)
    );
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn cgi_responses_are_parsed_as_iis_parses_them() {
    let emulator = Emulator::site("raw_responses");
    let garbage = emulator.get("/garbage");
    assert_eq!(garbage.status, 502);
    assert!(text(&garbage).contains("HTTP Error 502.2"), "{}", text(&garbage));
    let nothing = emulator.get("/nothing");
    assert_eq!(nothing.status, 502);
    let redirect = emulator.get("/redirect");
    assert_eq!(redirect.status, 302);
    assert!(redirect.head.contains("location: /elsewhere"), "{}", redirect.head);
    let reason = emulator.get("/reason");
    assert!(reason.head.starts_with("HTTP/1.1 299 Custom Reason\r\n"), "{}", reason.head);
    assert!(reason.head.contains("x-custom: yes"), "{}", reason.head);
    assert_eq!(text(&reason), "ok");
    let bare_lf = emulator.get("/bare-lf");
    assert_eq!((bare_lf.status, text(&bare_lf).as_str()), (201, "lf only"));
    assert!(
        emulator.log("emulator.log").matches("started FastCGI process").count() == 1,
        "one process served them all"
    );
}
