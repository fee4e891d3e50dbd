//! The embedded-CPython WSGI gateway (PEP 3333), behind feature `python`.
//!
//! - [`interpreter`]: starts CPython in the right environment; the
//!   standalone binary only (feature `embed`). [`runtime`] describes the
//!   running one, and what `--venv` means when a Python hosts us.
//! - [`loader`]: finds the app (module:attr, Paste Deploy, WSGI_HANDLER) and
//!   [`site`] applies a web.config's appSettings first, as wfastcgi does.
//! - [`environ`], [`input`], [`start_response`], [`file_wrapper`],
//!   [`log_writer`]: the objects an app sees.
//! - [`response`]: runs one request and reports failures in wfastcgi's words
//!   ([`report`]).

mod app;
mod debugger;
mod environ;
mod file_wrapper;
mod input;
#[cfg(feature = "embed")]
pub mod interpreter;
mod loader;
mod log_writer;
mod paths;
mod report;
mod response;
pub mod runtime;
mod site;
mod start_response;

pub use app::{Settings, WsgiApp};
pub use loader::{AppSpec, LoadFailure};
