//! Apache 2.4's mod_proxy_fcgi as the front end: examples/apache/iiswsgi.conf
//! (`ProxyPass` with `enablereuse=on`) in front of `iiswsgi serve --bind`,
//! the unix-socket form, `SetHandler` in a `<Location>`, and the PATH_INFO
//! Apache sends with `proxy-fcgi-pathinfo`.

use super::{example, replaced, Terminated};
use crate::support::http::request;
use crate::support::{free_port, require, serve_tcp, serve_unix_with, wait_until, Guard};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};

const APACHE: &str = "/usr/sbin/apache2";

/// How the example's `ProxyPass` line is changed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    Example,
    /// `ProxyPass "/app/" "unix:/path/app.sock|fcgi://localhost/"`.
    UnixSocket,
    /// `<Location "/app/"> SetHandler "proxy:fcgi://127.0.0.1:PORT/"`.
    SetHandler,
    /// The example with `SetEnv proxy-fcgi-pathinfo 1`.
    PathInfo,
}

struct Apache {
    _apache: Terminated,
    _server: Guard,
    dir: tempfile::TempDir,
    port: u16,
}

impl Apache {
    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

/// Apache in front of `iiswsgi serve --script-name /app APP`.
fn start(app: &str, variant: Variant) -> Option<Apache> {
    if !require(APACHE) {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    // Apache's children run as www-data: the folder (and the unix socket
    // in it) must be theirs to reach.
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let log = dir.path().join("iiswsgi.log");
    let args = [app, "--script-name", "/app"];
    let socket = dir.path().join("app.sock");
    let (target, server) = if variant == Variant::UnixSocket {
        let server = serve_unix_with(&args, &[], &socket, &log);
        std::fs::set_permissions(&socket, std::os::unix::fs::PermissionsExt::from_mode(0o666)).unwrap();
        (format!("unix:{}|fcgi://localhost/", socket.display()), server)
    } else {
        let (port, server) = serve_tcp(&args, &[], &log);
        (format!("fcgi://127.0.0.1:{port}/"), server)
    };
    let port = free_port();
    let proxy_pass = r#"    ProxyPass "/app/" "fcgi://127.0.0.1:9000/" enablereuse=on"#;
    let line = match variant {
        Variant::Example => proxy_pass.replace("fcgi://127.0.0.1:9000/", &target),
        Variant::UnixSocket => format!(r#"    ProxyPass "/app/" "{target}" enablereuse=on"#),
        Variant::SetHandler => {
            format!("    <Location \"/app/\">\n        SetHandler \"proxy:{target}\"\n    </Location>")
        }
        Variant::PathInfo => {
            format!("    SetEnv proxy-fcgi-pathinfo 1\n{}", proxy_pass.replace("fcgi://127.0.0.1:9000/", &target))
        }
    };
    let vhost = format!("<VirtualHost 127.0.0.1:{port}>");
    let site = replaced(&example("apache/iiswsgi.conf"), &[("<VirtualHost *:8080>", &vhost), (proxy_pass, &line)]);
    std::fs::write(dir.path().join("site.conf"), site).unwrap();
    let conf = dir.path().join("httpd.conf");
    std::fs::write(&conf, main_config(dir.path(), port)).unwrap();
    let apache = Command::new(APACHE)
        .args(["-f", conf.to_str().unwrap(), "-DFOREGROUND"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("stderr.log")).unwrap())
        .spawn()
        .expect("start apache2");
    let apache = Terminated(apache);
    wait_until("apache2 to listen", || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    Some(Apache { _apache: apache, _server: server, dir, port })
}

/// What Debian's apache2.conf and `a2enmod proxy_fcgi` amount to.
fn main_config(dir: &Path, port: u16) -> String {
    let dir = dir.display();
    let modules = ["mpm_event", "authz_core", "env", "proxy", "proxy_fcgi"]
        .map(|m| format!("LoadModule {m}_module /usr/lib/apache2/modules/mod_{m}.so\n"))
        .concat();
    format!(
        "ServerRoot {dir}\nServerName localhost\n{modules}Listen 127.0.0.1:{port}\nPidFile {dir}/httpd.pid\n\
         ErrorLog {dir}/error.log\nLogLevel warn\nDocumentRoot {dir}\nUser www-data\nGroup www-data\n\
         Include {dir}/site.conf\n"
    )
}

fn environ(apache: &Apache, path: &str) -> Value {
    let response = request(apache.port, "GET", path, b"");
    assert_eq!(response.status, 200, "{path}: {}\n{}", response.head, apache.error_log());
    serde_json::from_slice(&response.body).unwrap()
}

fn paths(environ: &Value) -> (&str, &str) {
    (environ["SCRIPT_NAME"].as_str().unwrap_or("?"), environ["PATH_INFO"].as_str().unwrap_or("?"))
}

/// mod_proxy_fcgi sends SCRIPT_NAME = the whole path and no PATH_INFO
/// through ProxyPass: the gateway takes REQUEST_URI and `--script-name`.
#[test]
fn proxy_pass_routes_under_the_mount_point() {
    let Some(apache) = start("apps:echo", Variant::Example) else { return };
    for (path, path_info) in
        [("/app/a/b?x=1", "/a/b"), ("/app/caf%C3%A9/a%20b", "/caf\u{c3}\u{a9}/a b"), ("/app/", "/")]
    {
        let env = environ(&apache, path);
        assert_eq!(paths(&env), ("/app", path_info), "{path}");
    }
    let env = environ(&apache, "/app/x?y=2");
    assert_eq!(env["QUERY_STRING"], "y=2");
    assert_eq!(env["SERVER_SOFTWARE"].as_str().map(|s| s.starts_with("Apache")), Some(true));
}

#[test]
fn the_unix_socket_form_and_set_handler() {
    for variant in [Variant::UnixSocket, Variant::SetHandler] {
        let Some(apache) = start("apps:echo", variant) else { return };
        assert_eq!(paths(&environ(&apache, "/app/users/7")), ("/app", "/users/7"));
        assert_eq!(paths(&environ(&apache, "/app/caf%C3%A9")), ("/app", "/caf\u{c3}\u{a9}"));
    }
}

/// `proxy-fcgi-pathinfo` makes Apache send its own PATH_INFO guess; the
/// gateway believes a non-empty one, so the app is mounted where the
/// guess puts it.
#[test]
fn proxy_fcgi_pathinfo_is_believed() {
    let Some(apache) = start("apps:echo", Variant::PathInfo) else { return };
    let env = environ(&apache, "/app/a/b");
    assert_eq!(paths(&env), ("/app", "/a/b"), "{env}");
}

#[test]
fn a_20_mib_upload_and_a_streamed_download_pass_through() {
    let Some(apache) = start("apps:count_upload", Variant::Example) else { return };
    let body = vec![7u8; 20 * 1024 * 1024];
    let response = request(apache.port, "POST", "/app/upload", &body);
    assert_eq!(
        String::from_utf8_lossy(&response.body),
        format!("{} {}", body.len(), 7 * body.len() as u64 % 1_000_000_007),
        "{}",
        apache.error_log()
    );
    let Some(apache) = start("apps:big", Variant::Example) else { return };
    let response = request(apache.port, "GET", "/app/", b"");
    assert_eq!(response.body.len(), 3 * 1024 * 1024);
    assert!(response.body.chunks(256).all(|c| c.iter().enumerate().all(|(i, &b)| b as usize == i)));
}
