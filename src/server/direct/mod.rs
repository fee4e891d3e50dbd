//! FastCGI served on the thread that reads the connection.
//!
//! Web servers send one request at a time on a connection, so the async
//! server's hand-offs buy nothing there and cost a thread wake-up each
//! (tens of microseconds across cores): socket → connection task →
//! application thread → connection task → socket. Here the application
//! thread reads the socket itself, runs the app, and writes the response
//! itself, a complete short response in one write. The FastCGI state
//! machine is the same sans-IO `ServerConnection`.
//!
//! - [`iis`]: IIS mode, one connection served by one thread.
//! - [`reactor`] (Linux): bind and listen-socket modes, any number of
//!   connections served by the application threads in turn.

pub mod iis;
#[cfg(target_os = "linux")]
pub mod reactor;
mod socket;

use socket::Socket;

use crate::request::{cut_off, inflight, ChunkSource, Output, OutputSink, Request, SendError, Ticket, TrySend};
use bytes::Bytes;
use iiswsgi_proto::fastcgi::{Event, Limits, ServerConnection};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

const READ_BUFFER: usize = 64 * 1024;

/// The connection, shared by the loop, the body and the response.
struct Link {
    stream: Socket,
    conn: ServerConnection,
    buf: Vec<u8>,
    peer_closed: bool,
    /// A write failed: the web server is gone.
    broken: bool,
    /// What a write without blocking could not place; it goes out before
    /// anything else.
    unsent: Vec<u8>,
    limits: Limits,
}

impl Link {
    /// Waits up to `timeout_ms` (-1: forever) for bytes, then reads them.
    /// False when nothing came in time.
    fn fill(&mut self, timeout_ms: i32) -> bool {
        if self.peer_closed {
            return false;
        }
        let mut poll = libc::pollfd { fd: self.stream.fd(), events: libc::POLLIN, revents: 0 };
        loop {
            // SAFETY: one valid pollfd for the duration of the call.
            let ready = unsafe { libc::poll(&mut poll, 1, timeout_ms) };
            match ready {
                0 => return false,
                // A signal (SIGTERM from the process manager) interrupts
                // poll; reading now would block past the shutdown check.
                -1 if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted => continue,
                _ => break,
            }
        }
        match self.stream.read(&mut self.buf) {
            Ok(0) | Err(_) => {
                self.peer_closed = true;
                false
            }
            Ok(n) => {
                self.conn.receive(&self.buf[..n]);
                true
            }
        }
    }

    /// Writes what is unsent and what the connection has to say, waiting
    /// for room. False when the web server is gone.
    fn flush(&mut self) -> bool {
        if !self.unsent.is_empty() {
            let unsent = std::mem::take(&mut self.unsent);
            self.write(&unsent);
        }
        if self.conn.has_output() {
            let bytes = self.conn.take_output();
            self.write(&bytes);
        }
        !self.broken
    }

    fn write(&mut self, bytes: &[u8]) {
        if !self.broken && self.stream.write_all(bytes).is_err() {
            self.hung_up();
        }
    }

    fn hung_up(&mut self) {
        tracing::info!("the web server closed the connection; abandoning the response");
        self.broken = true;
    }

    /// Writes what the socket takes now and keeps the rest in `unsent`, so
    /// that a thread can end a response without letting go of the
    /// interpreter; the connection's next use writes the rest first,
    /// waiting ([`take_request`]).
    fn flush_without_blocking(&mut self) {
        let bytes = self.conn.take_output();
        if self.broken {
            return;
        }
        if !self.unsent.is_empty() {
            self.unsent.extend_from_slice(&bytes);
            return;
        }
        match self.stream.send_without_blocking(&bytes) {
            Ok(sent) if sent < bytes.len() => self.unsent = bytes[sent..].to_vec(),
            Ok(_) => {}
            Err(_) => self.hung_up(),
        }
    }

    /// Answers what needs no application: params too large.
    fn on_stray(&mut self, event: Event) {
        if let Event::ParamsTooLarge { request_id } = event {
            super::refuse_params_too_large(&mut self.conn, request_id, self.limits.max_params_len);
        }
    }
}

