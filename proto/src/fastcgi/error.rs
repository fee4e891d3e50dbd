/// A violation of the FastCGI record layer. Every variant is fatal to the
/// connection it happened on: once framing is in doubt no later byte can be
/// trusted. Request-level problems (unknown role, a second request id, PARAMS
/// over the limit) are not errors but [`crate::fastcgi::Event`]s or replies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("unsupported FastCGI version {0} (expected 1)")]
    Version(u8),
    #[error("{record} record for request {request_id} has {len} content bytes, expected {expected}")]
    BodyLength { record: &'static str, request_id: u16, len: usize, expected: usize },
    #[error("{record} record must use request id 0, got {request_id}")]
    ManagementRequestId { record: &'static str, request_id: u16 },
    #[error("{record} record must not use request id 0")]
    NullRequestId { record: &'static str },
    #[error("name-value pair truncated at byte {offset} of {len}")]
    NameValueTruncated { offset: usize, len: usize },
    #[error("record of type {0} is only sent by applications, not by web servers")]
    UnexpectedType(&'static str),
}
