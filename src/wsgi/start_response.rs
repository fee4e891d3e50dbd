//! `start_response` and the `write()` callable it returns (PEP 3333).
//! Headers are checked here, so an app can never split a response with a
//! CR/LF or send what the web server would misparse: a bad status or header
//! raises inside the app, which turns into a 500.

use super::report;
use crate::request::{self, latin1, ResponseHandle, TrySend};
use pyo3::exceptions::{PyOSError, PyRuntimeError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString, PyTuple};
use std::borrow::Cow;

/// Why a body chunk could not be sent.
#[derive(Debug)]
pub enum SendError {
    NotStarted,
    Disconnected,
    /// The response had ended: this start_response outlived its request.
    Ended(&'static str),
}

impl From<SendError> for PyErr {
    fn from(err: SendError) -> PyErr {
        match err {
            SendError::NotStarted => report::WSGIProtocolError::new_err(report::NOT_STARTED),
            SendError::Disconnected => PyOSError::new_err("the client disconnected"),
            SendError::Ended(what) => PyRuntimeError::new_err(report::after_the_end(what)),
        }
    }
}

#[pyclass(name = "StartResponse", module = "iiswsgi")]
pub struct StartResponse {
    response: ResponseHandle,
    /// The CGI header block, from start_response until it is sent.
    head: Option<Vec<u8>>,
    sent: bool,
    /// HEAD requests: headers only.
    discard_body: bool,
    /// A use after the end was logged: once is enough to find the culprit.
    late_use_logged: bool,
}

impl StartResponse {
    pub fn new(response: ResponseHandle, discard_body: bool) -> Self {
        Self { response, head: None, sent: false, discard_body, late_use_logged: false }
    }

    /// The error for `what` (start_response, write) used after the
    /// response ended; logged the first time.
    fn used_after_the_end(&mut self, what: &'static str) -> SendError {
        if !self.late_use_logged {
            self.late_use_logged = true;
            tracing::warn!("{} (raised RuntimeError in the app; logged once)", report::after_the_end(what));
        }
        SendError::Ended(what)
    }

    pub fn headers_sent(&self) -> bool {
        self.sent
    }

    /// Sends a body chunk, preceded by the headers the first time.
    pub fn send_body(&mut self, py: Python<'_>, data: &[u8]) -> Result<(), SendError> {
        let out = if self.sent {
            if self.discard_body || data.is_empty() {
                return Ok(());
            }
            data.to_vec()
        } else {
            let mut head = self.head.take().ok_or(SendError::NotStarted)?;
            self.sent = true;
            if !self.discard_body {
                head.extend_from_slice(data);
            }
            head
        };
        let response = self.response.clone();
        let sent = match response.try_stdout(out) {
            Ok(TrySend::Sent) => Ok(()),
            Ok(TrySend::WouldBlock(output)) => py.detach(move || response.send(output)),
            Err(err) => Err(err),
        };
        match sent {
            Ok(()) => Ok(()),
            Err(request::SendError::Disconnected) => Err(SendError::Disconnected),
            Err(request::SendError::Ended) => Err(self.used_after_the_end("write()")),
        }
    }