type Shared = Arc<Mutex<Link>>;

fn lock(link: &Shared) -> MutexGuard<'_, Link> {
    link.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The state of the request being served. The body and the response the
/// app holds keep it alive past the request: once `ended` is set (under
/// the link's lock) they never touch the connection again, because under
/// IIS the next request has the same request id.
struct Current {
    request_id: u16,
    body_done: AtomicBool,
    aborted: AtomicBool,
    hold: AtomicBool,
    ended: AtomicBool,
    ticket: Ticket,
}

impl Current {
    /// Applies an event that arrived while the app runs.
    fn on_event(&self, event: Event, link: &mut Link) -> Option<Bytes> {
        match event {
            Event::Stdin { request_id, data } if request_id == self.request_id => return Some(Bytes::from(data)),
            Event::StdinEnd { request_id } if request_id == self.request_id => {
                self.body_done.store(true, Ordering::Release)
            }
            Event::Abort { request_id } if request_id == self.request_id => {
                tracing::info!("the web server aborted request {request_id}");
                self.aborted.store(true, Ordering::Release);
                self.body_done.store(true, Ordering::Release);
            }
            other => link.on_stray(other),
        }
        None
    }
}

struct DirectBody {
    link: Shared,
    current: Arc<Current>,
}

impl ChunkSource for DirectBody {
    fn next_chunk(&mut self) -> std::io::Result<Option<Bytes>> {
        let mut link = lock(&self.link);
        loop {
            // A wsgi.input kept past its request must not read the next one's body.
            if self.current.ended.load(Ordering::Acquire) {
                return Ok(None);
            }
            while let Ok(Some(event)) = link.conn.poll_event() {
                if let Some(data) = self.current.on_event(event, &mut link) {
                    return Ok(Some(data));
                }
            }
            if self.current.aborted.load(Ordering::Acquire) {
                return Err(cut_off());
            }
            if self.current.body_done.load(Ordering::Acquire) {
                return Ok(None);
            }
            // Replies (GET_VALUES, refusals) go out before we wait.
            link.flush();
            if !link.fill(-1) {
                // The web server hung up before the whole body came.
                self.current.aborted.store(true, Ordering::Release);
                return Err(cut_off());
            }
        }
    }
}

struct DirectResponse {
    link: Shared,
    current: Arc<Current>,
}

impl DirectResponse {
    /// Notices an ABORT that arrived while the app was producing output.
    fn look_for_abort(&self, link: &mut Link) {
        loop {
            // Records already read first, then whatever is waiting.
            while let Ok(Some(event)) = link.conn.poll_event() {
                // Body chunks the app did not read are dropped.
                let _ = self.current.on_event(event, link);
            }
            if !link.fill(0) {
                return;
            }
        }
    }
}

impl OutputSink for DirectResponse {
    fn send(&self, output: Output) -> Result<(), SendError> {
        let mut link = lock(&self.link);
        if self.current.ended.load(Ordering::Acquire) {
            return Err(SendError::Ended);
        }
        // The whole response follows: `end` writes it in one go.
        let held = self.current.hold.load(Ordering::Acquire);
        if !held {
            // What came in meanwhile (an ABORT, a refused second request)
            // is answered before this output.
            self.look_for_abort(&mut link);
            if link.broken || self.current.aborted.load(Ordering::Acquire) {
                return Err(SendError::Disconnected);
            }
        }
        match output {
            Output::Stdout(data) => link.conn.write_stdout(self.current.request_id, &data),
            Output::Stderr(data) => link.conn.write_stderr(self.current.request_id, &data),
        }
        if held {
            return Ok(());
        }
        if !link.flush() {
            return Err(SendError::Disconnected);
        }
        Ok(())
    }

    /// Only the held last output is taken: it is buffered, and `end`
    /// writes it. Anything else writes to the socket, which may block.
    fn try_send(&self, output: Output) -> Result<TrySend, SendError> {
        if !self.current.hold.load(Ordering::Acquire) {
            return Ok(TrySend::WouldBlock(output));
        }
        self.send(output).map(|()| TrySend::Sent)
    }

