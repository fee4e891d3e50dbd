//! Bind and listen-socket modes on Linux: the application threads serve
//! the connections themselves, leader/followers over one epoll set.
//!
//! Every idle application thread waits in `epoll_wait` on the same set,
//! which holds the listening socket and every connection between requests,
//! each armed for one event (`EPOLLONESHOT`). The kernel hands an event to
//! one waiting thread, so a request that arrives goes straight to an idle
//! thread, which reads it, runs the app and writes the response: no other
//! thread is woken on the way. A busy thread is not waiting, so under load
//! the events wait in the set until a thread is free, and every thread
//! stays in use whatever the number of connections (a connection is owned
//! by a thread only while one of its requests runs). After a response the
//! thread serves the connection's next request if it is already there, and
//! otherwise puts the connection back into the set.
//!
//! Before it sleeps in `epoll_wait`, one thread at a time polls the set
//! for some microseconds: under load the next request is usually there by
//! then, and taking it costs neither the web server a wake-up of a
//! sleeping thread nor this thread a context switch (as the thread pool
//! does, src/pool.rs).
//!
//! A thread that has answered a request keeps the interpreter while there
//! is more to do at once ([`Reactor::ready`]): the response's end never
//! waits for the socket (what it cannot write now goes out before the
//! connection's next use), and the thread takes a request another thread
//! read and queued meanwhile, the next one on its connection, or one on a
//! connection the set has ready. Handing the interpreter to another thread
//! costs a futex wake and a context switch each way, more than a short
//! request. A thread that reads a request while others serve queues it
//! and then waits for the interpreter itself: whichever thread gets the
//! interpreter first serves it. On an app that computes, the holder serves
//! request after request and the queuing threads sleep on the interpreter
//! instead of being woken by the set for every request; on one that waits
//! (a database, a sleep) the interpreter is free meanwhile and the queuing
//! thread serves its own request at once, side by side with the others.

use super::{lock, take_request, Link, Shared, Socket, Taken};
use crate::app::{App, Next, Requests};
use crate::request::Request;
use crate::shutdown::Shutdown;
use crate::transport::{PeerFilter, StdListener};
use iiswsgi_proto::fastcgi::Limits;
use std::collections::{HashMap, VecDeque};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often a waiting thread looks at the shutdown flag.
const SHUTDOWN_POLL_MS: i32 = 200;
/// The epoll key of the listening socket; connections count from 1.
const LISTENER: u64 = 0;

/// The listening socket and the peers it may accept.
struct Listening {
    socket: StdListener,
    filter: PeerFilter,
}

impl Listening {
    fn fd(&self) -> RawFd {
        match &self.socket {
            StdListener::Unix(l) => l.as_raw_fd(),
            StdListener::Tcp(l) => l.as_raw_fd(),
        }
    }

    /// One waiting connection, made blocking; `None` when it was refused.
    fn accept(&self) -> io::Result<Option<Socket>> {
        let socket = match &self.socket {
            StdListener::Unix(listener) => {
                let (stream, _) = listener.accept()?;
                stream.set_nonblocking(false)?;
                Socket::Unix(stream)
            }
            StdListener::Tcp(listener) => {
                let (stream, peer) = listener.accept()?;
                if !self.filter.allows(peer.ip()) {
                    tracing::warn!("refused connection from {peer}: not in FCGI_WEB_SERVER_ADDRS");
                    return Ok(None);
                }
                stream.set_nonblocking(false)?;
                stream.set_nodelay(true)?;
                Socket::Tcp(stream)
            }
        };
        Ok(Some(socket))
    }
}

/// The connections between requests, by epoll key.
struct Connections {
    by_key: HashMap<u64, Shared>,
    next_key: u64,
    /// False while `max_conns` connections are open: new ones wait in the
    /// listen backlog.
    listener_armed: bool,
}

struct Reactor {
    epoll: OwnedFd,
    listening: Listening,
    connections: Mutex<Connections>,
    limits: Limits,
    shutdown: Shutdown,
    /// Whether a thread is polling the set instead of sleeping on it.
    spinning: AtomicBool,
    /// Threads that hold the interpreter or are about to: each looks for
    /// a queued request before it lets go.
    serving: AtomicUsize,
    /// Requests read while other threads were serving.
    queue: Mutex<VecDeque<Queued>>,
    /// The queue's length, read without its lock.
    queued: AtomicUsize,
}

/// A connection by its epoll key.
type Connection = (u64, Shared);
/// A request waiting for a thread, with its connection.
type Queued = (Request, Option<Connection>);

