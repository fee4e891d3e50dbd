//! An HTTP request as the CGI variables every other mode hands the app, so
//! the WSGI host, its environ and its path rules are the same whatever the
//! transport (RFC 3875 names; PEP 3333 reads them).

use super::module::{forwarded_client, forwarded_https, Module};
use crate::request::Params;
use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;

/// Where a connection came in, with the addresses as the text every
/// request on it needs, written once per connection.
pub struct Peers {
    pub remote: SocketAddr,
    remote_ip: String,
    remote_port: String,
    local_ip: String,
    local_port: String,
    /// How logs name a request on this connection: `HTTP from ADDRESS`.
    pub via: String,
}

impl Peers {
    pub fn new(remote: SocketAddr, local: SocketAddr) -> Self {
        Self {
            remote,
            remote_ip: remote.ip().to_string(),
            remote_port: remote.port().to_string(),
            local_ip: local.ip().to_string(),
            local_port: local.port().to_string(),
            via: format!("HTTP from {remote}"),
        }
    }
}

/// Headers never passed on as `HTTP_*`: the body's framing (CONTENT_TYPE
/// and CONTENT_LENGTH carry what matters), and the module's secrets.
fn is_withheld(name: &str) -> bool {
    matches!(name, "content-type" | "content-length" | "ms-aspnetcore-token")
        || name.ends_with("winauthtoken")
        || name == "x-iis-windowsauthtoken"
}

/// `SERVER_NAME` and `SERVER_PORT` from the Host header, else the socket.
fn server_name_and_port<'a>(host: Option<&'a str>, peers: &'a Peers, https: bool) -> (&'a str, &'a str) {
    let default_port = if https { "443" } else { "80" };
    match host.filter(|h| !h.is_empty()) {
        Some(host) => match host.rsplit_once(':').filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit())) {
            Some((name, port)) if !name.ends_with(']') || name.starts_with('[') => (name, port),
            _ => (host, default_port),
        },
        None => (&peers.local_ip, &peers.local_port),
    }
}

fn protocol(version: http::Version) -> &'static [u8] {
    match version {
        http::Version::HTTP_09 => b"HTTP/0.9",
        http::Version::HTTP_10 => b"HTTP/1.0",
        http::Version::HTTP_2 => b"HTTP/2.0",
        http::Version::HTTP_3 => b"HTTP/3.0",
        _ => b"HTTP/1.1",
    }
}

