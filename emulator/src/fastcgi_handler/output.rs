//! The response side of a FastCGI exchange: the CGI head parsed from
//! FCGI_STDOUT, output held up to `responseBufferLimit` or streamed,
//! FCGI_STDERR handled per `stderrMode`, and the HTTP response (or IIS's
//! error) handed to hyper.

use super::{Target, GENERIC_500};
use crate::body::Body;
use crate::cgi_response::{latin1_bytes, Head, HeadParser};
use crate::error_page::IisError;
use bytes::Bytes;
use http::{header, HeaderName, HeaderValue, Response};
use iiswsgi_proto::declared_length::{self, Declared, Refused};
use iiswsgi_proto::iis::StderrMode;
use tokio::sync::{mpsc, oneshot};

/// Most stderr text kept for the 500 page.
const MAX_STDERR: usize = 1024 * 1024;

/// What a stdout or stderr record turns into.
enum Failure {
    /// `ReturnStdErrIn500`: a 500 whose body is the stderr text.
    Stderr,
    Page(Box<Response<Body>>),
}

/// The response side of an exchange.
pub(super) struct Output {
    pub(super) target: Target,
    reply: Option<oneshot::Sender<Response<Body>>>,
    chunks: Option<mpsc::Sender<std::io::Result<Bytes>>>,
    parser: Option<HeadParser>,
    head: Option<Head>,
    held: Vec<Bytes>,
    held_len: u64,
    stderr: Vec<u8>,
    /// Decided before the head went out: the response is this error.
    failure: Option<Failure>,
    pub(super) client_gone: bool,
}

impl Output {
    pub(super) fn new(target: Target, reply: oneshot::Sender<Response<Body>>) -> Self {
        Self {
            target,
            reply: Some(reply),
            chunks: None,
            parser: Some(HeadParser::new()),
            head: None,
            held: Vec::new(),
            held_len: 0,
            stderr: Vec::new(),
            failure: None,
            client_gone: false,
        }
    }

    pub(super) async fn on_stdout(&mut self, content: Bytes) {
        if self.failure.is_some() {
            return;
        }
        let body = match self.parser.as_mut() {
            Some(parser) => match parser.feed(&content) {
                Ok(None) => return,
                Ok(Some((head, at))) => {
                    self.parser = None;
                    self.head = Some(head);
                    content.slice(at..)
                }
                Err(malformed) => {
                    self.parser = None;
                    self.failure = Some(Failure::Page(Box::new(self.malformed(&malformed.to_string()))));
                    return;
                }
            },
            None => content,
        };
        if !body.is_empty() {
            self.held_len += body.len() as u64;
            self.held.push(body);
        }
        if self.reply.is_none() {
            self.flush().await;
        } else if self.held_len > self.target.response_buffer_limit || self.target.response_buffer_limit == 0 {
            self.send_head(true);
            self.flush().await;
        }
    }

    /// Applies `stderrMode`; true when the process must be killed now.
    pub(super) fn on_stderr(&mut self, content: &[u8], mode: StderrMode) -> bool {
        let room = MAX_STDERR.saturating_sub(self.stderr.len());
        self.stderr.extend_from_slice(&content[..content.len().min(room)]);
        match mode {
            StderrMode::IgnoreAndReturn200 => false,
            StderrMode::ReturnStdErrIn500 => {
                self.failure.get_or_insert(Failure::Stderr);
                false
            }
            StderrMode::ReturnGeneric500 => {
                self.failure.get_or_insert_with(|| {
                    Failure::Page(Box::new(self.target.error(IisError::new(500, 0, GENERIC_500))))
                });
                false
            }
            StderrMode::TerminateProcess => {
                self.failure.get_or_insert_with(|| {
                    Failure::Page(Box::new(self.target.error(IisError::new(500, 0, GENERIC_500))))
                });
                true
            }
        }
    }

    fn malformed(&self, why: &str) -> Response<Body> {
        let message = format!(
            "The specified CGI application misbehaved by not returning a complete set of HTTP headers ({why})."
        );
        self.target.error(IisError::new(502, 2, message).with_module("FastCgiModule", &self.target.handler))
    }

    /// The response is over: send what is held, or the failure.
    pub(super) fn finish(&mut self) {
        if let Some(failure) = self.failure.take() {
            let response = match failure {
                Failure::Stderr => stderr_response(std::mem::take(&mut self.stderr)),
                Failure::Page(page) => *page,
            };
            self.fail(response);
            return;
        }
        if self.reply.is_some() {
            if self.head.is_none() {
                match self.parser.take().map(HeadParser::finish) {
                    Some(Ok(Some(head))) => self.head = Some(head),
                    Some(Ok(None)) | None => {
                        let page = self.malformed("no output");
                        self.fail(page);
                        return;
                    }
                    Some(Err(malformed)) => {
                        let page = self.malformed(&malformed.to_string());
                        self.fail(page);
                        return;
                    }
                }
            }
            self.send_head(false);
        }
        // Streaming: everything was sent as it came; dropping the sender
        // ends the body.
        self.chunks = None;
    }

