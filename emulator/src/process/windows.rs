//! On Windows, as IIS: a duplex, overlapped, byte-mode named pipe with one
//! instance, `\\.\pipe\IISFCGI-<guid>`; its server end is the child's stdin
//! and its name is in `_FCGI_X_PIPE_`; the emulator opens the client end
//! before the child starts. With `signalBeforeTerminateSeconds`, an
//! inheritable manual-reset event's handle value is in
//! `_FCGI_SHUTDOWN_EVENT_`.

use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use std::sync::atomic::{AtomicU32, Ordering};
use tokio::net::windows::named_pipe::ClientOptions;
use windows_sys::Win32::Foundation::{HANDLE, INVALID_HANDLE_VALUE};
use windows_sys::Win32::Security::SECURITY_ATTRIBUTES;
use windows_sys::Win32::Storage::FileSystem::{FILE_FLAG_OVERLAPPED, PIPE_ACCESS_DUPLEX};
use windows_sys::Win32::System::Pipes::{CreateNamedPipeW, PIPE_READMODE_BYTE, PIPE_TYPE_BYTE, PIPE_WAIT};
use windows_sys::Win32::System::Threading::{CreateEventW, SetEvent};

pub type Channel = tokio::net::windows::named_pipe::NamedPipeClient;

/// The shutdown event, owned by the emulator.
pub struct Event(OwnedHandle);

impl Event {
    pub fn set(&self) {
        // SAFETY: the handle is a valid event handle owned by self.
        unsafe {
            SetEvent(self.0.as_raw_handle() as HANDLE);
        }
    }
}

fn inheritable() -> SECURITY_ATTRIBUTES {
    SECURITY_ATTRIBUTES {
        nLength: std::mem::size_of::<SECURITY_ATTRIBUTES>() as u32,
        lpSecurityDescriptor: std::ptr::null_mut(),
        bInheritHandle: 1,
    }
}

fn pipe_name() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(r"\\.\pipe\IISFCGI-{nanos:08x}-{:04x}-4000-8000-{count:012x}", std::process::id() & 0xffff)
}

pub fn connect(command: &mut tokio::process::Command, with_event: bool) -> std::io::Result<(Channel, Option<Event>)> {
    let name = pipe_name();
    let wide: Vec<u16> = name.encode_utf16().chain(std::iter::once(0)).collect();
    let attributes = inheritable();
    // SAFETY: `wide` is NUL-terminated and `attributes` outlives the call.
    let handle = unsafe {
        CreateNamedPipeW(
            wide.as_ptr(),
            PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED,
            PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT,
            1,
            4096,
            4096,
            0,
            &attributes,
        )
    };
    if handle == INVALID_HANDLE_VALUE {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a valid handle we own from here on.
    let server = unsafe { OwnedHandle::from_raw_handle(handle as _) };
    let client = ClientOptions::new().open(&name)?;
    command.stdin(std::process::Stdio::from(server)).env("_FCGI_X_PIPE_", &name);
    let event = if with_event {
        // SAFETY: plain Win32 call; the result is checked.
        let handle = unsafe { CreateEventW(&attributes, 1, 0, std::ptr::null()) };
        if handle.is_null() {
            return Err(std::io::Error::last_os_error());
        }
        command.env("_FCGI_SHUTDOWN_EVENT_", (handle as usize).to_string());
        // SAFETY: a valid handle we own from here on.
        Some(Event(unsafe { OwnedHandle::from_raw_handle(handle as _) }))
    } else {
        None
    };
    Ok((client, event))
}