    fn is_aborted(&self) -> bool {
        self.current.aborted.load(Ordering::Acquire) || lock(&self.link).broken
    }

    fn last_follows(&self) {
        self.current.hold.store(true, Ordering::Release);
    }

    fn end(&self) {
        let mut link = lock(&self.link);
        self.current.ended.store(true, Ordering::Release);
        link.conn.end_request(self.current.request_id, 0);
        link.flush_without_blocking();
        inflight::global().response_ended(&self.current.ticket);
    }

    /// Ending never waits for the socket: see [`Link::flush_without_blocking`].
    fn end_may_block(&self) -> bool {
        false
    }
}

impl Link {
    fn new(stream: Socket, limits: Limits) -> Shared {
        Arc::new(Mutex::new(Link {
            stream,
            conn: ServerConnection::new(limits),
            buf: vec![0u8; READ_BUFFER],
            peer_closed: false,
            broken: false,
            unsent: Vec::new(),
            limits,
        }))
    }

    /// No request can come any more.
    fn is_over(&self) -> bool {
        self.conn.wants_close() || self.peer_closed || self.broken
    }
}

/// What the bytes read so far hold.
enum Taken {
    Request(Request),
    /// Nothing complete yet: wait for more bytes.
    NeedMore,
    /// The web server broke the protocol: close the connection.
    Malformed,
}

/// The next request among the bytes already read, without reading more;
/// what the last response left unsent and replies to management records
/// go out first.
fn take_request(link: &Shared, guard: &mut Link) -> Taken {
    guard.flush();
    loop {
        match guard.conn.poll_event() {
            Ok(Some(Event::Request { request_id, params, .. })) => {
                let label = crate::request::label(&params, &format!("FastCGI request {request_id}"));
                let ticket = inflight::global().register(label);
                let current = Arc::new(Current {
                    request_id,
                    body_done: AtomicBool::new(false),
                    aborted: AtomicBool::new(false),
                    hold: AtomicBool::new(false),
                    ended: AtomicBool::new(false),
                    ticket: ticket.clone(),
                });
                let body = DirectBody { link: link.clone(), current: current.clone() };
                let response = DirectResponse { link: link.clone(), current };
                return Taken::Request(Request {
                    params,
                    body: crate::request::Body::new(body),
                    response: crate::request::Response::new(response, ticket),
                });
            }
            // Leftovers of the previous request and management records.
            Ok(Some(other)) => guard.on_stray(other),
            Ok(None) => {
                guard.flush();
                return Taken::NeedMore;
            }
            Err(err) => {
                tracing::warn!("closing FastCGI connection: malformed record from the web server: {err}");
                return Taken::Malformed;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::unix::net::UnixStream;

    /// What a response ends with but the socket has no room for waits in
    /// `unsent`, and the next blocking write sends it first, in order.
    #[test]
    fn output_the_socket_has_no_room_for_is_kept_and_sent_first() {
        let (ours, mut theirs) = UnixStream::pair().unwrap();
        let link = Link::new(Socket::Unix(ours), Limits::default());
        let first: Vec<u8> = (0..8 << 20).map(|i| (i % 251) as u8).collect();
        let mut guard = lock(&link);
        guard.conn.write_stdout(1, &first);
        let mut expected = guard.conn.take_output();
        guard.conn.write_stdout(1, &first);
        guard.flush_without_blocking();
        assert!(!guard.unsent.is_empty(), "8 MiB fitted into a socket buffer");
        guard.conn.write_stdout(1, b"after");
        guard.flush_without_blocking();
        let mut tail = ServerConnection::new(Limits::default());
        tail.write_stdout(1, b"after");
        expected.extend_from_slice(&tail.take_output());
        let reader = std::thread::spawn(move || {
            let mut got = vec![0u8; expected.len()];
            theirs.read_exact(&mut got).unwrap();
            assert!(got == expected, "the bytes came out of order");
        });
        assert!(guard.flush(), "the blocking write failed");
        assert!(guard.unsent.is_empty());
        drop(guard);
        reader.join().unwrap();
    }
}
