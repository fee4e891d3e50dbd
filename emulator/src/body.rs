//! The response body type: a fixed buffer, a channel fed by whoever streams
//! the response, or both; it counts the bytes it hands to hyper and writes
//! the access-log line when the response is over.

use crate::access_log::Entry;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::sync::mpsc;

/// Chunks of a streamed body; an error aborts the response (the client
/// sees the connection close before the body ends).
pub type Chunks = mpsc::Receiver<Result<Bytes, std::io::Error>>;

pub struct Body {
    first: Option<Bytes>,
    rest: Option<Chunks>,
    /// Return `Pending` once before `rest`: see [`Body::falls_short`].
    pause: bool,
    log: Option<Entry>,
}

impl Body {
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        Self { first: Some(bytes.into()).filter(|b| !b.is_empty()), rest: None, pause: false, log: None }
    }

    pub fn empty() -> Self {
        Self { first: None, rest: None, pause: false, log: None }
    }

    /// `first`, then whatever arrives on `rest` until its sender is dropped.
    pub fn streamed(first: Bytes, rest: Chunks) -> Self {
        Self { first: Some(first).filter(|b| !b.is_empty()), rest: Some(rest), pause: false, log: None }
    }

    /// `first`, then an error, which makes hyper close the connection: a
    /// body short of the Content-Length its head declares, which the
    /// client must see cut off. The error comes after a pause, in which
    /// hyper sends what it holds (an error at once would drop that).
    pub fn falls_short(first: Bytes) -> Self {
        let (sender, rest) = mpsc::channel(1);
        let _ = sender.try_send(Err(std::io::Error::other("the body falls short of its Content-Length")));
        let mut body = Self::streamed(first, rest);
        body.pause = true;
        body
    }

    /// Attaches the access-log entry written when the body is done.
    pub fn with_log(mut self, entry: Entry) -> Self {
        self.log = Some(entry);
        self
    }

    fn count(&mut self, len: usize) {
        if let Some(log) = &mut self.log {
            log.bytes += len as u64;
        }
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Some(first) = self.first.take() {
            self.count(first.len());
            return Poll::Ready(Some(Ok(Frame::data(first))));
        }
        if std::mem::take(&mut self.pause) {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let Some(rest) = self.rest.as_mut() else { return Poll::Ready(None) };
        match ready!(rest.poll_recv(cx)) {
            Some(Ok(chunk)) => {
                self.count(chunk.len());
                Poll::Ready(Some(Ok(Frame::data(chunk))))
            }
            Some(Err(err)) => {
                if let Some(log) = &mut self.log {
                    log.aborted = true;
                }
                self.rest = None;
                Poll::Ready(Some(Err(err)))
            }
            None => {
                self.rest = None;
                Poll::Ready(None)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.first.is_none() && self.rest.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        match (&self.first, &self.rest) {
            (first, None) => SizeHint::with_exact(first.as_ref().map_or(0, |b| b.len() as u64)),
            _ => SizeHint::default(),
        }
    }
}

impl Drop for Body {
    fn drop(&mut self) {
        if let Some(entry) = self.log.take() {
            entry.write();
        }
    }
}
