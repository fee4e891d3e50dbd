//! The application side of one FastCGI connection, as a state machine.
//!
//! The caller feeds received bytes with [`ServerConnection::receive`], drains
//! [`Event`]s with [`ServerConnection::poll_event`], reports the response with
//! the `write_*`/`end_request` methods and sends whatever
//! [`ServerConnection::take_output`] returns. Management records and refusals
//! (GET_VALUES, unknown types, unknown roles, a second request id) are
//! answered here without bothering the caller.
//!
//! This process does not multiplex: one request per connection at a time,
//! which is how IIS drives FastCGI and what FCGI_MPXS_CONNS=0 announces.

use super::{
    encoder, name_value, Decoder, Error, ProtocolStatus, Record, RecordType, Role, KEEP_CONN, MAX_CONNS, MAX_REQS,
    MPXS_CONNS,
};

/// What this process admits to in GET_VALUES, and how much it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections this process accepts at once (FCGI_MAX_CONNS).
    pub max_conns: u32,
    /// Requests this process serves at once (FCGI_MAX_REQS).
    pub max_reqs: u32,
    /// Largest PARAMS stream accepted for one request, in bytes.
    pub max_params_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_conns: 1, max_reqs: 1, max_params_len: 1024 * 1024 }
    }
}

/// The PARAMS of one request: a validated name-value stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<u8>);

impl Params {
    fn parse(bytes: Vec<u8>) -> Result<Self, Error> {
        for pair in name_value::decode(&bytes) {
            pair?;
        }
        Ok(Self(bytes))
    }

    /// Builds params from pairs, for tests and for callers that synthesize
    /// a request.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a [u8], &'a [u8])>) -> Self {
        Self(name_value::encode(pairs))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        name_value::decode(&self.0).map_while(Result::ok)
    }

    /// The value of the last pair with this name.
    pub fn get(&self, name: &[u8]) -> Option<&[u8]> {
        self.iter().filter(|(n, _)| *n == name).map(|(_, v)| v).last()
    }

    /// Builds params pair by pair into one buffer, for callers that make a
    /// request's variables themselves (HTTP mode): no allocation per pair.
    pub fn builder(capacity: usize) -> ParamsBuilder {
        ParamsBuilder(Vec::with_capacity(capacity))
    }
}

pub struct ParamsBuilder(Vec<u8>);

impl ParamsBuilder {
    pub fn push(&mut self, name: &[u8], value: &[u8]) -> &mut Self {
        name_value::encode_pair(name, value, &mut self.0);
        self
    }

    /// A pair whose name is `prefix` then `name` upper-cased with `-` as
    /// `_` (a header's CGI name: `HTTP_` + `X-Forwarded-For`), its value
    /// the `parts` joined by `separator`.
    pub fn push_header(&mut self, prefix: &[u8], name: &[u8], parts: &[&[u8]], separator: &[u8]) -> &mut Self {
        let value_len = parts.iter().map(|p| p.len()).sum::<usize>() + separator.len() * parts.len().saturating_sub(1);
        name_value::encode_len(prefix.len() + name.len(), &mut self.0);
        name_value::encode_len(value_len, &mut self.0);
        self.0.extend_from_slice(prefix);
        self.0.extend(name.iter().map(|&b| if b == b'-' { b'_' } else { b.to_ascii_uppercase() }));
        for (index, part) in parts.iter().enumerate() {
            if index > 0 {
                self.0.extend_from_slice(separator);
            }
            self.0.extend_from_slice(part);
        }
        self
    }

    pub fn finish(self) -> Params {
        Params(self.0)
    }
}

