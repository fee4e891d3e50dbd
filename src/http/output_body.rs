//! The response body as hyper polls it: the bytes that came with the head,
//! then, for a streamed body, the app's chunks, read only as fast as the
//! client takes them, so a slow client slows the app instead of growing a
//! buffer. The channel closing (the app ended its response) ends the body.
//!
//! A body that may end in an error (the app failed after its head, or the
//! body falls short of the Content-Length the app declared, which hyper
//! answers by closing the connection) pauses once before it ends: hyper
//! sends what it holds in the pause, where an error at once would make it
//! drop that, and the client would see an empty reply rather than the
//! response cut off.

use super::reply::Chunk;
use crate::request::{inflight, Ticket};
use bytes::Bytes;
use http_body::Frame;
use iiswsgi_proto::declared_length::Declared;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::mpsc::Receiver;

enum Next {
    Data(Bytes),
    End(Ending),
}

/// How a body ends once its bytes are out.
enum Ending {
    Clean,
    /// With this error: hyper closes the connection.
    Cut(String),
}

pub struct OutputBody {
    /// Body bytes that came with the head.
    first: Option<Bytes>,
    /// The rest of a streamed body; `None` when `first` is all of it:
    /// hyper then sends it with a Content-Length, in one write, and polls
    /// no more.
    rest: Option<Receiver<Chunk>>,
    /// For a whole body, how it stands to the app's Content-Length.
    declared: Declared,
    /// A streamed body with a Content-Length: it may fall short of it.
    length_declared: bool,
    /// How the body ends, once that is known: it has paused.
    ending: Option<Ending>,
    ticket: Ticket,
    ended: bool,
}

impl OutputBody {
    /// Made before the app's head arrives, so that the response ends in
    /// the registry however the exchange ends: hyper drops the exchange
    /// (and this) when the client hangs up while the app still runs.
    pub fn new(ticket: Ticket) -> Self {
        let declared = Declared::Agrees;
        Self { first: None, rest: None, declared, length_declared: false, ending: None, ticket, ended: false }
    }

    /// The head has arrived with `first`, the body bytes that came with
    /// it, and the channel of the rest; `length_declared`: the head has a
    /// Content-Length.
    pub fn begin_streamed(&mut self, first: Bytes, rest: Receiver<Chunk>, length_declared: bool) {
        self.first = Some(first).filter(|b| !b.is_empty());
        self.rest = Some(rest);
        self.length_declared = length_declared;
    }

    /// The head has arrived with all of the body, `declared` its relation
    /// to the app's Content-Length: when that is another length, hyper
    /// frames the body by it (the size hint is unknown), cutting what is
    /// past it; a body that falls short ends in an error.
    pub fn begin_whole(&mut self, first: Bytes, declared: Declared) {
        self.first = Some(first).filter(|b| !b.is_empty());
        self.declared = declared;
    }

    /// The next bytes of a streamed body, or how the body ends.
    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Next> {
        let Some(rest) = self.rest.as_mut() else {
            return Poll::Ready(Next::End(match self.declared {
                Declared::More(declared) => {
                    Ending::Cut(format!("the app's body falls short of its Content-Length {declared}"))
                }
                Declared::Agrees | Declared::Less(_) => Ending::Clean,
            }));
        };
        Poll::Ready(match std::task::ready!(rest.poll_recv(cx)) {
            Some(Chunk::Data(data)) => Next::Data(data),
            // Outside IIS a failure after the headers arrives here: the
            // status cannot change any more, so the response is cut off
            // (the client sees it incomplete) and the failure logged.
            Some(Chunk::Failed(text)) => {
                tracing::error!("{}", String::from_utf8_lossy(&text).trim_end());
                Next::End(Ending::Cut("the app failed after sending the headers".into()))
            }
            None => Next::End(Ending::Clean),
        })
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
        if self.ending.is_none() {
            let ending = match std::task::ready!(self.poll_next(cx)) {
                Next::Data(data) => return Poll::Ready(Some(Ok(Frame::data(data)))),
                Next::End(ending) => ending,
            };
            let may_fail = matches!(ending, Ending::Cut(_)) || self.length_declared;
            self.ending = Some(ending);
            if may_fail {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
        }
        self.end();
        match self.ending.take() {
            Some(Ending::Cut(why)) => Poll::Ready(Some(Err(std::io::Error::other(why)))),
            Some(Ending::Clean) | None => Poll::Ready(None),
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
