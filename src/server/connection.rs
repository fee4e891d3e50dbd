//! One FastCGI connection: read records, start requests on the pool, pump
//! the request body in and the response out, with backpressure both ways.

use super::Context;
use crate::request::{inflight, Output, Request, Ticket};
use bytes::Bytes;
use iiswsgi_proto::fastcgi::{Event, ServerConnection};
use std::future::pending;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc::{error::TrySendError, Receiver, Sender};

const READ_BUFFER: usize = 64 * 1024;

/// The request being served on this connection.
struct Current {
    request_id: u16,
    /// Open while the app may still read body chunks.
    body: Option<Sender<Bytes>>,
    /// A body chunk waiting for room in the channel; reading the socket
    /// pauses meanwhile.
    held: Option<Bytes>,
    /// Closed when the app ends the response.
    output: Receiver<Output>,
    aborted: Arc<AtomicBool>,
    ticket: Ticket,
}

impl Current {
    /// Stops the application: its next write fails and its body reads end.
    fn abort(&mut self) {
        self.aborted.store(true, Ordering::Release);
        self.body = None;
        self.held = None;
    }
}

/// Serves a connection until it ends, logging why, and hands it back.
pub async fn serve<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, context: &Context) -> S {
    let mut conn = ServerConnection::new(context.limits);
    let mut current = None;
    if let Err(err) = drive(&mut stream, &mut conn, &mut current, context).await {
        tracing::warn!("closing FastCGI connection: {err}");
    }
    if let Some(current) = current.as_mut() {
        current.abort();
        // Nothing more can be sent for it.
        inflight::global().response_ended(&current.ticket);
    }
    let _ = stream.shutdown().await;
    stream
}

#[derive(Debug, thiserror::Error)]
enum ConnError {
    #[error("malformed record from the web server: {0}")]
    Protocol(#[from] iiswsgi_proto::fastcgi::Error),
    #[error("reading from the web server failed: {0}")]
    Read(std::io::Error),
}

async fn drive<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    conn: &mut ServerConnection,
    current: &mut Option<Current>,
    context: &Context,
) -> Result<(), ConnError> {
    let mut buf = vec![0u8; READ_BUFFER];
    let mut peer_closed = false;
    // Set when a write fails: the peer is gone, output is discarded.
    let mut broken = false;
    let mut stopping = false;
    loop {
        while current.as_ref().is_none_or(|c| c.held.is_none()) {
            let Some(event) = conn.poll_event()? else { break };
            on_event(event, conn, current, context);
        }
        if conn.has_output() {
            let bytes = conn.take_output();
            if !broken && stream.write_all(&bytes).await.is_err() {
                tracing::info!("the web server closed the connection; abandoning the response");
                broken = true;
                if let Some(current) = current.as_mut() {
                    current.abort();
                }
            }
        }
        if current.is_none() && (conn.wants_close() || peer_closed || broken || stopping) {
            return Ok(());
        }
        let held = current.as_ref().is_some_and(|c| c.held.is_some());
        let (output, body) = match current.as_mut() {
            Some(c) => (Some(&mut c.output), if c.held.is_some() { c.body.clone() } else { None }),
            None => (None, None),
        };
        tokio::select! {
            output = recv(output) => on_output(output, conn, current, broken),
            permit = reserve(body) => {
                if let Some(c) = current.as_mut() {
                    match permit {
                        Some(permit) => drop(permit.send(c.held.take().unwrap_or_default())),
                        // The app stopped reading; the rest of the body is dropped.
                        None => { c.body = None; c.held = None; }
                    }
                }
            }
            read = stream.read(&mut buf), if !peer_closed && !held => {
                let n = read.map_err(ConnError::Read)?;
                if n == 0 {
                    peer_closed = true;
                    // A peer that hangs up before sending the whole body is gone.
                    if let Some(c) = current.as_mut().filter(|c| c.body.is_some()) {
                        c.abort();
                    }
                } else {
                    conn.receive(&buf[..n]);
                }
            }
            () = context.shutdown.wait(), if !stopping => stopping = true,
        }
    }
}

async fn recv(output: Option<&mut Receiver<Output>>) -> Option<Output> {
    match output {
        Some(rx) => rx.recv().await,
        None => pending().await,
    }
}

async fn reserve(body: Option<Sender<Bytes>>) -> Option<tokio::sync::mpsc::OwnedPermit<Bytes>> {
    match body {
        Some(tx) => tx.reserve_owned().await.ok(),
        None => pending().await,
    }
}

fn on_event(event: Event, conn: &mut ServerConnection, current: &mut Option<Current>, context: &Context) {
    match event {
        Event::Request { request_id, params, .. } => {
            let label = crate::request::label(&params, &format!("FastCGI request {request_id}"));
            let (request, channels) = Request::new(params, label, true);
            *current = Some(Current {
                request_id,
                body: channels.body,
                held: None,
                output: channels.output,
                aborted: channels.aborted,
                ticket: channels.ticket,
            });
            context.pool.submit(request);
        }
        Event::Stdin { data, .. } => {
            if let Some(c) = current.as_mut() {
                if let Some(body) = &c.body {
                    match body.try_send(Bytes::from(data)) {
                        Ok(()) => {}
                        Err(TrySendError::Full(data)) => c.held = Some(data),
                        Err(TrySendError::Closed(_)) => c.body = None,
                    }
                }
            }
        }
        Event::StdinEnd { .. } => {
            if let Some(c) = current.as_mut() {
                c.body = None;
            }
        }
        Event::Abort { request_id } => {
            tracing::info!("the web server aborted request {request_id}");
            if let Some(c) = current.as_mut() {
                c.abort();
            }
        }
        Event::ParamsTooLarge { request_id } => {
            super::refuse_params_too_large(conn, request_id, context.limits.max_params_len);
        }
    }
}

/// Most outputs gathered into one write. A fast producer refills the
/// channel as it is drained, so without a bound the drain would never end
/// and the whole response would pile up here.
const OUTPUTS_PER_WRITE: usize = 8;

fn on_output(output: Option<Output>, conn: &mut ServerConnection, current: &mut Option<Current>, broken: bool) {
    let Some(c) = current.as_mut() else { return };
    let mut next = output;
    for remaining in (0..OUTPUTS_PER_WRITE).rev() {
        match next {
            // The app ended its response (Response::end closes the
            // channel): everything it sent is written, the request is over.
            None => {
                conn.end_request(c.request_id, 0);
                inflight::global().response_ended(&c.ticket);
                *current = None;
                return;
            }
            // Output after an abort or a broken write is dropped; the request
            // still ends with END_REQUEST below.
            Some(_) if broken || c.aborted.load(Ordering::Acquire) => {}
            Some(Output::Stdout(data)) => conn.write_stdout(c.request_id, &data),
            Some(Output::Stderr(data)) => conn.write_stderr(c.request_id, &data),
        }
        if remaining == 0 {
            return;
        }
        // Take whatever else is ready so it goes out in one write.
        next = match c.output.try_recv() {
            Ok(output) => Some(output),
            Err(tokio::sync::mpsc::error::TryRecvError::Empty) => return,
            Err(tokio::sync::mpsc::error::TryRecvError::Disconnected) => None,
        };
    }
}