/// Something the caller must act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The PARAMS stream ended: the request can run. STDIN follows.
    Request {
        request_id: u16,
        keep_conn: bool,
        params: Params,
    },
    Stdin {
        request_id: u16,
        data: Vec<u8>,
    },
    /// The empty STDIN record: the body is complete.
    StdinEnd {
        request_id: u16,
    },
    /// The web server aborted a running request. The caller stops the
    /// application and calls [`ServerConnection::end_request`].
    Abort {
        request_id: u16,
    },
    /// PARAMS passed [`Limits::max_params_len`]. The rest of the stream is
    /// dropped; the caller answers with an error and ends the request.
    ParamsTooLarge {
        request_id: u16,
    },
}

#[derive(Debug)]
enum Phase {
    Params(Vec<u8>),
    ParamsTooLarge,
    Running,
    Aborted,
}

#[derive(Debug)]
struct Active {
    request_id: u16,
    keep_conn: bool,
    phase: Phase,
    wrote_stderr: bool,
}

#[derive(Debug)]
pub struct ServerConnection {
    decoder: Decoder,
    limits: Limits,
    active: Option<Active>,
    output: Vec<u8>,
    closing: bool,
}

impl ServerConnection {
    pub fn new(limits: Limits) -> Self {
        Self { decoder: Decoder::new(), limits, active: None, output: Vec::new(), closing: false }
    }

    pub fn receive(&mut self, bytes: &[u8]) {
        self.decoder.feed(bytes);
    }

    /// Decodes records until one needs the caller. `Ok(None)` means more
    /// bytes are needed. An error is fatal to the connection.
    pub fn poll_event(&mut self) -> Result<Option<Event>, Error> {
        while let Some(record) = self.decoder.decode()? {
            if let Some(event) = self.handle(record)? {
                return Ok(Some(event));
            }
        }
        Ok(None)
    }