/// The request's CGI variables, written into one buffer (this runs for
/// every request: no allocation per variable).
pub fn params(parts: &http::request::Parts, peers: &Peers, module: &Module) -> Params {
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let trusted = module.trusts_forwarding_from(peers.remote.ip());
    let (mut remote_ip, mut remote_port) = (Cow::from(&peers.remote_ip), Some(Cow::from(&peers.remote_port)));
    let mut https = false;
    if trusted {
        if let Some((ip, port)) = header("x-forwarded-for").and_then(forwarded_client) {
            (remote_ip, remote_port) = (ip.to_string().into(), port.map(|port| port.to_string().into()));
        }
        https = header("x-forwarded-proto").is_some_and(forwarded_https);
    }
    let path = parts.uri.path();
    let decoded: Cow<'_, [u8]> = percent_encoding::percent_decode_str(path).into();
    let host = parts.headers.get(http::header::HOST).and_then(|v| v.to_str().ok());
    let (server_name, server_port) = server_name_and_port(host, peers, https);
    let mut builder = Params::builder(1024);
    builder
        .push(b"GATEWAY_INTERFACE", b"CGI/1.1")
        .push(b"SERVER_SOFTWARE", concat!("iiswsgi/", env!("CARGO_PKG_VERSION")).as_bytes())
        .push(b"SERVER_PROTOCOL", protocol(parts.version))
        .push(b"REQUEST_METHOD", parts.method.as_str().as_bytes())
        .push(b"REQUEST_URI", parts.uri.path_and_query().map_or(path, |pq| pq.as_str()).as_bytes())
        .push(b"SCRIPT_NAME", b"")
        .push(b"PATH_INFO", &decoded)
        .push(b"QUERY_STRING", parts.uri.query().unwrap_or("").as_bytes())
        .push(b"SERVER_NAME", server_name.as_bytes())
        .push(b"SERVER_PORT", server_port.as_bytes())
        .push(b"REMOTE_ADDR", remote_ip.as_bytes())
        .push(b"REQUEST_SCHEME", if https { b"https" } else { b"http" })
        .push(b"HTTPS", if https { b"on" } else { b"off" });
    if let Some(port) = remote_port {
        builder.push(b"REMOTE_PORT", port.as_bytes());
    }
    if let Some(value) = parts.headers.get(http::header::CONTENT_TYPE) {
        builder.push(b"CONTENT_TYPE", value.as_bytes());
    }
    if let Some(value) = parts.headers.get(http::header::CONTENT_LENGTH) {
        builder.push(b"CONTENT_LENGTH", value.as_bytes());
    }
    // One pass: a header's values come one after another.
    let mut values: Vec<&[u8]> = Vec::new();
    let mut headers = parts.headers.iter().peekable();
    while let Some((name, value)) = headers.next() {
        values.clear();
        values.push(value.as_bytes());
        while let Some((_, more)) = headers.next_if(|(next, _)| *next == name) {
            values.push(more.as_bytes());
        }
        let name = name.as_str();
        // A header spelt with `_` would pose as another once `-` becomes
        // `_` (X_Forwarded_For as X-Forwarded-For): dropped, as gunicorn does.
        if is_withheld(name) || name.contains('_') {
            continue;
        }
        let separator: &[u8] = if name == "cookie" { b"; " } else { b", " };
        builder.push_header(b"HTTP_", name.as_bytes(), &values, separator);
    }
    builder.finish()
}

/// How logs name the request: method, URL and connection, as
/// [`crate::request::label`] does for PARAMS, straight from hyper's parts,
/// and written out only when a log shows it.
pub struct Label {
    method: http::Method,
    uri: http::Uri,
    peers: Arc<Peers>,
}

