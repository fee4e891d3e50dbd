//! The WSGI environ: PARAMS as native (latin-1) strings, the `wsgi.*` keys,
//! wfastcgi's raw-bytes extras, and the fixes IIS needs.

use super::file_wrapper::FileWrapper;
use super::input::Input;
use super::log_writer::LogWriter;
use crate::request::{latin1, Body, Params};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

/// wfastcgi keeps the raw bytes of these under a second key.
const RAW_KEYS: [(&[u8], &str); 4] = [
    (b"SCRIPT_NAME", "wsgi.script_name"),
    (b"PATH_INFO", "wsgi.path_info"),
    (b"QUERY_STRING", "wsgi.query_string"),
    (b"HTTP_X_ORIGINAL_URL", "wfastcgi.http_x_original_url"),
];

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

/// How SCRIPT_NAME and PATH_INFO are derived; known once the app's
/// settings (web.config included) are in the environment.
#[derive(Debug, Clone, Default)]
pub struct PathRules {
    /// Apply IIS's fixes (SCRIPT_NAME/PATH_INFO, X-Original-URL).
    pub iis: bool,
    /// A mount prefix: SCRIPT_NAME, stripped from PATH_INFO.
    pub script_name: Option<String>,
    /// wfastcgi's `AllowPathInfoForScriptMappings`: keep IIS's SCRIPT_NAME.
    pub allow_path_info: bool,
}

/// The few PARAMS the gateway itself reads, picked up in the same pass that
/// copies them all into the environ.
#[derive(Default)]
struct Known {
    script_name: Option<String>,
    path_info: Option<String>,
    original_url: Option<String>,
    has_query: bool,
    https: bool,
}

impl Known {
    fn note(&mut self, name: &[u8], value: &[u8], text: &str) {
        match name {
            b"SCRIPT_NAME" => self.script_name = Some(text.to_string()),
            b"PATH_INFO" => self.path_info = Some(text.to_string()),
            b"HTTP_X_ORIGINAL_URL" => self.original_url = Some(text.to_string()),
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
            let text = latin1(value);
            known.note(name, value, &text);
            if let Some((_, raw_key)) = RAW_KEYS.iter().find(|(n, _)| *n == name) {
                environ.set_item(*raw_key, PyBytes::new(py, value))?;
            }
            match keys.get(name) {
                Some(key) => environ.set_item(key.bind(py), text)?,
                None => {
                    let key = PyString::new(py, &latin1(name));
                    if keys.len() < MAX_CACHED_KEYS {
                        keys.insert(name.to_vec(), key.clone().unbind());
                    }
                    environ.set_item(key, text)?;
                }
            }
        }
        drop(keys);
        let (script_name, path_info) = rules.paths(known.script_name, known.path_info, known.original_url);
        for (key, raw_key, value) in
            [("SCRIPT_NAME", "wsgi.script_name", script_name), ("PATH_INFO", "wsgi.path_info", path_info)]
        {
            let raw: Vec<u8> = value.chars().map(|c| c as u8).collect();
            environ.set_item(key, value)?;
            environ.set_item(raw_key, PyBytes::new(py, &raw))?;
        }
        if !known.has_query {
            environ.set_item("QUERY_STRING", "")?;
            environ.set_item("wsgi.query_string", PyBytes::new(py, b""))?;
        }
        environ.set_item("wsgi.url_scheme", if known.https { "https" } else { "http" })?;
        environ.set_item("wsgi.input", Py::new(py, Input::new(body))?)?;
        Ok(environ)
    }
}

impl PathRules {
    /// SCRIPT_NAME and PATH_INFO as the app must see them.
    ///
    /// IIS sends the whole URL path in both (and the original path, before
    /// URL Rewrite, in X-Original-URL), so under IIS SCRIPT_NAME becomes ''
    /// and PATH_INFO the path without any query, as wfastcgi does. A
    /// configured prefix becomes SCRIPT_NAME and is stripped from PATH_INFO.
    pub fn paths(
        &self,
        script_name: Option<String>,
        path_info: Option<String>,
        original: Option<String>,
    ) -> (String, String) {
        let mut script_name = script_name.unwrap_or_default();
        let mut path_info = path_info.unwrap_or_default();
        if self.iis {
            if let Some(original) = original {
                path_info = original;
            }
            if let Some(query) = path_info.find('?') {
                path_info.truncate(query);
            }
            if !self.allow_path_info {
                script_name.clear();
            }
        }
        if let Some(prefix) = self.script_name.as_deref().map(|p| p.trim_end_matches('/')) {
            if let Some(rest) = path_info.strip_prefix(prefix).filter(|r| r.is_empty() || r.starts_with('/')) {
                path_info = rest.to_string();
            }
            script_name = prefix.to_string();
        }
        (script_name, path_info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(iis: bool, prefix: Option<&str>) -> PathRules {
        PathRules { iis, script_name: prefix.map(str::to_string), allow_path_info: false }
    }

    fn s(text: &str) -> Option<String> {
        Some(text.to_string())
    }

    #[test]
    fn iis_paths_become_empty_script_name_and_full_path_info() {
        let r = rules(true, None);
        assert_eq!(r.paths(s("/fob/oar/baz"), s("/fob/oar/baz"), None), (String::new(), "/fob/oar/baz".into()));
        assert_eq!(r.paths(s("/a"), s("/a?x=1"), None), (String::new(), "/a".into()));
        assert_eq!(
            r.paths(s("/rewritten"), s("/rewritten"), s("/orig/path?q=1")),
            (String::new(), "/orig/path".into())
        );
    }

    #[test]
    fn prefix_is_stripped_from_path_info() {
        let r = rules(true, Some("/app/"));
        assert_eq!(r.paths(s("/app/x"), s("/app/x"), None), ("/app".into(), "/x".into()));
        assert_eq!(r.paths(s("/apple"), s("/apple"), None), ("/app".into(), "/apple".into()));
        let r = rules(false, None);
        assert_eq!(r.paths(s("/s"), s("/p"), s("/ignored")), ("/s".into(), "/p".into()));
    }
}