impl Reactor {
    fn new(listening: Listening, limits: Limits, shutdown: Shutdown) -> io::Result<Self> {
        // SAFETY: a plain system call; the result is checked.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a new descriptor that nothing else owns.
        let epoll = unsafe { OwnedFd::from_raw_fd(fd) };
        let connections = Connections { by_key: HashMap::new(), next_key: LISTENER + 1, listener_armed: true };
        let reactor = Self {
            epoll,
            listening,
            connections: Mutex::new(connections),
            limits,
            shutdown,
            spinning: AtomicBool::new(false),
            serving: AtomicUsize::new(0),
            queue: Mutex::new(VecDeque::new()),
            queued: AtomicUsize::new(0),
        };
        reactor.control(libc::EPOLL_CTL_ADD, reactor.listening.fd(), LISTENER)?;
        Ok(reactor)
    }

    /// Adds or re-arms `fd` for one readable event under `key`.
    fn control(&self, op: libc::c_int, fd: RawFd, key: u64) -> io::Result<()> {
        let mut event = libc::epoll_event { events: (libc::EPOLLIN | libc::EPOLLONESHOT) as u32, u64: key };
        // SAFETY: valid descriptors and a valid event for the call's duration.
        if unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), op, fd, &mut event) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// The key of the next ready socket, or `None` after a quiet while.
    fn wait(&self) -> Option<u64> {
        if !self.spinning.swap(true, Ordering::Acquire) {
            let ready = crate::backoff::briefly(|| self.poll(0));
            self.spinning.store(false, Ordering::Release);
            if ready.is_some() {
                return ready;
            }
        }
        self.poll(SHUTDOWN_POLL_MS)
    }

    /// One `epoll_wait` for one event, waiting at most `timeout_ms`.
    fn poll(&self, timeout_ms: i32) -> Option<u64> {
        let mut event = libc::epoll_event { events: 0, u64: 0 };
        // SAFETY: room for exactly the one event asked for.
        let ready = unsafe { libc::epoll_wait(self.epoll.as_raw_fd(), &mut event, 1, timeout_ms) };
        (ready == 1).then_some(event.u64)
    }

    fn lock_connections(&self) -> std::sync::MutexGuard<'_, Connections> {
        self.connections.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes one connection from the backlog into the set.
    fn accept(&self) {
        let accepted = self.listening.accept();
        let mut connections = self.lock_connections();
        match accepted {
            Ok(Some(socket)) => {
                let key = connections.next_key;
                connections.next_key += 1;
                let fd = socket.fd();
                let link = Link::new(socket, self.limits);
                match self.control(libc::EPOLL_CTL_ADD, fd, key) {
                    Ok(()) => drop(connections.by_key.insert(key, link)),
                    Err(err) => tracing::warn!("cannot watch a new connection: {err}"),
                }
            }
            Ok(None) => {}
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
            Err(err) => {
                // Typically EMFILE: back off instead of spinning.
                tracing::warn!("accept failed: {err}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        let room = connections.by_key.len() < self.limits.max_conns as usize;
        connections.listener_armed = room && self.rearm_listener();
    }

    fn rearm_listener(&self) -> bool {
        match self.control(libc::EPOLL_CTL_MOD, self.listening.fd(), LISTENER) {
            Ok(()) => true,
            Err(err) => {
                tracing::error!("cannot watch the listening socket any more: {err}");
                false
            }
        }
    }

    /// Closes a connection; the app may still hold it, so it is hung up
    /// rather than left to its last reference.
    fn close(&self, key: u64, link: &Shared) {
        let guard = lock(link);
        let fd = guard.stream.fd();
        let mut event = libc::epoll_event { events: 0, u64: 0 };
        // SAFETY: valid descriptors; the event is ignored by DEL.
        unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), libc::EPOLL_CTL_DEL, fd, &mut event) };
        guard.stream.shutdown();
        drop(guard);
        let mut connections = self.lock_connections();
        connections.by_key.remove(&key);
        if !connections.listener_armed && connections.by_key.len() < self.limits.max_conns as usize {
            connections.listener_armed = self.rearm_listener();
        }
    }

    /// Waits for the next request for `place`'s thread. While other
    /// threads are serving, a request it reads is queued for whichever
    /// thread holds the interpreter first ([`Next::Queued`]): this one
    /// then waits for the interpreter too, so the request is served even
    /// when the others are stuck in a slow app.
    fn next(&self, place: &mut Place) -> Next {
        loop {
            if let Some(request) = self.resume(place) {
                if self.serving.load(Ordering::Acquire) == 0 {
                    return Next::Request(request);
                }
                let mut queue = self.lock_queue();
                queue.push_back((request, place.mine.take()));
                self.queued.store(queue.len(), Ordering::Release);
                return Next::Queued;
            }
            if self.shutdown.is_triggered() {
                // A queued request has its thread bound to look for it.
                return Next::End;
            }
            if let Some(key) = place.event.take().or_else(|| self.wait()) {
                self.take_event(key, place);
            }
        }
    }

    /// A request to be had without waiting, for a thread that holds the
    /// interpreter: a queued one, the next on its own connection, or one
    /// on a connection the set has ready now.
    fn ready(&self, place: &mut Place) -> Option<Request> {
        if place.mine.as_ref().is_some_and(|(_, link)| !lock(link).unsent.is_empty()) {
            // The last response is not all written, and that waits.
            return None;
        }
        if let Some(request) = self.resume(place) {
            return Some(request);
        }
        if self.queued.load(Ordering::Acquire) > 0 {
            let mut queue = self.lock_queue();
            if let Some((request, connection)) = queue.pop_front() {
                self.queued.store(queue.len(), Ordering::Release);
                place.mine = connection;
                return Some(request);
            }
        }
        match self.poll(0) {
            // Accepting may wait (a backoff after EMFILE): left to `next`.
            Some(LISTENER) => place.event = Some(LISTENER),
            Some(key) => {
                self.take_event(key, place);
                return self.resume(place);
            }
            None => {}
        }
        None
    }

    fn lock_queue(&self) -> std::sync::MutexGuard<'_, VecDeque<Queued>> {
        self.queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The next request already read on the thread's connection; otherwise
    /// the connection goes back into the set, or is closed when over.
    fn resume(&self, place: &mut Place) -> Option<Request> {
        let (key, link) = place.mine.take()?;
        let mut guard = lock(&link);
        match take_request(&link, &mut guard) {
            Taken::Request(request) => {
                drop(guard);
                place.mine = Some((key, link));
                return Some(request);
            }
            Taken::NeedMore if !guard.is_over() && !self.shutdown.is_triggered() => {
                let fd = guard.stream.fd();
                drop(guard);
                if let Err(err) = self.control(libc::EPOLL_CTL_MOD, fd, key) {
                    tracing::warn!("closing a connection that cannot be watched: {err}");
                    self.close(key, &link);
                }
            }
            Taken::NeedMore | Taken::Malformed => {
                drop(guard);
                self.close(key, &link);
            }
        }
        None
    }

    /// Acts on one event of the set: a connection to accept, or bytes (or
    /// the end of the stream) on a connection, which becomes the thread's.
    fn take_event(&self, key: u64, place: &mut Place) {
        if key == LISTENER {
            return self.accept();
        }
        let Some(link) = self.lock_connections().by_key.get(&key).cloned() else { return };
        lock(&link).fill(0);
        place.mine = Some((key, link));
    }

    /// Hangs up every connection left when the threads have stopped.
    fn close_all(&self) {
        let left: Vec<(u64, Shared)> = self.lock_connections().by_key.drain().collect();
        for (_, link) in left {
            lock(&link).stream.shutdown();
        }
    }
}

