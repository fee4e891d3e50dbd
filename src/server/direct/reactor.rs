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

use super::{lock, take_request, Link, Shared, Socket, Taken};
use crate::app::App;
use crate::request::Request;
use crate::shutdown::Shutdown;
use crate::transport::{PeerFilter, StdListener};
use iiswsgi_proto::fastcgi::Limits;
use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
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
}

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

    /// The next request for the calling thread; `mine` is the connection
    /// it served last. `None` once shutdown is asked for.
    fn next(&self, mine: &mut Option<(u64, Shared)>) -> Option<Request> {
        loop {
            if let Some((key, link)) = mine.take() {
                let mut guard = lock(&link);
                match take_request(&link, &mut guard) {
                    Taken::Request(request) => {
                        drop(guard);
                        *mine = Some((key, link));
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
            }
            if self.shutdown.is_triggered() {
                return None;
            }
            match self.wait() {
                Some(LISTENER) => self.accept(),
                Some(key) => {
                    let Some(link) = self.lock_connections().by_key.get(&key).cloned() else { continue };
                    // Readable: bytes, or the end of the stream.
                    lock(&link).fill(0);
                    *mine = Some((key, link));
                }
                None => {}
            }
        }
    }

    /// Hangs up every connection left when the threads have stopped.
    fn close_all(&self) {
        let left: Vec<(u64, Shared)> = self.lock_connections().by_key.drain().collect();
        for (_, link) in left {
            lock(&link).stream.shutdown();
        }
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
                let mut mine = None;
                app.run_thread(&mut || reactor.next(&mut mine));
            })
        })
        .collect::<io::Result<Vec<_>>>()?;
    for handle in handles {
        let _ = handle.join();
    }
    reactor.close_all();
    Ok(())
}
