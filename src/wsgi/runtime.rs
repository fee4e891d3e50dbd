//! The Python this process runs: what the start-up log says about it, and,
//! when a Python hosts the extension module, what `--venv` may mean there.

use pyo3::prelude::*;
use std::path::{Path, PathBuf};

/// Where the interpreter runs, for the start-up log.
pub struct InterpreterInfo {
    pub version: String,
    pub executable: String,
    pub prefix: String,
}

impl std::fmt::Display for InterpreterInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Python {} ({}), sys.prefix {}", self.version, self.executable, self.prefix)
    }
}

impl InterpreterInfo {
    /// The running interpreter's.
    pub fn current() -> Self {
        Python::attach(|py| {
            let sys = py.import("sys").ok();
            let get =
                |name: &str| sys.as_ref().and_then(|s| s.getattr(name).ok()).map(|v| v.to_string()).unwrap_or_default();
            let version = get("version").split_whitespace().next().unwrap_or_default().to_string();
            InterpreterInfo { version, executable: get("executable"), prefix: get("prefix") }
        })
    }
}

#[derive(Debug, thiserror::Error)]
#[error(
    "--venv {}: this iiswsgi runs inside the Python of {} and cannot switch to another environment; \
     run that environment's own `python -m iiswsgi` (or the standalone iiswsgi binary) instead",
    asked.display(), running.display()
)]
pub struct OtherVenv {
    asked: PathBuf,
    running: PathBuf,
}

fn same(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// A host Python runs in its own environment (`sys.prefix`): `--venv`
/// naming another is an error, since an interpreter cannot change its
/// prefix once running; a stale `VIRTUAL_ENV` naming another is only
/// logged, as shells export it.
pub fn check_hosted_venv(flag: Option<&Path>, env: Option<&Path>) -> Result<InterpreterInfo, OtherVenv> {
    let info = InterpreterInfo::current();
    let running = PathBuf::from(&info.prefix);
    if let Some(asked) = flag.filter(|asked| !same(asked, &running)) {
        return Err(OtherVenv { asked: asked.to_path_buf(), running });
    }
    if let Some(env) = env.filter(|env| flag.is_none() && !same(env, &running)) {
        tracing::warn!("VIRTUAL_ENV={} is not this Python's environment ({}); ignored", env.display(), info.prefix);
    }
    Ok(info)
}
