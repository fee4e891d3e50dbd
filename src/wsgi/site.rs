//! What wfastcgi does before importing the handler: IIS starts the process
//! in the folder of its executable and names the site's folder only in each
//! request's APPL_PHYSICAL_PATH. So at the first request the site's
//! web.config is read, its `<appSettings>` become environment variables,
//! PYTHONPATH entries join `sys.path`, and the site's folder becomes the
//! working directory.

use super::loader::LoadFailure;
use pyo3::prelude::*;
use std::path::{Path, PathBuf};

/// The site's folder: APPL_PHYSICAL_PATH, else the working directory.
pub fn site_dir(appl_physical_path: Option<&str>) -> PathBuf {
    match appl_physical_path.map(|p| p.trim_end_matches(['\\', '/'])).filter(|p| !p.is_empty()) {
        Some(path) => PathBuf::from(path),
        None => std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
    }
}

/// The web.config in `dir`, matched without regard to case as Windows would.
fn find_web_config(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| path.file_name().is_some_and(|n| n.to_string_lossy().eq_ignore_ascii_case("web.config")))
}

/// Applies the site's web.config and working directory. Returns the
/// settings applied, for the log.
pub fn apply(py: Python<'_>, dir: &Path) -> Result<Vec<(String, String)>, LoadFailure> {
    let settings = match find_web_config(dir) {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .map_err(|err| LoadFailure::new(format!("cannot read {}: {err}", path.display())))?;
            iiswsgi_proto::iis::app_settings(&text)
                .map_err(|err| LoadFailure::new(format!("{}: {err}", path.display())))?
        }
        None => Vec::new(),
    };
    let fail = |err: PyErr| LoadFailure::new(format!("cannot apply web.config settings: {err}"));
    let environ = py.import("os").and_then(|os| os.getattr("environ")).map_err(fail)?;
    for (key, value) in &settings {
        // Through os.environ, which also calls putenv, so Python and Rust
        // both see the value.
        environ.set_item(key, value).map_err(fail)?;
    }
    std::env::set_current_dir(dir)
        .map_err(|err| LoadFailure::new(format!("cannot change directory to {}: {err}", dir.display())))?;
    let mut entries = vec![dir.to_string_lossy().into_owned()];
    for (_, value) in settings.iter().filter(|(k, _)| k.eq_ignore_ascii_case("PYTHONPATH")) {
        entries.extend(split_pythonpath(&expand_percent_vars(value)));
    }
    extend_sys_path(py, &entries, true).map_err(fail)?;
    Ok(settings)
}

/// Adds entries to `sys.path`: in front when `first`, else at the end.
pub fn extend_sys_path(py: Python<'_>, entries: &[String], first: bool) -> PyResult<()> {
    let path = py.import("sys")?.getattr("path")?;
    for (index, entry) in entries.iter().enumerate() {
        if first {
            path.call_method1("insert", (index, entry))?;
        } else {
            path.call_method1("append", (entry,))?;
        }
    }
    Ok(())
}

/// `%NAME%` replaced by the variable's value, or nothing when unset, as
/// wfastcgi's PYTHONPATH handling does.
pub fn expand_percent_vars(text: &str) -> String {
    iiswsgi_proto::iis::expand_percent_vars(text, |name| Some(iiswsgi_proto::iis::from_env(name).unwrap_or_default()))
}

/// Splits on `;` and on the OS's path separator.
pub fn split_pythonpath(text: &str) -> Vec<String> {
    let separator = if cfg!(windows) { ';' } else { ':' };
    text.split([';', separator]).filter(|p| !p.is_empty()).map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_vars_expand_or_vanish() {
        std::env::set_var("IISWSGI_TEST_ROOT", "/srv");
        assert_eq!(expand_percent_vars("%IISWSGI_TEST_ROOT%/lib"), "/srv/lib");
        assert_eq!(expand_percent_vars("%IISWSGI_TEST_UNSET%/lib"), "/lib");
        assert_eq!(expand_percent_vars("100% sure"), "100% sure");
    }

    #[test]
    fn pythonpath_splits_on_both_separators() {
        assert_eq!(split_pythonpath("a;b;;c"), ["a", "b", "c"]);
        if cfg!(unix) {
            assert_eq!(split_pythonpath("a:b;c"), ["a", "b", "c"]);
        }
    }

    #[test]
    fn site_dir_strips_trailing_separators() {
        assert_eq!(site_dir(Some("/srv/site/")), PathBuf::from("/srv/site"));
    }
}
