//! Protocol code shared by the `iiswsgi` gateway and its IIS emulator.
//!
//! This crate exists to break a Cargo cycle: the emulator (crate `emulator/`)
//! needs the FastCGI codec to talk to the processes it starts, and
//! `iiswsgi emulate` needs the emulator. Both depend on this leaf crate, and
//! `iiswsgi` re-exports it, so code still says `iiswsgi::fastcgi`.
//!
//! Nothing here does I/O: no sockets, no files, no async runtime. Bytes go in,
//! records and events come out, and replies are queued for the caller to
//! write. `cargo tree -p iiswsgi-proto` lists no async runtime, Python or HTTP crate.

pub mod cgi_response;
pub mod civil_time;
pub mod declared_length;
pub mod fastcgi;
pub mod iis;
pub mod msdeploy;
