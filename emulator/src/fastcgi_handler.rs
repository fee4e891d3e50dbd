//! Serving one request through a FastCGI application, as IIS's
//! FastCgiModule does: a process from the pool, the server variables as
//! PARAMS, the request body as STDIN (streamed, concurrently with reading
//! the reply), the reply's CGI head turned into the HTTP response, output
//! held up to the handler's `responseBufferLimit`, FCGI_STDERR handled per
//! `stderrMode`, and the activity and request timeouts enforced.

use crate::body::Body;
use crate::cgi_response::{Head, HeadParser};
use crate::error_page::IisError;
use crate::pool::{AcquireError, Lease, Pool};
use crate::process::Channel;
use bytes::Bytes;
use http::{header, HeaderName, HeaderValue, Response};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use iiswsgi_proto::fastcgi::{encoder, name_value, Decoder, Record, RecordType, Role, KEEP_CONN};
use iiswsgi_proto::iis::{FastCgiApplication, StderrMode};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

/// The request id IIS uses is not documented; one process serves one
/// request at a time, so any constant will do.
const REQUEST_ID: u16 = 1;
/// Most stderr text kept for the 500 page.
const MAX_STDERR: usize = 1024 * 1024;
/// The reason IIS's generic 500 gives.
const GENERIC_500: &str = "The page cannot be displayed because an internal server error has occurred.";

/// What an error page needs to say where the request went.
#[derive(Clone)]
pub struct Target {
    pub url: String,
    pub physical: String,
    pub handler: String,
    pub response_buffer_limit: u64,
}

impl Target {
    fn error(&self, error: IisError) -> Response<Body> {
        error.response(&self.url, &self.physical)
    }

    fn fastcgi_error(&self, full_path: &str, message: &str, code: u32) -> Response<Body> {
        self.error(IisError::fastcgi(&self.handler, format!("{full_path} - {message}"), code))
    }
}

pub async fn serve(pool: Arc<Pool>, target: Target, params: Vec<(String, Vec<u8>)>, body: Incoming) -> Response<Body> {
    let lease = match pool.acquire().await {
        Ok(lease) => lease,
        Err(AcquireError::QueueFull) => {
            return target.error(IisError::new(
                503,
                2,
                "The FastCGI queue is full: too many requests are waiting for a process.",
            ))
        }
        Err(AcquireError::RapidFail) => {
            return target.fastcgi_error(
                &pool.app.full_path,
                "The FastCGI process has failed frequently recently. Try the request again in a while",
                0x8007_0005,
            )
        }
        Err(AcquireError::MonitorMissing(path)) => {
            return target.fastcgi_error(
                &pool.app.full_path,
                &format!("The file {} named by monitorChangesTo does not exist", path.display()),
                0x8007_0002,
            )
        }
        Err(AcquireError::Start(message)) => {
            return target.fastcgi_error(
                &pool.app.full_path,
                &format!("The FastCGI process could not be started: {message}"),
                0x8007_0002,
            )
        }
    };
    let (reply, replied) = oneshot::channel();
    tokio::spawn(Exchange::new(pool, lease, target.clone(), reply).run(params, body));
    replied.await.unwrap_or_else(|_| target.error(IisError::new(500, 0, GENERIC_500)))
}

enum Ended {
    /// END_REQUEST arrived: the process can serve again.
    Complete,
    /// The process closed its end: it exited.
    Exited,
    /// The process must be stopped.
    Kill,
}

struct Exchange {
    pool: Arc<Pool>,
    lease: Lease,
    out: Output,
}

/// What a stdout or stderr record turns into.
enum Failure {
    /// `ReturnStdErrIn500`: a 500 whose body is the stderr text.
    Stderr,
    Page(Box<Response<Body>>),
}

/// The response side of an exchange.
struct Output {
    target: Target,
    reply: Option<oneshot::Sender<Response<Body>>>,
    chunks: Option<mpsc::Sender<std::io::Result<Bytes>>>,
    parser: Option<HeadParser>,
    head: Option<Head>,
    held: Vec<Bytes>,
    held_len: u64,
    stderr: Vec<u8>,
    /// Decided before the head went out: the response is this error.
    failure: Option<Failure>,
    client_gone: bool,
}