    /// Sends the error response if nothing was sent yet, else cuts the
    /// response short so the client cannot mistake it for complete.
    pub(super) fn fail(&mut self, response: Response<Body>) {
        match self.reply.take() {
            Some(reply) => {
                let _ = reply.send(response);
            }
            None => {
                if let Some(chunks) = self.chunks.take() {
                    // Queued behind the chunks already sent; an error, not
                    // the end of the stream, so hyper cuts the connection.
                    tokio::spawn(async move {
                        let _ = chunks
                            .send(Err(std::io::Error::other("the FastCGI application failed mid-response")))
                            .await;
                    });
                }
            }
        }
    }

    /// Sends the head with what is held; `streaming`: more will follow.
    fn send_head(&mut self, streaming: bool) {
        let Some(reply) = self.reply.take() else { return };
        let Some(head) = self.head.take() else { return };
        let body = if streaming {
            let (sender, receiver) = mpsc::channel(8);
            self.chunks = Some(sender);
            Body::streamed(Bytes::new(), receiver)
        } else {
            held_body(&head, concat(std::mem::take(&mut self.held)), self.target.head_request)
        };
        let response = match build_response(head, body) {
            Ok(response) => response,
            Err(why) => {
                self.chunks = None;
                self.malformed(&why)
            }
        };
        if reply.send(response).is_err() {
            self.client_gone = true;
        }
    }

    async fn flush(&mut self) {
        let Some(chunks) = &self.chunks else {
            self.held.clear();
            return;
        };
        for chunk in self.held.drain(..) {
            if chunks.send(Ok(chunk)).await.is_err() {
                self.client_gone = true;
                self.chunks = None;
                break;
            }
        }
        self.held_len = 0;
    }
}

fn concat(chunks: Vec<Bytes>) -> Bytes {
    match chunks.len() {
        0 => Bytes::new(),
        1 => chunks.into_iter().next().unwrap_or_default(),
        _ => Bytes::from(chunks.concat()),
    }
}

/// Headers IIS sets itself and never takes from the application.
fn is_hop_by_hop(name: &str) -> bool {
    ["connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"]
        .iter()
        .any(|h| name.eq_ignore_ascii_case(h))
}

/// The body of a response held whole. One whose length is not the
/// Content-Length declared is held to that (see [`declared_length`]):
/// as if streamed, so that hyper frames it by the declared length and
/// cuts what is past it, or cut off when it falls short.
fn held_body(head: &Head, body: Bytes, head_request: bool) -> Body {
    let declared = head.headers.iter().find(|(name, _)| name.eq_ignore_ascii_case("content-length"));
    let declared = declared.map(|(_, value)| value.as_bytes());
    match declared_length::compare(declared, body.len(), head_request) {
        Declared::Agrees => Body::full(body),
        Declared::Less(declared) => {
            tracing::warn!(
                "the FastCGI application's body is {} bytes, its Content-Length {declared}: the rest is not sent",
                body.len()
            );
            Body::streamed(body, mpsc::channel(1).1)
        }
        Declared::More(declared) => {
            tracing::warn!(
                "the FastCGI application's body is {} bytes, short of its Content-Length {declared}: cut off",
                body.len()
            );
            Body::falls_short(body)
        }
    }
}

fn build_response(head: Head, body: Body) -> Result<Response<Body>, String> {
    let mut response = Response::new(body);
    *response.status_mut() =
        http::StatusCode::from_u16(head.status).map_err(|_| format!("status {} is invalid", head.status))?;
    if let Some(reason) = head.reason.filter(|r| Some(r.as_str()) != response.status().canonical_reason()) {
        if let Ok(reason) = hyper::ext::ReasonPhrase::try_from(latin1_bytes(&reason)) {
            response.extensions_mut().insert(reason);
        }
    }
    for (name, value) in head.headers {
        if is_hop_by_hop(&name) {
            continue;
        }
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| format!("header name {name:?} is invalid"))?;
        if name == header::CONTENT_LENGTH {
            let first = response.headers().get(header::CONTENT_LENGTH).map(HeaderValue::as_bytes);
            match declared_length::admit(value.as_bytes(), first) {
                Ok(_) | Err(Refused::Repeats) => {}
                Err(why) => return Err(format!("Content-Length {value:?} {why}")),
            }
        }
        let value = HeaderValue::from_bytes(&latin1_bytes(&value))
            .map_err(|_| format!("header {name} has an invalid value"))?;
        response.headers_mut().append(name, value);
    }
    Ok(response)
}

/// `ReturnStdErrIn500`: the text the process wrote to FCGI_STDERR is the
/// body of a 500. Whether IIS wraps it in a page is not documented; it is
/// sent as plain text here, which keeps it readable and cannot inject markup.
fn stderr_response(stderr: Vec<u8>) -> Response<Body> {
    let mut response = Response::new(Body::full(stderr));
    *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}
