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

/// Where a response goes. Dropping the sink ends the request
/// (END_REQUEST).
pub trait OutputSink: Send + Sync {
    /// Blocks while the web server is not ready for more, which is how a
    /// slow client slows the app down instead of growing a buffer.
    fn send(&self, output: Output) -> Result<(), Disconnected>;

    /// True once the web server aborted the request or disconnected.
    fn is_aborted(&self) -> bool;

    /// The next output is the response's last: a sink may hold it and send
    /// it together with the end of the request, in one write.
    fn last_follows(&self) {}
}

/// The async server's side: a bounded channel to the connection task.
pub(super) struct ChannelSink {
    output: Sender<Output>,
    aborted: Arc<AtomicBool>,
}

impl ChannelSink {
    pub(super) fn new(output: Sender<Output>, aborted: Arc<AtomicBool>) -> Self {
        Self { output, aborted }
    }
}

impl OutputSink for ChannelSink {
    fn send(&self, output: Output) -> Result<(), Disconnected> {
        self.output.blocking_send(output).map_err(|_| Disconnected)
    }

    fn is_aborted(&self) -> bool {
        self.aborted.load(Ordering::Acquire) || self.output.is_closed()
    }
}

/// The response side of a request, for application threads. Dropping it
/// ends the request (END_REQUEST).
pub struct Response {
    sink: Box<dyn OutputSink>,
}

impl Response {
    pub fn new(sink: impl OutputSink + 'static) -> Self {
        Self { sink: Box::new(sink) }
    }

    pub fn stdout(&self, data: impl Into<Bytes>) -> Result<(), Disconnected> {
        self.send(Output::Stdout(data.into()))
    }

    pub fn stderr(&self, data: impl Into<Bytes>) -> Result<(), Disconnected> {
        self.send(Output::Stderr(data.into()))
    }

    /// True once the web server aborted the request or disconnected.
    pub fn is_aborted(&self) -> bool {
        self.sink.is_aborted()
    }

    /// See [`OutputSink::last_follows`].
    pub fn last_follows(&self) {
        self.sink.last_follows();
    }

    fn send(&self, output: Output) -> Result<(), Disconnected> {
        if self.is_aborted() {
            return Err(Disconnected);
        }
        self.sink.send(output)
    }
}
