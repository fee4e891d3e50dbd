//! The response body as hyper polls it: the bytes that came with the head,
//! then, for a streamed body, the app's chunks, read only as fast as the
//! client takes them, so a slow client slows the app instead of growing a
//! buffer. The channel closing (the app ended its response) ends the body.

use super::reply::Chunk;
use crate::request::{inflight, Ticket};
use bytes::Bytes;
use http_body::Frame;
use iiswsgi_proto::declared_length::Declared;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::mpsc::Receiver;

pub struct OutputBody {
    /// Body bytes that came with the head.
    first: Option<Bytes>,
    /// The rest of a streamed body; `None` when `first` is all of it:
    /// hyper then sends it with a Content-Length, in one write, and polls
    /// no more.
    rest: Option<Receiver<Chunk>>,
    /// For a whole body, how it stands to the app's Content-Length.
    declared: Declared,
    /// A body short of its Content-Length has paused once.
    paused: bool,
    ticket: Ticket,
    ended: bool,
}

impl OutputBody {
    /// Made before the app's head arrives, so that the response ends in
    /// the registry however the exchange ends: hyper drops the exchange
    /// (and this) when the client hangs up while the app still runs.
    pub fn new(ticket: Ticket) -> Self {
        Self { first: None, rest: None, declared: Declared::Agrees, paused: false, ticket, ended: false }
    }

    /// The head has arrived with `first`, the body bytes that came with
    /// it, and the channel of the rest if there is more.
    pub fn begin(&mut self, first: Bytes, rest: Option<Receiver<Chunk>>) {
        self.first = Some(first).filter(|b| !b.is_empty());
        self.rest = rest;
    }

    /// The head has arrived with all of the body, `declared` its relation
    /// to the app's Content-Length: when that is another length, hyper
    /// frames the body by it (the size hint is unknown), cutting what is
    /// past it; a body that falls short ends in an error, which makes
    /// hyper close the connection, after a pause in which it sends what
    /// it holds (an error at once would drop that).
    pub fn begin_whole(&mut self, first: Bytes, declared: Declared) {
        self.begin(first, None);
        self.declared = declared;
    }

    fn end(&mut self) {
        if !self.ended {
            self.ended = true;
            inflight::global().response_ended(&self.ticket);
        }
    }
}

impl http_body::Body for OutputBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if let Some(first) = self.first.take() {
            return Poll::Ready(Some(Ok(Frame::data(first))));
        }
        let Some(rest) = self.rest.as_mut() else {
            if let Declared::More(declared) = self.declared {
                if !std::mem::replace(&mut self.paused, true) {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                self.end();
                let why = format!("the app's body falls short of its Content-Length {declared}");
                return Poll::Ready(Some(Err(std::io::Error::other(why))));
            }
            self.end();
            return Poll::Ready(None);
        };
        match rest.poll_recv(cx) {
            Poll::Ready(Some(Chunk::Data(data))) => Poll::Ready(Some(Ok(Frame::data(data)))),
            // Outside IIS a failure after the headers arrives here: the
            // status cannot change any more, so the response is cut off
            // (the client sees it incomplete) and the failure logged.
            Poll::Ready(Some(Chunk::Failed(text))) => {
                tracing::error!("{}", String::from_utf8_lossy(&text).trim_end());
                self.end();
                Poll::Ready(Some(Err(std::io::Error::other("the app failed after sending the headers"))))
            }
            Poll::Ready(None) => {
                self.end();
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.rest.is_none() && self.first.is_none() && self.declared == Declared::Agrees
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match (&self.rest, self.declared) {
            (None, Declared::Agrees) => {
                http_body::SizeHint::with_exact(self.first.as_ref().map_or(0, |b| b.len() as u64))
            }
            _ => http_body::SizeHint::default(),
        }
    }
}

impl Drop for OutputBody {
    /// hyper drops the body when the client goes away: nothing more can be
    /// sent for this request.
    fn drop(&mut self) {
        self.end();
    }
}
