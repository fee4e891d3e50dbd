//! nginx as the front end: `fastcgi_pass` to `iiswsgi serve --bind unix:`.

use crate::support::http::request;
use crate::support::{free_port, require, serve_unix_with, wait_until, Guard};
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

fn start(app: &str, keep_conn: bool) -> Option<Nginx> {
    start_with(&[app], &[], keep_conn)
}

/// nginx passing every request to `iiswsgi serve SERVE_ARGS` with `env`.
pub fn start_with(serve_args: &[&str], env: &[(&str, &str)], keep_conn: bool) -> Option<Nginx> {
    if !require("nginx") {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("fcgi.sock");
    let server = serve_unix_with(serve_args, env, &socket, &dir.path().join("iiswsgi.log"));
    let port = free_port();
    let conf = config(dir.path(), &socket, port, keep_conn);
    let conf_path = dir.path().join("nginx.conf");
    std::fs::write(&conf_path, conf).unwrap();
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

fn config(dir: &Path, socket: &Path, port: u16, keep_conn: bool) -> String {
    let dir = dir.display();
    let keep = if keep_conn { "fastcgi_keep_conn on;" } else { "" };
    let upstream = if keep_conn { "upstream app { server unix:SOCK; keepalive 4; }" } else { "" }
        .replace("SOCK", &socket.display().to_string());
    let pass = if keep_conn { "app".to_string() } else { format!("unix:{}", socket.display()) };
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
    {upstream}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_NAME "";
            fastcgi_param PATH_INFO $uri;
            {keep}
            fastcgi_pass {pass};
        }}
    }}
}}
"#
    )
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
