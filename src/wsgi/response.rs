//! Running one request through the app: call it, stream what it yields,
//! always close the iterable, and turn failures into the right answer.

use super::report::{self, REQUEST_CONTEXT};
use super::start_response::{SendError, StartResponse};
use crate::request::ResponseHandle;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};

/// How failures are reported, from the settings.
#[derive(Debug, Clone, Copy)]
pub struct Reporting {
    pub debug: bool,
    /// Under IIS a failure goes to FCGI_STDERR after a bare `Status: 500`
    /// line, as wfastcgi does, so IIS's stderrMode decides what the client
    /// sees. Elsewhere a failure is a complete 500 response.
    pub iis: bool,
}

enum Failure {
    /// The client is gone; nothing to report to it.
    Disconnected,
    App(PyErr),
    Message(&'static str),
}

impl From<PyErr> for Failure {
    fn from(err: PyErr) -> Self {
        Failure::App(err)
    }
}

impl From<SendError> for Failure {
    fn from(err: SendError) -> Self {
        match err {
            // Ended cannot happen while the app runs: only its request's
            // server ends a response, after the app.
            SendError::Disconnected | SendError::Ended(_) => Failure::Disconnected,
            SendError::NotStarted => Failure::Message(report::NOT_STARTED),
        }
    }
}

/// Serves one request; never raises, every failure is answered and logged.
/// The response ends when this returns, after the iterable was closed: the
/// caller ends it.
pub fn run(
    py: Python<'_>,
    app: &Bound<'_, PyAny>,
    environ: Bound<'_, PyDict>,
    response: ResponseHandle,
    head_only: bool,
    reporting: Reporting,
) {
    let start = match Bound::new(py, StartResponse::new(response.clone(), head_only)) {
        Ok(start) => start,
        Err(err) => return report_failure(py, &response, false, Failure::App(err), reporting),
    };
    if let Err(failure) = call(py, app, environ, &start, &response) {
        let started = start.borrow().headers_sent();
        report_failure(py, &response, started, failure, reporting);
    }
}

fn call(
    py: Python<'_>,
    app: &Bound<'_, PyAny>,
    environ: Bound<'_, PyDict>,
    start: &Bound<'_, StartResponse>,
    response: &ResponseHandle,
) -> Result<(), Failure> {
    let result = app.call1((environ, start))?;
    let streamed = stream(py, &result, start, response);
    // "If the iterable returned by the application has a close() method, the
    // server or gateway must call that method upon completion of the current
    // request, whether the request was completed normally, or terminated
    // early due to an application error" (or a disconnect).
    // A plain list or tuple has none: asking would raise and format an
    // AttributeError for every request.
    let plain = result.is_exact_instance_of::<PyList>() || result.is_exact_instance_of::<PyTuple>();
    let closed = match if plain { Ok(None) } else { result.getattr_opt("close") } {
        Ok(Some(close)) => close.call0().map(drop),
        Ok(None) => Ok(()),
        Err(err) => Err(err),
    };
    streamed?;
    closed?;
    Ok(())
}

fn stream(
    py: Python<'_>,
    result: &Bound<'_, PyAny>,
    start: &Bound<'_, StartResponse>,
    response: &ResponseHandle,
) -> Result<(), Failure> {
    // A list or tuple says how many chunks come: the last one can travel
    // with the end of the request.
    let known_len =
        if result.is_instance_of::<PyList>() || result.is_instance_of::<PyTuple>() { result.len().ok() } else { None };
    if known_len.is_some_and(|n| n <= 1) {
        response.last_follows();
    }
    // A str or bytes is iterable, so it would seem to work, one character
    // or one int at a time: the commonest WSGI mistake, named as such.
    if result.is_instance_of::<pyo3::types::PyString>() || result.is_instance_of::<PyBytes>() {
        let problem = "the app returned a string where WSGI needs an iterable of bytes (e.g. [b'...']); it gave";
        return Err(report::protocol_error(problem, result).into());
    }
    for (index, chunk) in result.try_iter()?.enumerate() {
        let chunk = chunk?;
        if known_len.is_some_and(|n| n > 1 && index == n - 1) {
            response.last_follows();
        }
        let bytes = chunk.cast::<PyBytes>().map_err(|_| {
            let problem = format!("the app's body item {index} must be bytes, got");
            report::protocol_error(&problem, &chunk)
        })?;
        if !bytes.as_bytes().is_empty() {
            start.borrow_mut().send_body(py, bytes.as_bytes())?;
        }
        if response.is_aborted() {
            return Err(Failure::Disconnected);
        }
    }
    start.borrow_mut().finish(py)?;
    Ok(())
}

fn report_failure(py: Python<'_>, response: &ResponseHandle, started: bool, failure: Failure, reporting: Reporting) {
    // Without debugging the client's text names no internals: the
    // exception's class at most, never its message or traceback.
    let (summary, detail) = match &failure {
        Failure::Disconnected => {
            tracing::info!("the client went away before the response was complete");
            return;
        }
        // The app's breach of the protocol: what it gave is the message.
        Failure::App(err) if report::is_protocol_error(py, err) => {
            (format!("The application broke the WSGI protocol: {}", err.value(py)), report::traceback(py, err))
        }
        Failure::App(err) => (
            format!("The application raised {}. Details are in the iiswsgi log.", report::exception_type(py, err)),
            report::traceback(py, err),
        ),
        Failure::Message(message) => (message.to_string(), message.to_string()),
    };
    tracing::error!("{REQUEST_CONTEXT}: {}", detail.trim_end());
    let text = report::render(REQUEST_CONTEXT, &summary, &detail, ("", ""), reporting.debug);
    send_error(response, started, &text, reporting.iis);
}

/// Answers with a failure: a 500 if nothing was sent yet, else text on
/// FCGI_STDERR (under IIS this still becomes a 500 while IIS buffers).
pub fn send_error(response: &ResponseHandle, started: bool, text: &str, iis: bool) {
    let result = if started {
        response.stderr(text.as_bytes().to_vec())
    } else if iis {
        response
            .stdout(&b"Status: 500 Internal Server Error\r\n"[..])
            .and_then(|()| response.stderr(text.as_bytes().to_vec()))
    } else {
        let page = format!(
            "Status: 500 Internal Server Error\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\r\n{text}",
            text.len()
        );
        response.stdout(page.into_bytes())
    };
    if result.is_err() {
        tracing::info!("could not deliver the error: the client went away");
    }
}
