//! `iiswsgi._iiswsgi`, the extension module of the wheel: a Python that
//! imports it runs iiswsgi inside itself, so `sys.executable`, `sys.prefix`
//! and site-packages are the venv's by construction, and nothing starts an
//! interpreter. The Python package beside it (python/iiswsgi) turns
//! `python -m iiswsgi`, the console scripts and the Paste Deploy entry
//! points into these calls.
//!
//! Every call runs with the GIL released: the server's application threads
//! take it per request, as in the standalone binary.

use iiswsgi::cli::Host;
use pyo3::prelude::*;
use std::path::PathBuf;

/// The host Python, as the commands that start iiswsgi again need it.
fn host(py: Python<'_>) -> PyResult<Host> {
    let sys = py.import("sys")?;
    let python: PathBuf = sys.getattr("executable")?.extract()?;
    let prefix: PathBuf = sys.getattr("prefix")?.extract()?;
    let scripts: PathBuf = py.import("sysconfig")?.call_method1("get_path", ("scripts",))?.extract()?;
    Ok(Host::hosted(python, prefix, &scripts))
}

/// Runs the command line `argv` (`argv[0]` names the program, as clap
/// shows it in help) exactly as the `iiswsgi` binary does; the exit status.
#[pyfunction]
fn main(py: Python<'_>, argv: Vec<String>) -> PyResult<u8> {
    let host = host(py)?;
    Ok(py.detach(|| iiswsgi::cli::main(argv, &host)))
}

/// `iiswsgi serve ARGV` for an app object the caller loaded (Paste
/// Deploy's server entry points); the exit status.
#[pyfunction]
fn serve_app(py: Python<'_>, app: Py<PyAny>, argv: Vec<String>) -> PyResult<u8> {
    let host = host(py)?;
    Ok(py.detach(|| iiswsgi::cli::serve::main_with_app(argv, &host, app)))
}

/// `(name, takes_a_value)` for every option of `iiswsgi serve`, so that
/// Paste ini options map onto them and unknown ones are refused by name.
#[pyfunction]
fn serve_options() -> Vec<(String, bool)> {
    iiswsgi::cli::serve::options()
}

/// The mock appcmd (`iiswsgi-appcmd`): output on stdout, appcmd's exit code.
#[pyfunction]
fn appcmd(py: Python<'_>, args: Vec<String>) -> i32 {
    py.detach(|| {
        let mut stdout = std::io::stdout();
        let code = iiswsgi_emulator::appcmd::run(&args, &mut stdout);
        let _ = std::io::Write::flush(&mut stdout);
        code
    })
}

#[pymodule]
fn _iiswsgi(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(main, module)?)?;
    module.add_function(wrap_pyfunction!(serve_app, module)?)?;
    module.add_function(wrap_pyfunction!(serve_options, module)?)?;
    module.add_function(wrap_pyfunction!(appcmd, module)?)?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
