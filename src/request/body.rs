use bytes::{Buf, Bytes};
use std::io::{self, BufRead, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc::Receiver;

/// Where body chunks come from: a bounded channel fed by the async server,
/// or the connection itself when the request is served on the thread that
/// reads it (IIS mode on Unix). `Ok(None)` ends the body; an error means
/// the web server aborted the request or hung up before sending all of it.
pub trait ChunkSource: Send + Sync {
    fn next_chunk(&mut self) -> io::Result<Option<Bytes>>;
}

/// The error a read gets once the body was cut off: an app must not take
/// a truncated upload for a whole one.
pub fn cut_off() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionAborted, "the web server aborted the request before the whole body arrived")
}

/// The async server's body channel. It closes both when the body is
/// complete and when the request is aborted; the request's abort flag,
/// set before the channel closes, tells the two apart. Once the response
/// ended (`ended`, set by its sink) the body is over, whatever is left in
/// the channel: a wsgi.input kept past its request reads nothing.
pub struct ChannelSource {
    chunks: Receiver<Bytes>,
    aborted: Arc<AtomicBool>,
    ended: Arc<AtomicBool>,
}

impl ChannelSource {
    pub fn new(chunks: Receiver<Bytes>, aborted: Arc<AtomicBool>, ended: Arc<AtomicBool>) -> Self {
        Self { chunks, aborted, ended }
    }
}

impl ChunkSource for ChannelSource {
    fn next_chunk(&mut self) -> io::Result<Option<Bytes>> {
        if self.ended.load(Ordering::Acquire) {
            self.chunks.close();
            return Ok(None);
        }
        match self.chunks.blocking_recv() {
            Some(chunk) => Ok(Some(chunk)),
            None if self.aborted.load(Ordering::Acquire) => Err(cut_off()),
            None => Ok(None),
        }
    }
}

/// The body of a request that came without one.
pub struct NoBody;

impl ChunkSource for NoBody {
    fn next_chunk(&mut self) -> io::Result<Option<Bytes>> {
        Ok(None)
    }
}

/// The request body (FCGI_STDIN) as a blocking reader, for application
/// threads. Chunks arrive one at a time, so memory stays bounded whatever
/// the upload size. Reads block the calling thread, never the runtime: call
/// them only from application threads.
pub struct Body {
    chunks: Box<dyn ChunkSource>,
    current: Bytes,
    finished: bool,
}

impl Body {
    pub fn new(chunks: impl ChunkSource + 'static) -> Self {
        Self { chunks: Box::new(chunks), current: Bytes::new(), finished: false }
    }

    /// Reads up to `limit` bytes, or through the first newline if it comes
    /// first (the semantics of Python's `readline(size)`).
    pub fn read_line_limited(&mut self, limit: usize, out: &mut Vec<u8>) -> io::Result<()> {
        while out.len() < limit {
            let available = self.fill_buf()?;
            if available.is_empty() {
                break;
            }
            let room = limit - out.len();
            let window = &available[..available.len().min(room)];
            match window.iter().position(|&b| b == b'\n') {
                Some(newline) => {
                    out.extend_from_slice(&window[..=newline]);
                    self.consume(newline + 1);
                    break;
                }
                None => {
                    let taken = window.len();
                    out.extend_from_slice(window);
                    self.consume(taken);
                }
            }
        }
        Ok(())
    }
}

impl BufRead for Body {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.current.is_empty() && !self.finished {
            match self.chunks.next_chunk()? {
                Some(chunk) => self.current = chunk,
                None => self.finished = true,
            }
        }
        Ok(&self.current)
    }

    fn consume(&mut self, amount: usize) {
        self.current.advance(amount);
    }
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(chunks: &[&'static [u8]], aborted: bool) -> Body {
        let (tx, rx) = tokio::sync::mpsc::channel(chunks.len().max(1));
        for chunk in chunks {
            tx.try_send(Bytes::from_static(chunk)).unwrap();
        }
        Body::new(ChannelSource::new(rx, Arc::new(AtomicBool::new(aborted)), Arc::default()))
    }

    #[test]
    fn lines_span_chunks() {
        let mut body = body(&[b"ab", b"c\nde", b"f"], false);
        let mut line = Vec::new();
        body.read_line_limited(usize::MAX, &mut line).unwrap();
        assert_eq!(line, b"abc\n");
        line.clear();
        body.read_line_limited(2, &mut line).unwrap();
        assert_eq!(line, b"de");
        let mut rest = Vec::new();
        body.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, b"f");
        assert_eq!(body.read(&mut [0u8; 4]).unwrap(), 0, "the body is over");
    }

    #[test]
    fn a_cut_off_body_is_an_error_after_what_did_arrive() {
        let mut body = body(&[b"partial"], true);
        let mut buf = [0u8; 7];
        body.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"partial");
        let err = body.read(&mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionAborted);
        assert!(body.read(&mut buf).is_err(), "and stays one");
    }
}
