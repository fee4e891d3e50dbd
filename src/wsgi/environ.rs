//! The WSGI environ: PARAMS as native (latin-1) strings, the `wsgi.*` keys,
//! wfastcgi's raw-bytes extras, and the fixes IIS needs.

use super::file_wrapper::FileWrapper;
use super::input::Input;
use super::log_writer::LogWriter;
use super::paths::{PathRules, Sent};
use crate::request::{latin1, Body, Params};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

/// An environ key the gateway sets itself: made once, so it costs no
/// allocation and no hashing per request (a str caches its hash).
type Key = for<'py> fn(Python<'py>) -> &'py Bound<'py, PyString>;

macro_rules! key {
    ($name:literal) => {
        |py| pyo3::intern!(py, $name)
    };
}

/// wfastcgi keeps the raw bytes of these under a second key.
const RAW_KEYS: [(&[u8], Key); 4] = [
    (b"SCRIPT_NAME", key!("wsgi.script_name")),
    (b"PATH_INFO", key!("wsgi.path_info")),
    (b"QUERY_STRING", key!("wsgi.query_string")),
    (b"HTTP_X_ORIGINAL_URL", key!("wfastcgi.http_x_original_url")),
];

/// A CGI value as a native string: its bytes decoded as latin-1 by
/// Python itself (stable ABI), which is one pass with no UTF-8 check and
/// no Rust string on the way.
fn native_string<'py>(py: Python<'py>, value: &[u8]) -> PyResult<Bound<'py, PyString>> {
    let length = pyo3::ffi::Py_ssize_t::try_from(value.len())
        .map_err(|_| pyo3::exceptions::PyOverflowError::new_err("a CGI value too long for Python"))?;
    // SAFETY: the pointer and length describe `value`, which outlives the
    // call; a null `errors` is "strict", and latin-1 cannot fail to decode.
    unsafe {
        let text = pyo3::ffi::PyUnicode_DecodeLatin1(value.as_ptr().cast(), length, std::ptr::null());
        Ok(Bound::from_owned_ptr_or_err(py, text)?.cast_into_unchecked())
    }
}

/// The constant part of every environ, built once at start-up.
pub struct Template {
    base: Py<PyDict>,
    /// Environ keys made once: a Python str caches its hash, so a reused
    /// key costs no allocation and no hashing per request. FNV: the keys
    /// are short server variable names, and the cache is bounded, so a
    /// fast hash beats SipHash's flooding resistance.
    keys: std::sync::Mutex<fnv::FnvHashMap<Vec<u8>, Py<PyString>>>,
}

/// Distinct keys cached at most; the rest (unusual headers) are made per
/// request, so hostile header names cannot grow the cache.
const MAX_CACHED_KEYS: usize = 512;

/// The few PARAMS the gateway itself reads, picked up in the same pass that
/// copies them all into the environ.
#[derive(Default)]
struct Known {
    script_name: Option<String>,
    path_info: Option<String>,
    original_url: Option<String>,
    request_uri: Option<String>,
    has_query: bool,
    https: bool,
}

impl Known {
    fn note(&mut self, name: &[u8], value: &[u8]) {
        match name {
            b"SCRIPT_NAME" => self.script_name = Some(latin1(value)),
            b"PATH_INFO" => self.path_info = Some(latin1(value)),
            b"HTTP_X_ORIGINAL_URL" => self.original_url = Some(latin1(value)),
            b"REQUEST_URI" => self.request_uri = Some(latin1(value)),
            b"QUERY_STRING" => self.has_query = true,
            b"HTTPS" => self.https |= value.eq_ignore_ascii_case(b"on"),
            b"SERVER_PORT_SECURE" => self.https |= value == b"1",
            b"REQUEST_SCHEME" => self.https |= value.eq_ignore_ascii_case(b"https"),
            _ => {}
        }
    }
}

impl Template {
    pub fn new(py: Python<'_>, multithread: bool, multiprocess: bool) -> PyResult<Self> {
        let base = PyDict::new(py);
        base.set_item("wsgi.version", (1, 0))?;
        base.set_item("wsgi.multithread", multithread)?;
        base.set_item("wsgi.multiprocess", multiprocess)?;
        base.set_item("wsgi.run_once", false)?;
        base.set_item("wsgi.input_terminated", true)?;
        base.set_item("wsgi.errors", Py::new(py, LogWriter::new("wsgi.errors"))?)?;
        base.set_item("wsgi.file_wrapper", py.get_type::<FileWrapper>())?;
        Ok(Self { base: base.unbind(), keys: std::sync::Mutex::new(fnv::FnvHashMap::default()) })
    }

    pub fn build<'py>(
        &self,
        py: Python<'py>,
        rules: &PathRules,
        params: &Params,
        body: Body,
    ) -> PyResult<Bound<'py, PyDict>> {
        let environ = self.base.bind(py).copy()?;
        let mut known = Known::default();
        let mut keys = self.keys.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        for (name, value) in params.iter() {
            let text = native_string(py, value)?;
            known.note(name, value);
            if let Some((_, raw_key)) = RAW_KEYS.iter().find(|(n, _)| *n == name) {
                environ.set_item(raw_key(py), PyBytes::new(py, value))?;
            }
            match keys.get(name) {
                Some(key) => environ.set_item(key.bind(py), text)?,
                None => {
                    let key = native_string(py, name)?;
                    if keys.len() < MAX_CACHED_KEYS {
                        keys.insert(name.to_vec(), key.clone().unbind());
                    }
                    environ.set_item(key, text)?;
                }
            }
        }
        drop(keys);
        let sent = Sent {
            script_name: known.script_name,
            path_info: known.path_info,
            original_url: known.original_url,
            request_uri: known.request_uri,
        };
        let paths = rules.paths(sent);
        let script_raw: Vec<u8> = paths.script_name.chars().map(|c| c as u8).collect();
        environ.set_item(pyo3::intern!(py, "SCRIPT_NAME"), paths.script_name)?;
        environ.set_item(pyo3::intern!(py, "wsgi.script_name"), PyBytes::new(py, &script_raw))?;
        environ.set_item(pyo3::intern!(py, "PATH_INFO"), paths.path_info)?;
        environ.set_item(pyo3::intern!(py, "wsgi.path_info"), PyBytes::new(py, &paths.raw_path_info))?;
        if !known.has_query {
            environ.set_item(pyo3::intern!(py, "QUERY_STRING"), pyo3::intern!(py, ""))?;
            environ.set_item(pyo3::intern!(py, "wsgi.query_string"), PyBytes::new(py, b""))?;
        }
        let scheme = if known.https { pyo3::intern!(py, "https") } else { pyo3::intern!(py, "http") };
        environ.set_item(pyo3::intern!(py, "wsgi.url_scheme"), scheme)?;
        environ.set_item(pyo3::intern!(py, "wsgi.input"), Py::new(py, Input::new(body))?)?;
        Ok(environ)
    }
}
