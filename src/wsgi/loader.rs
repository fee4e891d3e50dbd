//! Finding the WSGI callable.

use super::report::{self, LOAD_CONTEXT};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How the app is named, in the order `serve` looks: a positional
/// `module:attr`, `--config FILE.ini[#name]`, else `WSGI_HANDLER`; or an
/// app object a host Python hands over (Paste Deploy's server entry points).
#[derive(Debug, Clone)]
pub enum AppSpec {
    /// gunicorn's `module:attr`; `attr` may be dotted and end in `()`.
    Entry { module: String, attr: String },
    /// A Paste Deploy ini file and the app section's name.
    Paste { path: PathBuf, name: Option<String> },
    /// wfastcgi's form, read from `WSGI_HANDLER` at the first request, after
    /// the site's web.config has been applied.
    Handler,
    /// An app already loaded by the Python that hosts iiswsgi.
    Object(Arc<Py<PyAny>>),
}

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("invalid app `{0}`: expected `module:attr`")]
    Entry(String),
    #[error("Paste Deploy config `{}` does not exist", .0.display())]
    MissingConfig(PathBuf),
}

impl AppSpec {
    pub fn from_args(app: Option<&str>, config: Option<&str>) -> Result<Self, SpecError> {
        if let Some(app) = app {
            return match app.split_once(':') {
                Some((module, attr)) if !module.is_empty() && !attr.is_empty() => {
                    Ok(Self::Entry { module: module.to_string(), attr: attr.to_string() })
                }
                _ => Err(SpecError::Entry(app.to_string())),
            };
        }
        if let Some(config) = config {
            let (path, name) = match config.split_once('#') {
                Some((path, name)) => (path, Some(name.to_string()).filter(|n| !n.is_empty())),
                None => (config, None),
            };
            let path = std::path::absolute(path).unwrap_or_else(|_| PathBuf::from(path));
            if !path.is_file() {
                return Err(SpecError::MissingConfig(path));
            }
            return Ok(Self::Paste { path, name });
        }
        Ok(Self::Handler)
    }

    pub fn is_lazy(&self) -> bool {
        matches!(self, Self::Handler)
    }
}

impl std::fmt::Display for AppSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Entry { module, attr } => write!(f, "{module}:{attr}"),
            Self::Paste { path, name: Some(name) } => write!(f, "{}#{name}", path.display()),
            Self::Paste { path, name: None } => write!(f, "{}", path.display()),
            Self::Handler => f.write_str("WSGI_HANDLER"),
            Self::Object(app) => write!(f, "{app}"),
        }
    }
}

/// Why the app could not be loaded. Kept for the life of the process: every
/// request gets it as a 500 until a restart.
#[derive(Debug, Clone, Default)]
pub struct LoadFailure {
    /// The one-line cause, shown to clients.
    pub summary: String,
    /// The cause with its traceback, shown only when debugging.
    pub detail: String,
    /// What the app printed while loading.
    pub stdout: String,
    pub stderr: String,
}

impl LoadFailure {
    pub fn new(summary: impl Into<String>) -> Self {
        let summary = summary.into();
        Self { detail: summary.clone(), summary, ..Self::default() }
    }

    fn from_py(py: Python<'_>, err: &PyErr) -> Self {
        Self { summary: report::summary(py, err), detail: report::traceback(py, err), ..Self::default() }
    }

    pub fn render(&self, debug: bool) -> String {
        report::render(LOAD_CONTEXT, &self.summary, &self.detail, (&self.stdout, &self.stderr), debug)
    }
}

/// Loads the app, capturing what it prints meanwhile (wfastcgi reports it).
pub fn load(py: Python<'_>, spec: &AppSpec) -> Result<Py<PyAny>, LoadFailure> {
    let capture = Capture::start(py);
    let result = match spec {
        AppSpec::Entry { module, attr } => load_entry(py, module, attr),
        AppSpec::Paste { path, name } => load_paste(py, path, name.as_deref()),
        AppSpec::Handler => load_handler(py, std::env::var("WSGI_HANDLER").ok().as_deref()),
        AppSpec::Object(app) => Ok(app.clone_ref(py)),
    };
    let (stdout, stderr) = capture.map(|c| c.finish(py)).unwrap_or_default();
    let app = result.map_err(|failure| LoadFailure { stdout: stdout.clone(), stderr: stderr.clone(), ..failure })?;
    for (name, text) in [("stdout", &stdout), ("stderr", &stderr)] {
        if !text.is_empty() {
            tracing::info!("the app printed to {name} while loading: {}", text.trim_end());
        }
    }
    let bound = app.bind(py);
    if bound.is_none() {
        return Err(LoadFailure::new(report::could_not_import(&spec.to_string())));
    }
    if !bound.is_callable() {
        let type_name = bound.get_type().qualname().map(|n| n.to_string()).unwrap_or_default();
        return Err(LoadFailure::new(format!("\"{spec}\" is not callable (it is a {type_name})")));
    }
    Ok(app)
}

fn load_entry(py: Python<'_>, module: &str, attr: &str) -> Result<Py<PyAny>, LoadFailure> {
    let mut object = py
        .import(module)
        .map_err(|err| {
            let failure = LoadFailure::from_py(py, &err);
            if err.is_instance_of::<pyo3::exceptions::PyImportError>(py) {
                LoadFailure { summary: report::could_not_import(&format!("{module}:{attr}")), ..failure }
            } else {
                failure
            }
        })?
        .into_any();
    for part in attr.split('.') {
        let (name, call) = match part.strip_suffix("()") {
            Some(name) => (name, true),
            None => (part, false),
        };
        object = object.getattr(name).map_err(|err| LoadFailure::from_py(py, &err))?;
        if call {
            object = object.call0().map_err(|err| LoadFailure::from_py(py, &err))?;
        }
    }
    Ok(object.unbind())
}

