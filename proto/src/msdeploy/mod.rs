//! Web Deploy's formats, sans-IO: the provider-options blob (MS-NRBF in
//! gzip in Base64), and the template expansion the original used.

mod entry_name;
mod expandvars;
mod nrbf;
mod provider_options;

pub use entry_name::is_safe_entry_name;
pub use expandvars::expandvars;
pub use nrbf::{NrbfError, ProviderOptions, CLASS, LIBRARY};
pub use provider_options::{blob_nrbf, decode_blob, encode_blob, BlobError};
