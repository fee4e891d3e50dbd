//! The connected socket a direct connection is served on.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;

/// A connected socket of either family, blocking.
pub enum Socket {
    Unix(UnixStream),
    Tcp(std::net::TcpStream),
}

impl Socket {
    pub(super) fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Socket::Unix(s) => s.read(buf),
            Socket::Tcp(s) => s.read(buf),
        }
    }

    pub(super) fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Socket::Unix(s) => s.write_all(bytes),
            Socket::Tcp(s) => s.write_all(bytes),
        }
    }

    /// Writes what the socket takes now, without waiting for room: the
    /// count written (0 when the socket is full).
    pub(super) fn send_without_blocking(&self, bytes: &[u8]) -> std::io::Result<usize> {
        // MSG_DONTWAIT makes this one call non-blocking, whatever the mode
        // of the socket; MSG_NOSIGNAL turns a hung-up peer into EPIPE.
        let flags = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
        loop {
            // SAFETY: `bytes` is valid for its length for the call's duration.
            let sent = unsafe { libc::send(self.fd(), bytes.as_ptr().cast(), bytes.len(), flags) };
            if let Ok(sent) = usize::try_from(sent) {
                return Ok(sent);
            }
            let err = std::io::Error::last_os_error();
            match err.kind() {
                std::io::ErrorKind::WouldBlock => return Ok(0),
                std::io::ErrorKind::Interrupted => continue,
                _ => return Err(err),
            }
        }
    }

    /// Hangs up both ways, even while the app still holds the connection.
    pub(super) fn shutdown(&self) {
        let _ = match self {
            Socket::Unix(s) => s.shutdown(std::net::Shutdown::Both),
            Socket::Tcp(s) => s.shutdown(std::net::Shutdown::Both),
        };
    }

    pub(super) fn fd(&self) -> RawFd {
        match self {
            Socket::Unix(s) => s.as_raw_fd(),
            Socket::Tcp(s) => s.as_raw_fd(),
        }
    }
}
