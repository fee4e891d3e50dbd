//! HTTP/1.1 mode: the gateway behind IIS's HttpPlatformHandler or the
//! ASP.NET Core Module (out of process), which start it with
//! `HTTP_PLATFORM_PORT` or `ASPNETCORE_PORT` and proxy every request to
//! 127.0.0.1 on that port; or behind any HTTP reverse proxy with `--bind
//! http://HOST:PORT`. hyper speaks HTTP (nothing of it is parsed here);
//! each request becomes the same [`crate::request::Request`] the FastCGI
//! modes hand the application threads, so app loading, the WSGI host,
//! logging and error pages are those of the FastCGI modes.
//!
//! - [`module`]: what the IIS module asks of the process (token, path,
//!   forwarded headers, graceful shutdown).
//! - [`cgi_vars`]: the request as CGI variables.
//! - [`exchange`]: one request through the app; [`reply`] makes its
//!   response head on the application thread, [`output_body`] streams
//!   its body.

mod cgi_vars;
pub mod exchange;
pub mod module;
mod output_body;
mod reply;
#[cfg(windows)]
mod windows_auth;

use crate::pool::Pool;
use crate::shutdown::Shutdown;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// hyper's default header count.
pub const DEFAULT_MAX_HEADERS: usize = 100;

/// Bounds on what a client may send.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most request headers; more is a 431.
    pub max_headers: usize,
    /// Most bytes of request line and headers; more is a 431.
    pub max_header_bytes: usize,
    /// Most request body bytes; a larger Content-Length is a 413 and a
    /// chunked body that grows past it is cut off.
    pub max_body: Option<u64>,
    /// A client that has not sent its headers by then is disconnected.
    pub header_timeout: Duration,
    /// Connections served at once.
    pub max_conns: usize,
}

/// What every connection shares.
pub struct Context {
    pub pool: Pool<exchange::HttpJob>,
    pub shutdown: Shutdown,
    pub module: Arc<module::Module>,
    pub limits: Limits,
}

/// Serves `listener` until shutdown, then lets the requests in flight
/// finish (hyper's graceful shutdown of each connection).
pub async fn run(listener: TcpListener, context: Arc<Context>) -> std::io::Result<()> {
    let _anchor = TimerAnchor::start();
    let slots = Arc::new(Semaphore::new(context.limits.max_conns));
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else { break };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = context.shutdown.wait() => break,
        };
        match accepted {
            Ok((stream, remote)) => {
                let _ = stream.set_nodelay(true);
                let local = stream.local_addr().unwrap_or(remote);
                let context = context.clone();
                connections.spawn(async move {
                    serve_connection(stream, context, cgi_vars::Peers::new(remote, local)).await;
                    drop(slot);
                });
            }
            Err(err) => {
                // Typically EMFILE: back off instead of spinning.
                tracing::warn!("accept failed: {err}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// A timer that is always due within [`TimerAnchor::EVERY`]. tokio wakes
/// its I/O thread (an eventfd write and one more round of `epoll_wait`)
/// whenever a timer is set that falls due before the thread's next planned
/// wake-up, and hyper sets one for every request's header timeout: with
/// this one always sooner, those cost nothing more than their entry in the
/// timer wheel (measured: 0.3 eventfd writes per request gone).
struct TimerAnchor(tokio::task::JoinHandle<()>);

impl TimerAnchor {
    const EVERY: Duration = Duration::from_secs(1);

    fn start() -> Self {
        Self(tokio::spawn(async {
            let mut every = tokio::time::interval(Self::EVERY);
            loop {
                every.tick().await;
            }
        }))
    }
}

impl Drop for TimerAnchor {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn serve_connection(stream: tokio::net::TcpStream, context: Arc<Context>, peers: cgi_vars::Peers) {
    let remote: SocketAddr = peers.remote;
    let peers = Arc::new(peers);
    let service_context = context.clone();
    let service =
        hyper::service::service_fn(move |request| exchange::handle(request, service_context.clone(), peers.clone()));
    let limits = context.limits;
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_header_size(limits.max_header_bytes)
        .keep_alive(true);
    // hyper's own default, kept on the stack; another count costs a heap
    // allocation per request.
    if limits.max_headers != DEFAULT_MAX_HEADERS {
        builder.max_headers(limits.max_headers);
    }
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    let mut connection = std::pin::pin!(connection);
    let outcome = tokio::select! {
        outcome = connection.as_mut() => outcome,
        () = context.shutdown.wait() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(err) = outcome {
        tracing::debug!("connection from {remote}: {err}");
    }
}
