//! HTTP mode: `iiswsgi serve --bind http://...`, and the contract of IIS's
//! HttpPlatformHandler and ASP.NET Core Module (the port, token, path and
//! shutdown they give through the environment), with real HTTP clients.

use crate::support::http::{
    assert_held_to_declared_length, assert_latin1_head, gated_download, raw_request, read_one, request, request_with,
};
use crate::support::{apps_dir, gateway_command, require, wait_until, Guard};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

pub struct HttpGateway {
    pub port: u16,
    pub process: Guard,
    pub log: PathBuf,
    _dir: tempfile::TempDir,
}

/// `iiswsgi serve ARGS` with `env`, HTTP on 127.0.0.1 (`--bind
/// http://127.0.0.1:0` unless `env` names the module's port).
pub fn start(args: &[&str], env: &[(&str, &str)]) -> HttpGateway {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("iiswsgi.log");
    let module_port = env.iter().find(|(k, _)| *k == "ASPNETCORE_PORT" || *k == "HTTP_PLATFORM_PORT");
    let mut command = gateway_command();
    command.arg("serve").args(args).arg("--log-file").arg(&log).current_dir(apps_dir());
    if module_port.is_none() {
        command.args(["--bind", "http://127.0.0.1:0"]);
    }
    let child = command
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn iiswsgi");
    let process = Guard(child);
    let mut port = module_port.and_then(|(_, p)| p.parse().ok());
    wait_until("the gateway to listen", || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        port = port.or_else(|| {
            let rest = text.split("listening on http://127.0.0.1:").nth(1)?;
            rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
        });
        port.is_some_and(|port| TcpStream::connect(("127.0.0.1", port)).is_ok())
    });
    HttpGateway { port: port.unwrap_or_default(), process, log, _dir: dir }
}

impl HttpGateway {
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(body)))
}

