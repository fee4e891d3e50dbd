//! Serving one request through a FastCGI application, as IIS's
//! FastCgiModule does: a process from the pool, the server variables as
//! PARAMS, the request body as STDIN (streamed, concurrently with reading
//! the reply), the reply's CGI head turned into the HTTP response, output
//! held up to the handler's `responseBufferLimit`, FCGI_STDERR handled per
//! `stderrMode`, and the activity and request timeouts enforced.

mod output;

use crate::body::Body;
use crate::error_page::IisError;
use crate::pool::{AcquireError, Lease, Pool};
use crate::process::Channel;
use http::Response;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use iiswsgi_proto::fastcgi::{encoder, name_value, Decoder, Record, RecordType, Role, KEEP_CONN};
use iiswsgi_proto::iis::FastCgiApplication;
use output::Output;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

/// The request id IIS uses is not documented; one process serves one
/// request at a time, so any constant will do.
const REQUEST_ID: u16 = 1;
/// The reason IIS's generic 500 gives.
pub(crate) const GENERIC_500: &str = "The page cannot be displayed because an internal server error has occurred.";

/// What an error page needs to say where the request went.
#[derive(Clone)]
pub struct Target {
    pub url: String,
    pub physical: String,
    pub handler: String,
    pub response_buffer_limit: u64,
    /// A HEAD request: a held body may be absent while its head declares
    /// the GET's Content-Length.
    pub head_request: bool,
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

impl Exchange {
    fn new(pool: Arc<Pool>, lease: Lease, target: Target, reply: oneshot::Sender<Response<Body>>) -> Self {
        Self { pool, lease, out: Output::new(target, reply) }
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
    // As IIS does for a request without a body: PARAMS, the empty PARAMS
    // and the empty STDIN back to back, in one write.
    let bodiless = http_body::Body::is_end_stream(&body);
    if bodiless {
        encoder::end_stream(RecordType::Stdin, REQUEST_ID, &mut head);
    }
    let upload = async move {
        let mut writer = writer;
        writer.write_all(&head).await?;
        let complete = if bodiless { true } else { send_body(body, &mut writer, &touch).await? };
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
                        Record::Stdout { content, .. } => out.on_stdout(content.into()).await,
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
