//! FastCGI 1.0, sans-IO.
//!
//! Layers, bottom up:
//! - [`Header`] and [`RecordType`]: the 8-byte record header.
//! - [`name_value`]: the name-value pair encoding of PARAMS and GET_VALUES.
//! - [`Record`]: one whole record, decoded from header + content, encodable.
//! - [`Decoder`]: a byte buffer that yields records however the bytes were
//!   split across reads.
//! - [`encoder`]: stream records split at 65535 bytes, with padding.
//! - [`ServerConnection`]: the application side of one connection: request ids,
//!   FCGI_KEEP_CONN, management records, multiplexing refusals, aborts.
//!
//! The spec is <https://fastcgi-archives.github.io/FastCGI_Specification.html>;
//! comments quote it where a rule is enforced.

mod connection;
mod decoder;
pub mod encoder;
mod error;
mod header;
pub mod name_value;
mod record;

pub use connection::{Event, Limits, Params, ParamsBuilder, ServerConnection};
pub use decoder::Decoder;
pub use error::Error;
pub use header::{Header, RecordType};
pub use record::{ProtocolStatus, Record, Role};

/// Length of every record header.
pub const HEADER_LEN: usize = 8;
/// Largest content a single record can carry (16-bit length field).
pub const MAX_CONTENT_LEN: usize = 0xFFFF;
/// The only protocol version there is.
pub const VERSION_1: u8 = 1;
/// BEGIN_REQUEST flag: keep the connection open after END_REQUEST.
pub const KEEP_CONN: u8 = 1;
/// Request id reserved for management records.
pub const NULL_REQUEST_ID: u16 = 0;

/// Variable names a GET_VALUES query may ask for.
pub const MAX_CONNS: &str = "FCGI_MAX_CONNS";
pub const MAX_REQS: &str = "FCGI_MAX_REQS";
pub const MPXS_CONNS: &str = "FCGI_MPXS_CONNS";
