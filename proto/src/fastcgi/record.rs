use super::{name_value, Error, Header, RecordType, NULL_REQUEST_ID};

/// The role a BEGIN_REQUEST asks the application to play.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Responder,
    Authorizer,
    Filter,
    Other(u16),
}

impl Role {
    pub fn from_u16(value: u16) -> Self {
        match value {
            1 => Self::Responder,
            2 => Self::Authorizer,
            3 => Self::Filter,
            other => Self::Other(other),
        }
    }

    pub fn as_u16(self) -> u16 {
        match self {
            Self::Responder => 1,
            Self::Authorizer => 2,
            Self::Filter => 3,
            Self::Other(other) => other,
        }
    }
}

/// The protocolStatus of an END_REQUEST.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolStatus {
    RequestComplete,
    CantMpxConn,
    Overloaded,
    UnknownRole,
    Other(u8),
}

impl ProtocolStatus {
    pub fn from_u8(value: u8) -> Self {
        match value {
            0 => Self::RequestComplete,
            1 => Self::CantMpxConn,
            2 => Self::Overloaded,
            3 => Self::UnknownRole,
            other => Self::Other(other),
        }
    }

    pub fn as_u8(self) -> u8 {
        match self {
            Self::RequestComplete => 0,
            Self::CantMpxConn => 1,
            Self::Overloaded => 2,
            Self::UnknownRole => 3,
            Self::Other(other) => other,
        }
    }
}

/// One decoded record. Stream records (PARAMS, STDIN, STDOUT, STDERR, DATA)
/// carry their content as is; an empty content ends the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    BeginRequest {
        request_id: u16,
        role: Role,
        flags: u8,
    },
    AbortRequest {
        request_id: u16,
    },
    EndRequest {
        request_id: u16,
        app_status: u32,
        protocol_status: ProtocolStatus,
    },
    Params {
        request_id: u16,
        content: Vec<u8>,
    },
    Stdin {
        request_id: u16,
        content: Vec<u8>,
    },
    Stdout {
        request_id: u16,
        content: Vec<u8>,
    },
    Stderr {
        request_id: u16,
        content: Vec<u8>,
    },
    Data {
        request_id: u16,
        content: Vec<u8>,
    },
    /// A query for the named variables; values in the query are ignored.
    GetValues {
        names: Vec<Vec<u8>>,
    },
    GetValuesResult {
        pairs: Vec<(Vec<u8>, Vec<u8>)>,
    },
    UnknownType {
        record_type: u8,
    },
    /// A type FastCGI 1.0 does not define.
    Unknown {
        record_type: u8,
        request_id: u16,
        content: Vec<u8>,
    },
}

impl Record {
    /// Builds a record from its header and exactly `content_length` bytes of
    /// content (padding already stripped).
    pub fn decode(header: &Header, content: &[u8]) -> Result<Self, Error> {
        let request_id = header.request_id;
        let owned = || content.to_vec();
        let record = match header.record_type {
            RecordType::BeginRequest => {
                // "FCGI_BeginRequestBody" is exactly 8 bytes: role, flags, 5 reserved.
                let body = fixed_body::<8>("FCGI_BEGIN_REQUEST", request_id, content)?;
                require_request_id("FCGI_BEGIN_REQUEST", request_id)?;
                Record::BeginRequest {
                    request_id,
                    role: Role::from_u16(u16::from_be_bytes([body[0], body[1]])),
                    flags: body[2],
                }
            }
            RecordType::AbortRequest => {
                require_request_id("FCGI_ABORT_REQUEST", request_id)?;
                Record::AbortRequest { request_id }
            }
            RecordType::EndRequest => {
                let body = fixed_body::<8>("FCGI_END_REQUEST", request_id, content)?;
                Record::EndRequest {
                    request_id,
                    app_status: u32::from_be_bytes([body[0], body[1], body[2], body[3]]),
                    protocol_status: ProtocolStatus::from_u8(body[4]),
                }
            }
            RecordType::Params => {
                Record::Params { request_id: stream_id("FCGI_PARAMS", request_id)?, content: owned() }
            }
            RecordType::Stdin => Record::Stdin { request_id: stream_id("FCGI_STDIN", request_id)?, content: owned() },
            RecordType::Stdout => Record::Stdout { request_id, content: owned() },
            RecordType::Stderr => Record::Stderr { request_id, content: owned() },
            RecordType::Data => Record::Data { request_id: stream_id("FCGI_DATA", request_id)?, content: owned() },
            RecordType::GetValues => {
                require_management("FCGI_GET_VALUES", request_id)?;
                let names = name_value::decode(content)
                    .map(|pair| pair.map(|(name, _)| name.to_vec()))
                    .collect::<Result<_, _>>()?;
                Record::GetValues { names }
            }
            RecordType::GetValuesResult => {
                require_management("FCGI_GET_VALUES_RESULT", request_id)?;
                let pairs = name_value::decode(content)
                    .map(|pair| pair.map(|(n, v)| (n.to_vec(), v.to_vec())))
                    .collect::<Result<_, _>>()?;
                Record::GetValuesResult { pairs }
            }
            RecordType::UnknownType => {
                let body = fixed_body::<8>("FCGI_UNKNOWN_TYPE", request_id, content)?;
                Record::UnknownType { record_type: body[0] }
            }
            RecordType::Other(record_type) => Record::Unknown { record_type, request_id, content: owned() },
        };
        Ok(record)
    }

