//! Failure texts, in wfastcgi's words where wfastcgi has words, so sites
//! moving from wfastcgi see the same messages.

use pyo3::prelude::*;

/// wfastcgi's heading for a failure while loading the handler.
pub const LOAD_CONTEXT: &str = "Error occurred while reading WSGI handler";
/// wfastcgi's heading for any other failure.
pub const REQUEST_CONTEXT: &str = "Error occurred";
pub const HANDLER_UNSET: &str = "WSGI_HANDLER env var must be set";
pub const ALREADY_STARTED: &str = "start_response has already been called";
pub const NOT_STARTED: &str = "start_response has not yet been called";

/// What a callable kept past its request says when called after the end.
pub fn after_the_end(what: &str) -> String {
    format!(
        "{what} was called after the response to its request had ended: the app or a middleware kept it past \
         the request; nothing was sent"
    )
}

pyo3::create_exception!(
    iiswsgi,
    WSGIProtocolError,
    pyo3::exceptions::PyValueError,
    "The app broke the WSGI protocol (PEP 3333): a str body, a bad status or header. Its message names what the \
     app gave, and reaches the client even without debugging, as wfastcgi's does."
);

/// A protocol error about `what` the app gave, with its type and a
/// shortened repr of it.
pub fn protocol_error(problem: &str, value: &Bound<'_, PyAny>) -> PyErr {
    WSGIProtocolError::new_err(format!("{problem} {}", shown(value)))
}

/// `type repr`, the repr cut at 80 characters.
fn shown(value: &Bound<'_, PyAny>) -> String {
    const MOST: usize = 80;
    let type_name = value.get_type().qualname().map(|n| n.to_string()).unwrap_or_default();
    let repr = value.repr().map(|r| r.to_string()).unwrap_or_else(|_| "<no repr>".into());
    let cut: String = repr.chars().take(MOST).collect();
    let more = if repr.chars().count() > MOST { "…" } else { "" };
    format!("{type_name} {cut}{more}")
}

/// Whether a failure is the app's breach of the protocol, whose message
/// is shown to the client.
pub fn is_protocol_error(py: Python<'_>, err: &PyErr) -> bool {
    err.is_instance_of::<WSGIProtocolError>(py)
}

pub fn could_not_import(name: &str) -> String {
    format!("\"{name}\" could not be imported")
}

/// The text of a failure as clients see it. With debugging on it is
/// wfastcgi's full report (traceback, captured output); otherwise only the
/// one-line cause, never a traceback.
pub fn render(context: &str, summary: &str, detail: &str, output: (&str, &str), debug: bool) -> String {
    if debug {
        format!("{context}:\n\n{detail}\n\nStdOut: {}\n\nStdErr: {}", output.0, output.1)
    } else {
        format!("{context}:\n\n{summary}\n")
    }
}

/// The exception's class name.
pub fn exception_type(py: Python<'_>, err: &PyErr) -> String {
    err.value(py).get_type().qualname().map(|n| n.to_string()).unwrap_or_else(|_| "Exception".into())
}

/// `Type: message` of a Python exception.
pub fn summary(py: Python<'_>, err: &PyErr) -> String {
    let name = exception_type(py, err);
    match err.value(py).str() {
        Ok(text) if !text.to_string().is_empty() => format!("{name}: {text}"),
        _ => name,
    }
}

/// The formatted traceback of a Python exception, as `traceback.format_exception` prints it.
pub fn traceback(py: Python<'_>, err: &PyErr) -> String {
    let formatted = (|| -> PyResult<String> {
        // The three-argument form: the one-argument form is Python 3.10+.
        let value = err.value(py);
        let args = (value.get_type(), value, err.traceback(py));
        let lines = py.import("traceback")?.call_method1("format_exception", args)?;
        Ok(lines.try_iter()?.filter_map(|line| line.ok().map(|l| l.to_string())).collect())
    })();
    formatted.unwrap_or_else(|_| summary(py, err))
}
