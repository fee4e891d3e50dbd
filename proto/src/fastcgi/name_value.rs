//! Name-value pairs (spec section 3.4): each length is one byte when below
//! 128, else four bytes with the top bit set.

use super::Error;

/// Largest length the 4-byte form can express (31 bits).
pub const MAX_LEN: usize = 0x7FFF_FFFF;

/// Appends one length in the shortest form the spec allows.
///
/// # Panics
/// If `len` exceeds [`MAX_LEN`]; callers hold buffers far below that.
pub fn encode_len(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        assert!(len <= MAX_LEN, "name-value length {len} exceeds 31 bits");
        out.extend_from_slice(&(len as u32 | 0x8000_0000).to_be_bytes());
    }
}

/// Appends one pair.
pub fn encode_pair(name: &[u8], value: &[u8], out: &mut Vec<u8>) {
    encode_len(name.len(), out);
    encode_len(value.len(), out);
    out.extend_from_slice(name);
    out.extend_from_slice(value);
}

/// Encodes every pair into one buffer.
pub fn encode<'a, I>(pairs: I) -> Vec<u8>
where
    I: IntoIterator<Item = (&'a [u8], &'a [u8])>,
{
    let mut out = Vec::new();
    for (name, value) in pairs {
        encode_pair(name, value, &mut out);
    }
    out
}

/// Iterates over the pairs of a complete name-value stream, borrowing from it.
pub fn decode(bytes: &[u8]) -> Pairs<'_> {
    Pairs { bytes, offset: 0 }
}

/// Iterator returned by [`decode`]. Yields an error once, then stops.
pub struct Pairs<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Pairs<'a> {
    fn read_len(&mut self) -> Result<usize, Error> {
        let truncated = Error::NameValueTruncated { offset: self.offset, len: self.bytes.len() };
        let first = *self.bytes.get(self.offset).ok_or(truncated.clone())?;
        if first < 0x80 {
            self.offset += 1;
            return Ok(usize::from(first));
        }
        let four = self.bytes.get(self.offset..self.offset + 4).ok_or(truncated)?;
        self.offset += 4;
        let value = u32::from_be_bytes([four[0], four[1], four[2], four[3]]) & 0x7FFF_FFFF;
        Ok(value as usize)
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], Error> {
        let end = self
            .offset
            .checked_add(len)
            .filter(|&end| end <= self.bytes.len())
            .ok_or(Error::NameValueTruncated { offset: self.offset, len: self.bytes.len() })?;
        let slice = &self.bytes[self.offset..end];
        self.offset = end;
        Ok(slice)
    }

    fn next_pair(&mut self) -> Result<(&'a [u8], &'a [u8]), Error> {
        let name_len = self.read_len()?;
        let value_len = self.read_len()?;
        let name = self.take(name_len)?;
        let value = self.take(value_len)?;
        Ok((name, value))
    }
}

impl<'a> Iterator for Pairs<'a> {
    type Item = Result<(&'a [u8], &'a [u8]), Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.offset >= self.bytes.len() {
            return None;
        }
        let item = self.next_pair();
        if item.is_err() {
            self.offset = self.bytes.len();
        }
        Some(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn short_and_long_lengths() {
        let long = [b'v'; 200];
        let bytes = encode([(&b"A"[..], &long[..])]);
        assert_eq!(&bytes[..5], &[1, 0x80, 0, 0, 200]);
        let pairs: Vec<_> = decode(&bytes).collect::<Result<_, _>>().unwrap();
        assert_eq!(pairs, vec![(&b"A"[..], &long[..])]);
    }

    #[test]
    fn boundary_127_is_one_byte_and_128_is_four() {
        let mut out = Vec::new();
        encode_len(127, &mut out);
        encode_len(128, &mut out);
        assert_eq!(out, [127, 0x80, 0, 0, 128]);
    }

    #[test]
    fn four_byte_form_accepted_for_short_lengths() {
        // Some servers always use the long form; the spec allows it.
        let bytes = [0x80, 0, 0, 1, 0x80, 0, 0, 2, b'N', b'v', b'w'];
        let pairs: Vec<_> = decode(&bytes).collect::<Result<_, _>>().unwrap();
        assert_eq!(pairs, vec![(&b"N"[..], &b"vw"[..])]);
    }

    #[test]
    fn truncated_stream_is_an_error() {
        let bytes = [5, 1, b'a'];
        let result: Result<Vec<_>, _> = decode(&bytes).collect();
        assert_eq!(result, Err(Error::NameValueTruncated { offset: 2, len: 3 }));
        let result: Result<Vec<_>, _> = decode(&[0x80, 0]).collect();
        assert!(result.is_err());
    }

    proptest! {
        #[test]
        fn pairs_round_trip(pairs in proptest::collection::vec(
            (proptest::collection::vec(any::<u8>(), 0..300), proptest::collection::vec(any::<u8>(), 0..300)),
            0..8,
        )) {
            let bytes = encode(pairs.iter().map(|(n, v)| (&n[..], &v[..])));
            let decoded: Vec<_> = decode(&bytes).collect::<Result<_, _>>().unwrap();
            let expected: Vec<_> = pairs.iter().map(|(n, v)| (&n[..], &v[..])).collect();
            prop_assert_eq!(decoded, expected);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            for (name, value) in decode(&bytes).flatten() {
                prop_assert!(name.len() + value.len() <= bytes.len());
            }
        }
    }
}
