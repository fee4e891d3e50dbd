//! The CGI-style header block a FastCGI responder writes on FCGI_STDOUT,
//! parsed as IIS parses it, sans-IO: bytes in, a head out once the block
//! ends, whatever follows it is body.
//!
//! IIS's exact leniency is not documented ("relaxed enforcement of response
//! header syntax", FastCGI 1.5). The rules chosen here: lines end in CRLF
//! or LF; `Status: NNN [reason]` sets the status (a bare code is fine);
//! `Location` without `Status` means 302, as CGI says; anything else must
//! be `Name: value` with a token name, or the response is malformed. The
//! block may not exceed [`MAX_HEAD_LEN`].

/// The most header bytes held while waiting for the blank line.
pub const MAX_HEAD_LEN: usize = 64 * 1024;

/// A parsed head, its text latin-1: each char one byte of what the
/// application wrote ([`latin1_bytes`] gives them back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub status: u16,
    /// The reason phrase the application gave, if any.
    pub reason: Option<String>,
    pub headers: Vec<(String, String)>,
}

/// The bytes of a latin-1 text of a [`Head`].
pub fn latin1_bytes(text: &str) -> Vec<u8> {
    text.chars().map(|c| c as u8).collect()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    #[error("header line {0:?} is not `Name: value`")]
    BadLine(String),
    #[error("status {0:?} is not a three-digit code")]
    BadStatus(String),
    #[error("the header block exceeds {MAX_HEAD_LEN} bytes")]
    TooLong,
}

#[derive(Debug, Default)]
pub struct HeadParser {
    buf: Vec<u8>,
}

impl HeadParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds stdout bytes. Once the blank line has arrived, returns the
    /// head and where in `bytes` the body begins (the rest of `bytes` is
    /// body); `None` before.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Option<(Head, usize)>, Malformed> {
        self.feed_with(bytes, |head| head.to_owned())
    }

    /// [`HeadParser::feed`], the head given to `build` as it lies: a head
    /// that arrives whole in one call, the common case, borrows `bytes`
    /// (a caller holding them shared can keep its parts without a copy).
    pub fn feed_with<R>(
        &mut self,
        bytes: &[u8],
        build: impl FnOnce(HeadRef<'_>) -> R,
    ) -> Result<Option<(R, usize)>, Malformed> {
        let held = self.buf.len();
        let found = if held == 0 {
            find_blank_line(bytes, 0).map(|(head_end, body_start)| (bytes, head_end, body_start))
        } else {
            self.buf.extend_from_slice(bytes);
            find_blank_line(&self.buf, held.saturating_sub(3)).map(|(end, start)| (&self.buf[..], end, start))
        };
        let Some((block, head_end, body_start)) = found else {
            if held == 0 {
                self.buf.extend_from_slice(bytes);
            }
            if self.buf.len() > MAX_HEAD_LEN {
                return Err(Malformed::TooLong);
            }
            return Ok(None);
        };
        if head_end > MAX_HEAD_LEN {
            return Err(Malformed::TooLong);
        }
        let head = build(parse_head(&block[..head_end])?);
        // The blank line ends in `bytes`: nothing held before had one.
        let body_at = body_start - held;
        self.buf.clear();
        Ok(Some((head, body_at)))
    }

    /// At the end of the output without a blank line: the lines so far, if
    /// they parse, are taken as the whole head (the relaxed rule that lets
    /// wfastcgi's unterminated `Status: 500` through).
    pub fn finish(self) -> Result<Option<Head>, Malformed> {
        self.finish_with(|head| head.to_owned())
    }

    /// [`HeadParser::finish`], the head given to `build` as it lies.
    pub fn finish_with<R>(self, build: impl FnOnce(HeadRef<'_>) -> R) -> Result<Option<R>, Malformed> {
        if self.buf.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        parse_head(&self.buf).map(|head| Some(build(head)))
    }
}

/// Where the first blank line at or after `from` begins and where what
/// follows it begins: `\r\n\r\n`, `\n\n` or `\n\r\n`. Each starts at or
/// just before a newline, so only the newlines are looked at.
fn find_blank_line(buf: &[u8], from: usize) -> Option<(usize, usize)> {
    memchr::memchr_iter(b'\n', buf.get(from..)?).map(|at| from + at).find_map(|newline| {
        let after = &buf[newline + 1..];
        if after.starts_with(b"\n") {
            Some((newline, newline + 2))
        } else if after.starts_with(b"\r\n") {
            let crlf = newline > from && buf[newline - 1] == b'\r';
            Some(if crlf { (newline - 1, newline + 3) } else { (newline, newline + 3) })
        } else {
            None
        }
    })
}

/// A head as it lies in its block: names, values and reason are the
/// block's own bytes, which CGI makes latin-1 (no decoding, so nothing is
/// lost on the way to the client).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadRef<'a> {
    pub status: u16,
    pub reason: Option<&'a [u8]>,
    pub headers: Vec<(&'a [u8], &'a [u8])>,
}

impl HeadRef<'_> {
    /// The head with its text as strings, each byte one char (latin-1).
    pub fn to_owned(&self) -> Head {
        Head {
            status: self.status,
            reason: self.reason.map(latin1),
            headers: self.headers.iter().map(|(name, value)| (latin1(name), latin1(value))).collect(),
        }
    }
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

