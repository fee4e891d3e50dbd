use super::{Error, HEADER_LEN, VERSION_1};

/// The record types of FastCGI 1.0. Types this version does not define decode
/// to [`RecordType::Other`] so the connection can answer FCGI_UNKNOWN_TYPE
/// instead of failing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordType {
    BeginRequest,
    AbortRequest,
    EndRequest,
    Params,
    Stdin,
    Stdout,
    Stderr,
    Data,
    GetValues,
    GetValuesResult,
    UnknownType,
    Other(u8),
}

impl RecordType {
    pub fn from_u8(value: u8) -> Self {
        match value {
            1 => Self::BeginRequest,
            2 => Self::AbortRequest,
            3 => Self::EndRequest,
            4 => Self::Params,
            5 => Self::Stdin,
            6 => Self::Stdout,
            7 => Self::Stderr,
            8 => Self::Data,
            9 => Self::GetValues,
            10 => Self::GetValuesResult,
            11 => Self::UnknownType,
            other => Self::Other(other),
        }
    }

    pub fn as_u8(self) -> u8 {
        match self {
            Self::BeginRequest => 1,
            Self::AbortRequest => 2,
            Self::EndRequest => 3,
            Self::Params => 4,
            Self::Stdin => 5,
            Self::Stdout => 6,
            Self::Stderr => 7,
            Self::Data => 8,
            Self::GetValues => 9,
            Self::GetValuesResult => 10,
            Self::UnknownType => 11,
            Self::Other(other) => other,
        }
    }

    /// The spec's name, for log lines and error messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::BeginRequest => "FCGI_BEGIN_REQUEST",
            Self::AbortRequest => "FCGI_ABORT_REQUEST",
            Self::EndRequest => "FCGI_END_REQUEST",
            Self::Params => "FCGI_PARAMS",
            Self::Stdin => "FCGI_STDIN",
            Self::Stdout => "FCGI_STDOUT",
            Self::Stderr => "FCGI_STDERR",
            Self::Data => "FCGI_DATA",
            Self::GetValues => "FCGI_GET_VALUES",
            Self::GetValuesResult => "FCGI_GET_VALUES_RESULT",
            Self::UnknownType => "FCGI_UNKNOWN_TYPE",
            Self::Other(_) => "unknown",
        }
    }
}

/// The fixed 8-byte prefix of every record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub record_type: RecordType,
    pub request_id: u16,
    pub content_length: u16,
    pub padding_length: u8,
}

impl Header {
    /// Decodes a header. The version byte is checked here because a wrong
    /// version means the peer does not speak FastCGI 1.0 at all.
    pub fn decode(bytes: &[u8; HEADER_LEN]) -> Result<Self, Error> {
        if bytes[0] != VERSION_1 {
            return Err(Error::Version(bytes[0]));
        }
        Ok(Self {
            record_type: RecordType::from_u8(bytes[1]),
            request_id: u16::from_be_bytes([bytes[2], bytes[3]]),
            content_length: u16::from_be_bytes([bytes[4], bytes[5]]),
            padding_length: bytes[6],
        })
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        let id = self.request_id.to_be_bytes();
        let len = self.content_length.to_be_bytes();
        out.extend_from_slice(&[
            VERSION_1,
            self.record_type.as_u8(),
            id[0],
            id[1],
            len[0],
            len[1],
            self.padding_length,
            0,
        ]);
    }

    /// Bytes the whole record occupies on the wire.
    pub fn record_len(&self) -> usize {
        HEADER_LEN + usize::from(self.content_length) + usize::from(self.padding_length)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_byte_round_trips() {
        for byte in 0..=u8::MAX {
            assert_eq!(RecordType::from_u8(byte).as_u8(), byte);
        }
    }

    #[test]
    fn wrong_version_is_rejected() {
        assert_eq!(Header::decode(&[2, 1, 0, 1, 0, 8, 0, 0]), Err(Error::Version(2)));
    }

    #[test]
    fn header_fields_are_big_endian() {
        let header = Header::decode(&[1, 5, 0x12, 0x34, 0xAB, 0xCD, 3, 0]).unwrap();
        assert_eq!(header.record_type, RecordType::Stdin);
        assert_eq!(header.request_id, 0x1234);
        assert_eq!(header.content_length, 0xABCD);
        assert_eq!(header.record_len(), 8 + 0xABCD + 3);
        let mut out = Vec::new();
        header.encode(&mut out);
        assert_eq!(out, [1, 5, 0x12, 0x34, 0xAB, 0xCD, 3, 0]);
    }
}
