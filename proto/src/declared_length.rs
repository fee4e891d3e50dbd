//! A response's declared Content-Length against the body at hand.
//!
//! An app's CGI head may say Content-Length. When the whole body is known,
//! a server that wrote that header as it is, next to a body of another
//! length, would break the connection's framing: the client would read
//! the next response from the middle of this one (hyper trusts such a
//! header in release builds; IIS's modules reuse their connections). The
//! rule here is HTTP's own for a streamed body with a declared length,
//! which hyper and nginx apply: what is past the declared length is not
//! sent, and a body that falls short ends with the connection closed, so
//! that the client knows the response is incomplete.

/// A Content-Length value as HTTP reads it: digits only (RFC 9110,
/// section 8.6); `None` for anything else (a sign, a space, a list).
pub fn parse(value: &[u8]) -> Option<u64> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

/// Why a head's Content-Length is not taken as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("is not a number")]
    NotANumber,
    #[error("differs from the first")]
    Differs,
    /// The same as the first: harmless, and said once is enough.
    #[error("repeats the first")]
    Repeats,
}

/// A head's Content-Length `value`, `first` the one the head already has:
/// a second one that differs would leave the length in doubt (hyper
/// refuses such a head), and one that is not a number would be written
/// as it is.
pub fn admit(value: &[u8], first: Option<&[u8]>) -> Result<u64, Refused> {
    let length = parse(value).ok_or(Refused::NotANumber)?;
    match first.map(parse) {
        None => Ok(length),
        Some(first) if first == Some(length) => Err(Refused::Repeats),
        Some(_) => Err(Refused::Differs),
    }
}

/// How a body wholly at hand stands to the Content-Length declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Declared {
    /// None declared, or the body's own length; or a HEAD response
    /// without a body, whose length is that of the GET's body.
    Agrees,
    /// Fewer bytes declared than the body has.
    Less(u64),
    /// More bytes declared than the body has.
    More(u64),
}

/// `declared`, the head's Content-Length value if any, against a body of
/// `len` bytes, for a HEAD request or another.
pub fn compare(declared: Option<&[u8]>, len: usize, head_request: bool) -> Declared {
    let Some(declared) = declared.and_then(parse) else { return Declared::Agrees };
    let len = len as u64;
    match declared.cmp(&len) {
        _ if head_request && len == 0 => Declared::Agrees,
        std::cmp::Ordering::Equal => Declared::Agrees,
        std::cmp::Ordering::Less => Declared::Less(declared),
        std::cmp::Ordering::Greater => Declared::More(declared),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_digits_are_a_length() {
        assert_eq!(parse(b"0"), Some(0));
        assert_eq!(parse(b"0012"), Some(12));
        for bad in [&b""[..], b"+5", b"-1", b" 5", b"5,5", b"0x10", b"99999999999999999999999"] {
            assert_eq!(parse(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn a_second_length_repeats_or_differs() {
        assert_eq!(admit(b"5", None), Ok(5));
        assert_eq!(admit(b"five", None), Err(Refused::NotANumber));
        assert_eq!(admit(b"5", Some(b"5")), Err(Refused::Repeats));
        assert_eq!(admit(b"6", Some(b"5")), Err(Refused::Differs));
    }

    #[test]
    fn a_declared_length_is_compared_with_the_body() {
        assert_eq!(compare(None, 5, false), Declared::Agrees);
        assert_eq!(compare(Some(b"5"), 5, false), Declared::Agrees);
        assert_eq!(compare(Some(b"3"), 5, false), Declared::Less(3));
        assert_eq!(compare(Some(b"9"), 5, false), Declared::More(9));
        assert_eq!(compare(Some(b"9"), 0, false), Declared::More(9));
        assert_eq!(compare(Some(b"9"), 0, true), Declared::Agrees, "HEAD: the GET's length");
        assert_eq!(compare(Some(b"9"), 5, true), Declared::More(9), "HEAD with a body of another length");
        assert_eq!(compare(Some(b"five"), 5, false), Declared::Agrees, "not a length: the server drops it");
    }
}
