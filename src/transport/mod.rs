//! Where FastCGI connections come from. Three transports, picked by
//! [`detect`]:
//! - IIS mode ([`IisChannel`]): stdin is one already-connected duplex channel
//!   (a named pipe on Windows, a socket on Unix) carrying one request after
//!   another.
//! - Listen-socket mode ([`Listener`] from stdin): stdin is a listening
//!   socket (FCGI_LISTENSOCK_FILENO), as lighttpd, mod_fcgid and spawn-fcgi
//!   hand it over.
//! - Bind mode ([`Listener::bind`]): `--bind unix:/path` or `--bind host:port`.

mod bind_addr;
mod listener;
#[cfg(unix)]
mod unix;
#[cfg(windows)]
mod windows;

pub use bind_addr::BindAddr;
pub use listener::{Listener, PeerFilter, StdListener};
#[cfg(unix)]
pub use unix::{detect, Detected, IisChannel};
#[cfg(windows)]
pub use windows::{detect, watch_shutdown_event, Detected, IisChannel};

use std::future::Future;
use tokio::io::{AsyncRead, AsyncWrite};

/// How the process was reached; decides concurrency and where output goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Started by IIS (or the emulator): one connection, served sequentially.
    Iis,
    /// Handed a listening socket on stdin.
    ListenSocket,
    /// Listening on an address given with `--bind`.
    Bind,
    /// HTTP/1.1: started by HttpPlatformHandler or the ASP.NET Core
    /// Module, or `--bind http://...` (see [`crate::http`]).
    Http,
}

/// A bidirectional byte stream the server can speak FastCGI over.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A source of FastCGI connections.
pub trait Transport: Send {
    type Stream: Stream + 'static;

    fn mode(&self) -> Mode;

    /// For the start-up log.
    fn describe(&self) -> String;

    /// The next connection, or `None` when no more can come.
    fn accept(&mut self) -> impl Future<Output = std::io::Result<Option<Self::Stream>>> + Send;

    /// Takes back a finished connection. IIS's pipe is disconnected and
    /// reused; sockets are just closed.
    fn release(&mut self, stream: Self::Stream) {
        drop(stream);
    }
}

/// Errors choosing or opening a transport.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("stdin is not a socket or pipe a web server connected, so there is nothing to serve; use `--bind unix:PATH` or `--bind HOST:PORT` to listen yourself")]
    NoTransport,
    #[error("cannot inspect stdin")]
    InspectStdin(#[source] std::io::Error),
    #[error("invalid bind address `{0}`: expected `unix:/path`, `host:port` (FastCGI) or `http://host:port`")]
    BindAddr(String),
    #[error("cannot listen on `{addr}`")]
    Bind { addr: String, source: std::io::Error },
    #[error("invalid FCGI_WEB_SERVER_ADDRS entry `{0}`: expected an IP address")]
    WebServerAddr(String),
}
