//! The WSGI environ: PARAMS as native (latin-1) strings, the `wsgi.*` keys,
//! wfastcgi's raw-bytes extras, and the fixes IIS needs.

use super::file_wrapper::FileWrapper;
use super::input::Input;
use super::log_writer::LogWriter;
use super::paths::{PathRules, Sent};
use crate::request::{latin1, Body, Params};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::MutexExt;
use pyo3::types::{PyBytes, PyDict, PyString};

/// What the gateway does with a CGI variable besides passing it on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Plain,
    /// SCRIPT_NAME and PATH_INFO: the environ gets them (and their raw
    /// bytes) as the path rules derive them, after the loop.
    ScriptName,
    PathInfo,
    /// wfastcgi keeps the raw bytes of these under a second key.
    QueryString,
    OriginalUrl,
    RequestUri,
    Method,
    Https,
    PortSecure,
    Scheme,
}

impl Role {
    fn of(name: &[u8]) -> Self {
        match name {
            b"SCRIPT_NAME" => Role::ScriptName,
            b"PATH_INFO" => Role::PathInfo,
            b"QUERY_STRING" => Role::QueryString,
            b"HTTP_X_ORIGINAL_URL" => Role::OriginalUrl,
            b"REQUEST_URI" => Role::RequestUri,
            b"REQUEST_METHOD" => Role::Method,
            b"HTTPS" => Role::Https,
            b"SERVER_PORT_SECURE" => Role::PortSecure,
            b"REQUEST_SCHEME" => Role::Scheme,
            _ => Role::Plain,
        }
    }
}

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
    /// Environ keys made once, with their roles: a Python str caches its
    /// hash, so a reused key costs no allocation and no hashing per
    /// request, and one lookup tells all. FNV: the keys are short server
    /// variable names, and the cache is bounded, so a fast hash beats
    /// SipHash's flooding resistance.
    keys: std::sync::Mutex<KeyCache>,
}

/// A CGI name's environ key and role.
type KeyCache = fnv::FnvHashMap<Vec<u8>, (Py<PyString>, Role)>;

/// Distinct keys cached at most; the rest (unusual headers) are made per
/// request, so hostile header names cannot grow the cache.
const MAX_CACHED_KEYS: usize = 512;

/// The few PARAMS the gateway itself reads, picked up in the same pass that
/// copies the others into the environ.
#[derive(Default)]
struct Known {
    script_name: Option<String>,
    path_info: Option<String>,
    original_url: Option<String>,
    request_uri: Option<String>,
    has_query: bool,
    https: bool,
    head: bool,
}

/// A request's environ, and what the gateway learnt making it.
pub struct Environ<'py> {
    pub dict: Bound<'py, PyDict>,
    /// A HEAD request: the response goes without its body.
    pub head_only: bool,
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
    ) -> PyResult<Environ<'py>> {
        // The keys the gateway sets itself are interned (`intern!`): made
        // once, they cost no allocation and no hashing per request.
        let environ = self.base.bind(py).copy()?;
        let mut known = Known::default();
        // A thread may let go of the GIL while it holds the cache (the first
        // use of an interned key does; so may a garbage collection): one
        // waiting for the cache must then not hold the GIL, or neither goes
        // on (seen: two threads' first requests, bind_threads tests).
        let mut keys = self.keys.lock_py_attached(py).unwrap_or_else(|poisoned| poisoned.into_inner());
        for (name, value) in params.iter() {
            let made;
            let (key, role) = match keys.get(name) {
                Some((key, role)) => (key.bind(py), *role),
                None => {
                    let role = Role::of(name);
                    made = native_string(py, name)?;
                    if keys.len() < MAX_CACHED_KEYS {
                        keys.insert(name.to_vec(), (made.clone().unbind(), role));
                    }
                    (&made, role)
                }
            };
            match role {
                Role::Plain => {}
                Role::ScriptName => {
                    known.script_name = Some(latin1(value));
                    continue;
                }
                Role::PathInfo => {
                    known.path_info = Some(latin1(value));
                    continue;
                }
                Role::QueryString => {
                    known.has_query = true;
                    environ.set_item(intern!(py, "wsgi.query_string"), PyBytes::new(py, value))?;
                }
                Role::OriginalUrl => {
                    known.original_url = Some(latin1(value));
                    environ.set_item(intern!(py, "wfastcgi.http_x_original_url"), PyBytes::new(py, value))?;
                }
                Role::RequestUri => known.request_uri = Some(latin1(value)),
                Role::Method => known.head = value == b"HEAD",
                Role::Https => known.https |= value.eq_ignore_ascii_case(b"on"),
                Role::PortSecure => known.https |= value == b"1",
                Role::Scheme => known.https |= value.eq_ignore_ascii_case(b"https"),
            }
            environ.set_item(key, native_string(py, value)?)?;
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
        environ.set_item(intern!(py, "SCRIPT_NAME"), paths.script_name)?;
        environ.set_item(intern!(py, "wsgi.script_name"), PyBytes::new(py, &script_raw))?;
        environ.set_item(intern!(py, "PATH_INFO"), paths.path_info)?;
        environ.set_item(intern!(py, "wsgi.path_info"), PyBytes::new(py, &paths.raw_path_info))?;
        if !known.has_query {
            environ.set_item(intern!(py, "QUERY_STRING"), intern!(py, ""))?;
            environ.set_item(intern!(py, "wsgi.query_string"), PyBytes::new(py, b""))?;
        }
        let scheme = if known.https { intern!(py, "https") } else { intern!(py, "http") };
        environ.set_item(intern!(py, "wsgi.url_scheme"), scheme)?;
        environ.set_item(intern!(py, "wsgi.input"), Py::new(py, Input::new(body))?)?;
        Ok(Environ { dict: environ, head_only: known.head })
    }
}
