//! The response sink of HTTP mode. The WSGI host writes a CGI header
//! block and body chunks, as for FastCGI; here, on the application thread
//! that wrote them, the block becomes hyper's response head (its values
//! the block's own bytes, not copies) and goes to the exchange in a
//! oneshot, with the body when it is whole. Only a streamed body gets a
//! channel. The async I/O threads, which every connection shares, are then
//! left with what only they can do: a small app's responses used to spend
//! a third of their user time there on the channel and the parse.

use crate::request::{Output, OutputSink, SendError, SinkFlags, TrySend, OUTPUT_CHANNEL_CHUNKS};
use bytes::Bytes;
use iiswsgi_proto::cgi_response::{HeadParser, HeadRef, Malformed};
use iiswsgi_proto::declared_length::{self, Declared, Refused};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use tokio::sync::{mpsc, oneshot};

/// What the exchange receives first, and once.
#[derive(Debug)]
pub enum Reply {
    /// The head and the body bytes that came with it; `rest` brings the
    /// others, or is `None` when those are the whole body (hyper then
    /// sends a Content-Length, in one write).
    Head { head: http::response::Parts, body: Bytes, rest: Option<mpsc::Receiver<Chunk>> },
    /// The app's output had no usable head (why is logged): a 500.
    NoHead,
}

/// The body after the first bytes.
#[derive(Debug)]
pub enum Chunk {
    Data(Bytes),
    /// The app failed after its head: the response is cut off. The text is
    /// what the WSGI host reported.
    Failed(Bytes),
}

enum State {
    /// Until the head's blank line; nothing has been sent.
    Head {
        parser: HeadParser,
        reply: oneshot::Sender<Reply>,
    },
    Body(mpsc::Sender<Chunk>),
    /// The whole response went with its head: later output (a failure
    /// the WSGI host has logged) has nowhere to go.
    Whole,
    /// The exchange answered a 500 or went away: the app should stop.
    Refused,
    Ended,
}

pub struct HttpSink {
    state: Mutex<State>,
    flags: SinkFlags,
    /// The next stdout output is the last.
    last: AtomicBool,
}

impl HttpSink {
    pub fn new(reply: oneshot::Sender<Reply>, flags: SinkFlags) -> Self {
        let state = State::Head { parser: HeadParser::new(), reply };
        Self { state: Mutex::new(state), flags, last: AtomicBool::new(false) }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Output in any state but [`State::Body`]: never blocks.
    fn take(&self, state: &mut State, output: Output) -> Result<(), SendError> {
        let (data, last) = match (&mut *state, output) {
            (State::Ended, _) => return Err(SendError::Ended),
            (State::Refused, _) => return Err(SendError::Disconnected),
            (State::Whole | State::Body(_), _) => return Ok(()),
            (State::Head { .. }, Output::Stderr(text)) => {
                tracing::error!("{}", String::from_utf8_lossy(&text).trim_end());
                return Ok(());
            }
            (State::Head { .. }, Output::Stdout(data)) => (data, self.last.swap(false, Ordering::AcqRel)),
        };
        let State::Head { parser, .. } = state else { return Ok(()) };
        let parsed = match parser.feed_with(&data, |head| response_head(head, &data)) {
            Ok(Some((head, at))) => Ok(Some((head, data.slice(at..)))),
            // The relaxed rule: lines that end the output without their
            // blank line are the whole head.
            Ok(None) if last => std::mem::take(parser)
                .finish_with(|head| response_head(head, &data))
                .map(|head| head.map(|head| (head, Bytes::new()))),
            Ok(None) => return Ok(()),
            Err(err) => Err(err),
        };
        let (reply, next) = match parsed {
            Ok(Some((head, body))) if !last => {
                let (sender, rest) = mpsc::channel(OUTPUT_CHANNEL_CHUNKS);
                (Reply::Head { head, body, rest: Some(rest) }, State::Body(sender))
            }
            whole => (whole_reply(whole), State::Whole),
        };
        let next = if matches!(reply, Reply::NoHead) { State::Refused } else { next };
        self.reply(state, reply, next);
        Ok(())
    }

    /// Sends the exchange its reply; `next` is the state after it.
    fn reply(&self, state: &mut State, reply: Reply, next: State) {
        if let State::Head { reply: sender, .. } = std::mem::replace(state, next) {
            if sender.send(reply).is_err() {
                // The client went away before the head.
                *state = State::Refused;
            }
        }
    }
}

/// The reply for a whole response: its head and body, or none when the
/// output had no head or a malformed one (logged).
fn whole_reply(parsed: Result<Option<(http::response::Parts, Bytes)>, Malformed>) -> Reply {
    match parsed {
        Ok(Some((head, body))) => Reply::Head { head, body, rest: None },
        Ok(None) => Reply::NoHead,
        Err(err) => {
            tracing::error!("the app's response head is malformed: {err}");
            Reply::NoHead
        }
    }
}

/// Body output as a chunk; nothing for an empty one.
fn chunk(output: Output) -> Option<Chunk> {
    match output {
        Output::Stdout(data) if data.is_empty() => None,
        Output::Stdout(data) => Some(Chunk::Data(data)),
        Output::Stderr(text) => Some(Chunk::Failed(text)),
    }
}

impl OutputSink for HttpSink {
    fn send(&self, output: Output) -> Result<(), SendError> {
        let mut state = self.state();
        let State::Body(sender) = &*state else { return self.take(&mut state, output) };
        // The lock is let go before a send that may block on a slow
        // client: `end` needs it.
        let sender = sender.clone();
        drop(state);
        match chunk(output) {
            Some(chunk) => sender.blocking_send(chunk).map_err(|_| SendError::Disconnected),
            None => Ok(()),
        }
    }