pub fn label(parts: &http::request::Parts, peers: &Arc<Peers>) -> Label {
    Label { method: parts.method.clone(), uri: parts.uri.clone(), peers: peers.clone() }
}

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const MOST: usize = 200;
        let url = self.uri.path_and_query().map_or(self.uri.path(), |pq| pq.as_str());
        // hyper lets UTF-8 through in the path and query: cut at a
        // character's start, not inside one.
        let mut end = url.len().min(MOST);
        while !url.is_char_boundary(end) {
            end -= 1;
        }
        let cut = if end < url.len() { "…" } else { "" };
        write!(f, "{} {}{cut} ({})", self.method, &url[..end], self.peers.via)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::module::Kind;

    fn parts(uri: &str, headers: &[(&str, &str)]) -> http::request::Parts {
        let mut builder = http::Request::builder().method("POST").uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap().into_parts().0
    }

    fn peers(remote: &str) -> Peers {
        Peers::new(remote.parse().unwrap(), "127.0.0.1:8123".parse().unwrap())
    }

    fn get(params: &Params, name: &str) -> Option<String> {
        params.get(name.as_bytes()).map(|v| String::from_utf8_lossy(v).into_owned())
    }

    #[test]
    fn paths_are_decoded_and_headers_become_http_variables() {
        let request = parts(
            "/caf%C3%A9/a%2Fb?x=%20y",
            &[("Host", "example.com:8080"), ("Content-Type", "text/plain"), ("Cookie", "a=1"), ("cookie", "b=2")],
        );
        let params = params(&request, &peers("192.0.2.1:4000"), &Module::default());
        assert_eq!(params.get(b"PATH_INFO").unwrap(), "/café/a/b".as_bytes());
        assert_eq!(get(&params, "REQUEST_URI").as_deref(), Some("/caf%C3%A9/a%2Fb?x=%20y"));
        assert_eq!(get(&params, "QUERY_STRING").as_deref(), Some("x=%20y"));
        assert_eq!(get(&params, "SERVER_NAME").as_deref(), Some("example.com"));
        assert_eq!(get(&params, "SERVER_PORT").as_deref(), Some("8080"));
        assert_eq!(get(&params, "HTTP_COOKIE").as_deref(), Some("a=1; b=2"));
        assert_eq!(get(&params, "CONTENT_TYPE").as_deref(), Some("text/plain"));
        assert_eq!(get(&params, "HTTP_CONTENT_TYPE"), None);
        assert_eq!(get(&params, "REMOTE_ADDR").as_deref(), Some("192.0.2.1"));
    }

    #[test]
    fn forwarded_headers_count_only_from_a_module_on_loopback() {
        let headers = [
            ("X-Forwarded-For", "6.6.6.6, 203.0.113.9:51000"),
            ("X-Forwarded-Proto", "https"),
            ("X_Forwarded_For", "x"),
        ];
        let module = Module { kind: Some(Kind::AspNetCore), token: Some("t".into()), appl_path: None };
        let trusted = params(&parts("/", &headers), &peers("127.0.0.1:4000"), &module);
        assert_eq!(get(&trusted, "REMOTE_ADDR").as_deref(), Some("203.0.113.9"));
        assert_eq!(get(&trusted, "REMOTE_PORT").as_deref(), Some("51000"));
        assert_eq!(get(&trusted, "HTTPS").as_deref(), Some("on"));
        assert_eq!(get(&trusted, "HTTP_X_FORWARDED_FOR").as_deref(), Some("6.6.6.6, 203.0.113.9:51000"));
        let elsewhere = params(&parts("/", &headers), &peers("192.0.2.1:4000"), &module);
        assert_eq!(get(&elsewhere, "REMOTE_ADDR").as_deref(), Some("192.0.2.1"));
        assert_eq!(get(&elsewhere, "HTTPS").as_deref(), Some("off"));
        let no_module = params(&parts("/", &headers), &peers("127.0.0.1:4000"), &Module::default());
        assert_eq!(get(&no_module, "REMOTE_ADDR").as_deref(), Some("127.0.0.1"));
    }

    #[test]
    fn a_header_sent_twice_is_one_variable_and_the_label_names_the_request() {
        let request = parts("/a?b=1", &[("X-Many", "1"), ("Host", "h"), ("x-many", "2"), ("Cookie", "a=1")]);
        let params = params(&request, &peers("192.0.2.1:4000"), &Module::default());
        assert_eq!(get(&params, "HTTP_X_MANY").as_deref(), Some("1, 2"));
        assert_eq!(get(&params, "HTTP_HOST").as_deref(), Some("h"));
        assert_eq!(get(&params, "HTTP_COOKIE").as_deref(), Some("a=1"));
        let at = Arc::new(peers("192.0.2.1:4000"));
        assert_eq!(label(&request, &at).to_string(), "POST /a?b=1 (HTTP from 192.0.2.1:4000)");
        let long = parts(&format!("/{}", "x".repeat(300)), &[]);
        assert_eq!(label(&long, &at).to_string().chars().filter(|c| *c == 'x').count(), 199);
        // A character of two bytes across the cut (byte 199 of 200).
        let straddling = parts(&format!("/{}é/more", "x".repeat(198)), &[]);
        let shown = label(&straddling, &at).to_string();
        assert!(shown.starts_with(&format!("POST /{}…", "x".repeat(198))), "{shown}");
    }

    #[test]
    fn the_modules_secrets_never_reach_the_app() {
        let headers = [("MS-ASPNETCORE-TOKEN", "secret"), ("MS-ASPNETCORE-WINAUTHTOKEN", "1f4"), ("X-Kept", "yes")];
        let params = params(&parts("/", &headers), &peers("127.0.0.1:1"), &Module::default());
        assert_eq!(get(&params, "HTTP_MS_ASPNETCORE_TOKEN"), None);
        assert_eq!(get(&params, "HTTP_MS_ASPNETCORE_WINAUTHTOKEN"), None);
        assert_eq!(get(&params, "HTTP_X_KEPT").as_deref(), Some("yes"));
    }
}
