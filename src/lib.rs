//! iiswsgi: a FastCGI-to-WSGI gateway for IIS (and nginx, Apache, lighttpd).
//!
//! Module map, with dependencies pointing down the list and never back:
//! - [`cli`]: argument parsing and settings; the only user of `anyhow`.
//! - [`server`]: accepts connections from a [`transport`] and runs the
//!   FastCGI state machine ([`fastcgi`], sans-IO, from `iiswsgi-proto`) over
//!   each, handing requests to the [`pool`].
//! - [`app`]: what answers requests: [`wsgi`] (embedded CPython, feature
//!   `python`) or [`test_app`].
//! - [`request`]: the bounded channels between the async server and the
//!   blocking application threads.
//! - [`doctor`]: a site's configuration, program and app checked as IIS
//!   will meet them, on the emulator's model of IIS.
//! - [`restart`], [`logging`], [`shutdown`]: process plumbing.
//!
//! The library starts the interpreter only for the standalone binary
//! (feature `embed`, [`wsgi::interpreter`]); a Python process hosts it
//! through the extension module in pyext/ (the wheel), with the same
//! command line ([`cli::main`]).

pub use iiswsgi_proto::fastcgi;

/// mimalloc for every Rust allocation, in the binary and the extension
/// module alike: a request's buffers are made on one thread and freed on
/// another, which glibc's malloc serves slowly (its thread caches refill
/// from locked arenas, and chunks above 1 KiB consolidate the heap): in
/// HTTP mode it took 3–5 µs of the 25–30 µs each request costs.
#[cfg(target_os = "linux")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod app;
pub mod backoff;
pub mod cli;
pub mod doctor;
pub mod http;
pub mod logging;
pub mod msdeploy;
pub mod pool;
pub mod project;
pub mod request;
pub mod restart;
pub mod self_command;
pub mod server;
pub mod shutdown;
pub mod test_app;
pub mod transport;
pub mod webpi;
#[cfg(feature = "python")]
pub mod wsgi;
