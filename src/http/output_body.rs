//! The response body as hyper polls it: the app's output channel, read
//! only as fast as the client takes it, so a slow client slows the app
//! instead of growing a buffer. The channel closing (the app ended its
//! response) ends the body.

use crate::request::{inflight, Output, Ticket};
use bytes::Bytes;
use http_body::Frame;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::mpsc::Receiver;

pub struct OutputBody {
    /// Body bytes that came with the head.
    first: Option<Bytes>,
    output: Receiver<Output>,
    ticket: Ticket,
    ended: bool,
    /// `first` is the whole body: hyper sends it with a Content-Length,
    /// in one write, and polls no more.
    whole: bool,
}

impl OutputBody {
    /// Made before the app's head arrives, so that the response ends in
    /// the registry however the exchange ends: hyper drops the exchange
    /// (and this) when the client hangs up while the app still runs.
    pub fn new(output: Receiver<Output>, ticket: Ticket) -> Self {
        Self { first: None, output, ticket, ended: false, whole: false }
    }

    /// The app's next output while the exchange waits for the head.
    pub async fn recv(&mut self) -> Option<Output> {
        self.output.recv().await
    }

    /// The head has arrived with `first`, the body bytes that came with
    /// it; `whole` when they are all of it.
    pub fn begin(&mut self, first: Bytes, whole: bool) {
        self.first = Some(first).filter(|b| !b.is_empty());
        self.whole = whole;
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
        if self.whole {
            self.end();
            return Poll::Ready(None);
        }
        loop {
            return match self.output.poll_recv(cx) {
                Poll::Ready(Some(Output::Stdout(data) | Output::Last(data))) if data.is_empty() => continue,
                Poll::Ready(Some(Output::Stdout(data) | Output::Last(data))) => {
                    Poll::Ready(Some(Ok(Frame::data(data))))
                }
                // Outside IIS a failure after the headers arrives here: the
                // status cannot change any more, so the response is cut off
                // (the client sees it incomplete) and the failure logged.
                Poll::Ready(Some(Output::Stderr(text))) => {
                    tracing::error!("{}", String::from_utf8_lossy(&text).trim_end());
                    self.end();
                    Poll::Ready(Some(Err(std::io::Error::other("the app failed after sending the headers"))))
                }
                Poll::Ready(None) => {
                    self.end();
                    Poll::Ready(None)
                }
                Poll::Pending => Poll::Pending,
            };
        }
    }

    fn is_end_stream(&self) -> bool {
        self.whole && self.first.is_none()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        if self.whole {
            http_body::SizeHint::with_exact(self.remaining())
        } else {
            http_body::SizeHint::default()
        }
    }
}

impl OutputBody {
    fn remaining(&self) -> u64 {
        self.first.as_ref().map_or(0, |b| b.len() as u64)
    }
}

impl Drop for OutputBody {
    /// hyper drops the body when the client goes away: nothing more can be
    /// sent for this request.
    fn drop(&mut self) {
        self.end();
    }
}