/// wfastcgi's `get_wsgi_handler`, step for step: import the longest module
/// prefix that imports, then walk attributes, calling those ending in `()`.
/// Only ImportError moves on to a shorter prefix; any other exception is the
/// failure.
fn load_handler(py: Python<'_>, handler_name: Option<&str>) -> Result<Py<PyAny>, LoadFailure> {
    let handler_name = handler_name.filter(|n| !n.is_empty()).ok_or_else(|| LoadFailure::new(report::HANDLER_UNSET))?;
    let split = |name: &str| -> (String, (String, bool)) {
        let (module, callable) = name.rsplit_once('.').unwrap_or(("", name));
        let (callable, call) = match callable.strip_suffix("()") {
            Some(c) => (c, true),
            None => (callable, false),
        };
        (module.to_string(), (callable.to_string(), call))
    };
    let (mut module_name, first) = split(handler_name);
    let mut names = vec![first];
    let mut last_tb = String::new();
    let builtins = py.import("builtins").map_err(|e| LoadFailure::from_py(py, &e))?;
    while !module_name.is_empty() {
        let attempt = (|| -> PyResult<Bound<'_, PyAny>> {
            let kwargs = PyDict::new(py);
            kwargs.set_item("fromlist", vec![names[0].0.clone()])?;
            let mut handler = builtins.getattr("__import__")?.call((module_name.as_str(),), Some(&kwargs))?;
            for (name, call) in &names {
                handler = handler.getattr(name.as_str())?;
                if *call {
                    handler = handler.call0()?;
                }
            }
            Ok(handler)
        })();
        match attempt {
            Ok(handler) if !handler.is_none() => return Ok(handler.unbind()),
            Ok(_) => break,
            Err(err) if err.is_instance_of::<pyo3::exceptions::PyImportError>(py) => {
                last_tb = report::traceback(py, &err);
                let (shorter, next) = split(&module_name);
                module_name = shorter;
                names.insert(0, next);
            }
            Err(err) => return Err(LoadFailure::from_py(py, &err)),
        }
    }
    let summary = report::could_not_import(handler_name);
    let detail = if last_tb.is_empty() { summary.clone() } else { format!("{summary}: {last_tb}") };
    Err(LoadFailure { summary, detail, ..LoadFailure::default() })
}

/// Paste Deploy's `loadapp`, with logging set up from the ini's `[loggers]`
/// as `pserve` does.
fn load_paste(py: Python<'_>, path: &Path, name: Option<&str>) -> Result<Py<PyAny>, LoadFailure> {
    let fail = |err: PyErr| LoadFailure::from_py(py, &err);
    let text = path.to_string_lossy().into_owned();
    let ini = std::fs::read_to_string(path).unwrap_or_default();
    if ini.lines().any(|line| line.trim() == "[loggers]") {
        let here = path.parent().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
        let defaults = PyDict::new(py);
        defaults.set_item("__file__", &text).map_err(fail)?;
        defaults.set_item("here", here).map_err(fail)?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("disable_existing_loggers", false).map_err(fail)?;
        py.import("logging.config")
            .and_then(|m| m.call_method("fileConfig", (&text, defaults), Some(&kwargs)))
            .map_err(fail)?;
    }
    let kwargs = PyDict::new(py);
    if let Some(name) = name {
        kwargs.set_item("name", name).map_err(fail)?;
    }
    let loadapp = py.import("paste.deploy").and_then(|m| m.getattr("loadapp")).map_err(fail)?;
    Ok(loadapp.call((format!("config:{text}"),), Some(&kwargs)).map_err(fail)?.unbind())
}

/// Swaps `sys.stdout`/`sys.stderr` for StringIO buffers during loading.
struct Capture {
    saved: (Py<PyAny>, Py<PyAny>),
    buffers: (Py<PyAny>, Py<PyAny>),
}

impl Capture {
    fn start(py: Python<'_>) -> Option<Self> {
        let sys = py.import("sys").ok()?;
        let io = py.import("io").ok()?;
        let out = io.call_method0("StringIO").ok()?;
        let err = io.call_method0("StringIO").ok()?;
        let saved = (sys.getattr("stdout").ok()?.unbind(), sys.getattr("stderr").ok()?.unbind());
        sys.setattr("stdout", &out).ok()?;
        sys.setattr("stderr", &err).ok()?;
        Some(Self { saved, buffers: (out.unbind(), err.unbind()) })
    }

    fn finish(self, py: Python<'_>) -> (String, String) {
        if let Ok(sys) = py.import("sys") {
            let _ = sys.setattr("stdout", self.saved.0.bind(py));
            let _ = sys.setattr("stderr", self.saved.1.bind(py));
        }
        let text =
            |buffer: &Py<PyAny>| buffer.bind(py).call_method0("getvalue").map(|v| v.to_string()).unwrap_or_default();
        (text(&self.buffers.0), text(&self.buffers.1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_order_and_forms() {
        assert!(matches!(
            AppSpec::from_args(Some("pkg.mod:make_app()"), None).unwrap(),
            AppSpec::Entry { module, attr } if module == "pkg.mod" && attr == "make_app()"
        ));
        assert!(AppSpec::from_args(Some("nocolon"), None).is_err());
        assert!(matches!(AppSpec::from_args(None, Some("/no/such.ini#main")), Err(SpecError::MissingConfig(_))));
        assert!(matches!(AppSpec::from_args(None, None).unwrap(), AppSpec::Handler));
    }
}
