use bytes::Bytes;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc::Sender;

/// What an application thread sends towards the web server.
#[derive(Debug)]
pub enum Output {
    /// CGI response bytes: the header block, then body chunks.
    Stdout(Bytes),
    /// Text for FCGI_STDERR.
    Stderr(Bytes),
}

/// The web server went away or aborted the request: stop producing output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the web server aborted the request or closed the connection")]
pub struct Disconnected;

/// The response side of a request, for application threads. Sends block
/// while the channel is full, which is how a slow client slows the app down
/// instead of growing a buffer. Dropping it ends the request (END_REQUEST).
pub struct Response {
    output: Sender<Output>,
    aborted: Arc<AtomicBool>,
}

impl Response {
    pub(super) fn new(output: Sender<Output>, aborted: Arc<AtomicBool>) -> Self {
        Self { output, aborted }
    }

    pub fn stdout(&self, data: impl Into<Bytes>) -> Result<(), Disconnected> {
        self.send(Output::Stdout(data.into()))
    }

    pub fn stderr(&self, data: impl Into<Bytes>) -> Result<(), Disconnected> {
        self.send(Output::Stderr(data.into()))
    }

    /// True once the web server aborted the request or disconnected.
    pub fn is_aborted(&self) -> bool {
        self.aborted.load(Ordering::Acquire) || self.output.is_closed()
    }

    fn send(&self, output: Output) -> Result<(), Disconnected> {
        if self.is_aborted() {
            return Err(Disconnected);
        }
        self.output.blocking_send(output).map_err(|_| Disconnected)
    }
}
