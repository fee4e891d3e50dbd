//! The `iiswsgi` binary: parse arguments, start the interpreter (only here,
//! never in the library), run the command, print errors once.

use clap::Parser;
use iiswsgi::cli::{
    bdist_msdeploy, build_msdeploy, emulate, enable, install, install_msdeploy, msdeploy_options, serve, test_msdeploy,
    webpi, Cli, Command,
};
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
        Command::BuildMsdeploy(args) => build_msdeploy::run(args),
        Command::BdistWebpi(args) => webpi::bdist_webpi(&args).map(|_| ()),
        Command::CleanWebpi(args) => webpi::clean_webpi(&args),
        Command::Webpi(args) => webpi::webpi(args),
        Command::BdistMsdeploy(args) => bdist_msdeploy::run(args),
        Command::Install(args) => install::run(args),
        Command::InstallMsdeploy(args) => install_msdeploy::run(args),
        Command::Enable(args) => enable::enable(args),
        Command::Disable(args) => enable::disable(args),
        Command::TestMsdeploy(args) => {
            let (project, choice) = test_msdeploy::prepare(&args)?;
            #[cfg(feature = "python")]
            if choice != test_msdeploy::Choice::Nothing {
                let info = iiswsgi::wsgi::interpreter::initialize(args.venv().as_deref())?;
                tracing::info!("interpreter: {info}");
            }
            test_msdeploy::run(args, project, choice)
        }
    }
}