    /// Ends the response: sends the headers if no body chunk carried them.
    pub fn finish(&mut self, py: Python<'_>) -> Result<(), SendError> {
        if self.sent {
            Ok(())
        } else {
            self.send_body(py, &[])
        }
    }
}

#[pymethods]
impl StartResponse {
    #[pyo3(signature = (status, headers, exc_info = None))]
    fn __call__(
        slf: &Bound<'_, Self>,
        status: &Bound<'_, PyAny>,
        headers: &Bound<'_, PyAny>,
        exc_info: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Write> {
        let mut this = slf.borrow_mut();
        if this.response.is_ended() {
            return Err(this.used_after_the_end("start_response").into());
        }
        match exc_info.filter(|e| !e.is_none()) {
            // "if the headers have already been sent, start_response must
            // raise an error, and should re-raise using the exc_info tuple"
            Some(exc_info) if this.sent => return Err(PyErr::from_value(exc_info.get_item(1)?)),
            Some(_) => {}
            None if this.head.is_some() || this.sent => {
                return Err(report::WSGIProtocolError::new_err(report::ALREADY_STARTED))
            }
            None => {}
        }
        this.head = Some(header_block(status, headers)?);
        drop(this);
        Ok(Write { start: slf.clone().unbind() })
    }
}

/// The `write()` callable PEP 3333 keeps for old frameworks.
#[pyclass(name = "Write", module = "iiswsgi")]
pub struct Write {
    start: Py<StartResponse>,
}

#[pymethods]
impl Write {
    fn __call__(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let data = data.cast::<PyBytes>().map_err(|_| report::protocol_error("write() needs bytes, got", data))?;
        Ok(self.start.bind(py).borrow_mut().send_body(py, data.as_bytes())?)
    }
}

/// A native string as PEP 3333 wants (latin-1 only); bytes are accepted and
/// decoded as latin-1, as wfastcgi does. Borrowed where Python has the
/// text as UTF-8 already.
fn native_string<'a>(value: &'a Bound<'_, PyAny>, what: &str) -> PyResult<Cow<'a, str>> {
    if let Ok(text) = value.cast::<PyString>() {
        let text = text.to_cow()?;
        if let Some(c) = text.chars().find(|&c| u32::from(c) > 0xFF) {
            let problem = format!("{what} has a character outside latin-1 ({c:?})");
            return Err(report::protocol_error(&problem, value));
        }
        return Ok(text);
    }
    if let Ok(bytes) = value.cast::<PyBytes>() {
        return Ok(Cow::Owned(latin1(bytes.as_bytes())));
    }
    Err(report::protocol_error(&format!("{what} must be a str, got"), value))
}

/// Appends latin-1 `text` (checked by [`native_string`]) as its bytes.
fn push_latin1(block: &mut Vec<u8>, text: &str) {
    if text.is_ascii() {
        block.extend_from_slice(text.as_bytes());
    } else {
        block.extend(text.chars().map(|c| c as u8));
    }
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

pub(crate) fn check_status(status: &str) -> Result<(), String> {
    let bytes = status.as_bytes();
    let code_ok = bytes.len() >= 3 && bytes[..3].iter().all(u8::is_ascii_digit);
    if !code_ok || bytes.get(3).is_some_and(|&b| b != b' ') {
        return Err(format!("status {status:?} must start with a 3-digit code"));
    }
    if status.chars().any(|c| c.is_control()) {
        return Err(format!("status {status:?} contains a control character"));
    }
    Ok(())
}

pub(crate) fn check_header(name: &str, value: &str) -> Result<(), String> {
    if name.is_empty() || !name.chars().all(is_token_char) {
        return Err(format!("header name {name:?} is not a valid HTTP token"));
    }
    if value.chars().any(|c| c == '\r' || c == '\n' || c == '\0') {
        return Err(format!("header {name} has a CR, LF or NUL in its value {value:?}"));
    }
    Ok(())
}

fn header_block(status: &Bound<'_, PyAny>, headers: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    let status = native_string(status, "status")?;
    check_status(&status).map_err(report::WSGIProtocolError::new_err)?;
    let mut block = Vec::with_capacity(256);
    block.extend_from_slice(b"Status: ");
    push_latin1(&mut block, &status);
    block.extend_from_slice(b"\r\n");
    let not_a_pair = || report::WSGIProtocolError::new_err("each header must be a (name, value) pair");
    // Any iterable of pairs, as wfastcgi accepts; PEP 3333 says a list of
    // tuples, which are read without an iterator.
    for header in headers.try_iter()? {
        let header = header?;
        let (name, value) = match header.cast::<PyTuple>() {
            Ok(pair) if pair.len() == 2 => (pair.get_item(0)?, pair.get_item(1)?),
            Ok(_) => return Err(not_a_pair()),
            Err(_) => {
                let mut parts = header.try_iter()?;
                let (Some(name), Some(value), None) = (parts.next(), parts.next(), parts.next()) else {
                    return Err(not_a_pair());
                };
                (name?, value?)
            }
        };
        let name = native_string(&name, "header name")?;
        let value = native_string(&value, "header value")?;
        check_header(&name, &value).map_err(report::WSGIProtocolError::new_err)?;
        push_latin1(&mut block, &name);
        block.extend_from_slice(b": ");
        push_latin1(&mut block, &value);
        block.extend_from_slice(b"\r\n");
    }
    block.extend_from_slice(b"\r\n");
    Ok(block)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert!(check_status("200 OK").is_ok());
        assert!(check_status("200").is_ok(), "wfastcgi lets a bare code through");
        assert!(check_status("OK").is_err());
        assert!(check_status("200OK").is_err());
        assert!(check_status("200 OK\r\nX: y").is_err());
    }

    #[test]
    fn headers() {
        assert!(check_header("Content-Type", "text/plain; charset=utf-8").is_ok());
        assert!(check_header("Bad Name", "x").is_err());
        assert!(check_header("X-Split", "a\r\nSet-Cookie: evil").is_err());
        assert!(check_header("", "x").is_err());
    }
}