    pub fn record_type(&self) -> RecordType {
        match self {
            Record::BeginRequest { .. } => RecordType::BeginRequest,
            Record::AbortRequest { .. } => RecordType::AbortRequest,
            Record::EndRequest { .. } => RecordType::EndRequest,
            Record::Params { .. } => RecordType::Params,
            Record::Stdin { .. } => RecordType::Stdin,
            Record::Stdout { .. } => RecordType::Stdout,
            Record::Stderr { .. } => RecordType::Stderr,
            Record::Data { .. } => RecordType::Data,
            Record::GetValues { .. } => RecordType::GetValues,
            Record::GetValuesResult { .. } => RecordType::GetValuesResult,
            Record::UnknownType { .. } => RecordType::UnknownType,
            Record::Unknown { record_type, .. } => RecordType::Other(*record_type),
        }
    }

    pub fn request_id(&self) -> u16 {
        match self {
            Record::BeginRequest { request_id, .. }
            | Record::AbortRequest { request_id }
            | Record::EndRequest { request_id, .. }
            | Record::Params { request_id, .. }
            | Record::Stdin { request_id, .. }
            | Record::Stdout { request_id, .. }
            | Record::Stderr { request_id, .. }
            | Record::Data { request_id, .. }
            | Record::Unknown { request_id, .. } => *request_id,
            Record::GetValues { .. } | Record::GetValuesResult { .. } | Record::UnknownType { .. } => NULL_REQUEST_ID,
        }
    }

    /// Appends the record's wire form. Stream content longer than one record
    /// holds must go through [`super::encoder::stream`] instead.
    ///
    /// # Panics
    /// If the content exceeds 65535 bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let content: std::borrow::Cow<'_, [u8]> = match self {
            Record::BeginRequest { role, flags, .. } => {
                let role = role.as_u16().to_be_bytes();
                vec![role[0], role[1], *flags, 0, 0, 0, 0, 0].into()
            }
            Record::AbortRequest { .. } => Vec::new().into(),
            Record::EndRequest { app_status, protocol_status, .. } => {
                let status = app_status.to_be_bytes();
                vec![status[0], status[1], status[2], status[3], protocol_status.as_u8(), 0, 0, 0].into()
            }
            Record::Params { content, .. }
            | Record::Stdin { content, .. }
            | Record::Stdout { content, .. }
            | Record::Stderr { content, .. }
            | Record::Data { content, .. }
            | Record::Unknown { content, .. } => content.as_slice().into(),
            Record::GetValues { names } => {
                name_value::encode(names.iter().map(|name| (name.as_slice(), &b""[..]))).into()
            }
            Record::GetValuesResult { pairs } => {
                name_value::encode(pairs.iter().map(|(n, v)| (n.as_slice(), v.as_slice()))).into()
            }
            Record::UnknownType { record_type } => vec![*record_type, 0, 0, 0, 0, 0, 0, 0].into(),
        };
        super::encoder::record(self.record_type(), self.request_id(), &content, out);
    }
}

fn fixed_body<'a, const N: usize>(
    record: &'static str,
    request_id: u16,
    content: &'a [u8],
) -> Result<&'a [u8; N], Error> {
    content.try_into().map_err(|_| Error::BodyLength { record, request_id, len: content.len(), expected: N })
}

fn require_management(record: &'static str, request_id: u16) -> Result<(), Error> {
    if request_id == NULL_REQUEST_ID {
        Ok(())
    } else {
        Err(Error::ManagementRequestId { record, request_id })
    }
}

fn require_request_id(record: &'static str, request_id: u16) -> Result<(), Error> {
    if request_id == NULL_REQUEST_ID {
        Err(Error::NullRequestId { record })
    } else {
        Ok(())
    }
}

fn stream_id(record: &'static str, request_id: u16) -> Result<u16, Error> {
    require_request_id(record, request_id).map(|()| request_id)
}
