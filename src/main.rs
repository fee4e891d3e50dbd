//! The `iiswsgi` binary: parse arguments, start the interpreter (only here,
//! never in the library), run the command, print errors once.

use clap::Parser;
use iiswsgi::cli::{emulate, msdeploy_options, serve, Cli, Command};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  Caused by: {cause}");
            }
            tracing::error!("{err:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let prepared = serve::prepare(args)?;
            #[cfg(feature = "python")]
            if prepared.needs_python() {
                let info = iiswsgi::wsgi::interpreter::initialize(prepared.venv().as_deref())?;
                tracing::info!("interpreter: {info}");
            }
            serve::run(prepared)
        }
        Command::Emulate(args) => emulate::run(args),
        Command::MsdeployOptions(args) => msdeploy_options::run(args),
    }
}
