//! What passes between the async server and the blocking application
//! threads: a [`Request`] carries the PARAMS, a [`Body`] to read STDIN from
//! and a [`Response`] to write STDOUT/STDERR to. Both ends are bounded
//! channels, so a slow reader or writer on either side applies backpressure
//! instead of making the gateway buffer.

mod body;
pub mod inflight;
mod response;

pub use body::{cut_off, Body, ChunkSource};
pub use iiswsgi_proto::fastcgi::Params;
pub use inflight::Ticket;
pub use response::{Output, OutputSink, Response, ResponseHandle, SendError, TrySend};

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

/// What the server keeps of a request whose response goes to a sink of
/// its own ([`Request::with_sink`]).
pub struct Inbound {
    /// `None` for a request made without a body.
    pub body: Option<tokio::sync::mpsc::Sender<bytes::Bytes>>,
    pub aborted: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// For [`inflight::Registry::response_ended`].
    pub ticket: Ticket,
}

/// The flags a response's sink shares with its request.
pub struct SinkFlags {
    /// Set by the server when the request is aborted or its client gone.
    pub aborted: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Set by the sink when the response ends: the body is over then.
    pub ended: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// Where the request's parts come from: the server side of the channels.
pub struct Channels {
    /// `None` for a request made without a body.
    pub body: Option<tokio::sync::mpsc::Sender<bytes::Bytes>>,
    /// Closed by [`Response::end`]: the server then sends END_REQUEST.
    pub output: tokio::sync::mpsc::Receiver<Output>,
    pub aborted: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// For [`inflight::Registry::response_ended`].
    pub ticket: Ticket,
}

/// How logs name a request: method, URL and how it came (`FastCGI
/// request 1`). One pass over the PARAMS: this runs for every request.
pub fn label(params: &Params, via: &str) -> String {
    const MOST: usize = 200;
    let (mut method, mut path, mut query): (&[u8], &[u8], &[u8]) = (b"", b"", b"");
    let mut uri = None;
    for (name, value) in params.iter() {
        match name {
            b"REQUEST_METHOD" => method = value,
            b"REQUEST_URI" => uri = Some(value),
            b"PATH_INFO" => path = value,
            b"QUERY_STRING" => query = value,
            _ => {}
        }
    }
    let mut url = latin1(uri.unwrap_or(path));
    if uri.is_none() && !query.is_empty() {
        url.push('?');
        url.push_str(&latin1(query));
    }
    if url.chars().count() > MOST {
        url = url.chars().take(MOST).chain(std::iter::once('…')).collect();
    }
    format!("{} {url} ({via})", latin1(method))
}

/// Chunks of request body buffered between the socket and the app: with
/// 64 KiB reads this bounds an upload's footprint to about 1 MiB.
const BODY_CHANNEL_CHUNKS: usize = 16;
/// Response chunks buffered between the app and the socket.
pub const OUTPUT_CHANNEL_CHUNKS: usize = 8;

impl Request {
    /// Builds a request, registered as in flight under `label`, and the
    /// server's ends of its channels. A request known to come without a
    /// body (`has_body` false: most HTTP GETs) gets no body channel.
    pub fn new(params: Params, label: impl std::fmt::Display + Send + 'static, has_body: bool) -> (Self, Channels) {
        let (output_tx, output) = tokio::sync::mpsc::channel(OUTPUT_CHANNEL_CHUNKS);
        let (request, inbound) = Self::with_sink(params, label, has_body, |flags| {
            response::ChannelSink::new(output_tx, flags.aborted, flags.ended)
        });
        let Inbound { body, aborted, ticket } = inbound;
        (request, Channels { body, output, aborted, ticket })
    }

    /// [`Request::new`] with the response going to the sink `make_sink`
    /// builds.
    pub fn with_sink<S: OutputSink + 'static>(
        params: Params,
        label: impl std::fmt::Display + Send + 'static,
        has_body: bool,
        make_sink: impl FnOnce(SinkFlags) -> S,
    ) -> (Self, Inbound) {
        let aborted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let ticket = inflight::global().register(label);
        let ended = std::sync::Arc::default();
        let sink = make_sink(SinkFlags { aborted: aborted.clone(), ended: std::sync::Arc::clone(&ended) });
        let (body, body_tx) = if has_body {
            let (body_tx, body_rx) = tokio::sync::mpsc::channel(BODY_CHANNEL_CHUNKS);
            (Body::new(body::ChannelSource::new(body_rx, aborted.clone(), ended)), Some(body_tx))
        } else {
            (Body::new(body::NoBody), None)
        };
        let request = Request { params, body, response: Response::new(sink, ticket.clone()) };
        (request, Inbound { body: body_tx, aborted, ticket })
    }
}
