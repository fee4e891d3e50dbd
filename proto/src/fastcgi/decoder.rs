use super::{Error, Header, Record, HEADER_LEN};

/// Turns a byte stream into records, however it was split across reads.
///
/// Memory is bounded by one record (8 + 65535 + 255 bytes) plus whatever the
/// caller feeds before draining.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
    /// Start of the undecoded bytes in `buf`.
    start: usize,
}

impl Decoder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn feed(&mut self, bytes: &[u8]) {
        // Compact before growing, so a long connection does not accumulate
        // the bytes of every record it ever decoded.
        if self.start > 0 && (self.start == self.buf.len() || self.start >= self.buf.len() / 2) {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes received but not yet decoded.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.start
    }

    /// The next complete record, or `None` until more bytes arrive.
    pub fn decode(&mut self) -> Result<Option<Record>, Error> {
        let available = &self.buf[self.start..];
        let Some(head) = available.first_chunk::<HEADER_LEN>() else {
            return Ok(None);
        };
        let header = Header::decode(head)?;
        if available.len() < header.record_len() {
            return Ok(None);
        }
        let content = &available[HEADER_LEN..HEADER_LEN + usize::from(header.content_length)];
        let record = Record::decode(&header, content)?;
        self.start += header.record_len();
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests;
