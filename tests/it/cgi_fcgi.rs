//! libfcgi's `cgi-fcgi` (Debian's libfcgi-bin) as the web server.

use crate::support::{apps_dir, require, serve_tcp, wait_until};
use std::io::Write;
use std::process::{Command, Stdio};

fn cgi_fcgi(connect: &str, env: &[(&str, &str)], body: &[u8]) -> String {
    let mut child = Command::new("cgi-fcgi")
        .args(["-bind", "-connect", connect])
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("cgi-fcgi");
    child.stdin.take().unwrap().write_all(body).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const GET: [(&str, &str); 6] = [
    ("REQUEST_METHOD", "GET"),
    ("SCRIPT_NAME", ""),
    ("PATH_INFO", "/hi"),
    ("QUERY_STRING", "x=1"),
    ("SERVER_NAME", "localhost"),
    ("SERVER_PORT", "80"),
];

#[test]
fn connects_to_a_bound_tcp_port() {
    if !require("cgi-fcgi") {
        return;
    }
    let log = tempfile::NamedTempFile::new().unwrap();
    let (port, _server) = serve_tcp(&["apps:hello"], &[], log.path());
    let addr = format!("127.0.0.1:{port}");
    let out = cgi_fcgi(&addr, &GET, b"");
    assert!(out.starts_with("Status: 200 OK\r\n"), "{out}");
    assert!(out.ends_with("\r\n\r\nHello, world!"), "{out}");
}

#[test]
fn listen_socket_mode_serves_a_socket_handed_over_on_stdin() {
    if !require("cgi-fcgi") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("fcgi.sock");
    let pid_file = dir.path().join("pid");
    let log = dir.path().join("log");
    // cgi-fcgi -start runs the app with no arguments and the listening
    // socket as its stdin, as mod_fcgid and spawn-fcgi do.
    let script = dir.path().join("app.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho $$ > {}\ncd {}\nexec {} serve apps:echo --log-file {}\n",
            pid_file.display(),
            apps_dir().display(),
            crate::support::gateway().join(" "),
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let status = Command::new("cgi-fcgi")
        .args(["-start", "-connect", socket.to_str().unwrap(), script.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    wait_until("the app's pid file", || {
        std::fs::read_to_string(&pid_file).is_ok_and(|p| p.trim().parse::<u32>().is_ok())
    });
    let pid: i32 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
    let _kill = KillOnDrop(pid);
    let body = b"posted body";
    let len = body.len().to_string();
    let mut env = GET.to_vec();
    env[0] = ("REQUEST_METHOD", "POST");
    env.push(("CONTENT_LENGTH", &len));
    let out = cgi_fcgi(socket.to_str().unwrap(), &env, body);
    let json = out.split("\r\n\r\n").nth(1).unwrap_or_else(|| panic!("{out}"));
    let environ: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(environ["body"], "posted body");
    assert_eq!(environ["PATH_INFO"], "/hi");
    assert_eq!(environ["wsgi.multiprocess"], true);
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(log_text.contains("listening socket on stdin"), "{log_text}");
    // A second request reaches the same process.
    assert!(cgi_fcgi(socket.to_str().unwrap(), &GET, b"").contains("\"PATH_INFO\": \"/hi\""));
}

struct KillOnDrop(i32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        // SAFETY: signalling the server this test started.
        unsafe { libc::kill(self.0, libc::SIGTERM) };
    }
}
