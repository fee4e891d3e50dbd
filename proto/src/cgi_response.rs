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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub status: u16,
    /// The reason phrase the application gave, if any.
    pub reason: Option<String>,
    pub headers: Vec<(String, String)>,
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
    /// body); `None` before. A head that arrives whole in one call, the
    /// common case, is parsed where it lies, without a copy.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Option<(Head, usize)>, Malformed> {
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
        let head = parse_lines(&block[..head_end])?;
        // The blank line ends in `bytes`: nothing held before had one.
        let body_at = body_start - held;
        self.buf.clear();
        Ok(Some((head, body_at)))
    }

    /// At the end of the output without a blank line: the lines so far, if
    /// they parse, are taken as the whole head (the relaxed rule that lets
    /// wfastcgi's unterminated `Status: 500` through).
    pub fn finish(self) -> Result<Option<Head>, Malformed> {
        if self.buf.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        parse_lines(&self.buf).map(Some)
    }
}

fn find_blank_line(buf: &[u8], from: usize) -> Option<(usize, usize)> {
    (from..buf.len()).find_map(|i| {
        if buf[i..].starts_with(b"\r\n\r\n") {
            Some((i, i + 4))
        } else if buf[i..].starts_with(b"\n\n") {
            Some((i, i + 2))
        } else if buf[i..].starts_with(b"\n\r\n") {
            Some((i, i + 3))
        } else {
            None
        }
    })
}

fn parse_lines(block: &[u8]) -> Result<Head, Malformed> {
    let text = String::from_utf8_lossy(block);
    let mut head = Head { status: 200, reason: None, headers: Vec::new() };
    let mut status_seen = false;
    for line in text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).filter(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once(':') else { return Err(Malformed::BadLine(line.to_string())) };
        let name = name.trim_end();
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(Malformed::BadLine(line.to_string()));
        }
        let value = value.trim();
        if name.eq_ignore_ascii_case("Status") {
            let (code, reason) = value.split_once(' ').unwrap_or((value, ""));
            head.status = match code.parse::<u16>() {
                Ok(number) if code.len() == 3 && (100..=999).contains(&number) => number,
                _ => return Err(Malformed::BadStatus(value.to_string())),
            };
            head.reason = Some(reason.trim().to_string()).filter(|r| !r.is_empty());
            status_seen = true;
        } else {
            head.headers.push((name.to_string(), value.to_string()));
        }
    }
    if !status_seen && head.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("Location")) {
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
}