impl Exchange {
    fn new(pool: Arc<Pool>, lease: Lease, target: Target, reply: oneshot::Sender<Response<Body>>) -> Self {
        let out = Output {
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
        };
        Self { pool, lease, out }
    }

    async fn run(mut self, params: Vec<(String, Vec<u8>)>, body: Incoming) {
        let app = self.pool.app.clone();
        let ended = talk(&mut self.lease.instance.process.channel, &mut self.out, &app, params, body).await;
        let Exchange { pool, mut lease, mut out } = self;
        match ended {
            Ok(Ended::Complete) => {
                out.finish();
                pool.release(lease);
            }
            Ok(Ended::Kill) => {
                out.finish();
                pool.discard(lease);
            }
            Ok(Ended::Exited) | Err(_) => {
                let process = &mut lease.instance.process;
                let code = process.wait_for_exit(Duration::from_secs(2)).await.unwrap_or(-1);
                tracing::warn!("FastCGI process {} exited unexpectedly with code {code}", process.pid);
                let page =
                    out.target.fastcgi_error(&app.full_path, "The FastCGI process exited unexpectedly", code as u32);
                out.fail(page);
                pool.exited(lease);
            }
        }
    }
}

/// Drives the exchange until END_REQUEST, the process's exit or a timeout.
async fn talk(
    channel: &mut Channel,
    out: &mut Output,
    app: &FastCgiApplication,
    params: Vec<(String, Vec<u8>)>,
    body: Incoming,
) -> std::io::Result<Ended> {
    let activity_timeout = Duration::from_secs(u64::from(app.activity_timeout));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(u64::from(app.request_timeout));
    let activity = Mutex::new(Instant::now());
    let touch = || *activity.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    let (mut reader, writer) = tokio::io::split(channel);
    let mut head = Vec::new();
    encoder::record(RecordType::BeginRequest, REQUEST_ID, &begin_request_body(), &mut head);
    let encoded = name_value::encode(params.iter().map(|(k, v)| (k.as_bytes(), v.as_slice())));
    encoder::stream(RecordType::Params, REQUEST_ID, &encoded, &mut head);
    encoder::end_stream(RecordType::Params, REQUEST_ID, &mut head);
    let upload = async move {
        let mut writer = writer;
        writer.write_all(&head).await?;
        let complete = send_body(body, &mut writer, &touch).await?;
        Ok::<_, std::io::Error>((writer, complete))
    };
    tokio::pin!(upload);
    let mut upload_done = false;
    let mut decoder = Decoder::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut aborted = false;
    let mut writer_back = None;
    loop {
        let last = *activity.lock().unwrap_or_else(|p| p.into_inner());
        let wake = deadline.min(tokio::time::Instant::from_std(last + activity_timeout));
        tokio::select! {
            biased;
            read = reader.read(&mut buf) => {
                let n = read?;
                if n == 0 {
                    return Ok(Ended::Exited);
                }
                touch();
                decoder.feed(&buf[..n]);
                while let Some(record) = decoder.decode().map_err(std::io::Error::other)? {
                    match record {
                        Record::Stdout { content, .. } => out.on_stdout(content).await,
                        Record::Stderr { content, .. } if out.on_stderr(&content, app.stderr_mode) => {
                            return Ok(Ended::Kill);
                        }
                        Record::EndRequest { .. } => return Ok(if upload_done { Ended::Complete } else { Ended::Kill }),
                        _ => {}
                    }
                    touch();
                }
                if out.client_gone && !aborted {
                    if let Some(writer) = writer_back.as_mut() {
                        aborted = true;
                        write_abort(writer).await?;
                    }
                }
            }
            sent = &mut upload, if !upload_done => {
                upload_done = true;
                let (mut writer, complete) = sent?;
                if !complete {
                    // The client went away mid-upload: tell the
                    // application, then read on to END_REQUEST.
                    aborted = true;
                    write_abort(&mut writer).await?;
                    out.client_gone = true;
                }
                writer_back = Some(writer);
            }
            () = tokio::time::sleep_until(wake) => {
                let message = if tokio::time::Instant::now() >= deadline {
                    "The FastCGI process exceeded configured request timeout"
                } else {
                    "The FastCGI process exceeded configured activity timeout"
                };
                tracing::warn!("{}: {message}", app.full_path);
                let page = out.target.fastcgi_error(&app.full_path, message, 0x8007_0102);
                out.fail(page);
                return Ok(Ended::Kill);
            }
        }
    }
}

