//! Starting CPython inside the `iiswsgi` binary.
//!
//! Which Python runs matters: this machine has two CPython 3.11 installs,
//! and an interpreter initialised with defaults takes its `sys.prefix` from
//! whichever libpython the loader found. So the binary is linked with an
//! rpath to the libpython it was built against (build.rs), and a venv is
//! selected through `PyConfig.executable`, exactly as running the venv's own
//! `python` would: `sys.prefix` is the venv, its site-packages are on
//! `sys.path` and the base install's are not.

use super::runtime::InterpreterInfo;
use pyo3::ffi;
use std::ffi::{CStr, CString};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum InterpreterError {
    #[error("`{}` is not a virtual environment (no pyvenv.cfg)", .0.display())]
    NotAVenv(PathBuf),
    #[error("the virtual environment `{}` is Python {venv}, but iiswsgi embeds Python {embedded}", path.display())]
    VersionMismatch { path: PathBuf, venv: String, embedded: String },
    #[error("cannot start Python: {0}")]
    Init(String),
}

fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

/// The `major.minor` a venv was made with, from its pyvenv.cfg.
fn venv_version(venv: &Path) -> Result<Option<String>, InterpreterError> {
    let cfg =
        std::fs::read_to_string(venv.join("pyvenv.cfg")).map_err(|_| InterpreterError::NotAVenv(venv.to_path_buf()))?;
    Ok(cfg.lines().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        matches!(key.trim(), "version" | "version_info").then(|| major_minor(value.trim()))
    }))
}

fn major_minor(version: &str) -> String {
    version
        .split(|c: char| c != '.' && !c.is_ascii_digit())
        .next()
        .unwrap_or("")
        .splitn(3, '.')
        .take(2)
        .collect::<Vec<_>>()
        .join(".")
}

fn embedded_version() -> String {
    // SAFETY: Py_GetVersion returns a static string and may be called before
    // initialisation.
    let version = unsafe { CStr::from_ptr(ffi::Py_GetVersion()) };
    major_minor(&version.to_string_lossy())
}

fn check(status: ffi::PyStatus) -> Result<(), InterpreterError> {
    // SAFETY: reading a status struct the C API just returned.
    if unsafe { ffi::PyStatus_Exception(status) } == 0 {
        return Ok(());
    }
    let message = if status.err_msg.is_null() {
        "unknown error".to_string()
    } else {
        unsafe { CStr::from_ptr(status.err_msg) }.to_string_lossy().into_owned()
    };
    Err(InterpreterError::Init(message))
}

/// Starts the interpreter, in `venv` if given, and releases the GIL so pool
/// threads can attach. Does nothing if Python is already running (a Python
/// process hosting this library).
pub fn initialize(venv: Option<&Path>) -> Result<InterpreterInfo, InterpreterError> {
    // SAFETY: Py_IsInitialized is callable at any time.
    if unsafe { ffi::Py_IsInitialized() } == 0 {
        let executable = match venv {
            Some(venv) => {
                let venv = std::path::absolute(venv).unwrap_or_else(|_| venv.to_path_buf());
                let embedded = embedded_version();
                if let Some(version) = venv_version(&venv)? {
                    if version != embedded {
                        return Err(InterpreterError::VersionMismatch { path: venv, venv: version, embedded });
                    }
                }
                Some(venv_python(&venv))
            }
            None => None,
        };
        start(executable.as_deref())?;
    }
    Ok(InterpreterInfo::current())
}

fn start(executable: Option<&Path>) -> Result<(), InterpreterError> {
    let mut config = std::mem::MaybeUninit::<ffi::PyConfig>::zeroed();
    // SAFETY: the PyConfig protocol of the C API: init, set fields, use,
    // clear. `config` lives on this stack frame throughout.
    unsafe {
        let config = config.as_mut_ptr();
        ffi::PyConfig_InitPythonConfig(config);
        // Signals belong to the Rust side (SIGTERM = graceful stop).
        (*config).install_signal_handlers = 0;
        (*config).parse_argv = 0;
        let result = (|| {
            if let Some(executable) = executable {
                let text = executable.to_string_lossy();
                let c_text = CString::new(text.as_bytes())
                    .map_err(|_| InterpreterError::Init(format!("bad interpreter path `{text}`")))?;
                check(ffi::PyConfig_SetBytesString(config, &raw mut (*config).executable, c_text.as_ptr()))?;
            }
            check(ffi::Py_InitializeFromConfig(config))
        })();
        ffi::PyConfig_Clear(config);
        result?;
        ffi::PyEval_SaveThread();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn major_minor_of_versions() {
        assert_eq!(major_minor("3.11.7"), "3.11");
        assert_eq!(major_minor("3.11.2 (main, Mar 13 2023)"), "3.11");
        assert_eq!(major_minor("3.12.0.final.0"), "3.12");
    }

    #[test]
    fn a_folder_without_pyvenv_cfg_is_not_a_venv() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(venv_version(dir.path()), Err(InterpreterError::NotAVenv(_))));
    }
}
