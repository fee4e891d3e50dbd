//! One HTTP request through the application threads: the module's checks,
//! the request's CGI variables and body handed over as in the FastCGI
//! modes, and the app's CGI-style output turned back into the response,
//! streamed as the app yields it.

use super::cgi_vars::{self, Peers};
use super::output_body::OutputBody;
use super::Context;
use crate::request::{Output, Request};
use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::Incoming;
use iiswsgi_proto::cgi_response::HeadParser;
use std::sync::atomic::Ordering;
use std::sync::Arc;

pub type ResponseBody = BoxBody<Bytes, std::io::Error>;

/// A complete plain-text answer the gateway makes itself.
pub fn plain(status: http::StatusCode, text: impl Into<String>) -> hyper::Response<ResponseBody> {
    let mut response = hyper::Response::new(Full::new(Bytes::from(text.into())).map_err(|e| match e {}).boxed());
    *response.status_mut() = status;
    let content_type = http::HeaderValue::from_static("text/plain; charset=utf-8");
    response.headers_mut().insert(http::header::CONTENT_TYPE, content_type);
    response
}

/// Answers one request; never fails (a failure is an error response).
pub async fn handle(
    request: hyper::Request<Incoming>,
    context: Arc<Context>,
    peers: Arc<Peers>,
) -> Result<hyper::Response<ResponseBody>, std::convert::Infallible> {
    let (parts, upload) = request.into_parts();
    let header = |name: &str| parts.headers.get(name).map(|v| v.as_bytes());
    let module = &context.module;
    if !module.token_matches(header("ms-aspnetcore-token")) {
        tracing::warn!("refused a request from {} without the module's MS-ASPNETCORE-TOKEN", peers.remote);
        return Ok(plain(http::StatusCode::BAD_REQUEST, "This server answers only the IIS module that started it.\n"));
    }
    if module.is_shutdown_request(&parts.method, parts.uri.path(), header("ms-aspnetcore-event")) {
        context.shutdown.trigger("the ASP.NET Core Module asked for a graceful shutdown (MS-ASPNETCORE-EVENT)");
        return Ok(plain(http::StatusCode::ACCEPTED, ""));
    }
    let declared: Option<u64> = header("content-length").and_then(|v| std::str::from_utf8(v).ok()?.parse().ok());
    if let (Some(limit), Some(length)) = (context.limits.max_body, declared) {
        if length > limit {
            return Ok(plain(
                http::StatusCode::PAYLOAD_TOO_LARGE,
                format!("The request body exceeds {limit} bytes.\n"),
            ));
        }
    }
    let params = cgi_vars::params(&parts, &peers, module);
    #[cfg(windows)]
    let params = match module.kind {
        Some(kind) => super::windows_auth::with_remote_user(params, header(kind.auth_token_header())),
        None => params,
    };
    let label = cgi_vars::label(&parts, &peers);
    // A bodiless request (most GETs) needs no channel and no pump.
    let (request, channels) = Request::new(params, label, !http_body::Body::is_end_stream(&upload));
    if let Some(chunks) = channels.body {
        tokio::spawn(pump_body(upload, chunks, channels.aborted.clone(), context.limits.max_body));
    }
    context.pool.submit(request);
    let mut body = OutputBody::new(channels.output, channels.ticket);
    let mut parser = HeadParser::new();
    // Whether the body that came with the head is all of it.
    let mut whole = false;
    let head = loop {
        let (data, last) = match body.recv().await {
            Some(Output::Stdout(data)) => (data, false),
            Some(Output::Last(data)) => (data, true),
            Some(Output::Stderr(text)) => {
                tracing::error!("{}", String::from_utf8_lossy(&text).trim_end());
                continue;
            }
            None => break std::mem::take(&mut parser).finish().ok().flatten().map(|head| (head, Bytes::new())),
        };
        match parser.feed(&data) {
            Ok(Some((head, at))) => {
                whole = last;
                break Some((head, data.slice(at..)));
            }
            Ok(None) if last => {
                whole = true;
                break std::mem::take(&mut parser).finish().ok().flatten().map(|head| (head, Bytes::new()));
            }
            Ok(None) => {}
            Err(err) => {
                tracing::error!("the app's response head is malformed: {err}");
                break None;
            }
        }
    };
    let Some((head, rest)) = head else {
        return Ok(plain(http::StatusCode::INTERNAL_SERVER_ERROR, "The application sent no response.\n"));
    };
    body.begin(rest, whole);
    let mut response = hyper::Response::new(body.boxed());
    *response.status_mut() = http::StatusCode::from_u16(head.status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    if let Some(reason) = head.reason.filter(|r| Some(r.as_str()) != response.status().canonical_reason()) {
        if let Ok(reason) = hyper::ext::ReasonPhrase::try_from(reason.into_bytes()) {
            response.extensions_mut().insert(reason);
        }
    }
    let headers = response.headers_mut();
    for (name, value) in head.headers {
        // Framing is hyper's; PEP 3333 forbids hop-by-hop headers anyway.
        if name.eq_ignore_ascii_case("transfer-encoding") || name.eq_ignore_ascii_case("connection") {
            continue;
        }
        // The head's text is latin-1 read as chars; ASCII, nearly always,
        // becomes the header value without a copy.
        let value = if value.is_ascii() {
            http::HeaderValue::from_maybe_shared(Bytes::from(value))
        } else {
            http::HeaderValue::from_bytes(&value.chars().map(|c| c as u8).collect::<Vec<u8>>())
        };
        match (http::HeaderName::try_from(name.as_str()), value) {
            (Ok(name), Ok(value)) => drop(headers.append(name, value)),
            _ => tracing::warn!("dropped the response header {name:?}: not valid HTTP"),
        }
    }
    Ok(response)
}

/// Streams the request body into the app's channel (bounded: a slow app
/// slows the upload), counting it against the limit. A client that hangs
/// up or sends too much aborts the request: the app's next read raises.
async fn pump_body(
    mut body: Incoming,
    chunks: tokio::sync::mpsc::Sender<Bytes>,
    aborted: Arc<std::sync::atomic::AtomicBool>,
    limit: Option<u64>,
) {
    let mut total = 0u64;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            tracing::info!("the client went away before the whole body arrived");
            aborted.store(true, Ordering::Release);
            return;
        };
        let Ok(data) = frame.into_data() else { continue };
        total += data.len() as u64;
        if limit.is_some_and(|limit| total > limit) {
            tracing::warn!("the request body passed the limit of {} bytes; aborting it", limit.unwrap_or(0));
            aborted.store(true, Ordering::Release);
            return;
        }
        if chunks.send(data).await.is_err() {
            // The app stopped reading; the rest is not needed.
            return;
        }
    }
}
