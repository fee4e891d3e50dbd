//! The requests of the framework scenario (testdata/frameworks/scenario.py)
//! and what of each response is compared: the status line, the headers
//! but the server's own, and the body, with the values a framework makes
//! at random (CSRF tokens, session ids) masked.

use crate::support::http::{request_with, HttpResponse};
use regex::Regex;
use std::sync::OnceLock;

/// One response as compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub what: String,
    pub status: String,
    /// Lower-case names, sorted (the order of different names is the
    /// server's business), every Set-Cookie kept.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// Headers a server sets on its own: the date, its name, and how it frames
/// the body on this connection (wsgiref adds a Content-Length to one-chunk
/// bodies, the emulator to buffered ones, nginx chunks). Content-Length is
/// checked against the body instead.
const SERVER_HEADERS: [&str; 6] = ["date", "server", "connection", "keep-alive", "transfer-encoding", "content-length"];

fn masks() -> &'static [(Regex, &'static str)] {
    static MASKS: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    MASKS.get_or_init(|| {
        [
            // Django: the CSRF cookie and form token, the session id.
            (r"csrftoken=[A-Za-z0-9]+", "csrftoken=…"),
            (r#"name="csrfmiddlewaretoken" value="[A-Za-z0-9]+""#, r#"name="csrfmiddlewaretoken" value="…""#),
            (r"sessionid=[a-z0-9]+", "sessionid=…"),
            // Dates follow the clock (Expires, cookie expiry).
            (r"[A-Za-z]{3}, \d{2}[ -][A-Za-z]{3}[ -]\d{4} \d{2}:\d{2}:\d{2} GMT", "(a date)"),
            // Pyramid: the signed session cookie carries a timestamp.
            (r"session=[A-Za-z0-9_\-]+", "session=…"),
        ]
        .into_iter()
        .map(|(pattern, replacement)| (Regex::new(pattern).unwrap(), replacement))
        .collect()
    })
}

fn mask(text: &str) -> String {
    masks()
        .iter()
        .fold(text.to_string(), |text, (pattern, replacement)| pattern.replace_all(&text, *replacement).into())
}

/// The parts of `response` that are compared.
pub fn seen(what: &str, response: &HttpResponse) -> Seen {
    let mut lines = response.head.lines();
    let status_line = lines.next().unwrap_or_default();
    let status = status_line.split_once(' ').map(|(_, rest)| rest.trim().to_string()).unwrap_or_default();
    let mut headers = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        let name = name.trim().to_ascii_lowercase();
        if name == "content-length" {
            let declared: usize = value.trim().parse().unwrap_or(usize::MAX);
            let head = what.starts_with("HEAD ");
            assert!(
                head || declared == response.body.len(),
                "{what}: Content-Length {declared} for a body of {}",
                response.body.len()
            );
        }
        if !SERVER_HEADERS.contains(&name.as_str()) {
            headers.push((name, mask(value.trim())));
        }
    }
    headers.sort();
    Seen { what: what.to_string(), status, headers, body: mask(&String::from_utf8_lossy(&response.body)) }
}

/// A request, with extra header lines (each ending in CRLF).
pub struct Ask<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub headers: String,
    pub body: Vec<u8>,
}

impl<'a> Ask<'a> {
    pub fn get(path: &'a str) -> Self {
        Self { method: "GET", path, headers: String::new(), body: Vec::new() }
    }

    pub fn post(path: &'a str, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Self { method: "POST", path, headers: format!("Content-Type: {content_type}\r\n"), body: body.into() }
    }

    fn what(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

pub const BOUNDARY: &str = "iiswsgi-framework-suite";

/// A multipart form with a text field and a 100 KiB binary file.
pub fn multipart() -> Vec<u8> {
    let file: Vec<u8> = (0..100 * 1024).map(|i| (i * 7 % 256) as u8).collect();
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nh\u{e9}llo\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"data.bin\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&file);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// The requests every framework answers (scenario.py).
pub fn common() -> Vec<Ask<'static>> {
    vec![
        Ask::get("/hello"),
        Ask { method: "HEAD", ..Ask::get("/hello") },
        Ask::get("/nonexistent"),
        Ask::get("/boom"),
        Ask::get("/redirect"),
        Ask::get("/cookies"),
        Ask::post("/form", "application/x-www-form-urlencoded", "name=J%C3%BCrgen&colour=blue"),
        Ask::post("/upload", &format!("multipart/form-data; boundary={BOUNDARY}"), multipart()),
        Ask::post("/json", "application/json", r#"{"numbers": [1, 2, 3], "text": "ünï"}"#),
        Ask::get("/stream"),
        Ask::get("/file"),
        Ask::get("/path/caf%C3%A9/%E2%9C%93"),
        Ask::get("/path/a%20b%2Bc"),
    ]
}

/// Asks `port` and records what came back.
pub fn ask(port: u16, ask: &Ask<'_>) -> (Seen, HttpResponse) {
    let response = request_with(port, ask.method, ask.path, &ask.headers, &ask.body);
    (seen(&ask.what(), &response), response)
}

/// The cookies a response sets, as a `Cookie:` header line.
pub fn cookies(responses: &[&HttpResponse]) -> String {
    let pairs: Vec<String> = responses
        .iter()
        .flat_map(|r| r.head.lines())
        .filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("set-cookie").then(|| value.trim().split(';').next().unwrap_or("").to_string())
        })
        .collect();
    format!("Cookie: {}\r\n", pairs.join("; "))
}

/// What `pattern`'s first group matches in `response`'s body.
pub fn find(response: &HttpResponse, pattern: &str) -> String {
    let body = String::from_utf8_lossy(&response.body);
    let found = Regex::new(pattern).unwrap().captures(&body).map(|c| c[1].to_string());
    found.unwrap_or_else(|| panic!("no {pattern} in:\n{body}"))
}
