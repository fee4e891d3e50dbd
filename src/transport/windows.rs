//! IIS's transport on Windows: stdin is the server end of a duplex,
//! overlapped named pipe that IIS has already connected to
//! (`\\.\pipe\IISFCGI-<guid>`, also named in `_FCGI_X_PIPE_`).

use super::{Error, Listener, Mode, PeerFilter, Transport};
use crate::shutdown::Shutdown;
use tokio::net::windows::named_pipe::NamedPipeServer;
use windows_sys::Win32::Foundation::{HANDLE, INVALID_HANDLE_VALUE};
use windows_sys::Win32::Storage::FileSystem::{GetFileType, FILE_TYPE_PIPE};
use windows_sys::Win32::System::Console::{GetStdHandle, STD_INPUT_HANDLE};
use windows_sys::Win32::System::Threading::{WaitForSingleObject, INFINITE};

/// The pipe IIS gave us. After IIS disconnects, the pipe is disconnected on
/// our side too and accepted again, as PHP's FastCGI loop does.
pub struct IisChannel {
    /// The raw stdin handle until the first accept, which needs the runtime.
    handle: Option<isize>,
    pipe: Option<NamedPipeServer>,
}

impl Transport for IisChannel {
    type Stream = NamedPipeServer;

    fn mode(&self) -> Mode {
        Mode::Iis
    }

    fn describe(&self) -> String {
        let name = std::env::var("_FCGI_X_PIPE_").unwrap_or_else(|_| "unnamed".to_string());
        format!("IIS mode: named pipe {name} on stdin")
    }

    async fn accept(&mut self) -> std::io::Result<Option<NamedPipeServer>> {
        let pipe = match (self.pipe.take(), self.handle.take()) {
            (Some(pipe), _) => pipe,
            // SAFETY: the handle is stdin's pipe handle, which nothing else in
            // this process uses; ownership passes to the NamedPipeServer.
            (None, Some(handle)) => unsafe { NamedPipeServer::from_raw_handle(handle as HANDLE)? },
            (None, None) => return Ok(None),
        };
        // ConnectNamedPipe on a pipe IIS connected before starting us fails
        // with ERROR_PIPE_CONNECTED, which tokio (through mio) treats as success.
        pipe.connect().await?;
        Ok(Some(pipe))
    }

    fn release(&mut self, pipe: NamedPipeServer) {
        if let Err(err) = pipe.disconnect() {
            tracing::warn!("could not disconnect the IIS pipe: {err}");
            return;
        }
        self.pipe = Some(pipe);
    }
}

/// What stdin turned out to be.
pub enum Detected {
    Iis(IisChannel),
    ListenSocket(Listener),
}

/// A pipe on stdin means IIS. Windows web servers do not hand over
/// listening sockets, so there is no listen-socket mode here.
pub fn detect(_filter: PeerFilter) -> Result<Detected, Error> {
    // SAFETY: plain Win32 queries on this process's standard handle.
    let handle = unsafe { GetStdHandle(STD_INPUT_HANDLE) };
    if handle.is_null() || handle == INVALID_HANDLE_VALUE || unsafe { GetFileType(handle) } != FILE_TYPE_PIPE {
        return Err(Error::NoTransport);
    }
    Ok(Detected::Iis(IisChannel { handle: Some(handle as isize), pipe: None }))
}

/// IIS sets `_FCGI_SHUTDOWN_EVENT_` to an inheritable event handle when
/// `signalBeforeTerminateSeconds` is above 0, and signals it before killing
/// the process. A thread waits on it and starts a graceful shutdown.
pub fn watch_shutdown_event(shutdown: Shutdown) {
    let Ok(value) = std::env::var("_FCGI_SHUTDOWN_EVENT_") else {
        return;
    };
    let Ok(handle) = value.trim().parse::<isize>() else {
        tracing::warn!("ignoring _FCGI_SHUTDOWN_EVENT_={value}: not a handle number");
        return;
    };
    let spawned = std::thread::Builder::new().name("iiswsgi-shutdown-event".into()).spawn(move || {
        // SAFETY: waiting on a handle value IIS passed us; a bad value makes
        // the wait fail, which we report instead of shutting down.
        let result = unsafe { WaitForSingleObject(handle as HANDLE, INFINITE) };
        if result == 0 {
            shutdown.trigger("IIS signalled _FCGI_SHUTDOWN_EVENT_");
        } else {
            tracing::warn!("waiting on _FCGI_SHUTDOWN_EVENT_ failed ({result})");
        }
    });
    if let Err(err) = spawned {
        tracing::warn!("cannot watch _FCGI_SHUTDOWN_EVENT_: {err}");
    }
}