async fn write_abort<W: tokio::io::AsyncWrite + Unpin>(writer: &mut W) -> std::io::Result<()> {
    let mut abort = Vec::new();
    encoder::record(RecordType::AbortRequest, REQUEST_ID, &[], &mut abort);
    writer.write_all(&abort).await
}

impl Output {
    async fn on_stdout(&mut self, content: Vec<u8>) {
        if self.failure.is_some() {
            return;
        }
        let body = match self.parser.as_mut() {
            Some(parser) => match parser.feed(&content) {
                Ok(None) => return,
                Ok(Some((head, body))) => {
                    self.parser = None;
                    self.head = Some(head);
                    body
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
            self.held.push(Bytes::from(body));
        }
        if self.reply.is_none() {
            self.flush().await;
        } else if self.held_len > self.target.response_buffer_limit || self.target.response_buffer_limit == 0 {
            self.send_head(true);
            self.flush().await;
        }
    }

    /// Applies `stderrMode`; true when the process must be killed now.
    fn on_stderr(&mut self, content: &[u8], mode: StderrMode) -> bool {
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
    fn finish(&mut self) {
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
        } else if let Some(chunks) = &self.chunks {
            for chunk in self.held.drain(..) {
                if chunks.try_send(Ok(chunk)).is_err() {
                    break;
                }
            }
        }
        self.chunks = None;
    }

    /// Sends the error response if nothing was sent yet, else cuts the
    /// response short so the client cannot mistake it for complete.
    fn fail(&mut self, response: Response<Body>) {
        match self.reply.take() {
            Some(reply) => {
                let _ = reply.send(response);
            }
            None => {
                if let Some(chunks) = self.chunks.take() {
                    let _ = chunks.try_send(Err(std::io::Error::other("the FastCGI application failed mid-response")));
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
            Body::full(concat(std::mem::take(&mut self.held)))
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

fn begin_request_body() -> [u8; 8] {
    let role = Role::Responder.as_u16().to_be_bytes();
    [role[0], role[1], KEEP_CONN, 0, 0, 0, 0, 0]
}

/// Streams the request body as STDIN records, then the empty record.
/// Returns false when the client's upload broke off.
async fn send_body<W: tokio::io::AsyncWrite + Unpin>(
    mut body: Incoming,
    writer: &mut W,
    touch: &impl Fn(),
) -> std::io::Result<bool> {
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { return Ok(false) };
        if let Ok(data) = frame.into_data() {
            out.clear();
            encoder::stream(RecordType::Stdin, REQUEST_ID, &data, &mut out);
            writer.write_all(&out).await?;
            touch();
        }
    }
    out.clear();
    encoder::end_stream(RecordType::Stdin, REQUEST_ID, &mut out);
    writer.write_all(&out).await?;
    Ok(true)
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

fn build_response(head: Head, body: Body) -> Result<Response<Body>, String> {
    let mut response = Response::new(body);
    *response.status_mut() =
        http::StatusCode::from_u16(head.status).map_err(|_| format!("status {} is invalid", head.status))?;
    if let Some(reason) = head.reason.filter(|r| Some(r.as_str()) != response.status().canonical_reason()) {
        if let Ok(reason) = hyper::ext::ReasonPhrase::try_from(reason.into_bytes()) {
            response.extensions_mut().insert(reason);
        }
    }
    for (name, value) in head.headers {
        if is_hop_by_hop(&name) {
            continue;
        }
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| format!("header name {name:?} is invalid"))?;
        let value = HeaderValue::from_str(&value).map_err(|_| format!("header {name} has an invalid value"))?;
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