    /// Bytes queued for the web server since the last call.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.output)
    }

    pub fn has_output(&self) -> bool {
        !self.output.is_empty()
    }

    /// True once a request without FCGI_KEEP_CONN has ended: "the application
    /// closes the connection after responding".
    pub fn wants_close(&self) -> bool {
        self.closing
    }

    /// The request currently being served, if any.
    pub fn active_request(&self) -> Option<u16> {
        self.active.as_ref().map(|active| active.request_id)
    }

    pub fn write_stdout(&mut self, request_id: u16, data: &[u8]) {
        encoder::stream(RecordType::Stdout, request_id, data, &mut self.output);
    }

    pub fn write_stderr(&mut self, request_id: u16, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        if let Some(active) = self.active.as_mut().filter(|a| a.request_id == request_id) {
            active.wrote_stderr = true;
        }
        encoder::stream(RecordType::Stderr, request_id, data, &mut self.output);
    }

    /// Closes the output streams and sends END_REQUEST.
    pub fn end_request(&mut self, request_id: u16, app_status: u32) {
        let Some(active) = self.active.take_if(|a| a.request_id == request_id) else {
            return;
        };
        encoder::end_stream(RecordType::Stdout, request_id, &mut self.output);
        if active.wrote_stderr {
            encoder::end_stream(RecordType::Stderr, request_id, &mut self.output);
        }
        self.finish(active, app_status, ProtocolStatus::RequestComplete);
    }

    fn finish(&mut self, active: Active, app_status: u32, protocol_status: ProtocolStatus) {
        self.reply(Record::EndRequest { request_id: active.request_id, app_status, protocol_status });
        if !active.keep_conn {
            self.closing = true;
        }
    }

    fn reply(&mut self, record: Record) {
        record.encode(&mut self.output);
    }

    fn handle(&mut self, record: Record) -> Result<Option<Event>, Error> {
        match record {
            Record::BeginRequest { request_id, role, flags } => {
                self.begin(request_id, role, flags);
                Ok(None)
            }
            Record::AbortRequest { request_id } => Ok(self.abort(request_id)),
            Record::Params { request_id, content } => self.params(request_id, content),
            Record::Stdin { request_id, content } => Ok(self.stdin(request_id, content)),
            // DATA only matters to the FILTER role, which is refused.
            Record::Data { .. } => Ok(None),
            Record::GetValues { names } => {
                self.get_values(&names);
                Ok(None)
            }
            Record::Unknown { record_type, request_id: 0, .. } => {
                // "the application receives a management record with a type T
                // that it does not understand, [it responds with] FCGI_UNKNOWN_TYPE"
                self.reply(Record::UnknownType { record_type });
                Ok(None)
            }
            Record::Unknown { .. } => Ok(None),
            other @ (Record::EndRequest { .. }
            | Record::Stdout { .. }
            | Record::Stderr { .. }
            | Record::GetValuesResult { .. }
            | Record::UnknownType { .. }) => Err(Error::UnexpectedType(other.record_type().name())),
        }
    }

    fn begin(&mut self, request_id: u16, role: Role, flags: u8) {
        let keep_conn = flags & KEEP_CONN != 0;
        let refused = |protocol_status| Record::EndRequest { request_id, app_status: 0, protocol_status };
        match &self.active {
            // A repeated BEGIN_REQUEST for the request in progress is ignored,
            // as records for an id are ignored unless they make sense for it.
            Some(active) if active.request_id == request_id => {}
            Some(_) => self.reply(refused(ProtocolStatus::CantMpxConn)),
            None if role != Role::Responder => self.reply(refused(ProtocolStatus::UnknownRole)),
            None => {
                self.active =
                    Some(Active { request_id, keep_conn, phase: Phase::Params(Vec::new()), wrote_stderr: false });
            }
        }
        if self.active.is_none() && !keep_conn {
            self.closing = true;
        }
    }

    fn abort(&mut self, request_id: u16) -> Option<Event> {
        let active = self.active.as_mut().filter(|a| a.request_id == request_id)?;
        match active.phase {
            Phase::Running => {
                active.phase = Phase::Aborted;
                Some(Event::Abort { request_id })
            }
            Phase::Aborted => None,
            // Nothing was started, so nothing needs stopping.
            Phase::Params(_) | Phase::ParamsTooLarge => {
                let active = self.active.take()?;
                self.finish(active, 0, ProtocolStatus::RequestComplete);
                None
            }
        }
    }

    fn params(&mut self, request_id: u16, content: Vec<u8>) -> Result<Option<Event>, Error> {
        let max = self.limits.max_params_len;
        let Some(active) = self.active.as_mut().filter(|a| a.request_id == request_id) else {
            return Ok(None);
        };
        let Phase::Params(buf) = &mut active.phase else {
            return Ok(None);
        };
        if content.is_empty() {
            let params = Params::parse(std::mem::take(buf))?;
            active.phase = Phase::Running;
            return Ok(Some(Event::Request { request_id, keep_conn: active.keep_conn, params }));
        }
        if buf.len() + content.len() > max {
            active.phase = Phase::ParamsTooLarge;
            return Ok(Some(Event::ParamsTooLarge { request_id }));
        }
        buf.extend_from_slice(&content);
        Ok(None)
    }

    fn stdin(&mut self, request_id: u16, data: Vec<u8>) -> Option<Event> {
        let active = self.active.as_ref().filter(|a| a.request_id == request_id)?;
        if !matches!(active.phase, Phase::Running) {
            return None;
        }
        Some(if data.is_empty() { Event::StdinEnd { request_id } } else { Event::Stdin { request_id, data } })
    }

    fn get_values(&mut self, names: &[Vec<u8>]) {
        let answer = |name: &[u8]| -> Option<String> {
            match name {
                n if n == MAX_CONNS.as_bytes() => Some(self.limits.max_conns.to_string()),
                n if n == MAX_REQS.as_bytes() => Some(self.limits.max_reqs.to_string()),
                n if n == MPXS_CONNS.as_bytes() => Some("0".to_string()),
                _ => None,
            }
        };
        let pairs =
            names.iter().filter_map(|name| answer(name).map(|value| (name.clone(), value.into_bytes()))).collect();
        self.reply(Record::GetValuesResult { pairs });
    }
}

#[cfg(test)]
mod tests;
