//! On Unix the connection is a socketpair: the child's stdin is one end,
//! which the gateway detects as IIS mode, and the emulator keeps the other.

use std::os::fd::OwnedFd;

pub type Channel = tokio::net::UnixStream;

/// Makes the child's stdin one end of a new socketpair and returns the
/// other. The child gets its own process group, so a Ctrl-C in the
/// emulator's terminal reaches the emulator, which then stops its
/// processes itself, as IIS's children never see console signals.
pub fn connect(command: &mut tokio::process::Command) -> std::io::Result<Channel> {
    let (ours, theirs) = std::os::unix::net::UnixStream::pair()?;
    command.stdin(std::process::Stdio::from(OwnedFd::from(theirs))).process_group(0);
    ours.set_nonblocking(true)?;
    Channel::from_std(ours)
}

pub fn signal_terminate(pid: u32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
    }
}
