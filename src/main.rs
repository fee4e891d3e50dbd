//! The standalone `iiswsgi` binary: it starts CPython itself (only here,
//! never in the library); everything else is [`iiswsgi::cli::main`], which
//! the extension module (pyext/) runs under a host Python too.

use std::process::ExitCode;

fn main() -> ExitCode {
    match iiswsgi::cli::Host::standalone() {
        Ok(host) => ExitCode::from(iiswsgi::cli::main(std::env::args_os(), &host)),
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
    }
}
