//! nginx as the front end: examples/nginx/iiswsgi.conf (Debian's stock
//! `fastcgi_params`, `fastcgi_keep_conn` and an upstream keepalive pool)
//! in front of `iiswsgi serve --bind unix:`, and the variants people write.

use super::{example, replaced};
use crate::support::http::request;
use crate::support::{free_port, require, serve_unix_with, wait_until, Guard};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};

/// nginx in front of `iiswsgi serve --bind unix:`, both stopped when dropped.
pub struct Nginx {
    _server: Guard,
    _nginx: Guard,
    dir: tempfile::TempDir,
    pub port: u16,
}

impl Nginx {
    /// The gateway's log.
    pub fn gateway_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("iiswsgi.log")).unwrap_or_default()
    }
}

/// How the example is changed, as users change it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// examples/nginx/iiswsgi.conf as it is.
    Example,
    /// Without `fastcgi_keep_conn` and the upstream's keepalive pool.
    NoKeepConn,
    /// `location /app/`, the gateway run with `--script-name /app`.
    MountedAtApp,
    /// `location /app/` with `fastcgi_split_path_info` and
    /// `fastcgi_param PATH_INFO $fastcgi_path_info`.
    SplitPathInfo,
}

fn start(app: &str, keep_conn: bool) -> Option<Nginx> {
    start_with(&[app], &[], keep_conn)
}

/// nginx passing every request to `iiswsgi serve SERVE_ARGS` with `env`.
pub fn start_with(serve_args: &[&str], env: &[(&str, &str)], keep_conn: bool) -> Option<Nginx> {
    start_variant(serve_args, env, if keep_conn { Variant::Example } else { Variant::NoKeepConn })
}