#[test]
fn requests_keep_alive_head_and_a_decoded_path() {
    let gateway = start(&["apps:echo"], &[]);
    let mut stream = TcpStream::connect(("127.0.0.1", gateway.port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // Three requests on one connection, read one after another.
    for i in 0..3 {
        let body = format!("body {i}");
        let head = format!(
            "POST /caf%C3%A9/{i}?n={i} HTTP/1.1\r\nHost: example.org:8080\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        let response = read_one(&mut stream);
        assert!(response.head.starts_with("HTTP/1.1 200 OK"), "{}", response.head);
        let environ = json(&response.body);
        assert_eq!(environ["body"], body);
        assert_eq!(environ["PATH_INFO"], format!("/caf\u{c3}\u{a9}/{i}"), "latin-1 of the decoded bytes (PEP 3333)");
        assert_eq!(environ["QUERY_STRING"], format!("n={i}"));
        assert_eq!(environ["SERVER_NAME"], "example.org");
        assert_eq!(environ["SERVER_PORT"], "8080");
        assert_eq!(environ["wsgi.url_scheme"], "http");
    }
    let head = request(gateway.port, "HEAD", "/", b"");
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
}

#[test]
fn latin1_in_the_status_and_headers_reaches_the_client_byte_for_byte() {
    let gateway = start(&["apps:latin1_header"], &[]);
    assert_latin1_head(&raw_request(gateway.port, "GET", "/", "", b""));
}

#[test]
fn a_whole_body_is_held_to_the_content_length_the_app_declared() {
    let gateway = start(&["apps:declared_length"], &[]);
    assert_held_to_declared_length(gateway.port);
    let dropped = request(gateway.port, "GET", "/?n=five", b"");
    assert_eq!((dropped.status, &dropped.body[..]), (200, &b"hello"[..]));
    assert!(dropped.head.to_ascii_lowercase().contains("content-length: 5\r\n"), "{}", dropped.head);
    let head = request(gateway.port, "HEAD", "/?n=9", b"");
    assert!(head.head.to_ascii_lowercase().contains("content-length: 9\r\n"), "the GET's length: {}", head.head);
    assert!(head.body.is_empty());
    wait_until("the log to tell", || {
        let log = gateway.log_text();
        log.contains("not a number") && log.contains("the rest is not sent") && log.contains("short of its")
    });
}

#[test]
fn a_chunked_upload_with_expect_100_continue_reaches_the_app_whole() {
    if !require("curl") {
        return;
    }
    let gateway = start(&["apps:count_bytes"], &[]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("upload.bin");
    std::fs::write(&file, vec![b'z'; 3 * 1024 * 1024 + 17]).unwrap();
    let out = std::process::Command::new("curl")
        .args(["-s", "-v", "-H", "Transfer-Encoding: chunked", "-H", "Expect: 100-continue", "--data-binary"])
        .arg(format!("@{}", file.display()))
        .arg(format!("http://127.0.0.1:{}/", gateway.port))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), (3 * 1024 * 1024 + 17).to_string());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("HTTP/1.1 100 Continue"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_streamed_response_reaches_the_client_chunk_by_chunk() {
    let gateway = start(&["apps:gated_stream"], &[]);
    let gates = tempfile::tempdir().unwrap();
    let chunks = gated_download(gateway.port, "/", gates.path());
    assert_eq!(chunks.concat(), (0..5).map(|i| format!("chunk {i}\n")).collect::<String>());
}

#[test]
fn limits_answer_431_413_and_a_slow_client_is_cut_off() {
    let gateway = start(&["apps:count_bytes", "--max-body", "1000", "--header-timeout", "1"], &[]);
    let many: String = (0..150).map(|i| format!("X-H{i}: v\r\n")).collect();
    assert_eq!(request_with(gateway.port, "GET", "/", &many, b"").status, 431);
    let big = format!("X-Big: {}\r\n", "b".repeat(70 * 1024));
    assert_eq!(request_with(gateway.port, "GET", "/", &big, b"").status, 431);
    let too_long = request(gateway.port, "POST", "/", &[b'x'; 1001]);
    assert_eq!(too_long.status, 413);
    assert_eq!(request(gateway.port, "POST", "/", &[b'x'; 1000]).body, b"1000");
    let mut slow = TcpStream::connect(("127.0.0.1", gateway.port)).unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    let started = Instant::now();
    slow.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut rest = Vec::new();
    let _ = slow.read_to_end(&mut rest);
    assert!(started.elapsed() < Duration::from_secs(5), "the slow client was cut off after the header timeout");
    assert_eq!(request(gateway.port, "POST", "/", b"still serving").body, b"13");
}

const TOKEN: &str = "8d1e4a7c-2f3b-4c5d-9e6f-0a1b2c3d4e5f";

fn ancm_env(port: &str) -> Vec<(&'static str, String)> {
    vec![
        ("ASPNETCORE_PORT", port.to_string()),
        ("ASPNETCORE_TOKEN", TOKEN.to_string()),
        ("ASPNETCORE_APPL_PATH", "/shop".to_string()),
    ]
}

fn with_token(extra: &str) -> String {
    format!("MS-ASPNETCORE-TOKEN: {TOKEN}\r\n{extra}")
}

#[test]
fn under_the_aspnet_core_module_the_token_path_and_forwarded_client_count() {
    let port = crate::support::free_port().to_string();
    let env = ancm_env(&port);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let gateway = start(&["apps:echo"], &env);
    assert_eq!(gateway.port.to_string(), port, "the module's port, on 127.0.0.1");
    let refused = request(gateway.port, "GET", "/shop/x", b"");
    assert_eq!(refused.status, 400, "no token: refused");
    let wrong = request_with(gateway.port, "GET", "/shop/x", "MS-ASPNETCORE-TOKEN: guess\r\n", b"");
    assert_eq!(wrong.status, 400);
    let forwarded = with_token("X-Forwarded-For: 6.6.6.6, 203.0.113.9:51000\r\nX-Forwarded-Proto: https\r\n");
    let response = request_with(gateway.port, "GET", "/shop/cart/item?id=3", &forwarded, b"");
    assert_eq!(response.status, 200, "{}", String::from_utf8_lossy(&response.body));
    let environ = json(&response.body);
    assert_eq!(environ["SCRIPT_NAME"], "/shop");
    assert_eq!(environ["PATH_INFO"], "/cart/item");
    assert_eq!(environ["REMOTE_ADDR"], "203.0.113.9");
    assert_eq!(environ["wsgi.url_scheme"], "https");
    assert!(environ.get("HTTP_MS_ASPNETCORE_TOKEN").is_none(), "the token is not the app's business");
}

/// ANCM's graceful stop: `POST /iisintegration` while a request runs; the
/// request finishes, the process exits 0.
#[test]
fn the_aspnet_core_modules_shutdown_request_stops_gracefully() {
    let port = crate::support::free_port().to_string();
    let env = ancm_env(&port);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut gateway = start(&["apps:slow_or_closed"], &env);
    let slow_port = gateway.port;
    let slow = std::thread::spawn(move || request_with(slow_port, "GET", "/shop/slow?8", &with_token(""), b""));
    std::thread::sleep(Duration::from_millis(300));
    let shutdown = with_token("MS-ASPNETCORE-EVENT: shutdown\r\n");
    let accepted = request_with(gateway.port, "POST", "/shop/iisintegration", &shutdown, b"");
    assert_eq!(accepted.status, 202);
    let finished = slow.join().unwrap();
    assert_eq!(finished.status, 200);
    assert_eq!(String::from_utf8_lossy(&finished.body), (0..8).map(|i| format!("{i}\n")).collect::<String>());
    wait_until("the gateway to exit", || gateway.process.0.try_wait().unwrap().is_some());
    assert_eq!(gateway.process.0.try_wait().unwrap().and_then(|s| s.code()), Some(0));
    assert!(gateway.log_text().contains("the ASP.NET Core Module asked for a graceful shutdown"));
}

/// HttpPlatformHandler: its port, and the app and its settings from the
/// site's web.config (the folder the module starts the process in), loaded
/// at start-up; the log on stdout, which the module captures.
#[test]
fn under_httpplatformhandler_the_site_folders_web_config_is_read_at_start_up() {
    let site = tempfile::tempdir().unwrap();
    std::fs::write(
        site.path().join("web.config"),
        format!(
            r#"<configuration><appSettings>
<add key="WSGI_HANDLER" value="apps.echo" /><add key="PYTHONPATH" value="{}" /><add key="IISWSGI_MARK" value="from web.config" />
</appSettings></configuration>"#,
            apps_dir().display()
        ),
    )
    .unwrap();
    let port = crate::support::free_port();
    let child = gateway_command()
        .arg("serve")
        .env("HTTP_PLATFORM_PORT", port.to_string())
        .env("HTTP_PLATFORM_APPL_PATH", "/blog")
        .current_dir(site.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut process = Guard(child);
    wait_until("the gateway to listen", || TcpStream::connect(("127.0.0.1", port)).is_ok());
    let response = request(port, "GET", "/blog/post/1", b"");
    let environ = json(&response.body);
    assert_eq!(environ["SCRIPT_NAME"], "/blog");
    assert_eq!(environ["PATH_INFO"], "/post/1");
    // SAFETY: signalling our own child.
    unsafe { libc::kill(process.0.id() as i32, libc::SIGTERM) };
    let mut stdout = String::new();
    process.0.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    assert!(stdout.contains("transport: HTTP, listening on http://127.0.0.1:"), "{stdout}");
    assert!(stdout.contains("for HttpPlatformHandler"), "{stdout}");
    assert!(stdout.contains("web.config appSetting WSGI_HANDLER=apps.echo"), "{stdout}");
    assert!(stdout.contains("web.config appSetting IISWSGI_MARK=from web.config"), "{stdout}");
}

#[test]
fn wrk_finds_no_errors() {
    if !require("wrk") {
        return;
    }
    let gateway = start(&["apps:hello", "--threads", "4"], &[]);
    let out = std::process::Command::new("wrk")
        .args(["-t", "2", "-c", "16", "-d", "2s"])
        .arg(format!("http://127.0.0.1:{}/", gateway.port))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("requests in"), "{text}");
    assert!(!text.contains("Non-2xx") && !text.contains("Socket errors"), "{text}");
}

#[test]
fn a_client_that_hangs_up_before_the_head_leaves_no_response_in_flight() {
    let gateway = start(&["apps:slow_or_closed"], &[]);
    let mut early = TcpStream::connect(("127.0.0.1", gateway.port)).unwrap();
    // `slow` sends its head with its first chunk, 200 ms from now.
    early.write_all(b"GET /?3 HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(50));
    drop(early);
    wait_until("the app to close the abandoned iterable", || request(gateway.port, "GET", "/closed", b"").body == b"1");
    // The watchdog warns about a response left in flight a second after
    // its app finished; it looks every 250 ms.
    std::thread::sleep(Duration::from_millis(1600));
    let log = gateway.log_text();
    assert!(!log.contains("has not ended"), "the abandoned request was left in flight:\n{log}");
}
