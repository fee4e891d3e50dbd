//! lighttpd's mod_fastcgi as the front end: examples/lighttpd/iiswsgi.conf,
//! where lighttpd starts the gateway itself (`bin-path`, the listening
//! socket on its stdin: the gateway's listen-socket transport), and the
//! `host`/`port` form against `iiswsgi serve --bind`.

use super::{example, replaced, Terminated};
use crate::support::http::request;
use crate::support::{apps_dir, free_port, gateway, require, serve_tcp, wait_until, Guard};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};

struct Lighttpd {
    _lighttpd: Terminated,
    _server: Option<Guard>,
    dir: tempfile::TempDir,
    port: u16,
}

impl Lighttpd {
    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

const BIN_PATH: &str = r#""bin-path" => "/srv/myapp/.venv/bin/iiswsgi serve --pythonpath /srv/myapp myapp:app","#;
const SOCKET: &str = r#""socket" => "/run/lighttpd/iiswsgi.sock","#;

/// lighttpd with the example; `bound` serves it from `iiswsgi serve
/// --bind` on a port (`host`/`port`) instead of `bin-path`.
fn start(app: &str, max_procs: u32, bound: bool) -> Option<Lighttpd> {
    if !require("lighttpd") {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let apps = apps_dir().display().to_string();
    let (spawn, server) = if bound {
        let (port, server) = serve_tcp(&[app], &[], &dir.path().join("iiswsgi.log"));
        (format!(r#""host" => "127.0.0.1", "port" => {port},"#), Some(server))
    } else {
        let command = format!("{} serve --pythonpath {apps} {app}", gateway().join(" "));
        (format!(r#""bin-path" => "{command}","#), None)
    };
    let socket =
        if bound { String::new() } else { format!(r#""socket" => "{}","#, dir.path().join("fcgi.sock").display()) };
    let max_procs = format!(r#""max-procs" => {max_procs},"#);
    let site = replaced(
        &example("lighttpd/iiswsgi.conf"),
        &[(BIN_PATH, &spawn), (SOCKET, &socket), (r#""max-procs" => 1,"#, &max_procs)],
    );
    let port = free_port();
    let conf = dir.path().join("lighttpd.conf");
    std::fs::write(&conf, main_config(dir.path(), port, &site)).unwrap();
    let lighttpd = Command::new("lighttpd")
        .args(["-D", "-f", conf.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("stderr.log")).unwrap())
        .spawn()
        .expect("start lighttpd");
    let lighttpd = Terminated(lighttpd);
    wait_until("lighttpd to listen", || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    Some(Lighttpd { _lighttpd: lighttpd, _server: server, dir, port })
}

/// What Debian's lighttpd.conf has around the site.
fn main_config(dir: &Path, port: u16, site: &str) -> String {
    let dir = dir.display();
    format!(
        "server.document-root = \"{dir}\"\nserver.bind = \"127.0.0.1\"\nserver.port = {port}\n\
         server.errorlog = \"{dir}/error.log\"\nserver.max-request-size = 65536\n{site}"
    )
}

fn environ(lighttpd: &Lighttpd, path: &str) -> Value {
    let response = request(lighttpd.port, "GET", path, b"");
    assert_eq!(response.status, 200, "{path}: {}\n{}", response.head, lighttpd.error_log());
    serde_json::from_slice(&response.body).unwrap()
}

fn paths(environ: &Value) -> (&str, &str) {
    (environ["SCRIPT_NAME"].as_str().unwrap_or("?"), environ["PATH_INFO"].as_str().unwrap_or("?"))
}

#[test]
fn lighttpd_starts_the_gateway_and_routes_every_path() {
    let Some(lighttpd) = start("apps:echo", 2, false) else { return };
    for (path, path_info) in [("/", "/"), ("/a/b?x=1", "/a/b"), ("/caf%C3%A9/a%20b", "/caf\u{c3}\u{a9}/a b")] {
        assert_eq!(paths(&environ(&lighttpd, path)), ("", path_info), "{path}");
    }
    for i in 0..20 {
        assert_eq!(paths(&environ(&lighttpd, &format!("/n/{i}"))), ("", format!("/n/{i}").as_str()));
    }
}

#[test]
fn lighttpd_in_front_of_a_bound_gateway() {
    let Some(lighttpd) = start("apps:echo", 1, true) else { return };
    assert_eq!(paths(&environ(&lighttpd, "/users/7?tab=1")), ("", "/users/7"));
    let body = vec![b'x'; 5 * 1024 * 1024];
    let Some(lighttpd) = start("apps:count_upload", 1, true) else { return };
    let response = request(lighttpd.port, "POST", "/upload", &body);
    assert_eq!(
        String::from_utf8_lossy(&response.body),
        format!("{} {}", body.len(), 120 * body.len() as u64 % 1_000_000_007)
    );
}