pub fn start_variant(serve_args: &[&str], env: &[(&str, &str)], variant: Variant) -> Option<Nginx> {
    if !require("nginx") {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("fcgi.sock");
    let server = serve_unix_with(serve_args, env, &socket, &dir.path().join("iiswsgi.log"));
    let port = free_port();
    std::fs::copy("/etc/nginx/fastcgi_params", dir.path().join("fastcgi_params")).unwrap();
    std::fs::write(dir.path().join("site.conf"), site(&socket, port, variant)).unwrap();
    let conf_path = dir.path().join("nginx.conf");
    std::fs::write(&conf_path, main_config(dir.path())).unwrap();
    let nginx = Command::new("nginx")
        .args(["-p", dir.path().to_str().unwrap(), "-c", conf_path.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nginx");
    let nginx = Guard(nginx);
    wait_until("nginx to listen", || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    Some(Nginx { _server: server, _nginx: nginx, dir, port })
}

/// The example, with the test's port and socket.
fn site(socket: &Path, port: u16, variant: Variant) -> String {
    let socket = socket.display().to_string();
    let listen = format!("listen 127.0.0.1:{port};");
    let mut site =
        replaced(&example("nginx/iiswsgi.conf"), &[("listen 8080;", &listen), ("/run/iiswsgi/app.sock", &socket)]);
    match variant {
        Variant::Example => {}
        Variant::NoKeepConn => {
            site = replaced(&site, &[("        fastcgi_keep_conn on;\n", ""), ("    keepalive 8;\n", "")]);
        }
        Variant::MountedAtApp => site = replaced(&site, &[("location / {", "location /app/ {")]),
        Variant::SplitPathInfo => {
            let split = "        fastcgi_split_path_info ^(/app)(/.*)$;\n        include fastcgi_params;\n        fastcgi_param PATH_INFO $fastcgi_path_info;\n";
            site =
                replaced(&site, &[("location / {", "location /app/ {"), ("        include fastcgi_params;\n", split)]);
        }
    }
    site
}

/// What a distribution's nginx.conf has around the site (here writing
/// under the test's folder).
fn main_config(dir: &Path) -> String {
    let dir = dir.display();
    format!(
        r#"daemon off;
master_process off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    fastcgi_temp_path {dir}/fastcgi;
    proxy_temp_path {dir}/proxy;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    client_max_body_size 100m;
    include {dir}/site.conf;
}}
"#
    )
}

fn environ(port: u16, path: &str) -> Value {
    let response = request(port, "GET", path, b"");
    assert_eq!(response.status, 200, "{path}: {}", response.head);
    serde_json::from_slice(&response.body).unwrap()
}

fn paths(environ: &Value) -> (&str, &str) {
    (environ["SCRIPT_NAME"].as_str().unwrap_or("?"), environ["PATH_INFO"].as_str().unwrap_or("?"))
}

/// Debian's stock fastcgi_params sends SCRIPT_NAME = the whole path and no
/// PATH_INFO; apps route all the same, %-encoded and non-ASCII paths too.
#[test]
fn the_stock_fastcgi_params_route_every_path() {
    let Some(nginx) = start("apps:echo", true) else { return };
    for (path, path_info) in [
        ("/", "/"),
        ("/users/42?tab=posts", "/users/42"),
        ("/caf%C3%A9/a%20b", "/caf\u{c3}\u{a9}/a b"),
        ("/a+b/%E2%9C%93/", "/a+b/\u{e2}\u{9c}\u{93}/"),
    ] {
        let env = environ(nginx.port, path);
        assert_eq!(paths(&env), ("", path_info), "{path}");
        assert_eq!(env["REQUEST_URI"], path);
    }
}

#[test]
fn mounted_under_a_location_with_script_name() {
    let Some(nginx) = start_variant(&["apps:echo", "--script-name", "/app"], &[], Variant::MountedAtApp) else {
        return;
    };
    assert_eq!(paths(&environ(nginx.port, "/app/users/42?x=1")), ("/app", "/users/42"));
    assert_eq!(paths(&environ(nginx.port, "/app/caf%C3%A9")), ("/app", "/caf\u{c3}\u{a9}"));
    assert_eq!(paths(&environ(nginx.port, "/app/")), ("/app", "/"));
}

/// `fastcgi_split_path_info` splits the path itself: the gateway believes
/// it, with or without `--script-name`.
#[test]
fn split_path_info_is_believed() {
    let Some(nginx) = start_variant(&["apps:echo"], &[], Variant::SplitPathInfo) else { return };
    assert_eq!(paths(&environ(nginx.port, "/app/users/42")), ("/app", "/users/42"));
    let Some(nginx) = start_variant(&["apps:echo", "--script-name", "/app"], &[], Variant::SplitPathInfo) else {
        return;
    };
    assert_eq!(paths(&environ(nginx.port, "/app/caf%C3%A9/x")), ("/app", "/caf\u{c3}\u{a9}/x"));
}

#[test]
fn nginx_serves_the_app() {
    let Some(nginx) = start("apps:hello", false) else { return };
    for _ in 0..5 {
        let response = request(nginx.port, "GET", "/", b"");
        assert_eq!(response.status, 200, "{}", response.head);
        assert_eq!(response.body, b"Hello, world!");
    }
}

#[test]
fn nginx_with_keep_conn_reuses_connections() {
    let Some(nginx) = start("apps:echo", true) else { return };
    for i in 0..20 {
        let body = format!("request {i}");
        let response = request(nginx.port, "POST", &format!("/path/{i}?q={i}"), body.as_bytes());
        assert_eq!(response.status, 200);
        let environ: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(environ["body"], body);
        assert_eq!(environ["PATH_INFO"], format!("/path/{i}"));
        assert_eq!(environ["QUERY_STRING"], format!("q={i}"));
    }
}

#[test]
fn nginx_streams_a_large_download_and_upload() {
    let Some(nginx) = start("apps:big", false) else { return };
    let response = request(nginx.port, "GET", "/", b"");
    assert_eq!(response.body.len(), 3 * 1024 * 1024);
    assert!(response.body.chunks(256).all(|c| c.iter().enumerate().all(|(i, &b)| b as usize == i)));
    let Some(nginx) = start("apps:count_upload", true) else { return };
    let body = vec![7u8; 8 * 1024 * 1024];
    let response = request(nginx.port, "POST", "/", &body);
    assert_eq!(
        String::from_utf8_lossy(&response.body),
        format!("{} {}", body.len(), 7 * body.len() as u64 % 1_000_000_007)
    );
}

#[test]
fn an_app_error_is_a_500_through_nginx() {
    let Some(nginx) = start("apps:raises", false) else { return };
    let response = request(nginx.port, "GET", "/", b"");
    assert_eq!(response.status, 500);
    assert!(!String::from_utf8_lossy(&response.body).contains("Traceback"));
}
