//! The rules' outcome applied to the request the emulator is serving: a
//! rewritten URL and request headers for what follows, or the answer URL
//! Rewrite gives itself (a redirect, a custom response, an error page, a
//! dropped connection).

use super::config::{self, Stage};
use super::engine::{evaluate, Answer};
use super::pattern::Patterns;
use super::variables::{Current, Request};
use crate::body::Body;
use crate::error_page::Substatus;
use crate::site::Site;
use http::{header, HeaderName, HeaderValue, Response};
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use std::net::SocketAddr;

/// Marks a response that must not be sent: the connection is dropped
/// (the AbortRequest action).
#[derive(Debug, Clone, Copy)]
pub struct Aborted;

impl std::fmt::Display for Aborted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a rewrite rule aborted the request")
    }
}

impl std::error::Error for Aborted {}

/// The request as handler mapping sees it after the rules ran.
#[derive(Debug)]
pub struct Rewritten {
    /// The decoded URL path.
    pub url: String,
    /// The same, %-encoded.
    pub raw_path: String,
    pub query: String,
    /// Server variables the rules set that are not request headers, for
    /// the FastCGI parameters they replace.
    pub variables: Vec<(String, String)>,
    /// What the access log shows as the URL, when `logRewrittenUrl` asks.
    pub logged: Option<String>,
}

/// The rewrite stage, with the patterns it compiled so far.
#[derive(Default)]
pub struct Rewriter {
    patterns: Patterns,
}

/// Who sent the request, for `{REMOTE_ADDR}` and friends.
pub struct Peer {
    pub remote: SocketAddr,
    pub local: SocketAddr,
}

impl Rewriter {
    /// Runs the rules for `request` (whose path decodes to `url`).
    pub fn apply<B>(
        &self,
        site: &Site,
        request: &mut http::Request<B>,
        url: &str,
        peer: Peer,
    ) -> Result<Rewritten, Box<Response<Body>>> {
        let raw_path = request.uri().path().to_string();
        let query = request.uri().query().unwrap_or("").to_string();
        let unchanged = || Rewritten {
            url: url.to_string(),
            raw_path: raw_path.clone(),
            query: query.clone(),
            variables: Vec::new(),
            logged: None,
        };
        let unencoded_url = request.uri().path_and_query().map_or(raw_path.clone(), |p| p.as_str().to_string());
        let view = Request {
            method: request.method().as_str(),
            headers: request.headers(),
            version: request.version(),
            remote: peer.remote,
            local: peer.local,
            unencoded_url: &unencoded_url,
            site,
        };
        let mut current = Current::new(url, &query);
        for stage in [Stage::Global, Stage::Distributed] {
            let set =
                config::for_url(site, &current.url, stage).map_err(|error| Box::new(error.response(&raw_path, "")))?;
            if set.rules.is_empty() {
                continue;
            }
            current = evaluate(&set, &self.patterns, &view, current)
                .map_err(|answer| Box::new(respond(answer, &raw_path)))?;
        }
        Ok(apply_to(request, current, unchanged()))
    }
}

/// The response rules answer with.
fn respond(answer: Answer, raw_path: &str) -> Response<Body> {
    match answer {
        Answer::Redirect { status, location } => redirect(status, &location),
        Answer::CustomResponse { status, substatus, reason, description } => {
            let mut response = super::module_error(status, substatus, description).response(raw_path, "");
            if let Ok(reason) = hyper::ext::ReasonPhrase::try_from(reason.into_bytes()) {
                response.extensions_mut().insert(reason);
            }
            response
        }
        Answer::AbortRequest => {
            let mut response = Response::new(Body::empty());
            response.extensions_mut().insert(Aborted);
            response
        }
        Answer::Failed { status, substatus, message } => {
            super::module_error(status, substatus, message).response(raw_path, "")
        }
    }
}

/// Sets the headers the rules set and, after a Rewrite, the new URL.
fn apply_to<B>(request: &mut http::Request<B>, current: Current, mut rewritten: Rewritten) -> Rewritten {
    for (name, value) in current.set {
        let Some(header) = name.strip_prefix("HTTP_") else {
            rewritten.variables.push((name, value));
            continue;
        };
        let Ok(header) = HeaderName::from_bytes(header.to_ascii_lowercase().replace('_', "-").as_bytes()) else {
            tracing::warn!("a rewrite rule set {name}, which names no valid request header");
            continue;
        };
        if value.is_empty() {
            request.headers_mut().remove(&header);
        } else if let Ok(value) = HeaderValue::from_str(&value) {
            request.headers_mut().insert(header, value);
        } else {
            tracing::warn!("a rewrite rule set {name} to a value no request header may have: {value:?}");
        }
    }
    if current.rewritten {
        rewritten.raw_path = super::encode_path(&current.url);
        rewritten.url = current.url;
        rewritten.query = current.query;
        let uri = if rewritten.query.is_empty() {
            rewritten.raw_path.clone()
        } else {
            format!("{}?{}", rewritten.raw_path, rewritten.query)
        };
        match uri.parse() {
            Ok(uri) => *request.uri_mut() = uri,
            Err(err) => tracing::warn!("the rewritten URL {uri:?} is not a valid request target: {err}"),
        }
        rewritten.logged = current.log_rewritten.then(|| rewritten.raw_path.clone());
    }
    rewritten
}

/// What a `Location` header cannot carry as it is: non-ASCII characters
/// (always encoded), controls and the characters no URL has unencoded.
const LOCATION_UNSAFE: &AsciiSet = &CONTROLS.add(b' ').add(b'"').add(b'<').add(b'>').add(b'`').add(b'{').add(b'}');

/// IIS's redirect: the status, `Location` and its small "Document Moved"
/// page.
fn redirect(status: u16, location: &str) -> Response<Body> {
    let href = crate::error_page::escape(location);
    let page = format!(
        "<head><title>Document Moved</title></head>\n<body><h1>Object Moved</h1>This document may be found <a HREF=\"{href}\">here</a></body>"
    );
    let mut response = Response::new(Body::full(page));
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::MOVED_PERMANENTLY);
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=UTF-8"));
    let location = utf8_percent_encode(location, LOCATION_UNSAFE).to_string();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response.extensions_mut().insert(Substatus(0));
    response
}