fn parse_head(block: &[u8]) -> Result<HeadRef<'_>, Malformed> {
    let mut head = HeadRef { status: 200, reason: None, headers: Vec::new() };
    let mut status_seen = false;
    let lines = block.split(|&b| b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l)).filter(|l| !l.is_empty());
    for line in lines {
        let bad_line = || Malformed::BadLine(latin1(line));
        let colon = line.iter().position(|&b| b == b':').ok_or_else(bad_line)?;
        let name = line[..colon].trim_ascii_end();
        if name.is_empty() || !name.iter().all(|&b| is_token_byte(b)) {
            return Err(bad_line());
        }
        let value = line[colon + 1..].trim_ascii();
        if name.eq_ignore_ascii_case(b"Status") {
            let (code, reason) = match value.iter().position(|&b| b == b' ') {
                Some(space) => (&value[..space], value[space + 1..].trim_ascii()),
                None => (value, &b""[..]),
            };
            let number = std::str::from_utf8(code).ok().filter(|c| c.len() == 3).and_then(|c| c.parse::<u16>().ok());
            head.status = match number {
                Some(number) if (100..=999).contains(&number) => number,
                _ => return Err(Malformed::BadStatus(latin1(value))),
            };
            head.reason = Some(reason).filter(|r| !r.is_empty());
            status_seen = true;
        } else {
            head.headers.push((name, value));
        }
    }
    if !status_seen && head.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(b"Location")) {
        head.status = 302;
    }
    Ok(head)
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_and_body_split_anywhere() {
        let stream = b"Status: 201 Made\r\nContent-Type: text/plain\r\nX-A: 1\r\n\r\nbody";
        for split in 0..stream.len() {
            let mut parser = HeadParser::new();
            let (head, body) = match parser.feed(&stream[..split]).unwrap() {
                Some((head, at)) => (head, [&stream[at..split], &stream[split..]].concat()),
                None => {
                    let (head, at) = parser.feed(&stream[split..]).unwrap().unwrap();
                    (head, stream[split + at..].to_vec())
                }
            };
            assert_eq!((head.status, head.reason.as_deref()), (201, Some("Made")));
            assert_eq!(head.headers.len(), 2);
            assert_eq!(body, b"body");
        }
    }

    #[test]
    fn lenient_forms_are_accepted() {
        let (head, _) = HeadParser::new().feed(b"Status: 200\nLocation: /x\n\n").unwrap().unwrap();
        assert_eq!((head.status, head.reason), (200, None));
        let (head, _) = HeadParser::new().feed(b"Location: /x\r\n\r\n").unwrap().unwrap();
        assert_eq!(head.status, 302);
        let mut parser = HeadParser::new();
        assert!(parser.feed(b"Status: 500 Internal Server Error\r\n").unwrap().is_none());
        assert_eq!(parser.finish().unwrap().unwrap().status, 500);
    }

    #[test]
    fn garbage_is_malformed() {
        assert!(matches!(HeadParser::new().feed(b"hello world\r\n\r\n"), Err(Malformed::BadLine(_))));
        assert!(matches!(HeadParser::new().feed(b"Status: abc\r\n\r\n"), Err(Malformed::BadStatus(_))));
        assert!(matches!(HeadParser::new().feed(b"Bad Name: x\r\n\r\n"), Err(Malformed::BadLine(_))));
        assert!(matches!(HeadParser::new().feed(&vec![b'a'; MAX_HEAD_LEN + 1]), Err(Malformed::TooLong)));
        assert_eq!(HeadParser::new().finish().unwrap(), None);
    }

    #[test]
    fn the_first_blank_line_of_any_form_ends_the_head() {
        assert_eq!(find_blank_line(b"A: 1\r\n\r\nbody", 0), Some((4, 8)));
        assert_eq!(find_blank_line(b"A: 1\n\nbody", 0), Some((4, 6)));
        assert_eq!(find_blank_line(b"A: 1\n\r\nbody", 0), Some((4, 7)));
        assert_eq!(find_blank_line(b"A: 1\r\nB: 2\r\n\n\r\n", 0), Some((11, 13)));
        assert_eq!(find_blank_line(b"A: 1\r\nB: 2\r\n", 0), None);
        assert_eq!(find_blank_line(b"\r\n\r\n", 1), Some((1, 4)), "from cuts off a CR before it");
        assert_eq!(find_blank_line(b"ab", 3), None);
    }

    #[test]
    fn latin1_text_is_kept_byte_for_byte() {
        let block = b"Status: 200 Tr\xe8s bien\r\nX-Name: caf\xe9\r\n\r\n";
        let (head, _) = HeadParser::new()
            .feed_with(block, |head| {
                assert_eq!(head.reason, Some(&b"Tr\xe8s bien"[..]));
                assert_eq!(head.headers, vec![(&b"X-Name"[..], &b"caf\xe9"[..])]);
                head.to_owned()
            })
            .unwrap()
            .unwrap();
        assert_eq!(head.reason.as_deref(), Some("Tr\u{e8}s bien"));
        assert_eq!(head.headers, vec![("X-Name".to_string(), "caf\u{e9}".to_string())]);
    }
}