/// An application thread at the reactor.
struct Seat {
    reactor: Arc<Reactor>,
    place: Place,
}

/// What the reactor keeps for one application thread.
#[derive(Default)]
struct Place {
    /// The connection of the request the thread serves or served last.
    mine: Option<Connection>,
    /// An event taken from the set and left for [`Reactor::next`].
    event: Option<u64>,
    /// Whether the thread is counted in [`Reactor::serving`].
    serving: bool,
}

impl Requests for Seat {
    fn next(&mut self) -> Next {
        if std::mem::take(&mut self.place.serving) {
            self.reactor.serving.fetch_sub(1, Ordering::AcqRel);
        }
        let next = self.reactor.next(&mut self.place);
        if !matches!(next, Next::End) {
            self.place.serving = true;
            self.reactor.serving.fetch_add(1, Ordering::AcqRel);
        }
        next
    }

    fn ready(&mut self) -> Option<Request> {
        self.reactor.ready(&mut self.place)
    }
}

/// Serves the listening socket on `threads` application threads until shutdown;
/// each thread finishes the request it is serving.
pub fn run(
    (socket, filter): (StdListener, PeerFilter),
    app: Arc<dyn App>,
    threads: usize,
    limits: Limits,
    shutdown: Shutdown,
) -> io::Result<()> {
    let reactor = Arc::new(Reactor::new(Listening { socket, filter }, limits, shutdown)?);
    let handles = (0..threads.max(1))
        .map(|index| {
            let app = app.clone();
            let reactor = reactor.clone();
            std::thread::Builder::new().name(format!("iiswsgi-app-{index}")).spawn(move || {
                app.run_thread(&mut Seat { reactor, place: Place::default() });
            })
        })
        .collect::<io::Result<Vec<_>>>()?;
    for handle in handles {
        let _ = handle.join();
    }
    reactor.close_all();
    Ok(())
}