    fn try_send(&self, output: Output) -> Result<TrySend, SendError> {
        let mut state = self.state();
        let State::Body(sender) = &*state else { return self.take(&mut state, output).map(|()| TrySend::Sent) };
        let Some(chunk) = chunk(output) else { return Ok(TrySend::Sent) };
        match sender.try_send(chunk) {
            Ok(()) => Ok(TrySend::Sent),
            Err(mpsc::error::TrySendError::Full(Chunk::Data(data))) => Ok(TrySend::WouldBlock(Output::Stdout(data))),
            Err(mpsc::error::TrySendError::Full(Chunk::Failed(text))) => Ok(TrySend::WouldBlock(Output::Stderr(text))),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(SendError::Disconnected),
        }
    }

    fn is_aborted(&self) -> bool {
        self.flags.aborted.load(Ordering::Acquire)
            || match &*self.state() {
                State::Head { reply, .. } => reply.is_closed(),
                State::Body(sender) => sender.is_closed(),
                State::Whole => false,
                State::Refused | State::Ended => true,
            }
    }

    fn last_follows(&self) {
        self.last.store(true, Ordering::Release);
    }

    /// Output that ended before its head's blank line is the whole head
    /// (or none); a body channel closes, which ends the body.
    fn end(&self) {
        self.flags.ended.store(true, Ordering::Release);
        let mut state = self.state();
        if let State::Head { parser, .. } = &mut *state {
            let parsed = std::mem::take(parser).finish_with(|head| response_head(head, &Bytes::new()));
            let reply = whole_reply(parsed.map(|head| head.map(|head| (head, Bytes::new()))));
            self.reply(&mut state, reply, State::Ended);
        }
        *state = State::Ended;
    }

    /// Ending sends at most a oneshot.
    fn end_may_block(&self) -> bool {
        false
    }
}

/// The CGI head as hyper's response head. Its parts lying in `shared` are
/// kept as slices of it (no copy); others (a head that came in pieces)
/// are copied.
fn response_head(head: HeadRef<'_>, shared: &Bytes) -> http::response::Parts {
    let bytes = |part: &[u8]| {
        let within = shared.as_ptr_range();
        if within.contains(&part.as_ptr()) || part.is_empty() {
            shared.slice_ref(part)
        } else {
            Bytes::copy_from_slice(part)
        }
    };
    let (mut parts, ()) = http::Response::new(()).into_parts();
    parts.status = http::StatusCode::from_u16(head.status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    let canonical = parts.status.canonical_reason().map(str::as_bytes);
    if let Some(reason) = head.reason.filter(|reason| Some(*reason) != canonical) {
        if let Ok(reason) = hyper::ext::ReasonPhrase::try_from(reason) {
            parts.extensions.insert(reason);
        }
    }
    parts.headers.reserve(head.headers.len());
    for (name, value) in head.headers {
        // Framing is hyper's; PEP 3333 forbids hop-by-hop headers anyway.
        if name.eq_ignore_ascii_case(b"transfer-encoding") || name.eq_ignore_ascii_case(b"connection") {
            continue;
        }
        if name.eq_ignore_ascii_case(b"content-length") && !keeps_length(value, &parts.headers) {
            continue;
        }
        match (http::HeaderName::from_bytes(name), http::HeaderValue::from_maybe_shared(bytes(value))) {
            (Ok(name), Ok(value)) => drop(parts.headers.append(name, value)),
            _ => tracing::warn!("dropped the response header {:?}: not valid HTTP", String::from_utf8_lossy(name)),
        }
    }
    parts
}

/// Whether the app's Content-Length `value` goes out: a number, and the
/// only one (see [`declared_length::admit`]).
fn keeps_length(value: &[u8], headers: &http::HeaderMap) -> bool {
    match declared_length::admit(value, headers.get(http::header::CONTENT_LENGTH).map(|v| v.as_bytes())) {
        Ok(_) => true,
        Err(Refused::Repeats) => false,
        Err(why) => {
            tracing::warn!("dropped the app's Content-Length {:?}: it {why}", String::from_utf8_lossy(value));
            false
        }
    }
}

/// How a whole body of `len` bytes stands to the Content-Length of
/// `head` (see [`declared_length`]); a mismatch is logged.
pub fn whole_body_against_declared(head: &http::response::Parts, len: usize, head_request: bool) -> Declared {
    let declared = head.headers.get(http::header::CONTENT_LENGTH).map(http::HeaderValue::as_bytes);
    let compared = declared_length::compare(declared, len, head_request);
    match compared {
        Declared::Agrees => {}
        Declared::Less(declared) => {
            tracing::warn!("the app's body is {len} bytes, its Content-Length {declared}: the rest is not sent");
        }
        Declared::More(declared) => tracing::error!(
            "the app's body is {len} bytes, short of its Content-Length {declared}: the connection is closed after it"
        ),
    }
    compared
}

#[cfg(test)]
#[path = "reply_tests.rs"]
mod tests;
