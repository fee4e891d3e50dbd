use super::inflight::{self, Ticket};
use bytes::Bytes;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::mpsc::Sender;

/// What an application thread sends towards the web server.
#[derive(Debug)]
pub enum Output {
    /// CGI response bytes: the header block, then body chunks.
    Stdout(Bytes),
    /// Text for FCGI_STDERR.
    Stderr(Bytes),
}

/// Why output could not be delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The web server went away or aborted the request: stop producing.
    #[error("the web server aborted the request or closed the connection")]
    Disconnected,
    /// The response already ended: the caller kept an object (say
    /// `start_response`) past its request.
    #[error("the response to this request has already ended")]
    Ended,
}

/// What [`OutputSink::try_send`] did.
#[derive(Debug)]
pub enum TrySend {
    Sent,
    /// Sending would have blocked: the output, given back.
    WouldBlock(Output),
}

/// Where a response goes.
pub trait OutputSink: Send + Sync {
    /// Blocks while the web server is not ready for more, which is how a
    /// slow client slows the app down instead of growing a buffer. After
    /// [`OutputSink::end`] it fails with [`SendError::Ended`] and sends
    /// nothing, even when called concurrently with `end`.
    fn send(&self, output: Output) -> Result<(), SendError>;

    /// Sends `output` only if that cannot block. The app's thread holds the
    /// interpreter while it tries: releasing it for every chunk would hand
    /// it to another thread and wait to get it back.
    fn try_send(&self, output: Output) -> Result<TrySend, SendError> {
        Ok(TrySend::WouldBlock(output))
    }

    /// True once the web server aborted the request or disconnected.
    fn is_aborted(&self) -> bool;

    /// The next output is the response's last: a sink may hold it and send
    /// it together with the end of the request, in one write.
    fn last_follows(&self) {}

    /// Ends the request (END_REQUEST after what was sent). Called once.
    fn end(&self);

    /// Whether [`OutputSink::end`] may block (it writes to a socket).
    fn end_may_block(&self) -> bool {
        true
    }
}

/// The async server's side: a bounded channel to the connection task.
/// Ending closes the channel, which the connection task answers with
/// END_REQUEST once it has written what came before, and sets `ended`,
/// which ends the request's body too.
pub(super) struct ChannelSink {
    output: Mutex<Option<Sender<Output>>>,
    aborted: Arc<AtomicBool>,
    ended: Arc<AtomicBool>,
}

impl ChannelSink {
    pub(super) fn new(output: Sender<Output>, aborted: Arc<AtomicBool>, ended: Arc<AtomicBool>) -> Self {
        Self { output: Mutex::new(Some(output)), aborted, ended }
    }

    fn sender(&self) -> Option<Sender<Output>> {
        self.output.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }
}

impl OutputSink for ChannelSink {
    fn send(&self, output: Output) -> Result<(), SendError> {
        // A clone, so that a send blocked on a slow client never holds the
        // lock `end` needs. Output racing `end` still belongs to this
        // request's channel: it can never reach another request.
        let sender = self.sender().ok_or(SendError::Ended)?;
        sender.blocking_send(output).map_err(|_| SendError::Disconnected)
    }

    fn try_send(&self, output: Output) -> Result<TrySend, SendError> {
        let sender = self.sender().ok_or(SendError::Ended)?;
        match sender.try_send(output) {
            Ok(()) => Ok(TrySend::Sent),
            Err(tokio::sync::mpsc::error::TrySendError::Full(output)) => Ok(TrySend::WouldBlock(output)),
            Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) => Err(SendError::Disconnected),
        }
    }

    fn is_aborted(&self) -> bool {
        self.aborted.load(Ordering::Acquire) || self.sender().is_none_or(|sender| sender.is_closed())
    }

    fn end(&self) {
        self.ended.store(true, Ordering::Release);
        self.output.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
    }

    /// Ending only drops the channel's sender.
    fn end_may_block(&self) -> bool {
        false
    }
}

struct Shared {
    sink: Box<dyn OutputSink>,
    ended: AtomicBool,
    ticket: Ticket,
}

/// Sending side of a response. Every object the app sees (start_response,
/// write) holds one of these, never the [`Response`] itself, so what an
/// app keeps cannot keep its request open: after the end, sends fail with
/// [`SendError::Ended`].
#[derive(Clone)]
pub struct ResponseHandle {
    shared: Arc<Shared>,
}

impl ResponseHandle {
    pub fn stdout(&self, data: impl Into<Bytes>) -> Result<(), SendError> {
        self.send(Output::Stdout(data.into()))
    }

    pub fn stderr(&self, data: impl Into<Bytes>) -> Result<(), SendError> {
        self.send(Output::Stderr(data.into()))
    }

    /// Sends stdout only if that cannot block (see [`OutputSink::try_send`]);
    /// what would block comes back for [`ResponseHandle::send`].
    pub fn try_stdout(&self, data: impl Into<Bytes>) -> Result<TrySend, SendError> {
        self.check()?;
        self.shared.sink.try_send(Output::Stdout(data.into()))
    }

    /// True once the web server aborted the request or disconnected.
    pub fn is_aborted(&self) -> bool {
        self.shared.sink.is_aborted()
    }

    /// True once the response ended.
    pub fn is_ended(&self) -> bool {
        self.shared.ended.load(Ordering::Acquire)
    }

    /// See [`OutputSink::last_follows`].
    pub fn last_follows(&self) {
        self.shared.sink.last_follows();
    }

    /// Sends `output`, blocking while the web server is not ready.
    pub fn send(&self, output: Output) -> Result<(), SendError> {
        self.check()?;
        self.shared.sink.send(output)
    }

    fn check(&self) -> Result<(), SendError> {
        if self.is_ended() {
            return Err(SendError::Ended);
        }
        if self.is_aborted() {
            return Err(SendError::Disconnected);
        }
        Ok(())
    }
}

/// The response side of a request, owned by the application thread that
/// serves it. The response ends when [`Response::end`] is called: the app
/// code calls it once the iterable is exhausted and closed (or the app
/// raised). Dropping an unended response ends it too, so a request whose
/// thread unwinds, or that no thread took, is still answered; that drop is
/// of a value owned by one Rust stack frame, never of an object Python
/// frees.
pub struct Response {
    handle: ResponseHandle,
}

impl Response {
    /// A response into `sink`, for the request `ticket` registered.
    pub fn new(sink: impl OutputSink + 'static, ticket: Ticket) -> Self {
        let shared = Shared { sink: Box::new(sink), ended: AtomicBool::new(false), ticket };
        Self { handle: ResponseHandle { shared: Arc::new(shared) } }
    }

    /// A handle for objects that may outlive the request.
    pub fn handle(&self) -> ResponseHandle {
        self.handle.clone()
    }

    /// Whether [`Response::end`] may block the calling thread.
    pub fn end_may_block(&self) -> bool {
        self.handle.shared.sink.end_may_block()
    }

    /// Ends the response: END_REQUEST goes out after what was sent, and
    /// every handle fails from now on.
    pub fn end(&self) {
        let shared = &self.handle.shared;
        if !shared.ended.swap(true, Ordering::AcqRel) {
            inflight::global().app_finished(&shared.ticket, Instant::now());
            shared.sink.end();
        }
    }
}

impl Deref for Response {
    type Target = ResponseHandle;

    fn deref(&self) -> &ResponseHandle {
        &self.handle
    }
}

impl Drop for Response {
    fn drop(&mut self) {
        self.end();
    }
}
