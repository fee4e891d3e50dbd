//! Debugger attach: `WSGI_DEBUGPY_ADDRESS` (a web.config appSetting, or
//! the environment) makes the gateway start debugpy before it loads the
//! app; a Debug Adapter Protocol client gets its `initialize` answered.

use crate::support::fcgi_client::{iis_params, IisProcess};
use crate::support::{apps_dir, free_port, test_venv, wait_until};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A DAP `initialize` request, and the response to it (events such as
/// the adapter's telemetry may come first).
fn dap_initialize(port: u16) -> serde_json::Value {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let body = r#"{"seq":1,"type":"request","command":"initialize","arguments":{"adapterID":"iiswsgi-test","clientID":"test"}}"#;
    write!(stream, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
    let mut raw: Vec<u8> = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        // Every complete message in the buffer, in order.
        while let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..split]).into_owned();
            let length: usize = head.trim().trim_start_matches("Content-Length:").trim().parse().unwrap();
            if raw.len() < split + 4 + length {
                break;
            }
            let message: serde_json::Value = serde_json::from_slice(&raw[split + 4..split + 4 + length]).unwrap();
            raw.drain(..split + 4 + length);
            if message["type"] == "response" {
                return message;
            }
        }
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "the adapter closed: {}", String::from_utf8_lossy(&raw));
        raw.extend_from_slice(&buf[..n]);
    }
}

/// Whether a debugpy adapter serving `port` still runs.
fn adapter_running(port: u16) -> bool {
    let wanted = format!("--port\0{port}\0");
    std::fs::read_dir("/proc").into_iter().flatten().flatten().any(|entry| {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline);
        cmdline.contains("debugpy") && cmdline.contains(&wanted)
    })
}

#[test]
fn wsgi_debugpy_address_lets_a_debugger_attach() {
    let Some(venv) = test_venv() else { return };
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let log = tempfile::NamedTempFile::new().unwrap();
    let venv = venv.display().to_string();
    let apps = apps_dir();
    let mut iis =
        IisProcess::start(&["apps:hello", "--venv", &venv], &[("WSGI_DEBUGPY_ADDRESS", &address)], &apps, log.path());
    // A probe connection would take the adapter's one client slot: the log says when it listens.
    wait_until("debugpy to listen", || {
        std::fs::read_to_string(log.path()).unwrap_or_default().contains("debugpy listens")
    });
    let answer = dap_initialize(port);
    assert_eq!(
        (answer["type"].as_str(), answer["command"].as_str()),
        (Some("response"), Some("initialize")),
        "{answer}"
    );
    assert_eq!(answer["success"], true, "{answer}");
    // The app serves on meanwhile.
    assert_eq!(iis.request(&iis_params("GET", "/", "", &apps, 0), b"").body(), b"Hello, world!");
    let text = std::fs::read_to_string(log.path()).unwrap();
    assert!(text.contains(&format!("debugpy listens on {address}")), "{text}");
    drop(iis);
    // debugpy's adapter, a process of its own, leaves once the app is gone.
    wait_until("debugpy's adapter to exit", || !adapter_running(port));
}

/// Without debugpy installed: every request gets a 500 naming it, and the
/// log says why; the process stays up.
#[test]
fn a_missing_debugpy_is_a_clear_500() {
    let log = tempfile::NamedTempFile::new().unwrap();
    let apps = apps_dir();
    // The Python iiswsgi was built with has no debugpy.
    let mut iis = IisProcess::start(&["apps:hello"], &[("WSGI_DEBUGPY_ADDRESS", "5678")], &apps, log.path());
    for _ in 0..2 {
        let reply = iis.request(&iis_params("GET", "/", "", &apps, 0), b"");
        assert_eq!(reply.status(), "500 Internal Server Error");
        let text = reply.stderr_text();
        assert!(text.contains("debugpy cannot be imported") && text.contains("pip install debugpy"), "{text}");
    }
    assert!(std::fs::read_to_string(log.path()).unwrap().contains("debugpy cannot be imported"));
}
