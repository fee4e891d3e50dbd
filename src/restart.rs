//! Restart on change, as wfastcgi does: when a file under the app's folder
//! whose path matches `WSGI_RESTART_FILE_REGEX` changes, the process finishes
//! the request in flight and exits 0, and IIS starts a fresh one.

use crate::shutdown::Shutdown;
use notify::{EventKind, RecursiveMode, Watcher};
use regex::Regex;
use std::path::{Path, PathBuf};

/// wfastcgi's default: any `.py` or `.config` file.
pub const DEFAULT_PATTERN: &str = r".*((\.py)|(\.config))$";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid WSGI_RESTART_FILE_REGEX `{pattern}`")]
    Pattern { pattern: String, source: Box<regex::Error> },
    #[error("cannot watch `{}` for changes", dir.display())]
    Watch { dir: PathBuf, source: Box<notify::Error> },
}

/// Keeps the watcher alive; dropping it stops watching.
pub struct RestartWatcher {
    _watcher: notify::RecommendedWatcher,
}

/// Compiles the pattern the way Python's `re.match` applies it: anchored at
/// the start of the path relative to the watched folder.
pub fn compile(pattern: &str) -> Result<Regex, Error> {
    Regex::new(&format!("^(?:{pattern})"))
        .map_err(|source| Error::Pattern { pattern: pattern.to_string(), source: Box::new(source) })
}

/// Watches `dir` recursively. `pattern` is the setting's value: `None` for
/// the default, an empty string to disable watching.
pub fn watch(dir: &Path, pattern: Option<&str>, shutdown: Shutdown) -> Result<Option<RestartWatcher>, Error> {
    let pattern = pattern.unwrap_or(DEFAULT_PATTERN);
    if pattern.is_empty() {
        tracing::info!("restart on file change disabled (WSGI_RESTART_FILE_REGEX is empty)");
        return Ok(None);
    }
    let regex = compile(pattern)?;
    let root = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let base = root.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if !matches!(event.kind, EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)) {
            return;
        }
        for path in &event.paths {
            let relative = path.strip_prefix(&base).unwrap_or(path);
            let text = relative.to_string_lossy();
            if regex.is_match(&text) {
                shutdown.trigger(format!("{text} changed, matching WSGI_RESTART_FILE_REGEX"));
                return;
            }
        }
    })
    .map_err(|source| Error::Watch { dir: root.clone(), source: Box::new(source) })?;
    watcher
        .watch(&root, RecursiveMode::Recursive)
        .map_err(|source| Error::Watch { dir: root.clone(), source: Box::new(source) })?;
    tracing::info!("will restart when files in {} change, matching {pattern}", root.display());
    Ok(Some(RestartWatcher { _watcher: watcher }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_pattern_matches_like_wfastcgi() {
        let regex = compile(DEFAULT_PATTERN).unwrap();
        assert!(regex.is_match("app.py"));
        assert!(regex.is_match("sub/web.config"));
        assert!(!regex.is_match("__pycache__/app.cpython-311.pyc"));
        assert!(!regex.is_match("static/site.css"));
    }

    #[test]
    fn pattern_is_anchored_at_the_start() {
        let regex = compile(r"templates/.*").unwrap();
        assert!(regex.is_match("templates/a.html"));
        assert!(!regex.is_match("x/templates/a.html"));
    }

    #[test]
    fn bad_pattern_names_the_setting() {
        let err = compile("(").unwrap_err();
        assert!(err.to_string().contains("WSGI_RESTART_FILE_REGEX `(`"));
    }
}
