//! Reading what the web server left on fd 0.

use super::{Error, Listener, Mode, PeerFilter, Stream, Transport};
use std::os::fd::{FromRawFd, OwnedFd};

/// IIS mode on Unix: fd 0 is one end of a connected socket (the emulator
/// uses a socketpair). It carries one connection; when the peer hangs up
/// there is nothing more to serve.
pub struct IisChannel {
    stream: Option<std::os::unix::net::UnixStream>,
    tcp: Option<std::net::TcpStream>,
    description: String,
}

impl Transport for IisChannel {
    type Stream = Box<dyn Stream>;

    fn mode(&self) -> Mode {
        Mode::Iis
    }

    fn describe(&self) -> String {
        self.description.clone()
    }

    async fn accept(&mut self) -> std::io::Result<Option<Box<dyn Stream>>> {
        if let Some(stream) = self.stream.take() {
            stream.set_nonblocking(true)?;
            return Ok(Some(Box::new(tokio::net::UnixStream::from_std(stream)?)));
        }
        if let Some(stream) = self.tcp.take() {
            stream.set_nonblocking(true)?;
            return Ok(Some(Box::new(tokio::net::TcpStream::from_std(stream)?)));
        }
        Ok(None)
    }
}

impl IisChannel {
    /// The unix socket IIS (the emulator) connected us with, for the
    /// direct server; `None` for a TCP channel.
    pub fn take_unix(&mut self) -> Option<std::os::unix::net::UnixStream> {
        self.stream.take()
    }
}

/// What stdin turned out to be.
pub enum Detected {
    Iis(IisChannel),
    ListenSocket(Listener),
}

/// Inspects fd 0 and takes it over: a listening socket means listen-socket
/// mode, a connected one IIS mode. Anything else (a terminal, a file, a
/// pipe) is [`Error::NoTransport`]. Fd 0 is then pointed at /dev/null so
/// nothing else (Python's `sys.stdin`) can read FastCGI bytes.
pub fn detect(filter: PeerFilter) -> Result<Detected, Error> {
    let inspect = |what: &str| Error::InspectStdin(std::io::Error::other(format!("{what}: {}", errno_text())));
    // SAFETY: fstat on fd 0 with a zeroed out-buffer; no memory is shared.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(0, &mut stat) } != 0 || stat.st_mode & libc::S_IFMT != libc::S_IFSOCK {
        return Err(Error::NoTransport);
    }
    let mut addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: getsockname writes at most `len` bytes into `addr`.
    if unsafe { libc::getsockname(0, (&raw mut addr).cast(), &mut len) } != 0 {
        return Err(inspect("getsockname"));
    }
    let family = i32::from(addr.ss_family);
    let mut peer: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut peer_len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // The spec's test: "getpeername fails with ENOTCONN" on a listening socket.
    // SAFETY: as above.
    let connected = unsafe { libc::getpeername(0, (&raw mut peer).cast(), &mut peer_len) } == 0;
    if !connected && std::io::Error::last_os_error().raw_os_error() != Some(libc::ENOTCONN) {
        return Err(inspect("getpeername"));
    }
    let fd = take_stdin().map_err(Error::InspectStdin)?;
    let unix = family == libc::AF_UNIX;
    let io = Error::InspectStdin;
    let peer_name = if connected { "connected" } else { "listening" };
    let description = format!("IIS mode: {peer_name} {} socket on stdin", if unix { "unix" } else { "TCP" });
    Ok(match (connected, unix) {
        (true, true) => Detected::Iis(IisChannel { stream: Some(fd.into()), tcp: None, description }),
        (true, false) => Detected::Iis(IisChannel { stream: None, tcp: Some(fd.into()), description }),
        (false, true) => Detected::ListenSocket(Listener::inherited_unix(fd.into()).map_err(io)?),
        (false, false) => Detected::ListenSocket(Listener::inherited_tcp(fd.into(), filter).map_err(io)?),
    })
}

/// Moves fd 0 to a new descriptor owned by us and reopens fd 0 on /dev/null.
fn take_stdin() -> std::io::Result<OwnedFd> {
    // SAFETY: dup returns a fresh descriptor we then own exclusively.
    let fd = unsafe { libc::fcntl(0, libc::F_DUPFD_CLOEXEC, 3) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    let null = std::fs::File::open("/dev/null")?;
    // SAFETY: dup2 onto fd 0, which we have just copied away.
    if unsafe { libc::dup2(std::os::fd::AsRawFd::as_raw_fd(&null), 0) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(owned)
}

fn errno_text() -> String {
    std::io::Error::last_os_error().to_string()
}
