//! What passes between the async server and the blocking application
//! threads: a [`Request`] carries the PARAMS, a [`Body`] to read STDIN from
//! and a [`Response`] to write STDOUT/STDERR to. Both ends are bounded
//! channels, so a slow reader or writer on either side applies backpressure
//! instead of making the gateway buffer.

mod body;
mod response;

pub use body::{cut_off, Body, ChunkSource};
pub use iiswsgi_proto::fastcgi::Params;
pub use response::{Disconnected, Output, OutputSink, Response};

/// One FastCGI request handed to an application thread.
pub struct Request {
    pub params: Params,
    pub body: Body,
    pub response: Response,
}

impl Request {
    /// A request value from PARAMS, as a string (latin-1, the CGI rule).
    pub fn param(&self, name: &str) -> Option<String> {
        self.params.get(name.as_bytes()).map(latin1)
    }
}

/// Decodes bytes as ISO-8859-1, which maps every byte to one char: the
/// "native string" rule of PEP 3333.
pub fn latin1(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        // ASCII, by far the common case, is the same text in both.
        Ok(text) if text.is_ascii() => text.to_string(),
        _ => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// Where the request's parts come from: the server side of the channels.
pub struct Channels {
    pub body: tokio::sync::mpsc::Sender<bytes::Bytes>,
    pub output: tokio::sync::mpsc::Receiver<Output>,
    pub aborted: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// Chunks of request body buffered between the socket and the app: with
/// 64 KiB reads this bounds an upload's footprint to about 1 MiB.
const BODY_CHANNEL_CHUNKS: usize = 16;
/// Response chunks buffered between the app and the socket.
const OUTPUT_CHANNEL_CHUNKS: usize = 8;

impl Request {
    /// Builds a request and the server's ends of its channels.
    pub fn new(params: Params) -> (Self, Channels) {
        let (body_tx, body_rx) = tokio::sync::mpsc::channel(BODY_CHANNEL_CHUNKS);
        let (output_tx, output_rx) = tokio::sync::mpsc::channel(OUTPUT_CHANNEL_CHUNKS);
        let aborted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let sink = response::ChannelSink::new(output_tx, aborted.clone());
        let body = Body::new(body::ChannelSource::new(body_rx, aborted.clone()));
        let request = Request { params, body, response: Response::new(sink) };
        (request, Channels { body: body_tx, output: output_rx, aborted })
    }
}
