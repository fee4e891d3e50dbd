//! One HTTP request through the application threads: the module's checks,
//! the request's CGI variables and body handed over as in the FastCGI
//! modes, and the app's reply (its head already made on the application
//! thread, see [`super::reply`]) streamed as the app yields it.

use super::cgi_vars::{self, Peers};
use super::module::Module;
use super::output_body::OutputBody;
use super::reply::{whole_body_against_declared, HttpSink, Reply};
use super::Context;
use crate::pool::Job;
use crate::request::{Params, Request};
use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::Incoming;
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

/// A request as the pool queues it: the application thread that takes it
/// makes its CGI variables.
pub struct HttpJob {
    request: Request,
    parts: http::request::Parts,
    peers: Arc<Peers>,
    module: Arc<Module>,
}

impl Job for HttpJob {
    fn into_request(self) -> Request {
        let Self { mut request, parts, peers, module } = self;
        let params = cgi_vars::params(&parts, &peers, &module);
        #[cfg(windows)]
        let params = match module.kind {
            Some(kind) => super::windows_auth::with_remote_user(
                params,
                parts.headers.get(kind.auth_token_header()).map(|v| v.as_bytes()),
            ),
            None => params,
        };
        request.params = params;
        request
    }
}

/// Answers one request; never fails (a failure is an error response).
pub async fn handle(
    request: hyper::Request<Incoming>,
    context: Arc<Context>,
    peers: Arc<Peers>,
) -> Result<hyper::Response<ResponseBody>, std::convert::Infallible> {
    let (parts, upload) = request.into_parts();
    let module = &context.module;
    if !module.token_matches(&parts.headers) {
        tracing::warn!("refused a request from {} without the module's MS-ASPNETCORE-TOKEN", peers.remote);
        return Ok(plain(http::StatusCode::BAD_REQUEST, "This server answers only the IIS module that started it.\n"));
    }
    if module.is_shutdown_request(&parts.method, parts.uri.path(), &parts.headers) {
        context.shutdown.trigger("the ASP.NET Core Module asked for a graceful shutdown (MS-ASPNETCORE-EVENT)");
        return Ok(plain(http::StatusCode::ACCEPTED, ""));
    }
    // A bodiless request (most GETs) needs no channel and no pump.
    let has_body = !http_body::Body::is_end_stream(&upload);
    if let Some(limit) = context.limits.max_body.filter(|_| has_body) {
        let declared = parts.headers.get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse().ok());
        if declared.is_some_and(|length: u64| length > limit) {
            return Ok(plain(
                http::StatusCode::PAYLOAD_TOO_LARGE,
                format!("The request body exceeds {limit} bytes.\n"),
            ));
        }
    }
    let label = cgi_vars::label(&parts, &peers);
    let head_request = parts.method == http::Method::HEAD;
    let (reply, replied) = tokio::sync::oneshot::channel();
    let (request, inbound) =
        Request::with_sink(Params::default(), label, has_body, |flags| HttpSink::new(reply, flags));
    if let Some(chunks) = inbound.body {
        tokio::spawn(pump_body(upload, chunks, inbound.aborted.clone(), context.limits.max_body));
    }
    let mut body = OutputBody::new(inbound.ticket);
    context.pool.submit(HttpJob { request, parts, peers, module: module.clone() });
    let Ok(Reply::Head { head, body: first, rest }) = replied.await else {
        return Ok(plain(http::StatusCode::INTERNAL_SERVER_ERROR, "The application sent no response.\n"));
    };
    match rest {
        Some(rest) => body.begin_streamed(first, rest, head.headers.contains_key(http::header::CONTENT_LENGTH)),
        None => {
            let declared = whole_body_against_declared(&head, first.len(), head_request);
            body.begin_whole(first, declared);
        }
    }
    Ok(hyper::Response::from_parts(head, body.boxed()))
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
