//! The request as rewrite rules see it: the current URL (each Rewrite
//! changes it for the rules after it), the server variables set so far,
//! and the server variables conditions read (iis-docs
//! `url-rewrite-module-configuration-reference.md`, "Accessing URL Parts
//! from a Rewrite Rule" and "Using server variables in rewrite rules";
//! `web-dev-reference/server-variables.md`).

use crate::site::Site;
use std::net::SocketAddr;

/// What does not change while the rules run.
pub struct Request<'a> {
    pub method: &'a str,
    pub headers: &'a http::HeaderMap,
    pub version: http::Version,
    pub remote: SocketAddr,
    pub local: SocketAddr,
    /// The path and query exactly as the client sent them.
    pub unencoded_url: &'a str,
    pub site: &'a Site,
}

/// What the rules have made of the request so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Current {
    /// The decoded URL path, with its leading slash.
    pub url: String,
    /// The query string, still %-encoded, without its `?`.
    pub query: String,
    /// Server variables the rules set (upper-case names, in order):
    /// `HTTP_*` ones become request headers.
    pub set: Vec<(String, String)>,
    /// Whether a Rewrite action ran.
    pub rewritten: bool,
    /// A Rewrite with `logRewrittenUrl` ran: the log shows the new URL.
    pub log_rewritten: bool,
}

impl Current {
    pub fn new(url: &str, query: &str) -> Self {
        Current {
            url: url.to_string(),
            query: query.to_string(),
            set: Vec::new(),
            rewritten: false,
            log_rewritten: false,
        }
    }

    /// Sets a server variable (an upper-case name).
    pub fn set(&mut self, name: &str, value: String) {
        match self.set.iter_mut().find(|(n, _)| n == name) {
            Some((_, old)) => *old = value,
            None => self.set.push((name.to_string(), value)),
        }
    }
}

impl Request<'_> {
    /// The physical path the current URL maps to (`{REQUEST_FILENAME}`).
    pub fn physical(&self, current: &Current) -> String {
        self.site.physical(&current.url).map(|p| p.to_string_lossy().into_owned()).unwrap_or_default()
    }

    /// A server variable by name (any case); one IIS would not know is
    /// empty (a decision: IIS's documentation is silent).
    pub fn variable(&self, current: &Current, name: &str) -> String {
        let name = name.to_ascii_uppercase();
        if let Some((_, value)) = current.set.iter().find(|(n, _)| *n == name) {
            return value.clone();
        }
        if let Some(header) = name.strip_prefix("HTTP_") {
            let header = header.to_ascii_lowercase().replace('_', "-");
            let values: Vec<_> =
                self.headers.get_all(header.as_str()).iter().map(|v| String::from_utf8_lossy(v.as_bytes())).collect();
            return values.join(", ");
        }
        let host = self.headers.get(http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
        let with_query =
            |path: &str| if current.query.is_empty() { path.to_string() } else { format!("{path}?{}", current.query) };
        match name.as_str() {
            "URL" | "PATH_INFO" | "SCRIPT_NAME" => current.url.clone(),
            "QUERY_STRING" => current.query.clone(),
            "REQUEST_URI" | "UNENCODED_URL" => self.unencoded_url.to_string(),
            "HTTP_URL" => with_query(&super::encode_path(&current.url)),
            "CACHE_URL" => format!("http://{host}{}", with_query(&super::encode_path(&current.url))),
            "REQUEST_FILENAME" | "SCRIPT_FILENAME" | "PATH_TRANSLATED" => self.physical(current),
            "REQUEST_METHOD" => self.method.to_string(),
            "HTTPS" => "off".to_string(),
            "SERVER_PORT_SECURE" => "0".to_string(),
            "SERVER_PORT" => self.local.port().to_string(),
            "SERVER_NAME" => host.rsplit_once(':').map_or(host, |(name, _)| name).to_string(),
            "SERVER_PROTOCOL" => {
                if self.version == http::Version::HTTP_10 { "HTTP/1.0" } else { "HTTP/1.1" }.to_string()
            }
            "SERVER_SOFTWARE" => "Microsoft-IIS/10.0".to_string(),
            "REMOTE_ADDR" | "REMOTE_HOST" => self.remote.ip().to_string(),
            "REMOTE_PORT" => self.remote.port().to_string(),
            "LOCAL_ADDR" => self.local.ip().to_string(),
            _ => String::new(),
        }
    }
}
