//! Command-line definitions (clap derive; doc comments are the help text)
//! and the code that turns them into a running command. The only module
//! that uses `anyhow`.

pub mod bdist_msdeploy;
pub mod build_msdeploy;
pub mod doctor;
pub mod emulate;
pub mod enable;
pub mod host;
pub mod install;
pub mod install_msdeploy;
pub mod msdeploy_options;
pub mod project_args;
pub mod serve;
pub mod test_msdeploy;
pub mod webpi;

use clap::{Parser, Subcommand};
pub use host::{Form, Host};

#[derive(Debug, Parser)]
#[command(name = "iiswsgi", version, about = "Serve Python WSGI apps on IIS and other FastCGI web servers")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The FastCGI gateway: serve a WSGI app to IIS (stdin pipe), to a
    /// server that hands over a listening socket, or on `--bind`.
    Serve(serve::ServeArgs),
    /// Run a site in the IIS emulator: IIS's configuration, handler
    /// mapping and FastCGI process management, for local debugging.
    Emulate(emulate::EmulateArgs),
    /// Write Manifest.xml and iis_install.stamp from their templates.
    BuildMsdeploy(project_args::ProjectArgs),
    /// Build, check the install in a scratch copy, and write the package zip.
    BdistMsdeploy(bdist_msdeploy::BdistMsdeployArgs),
    /// Find the application's folder (as Web Deploy's runCommand gives no
    /// hint) and install there.
    Install(install::InstallArgs),
    /// Install dependencies, write web.config, register its FastCGI
    /// applications with IIS, run post-install commands and the test.
    InstallMsdeploy(install_msdeploy::InstallMsdeployArgs),
    /// Load the app and make one request through the gateway.
    TestMsdeploy(test_msdeploy::TestMsdeployArgs),
    /// Register this iiswsgi as a FastCGI application in IIS.
    Enable(enable::EnableArgs),
    /// Remove what `enable` registered.
    Disable(enable::EnableArgs),
    /// Write a WebPI feed (and SHA256SUMS) for built msdeploy packages.
    BdistWebpi(webpi::BdistWebpiArgs),
    /// Remove what WebPI cached for these packages and this feed.
    CleanWebpi(webpi::CleanWebpiArgs),
    /// bdist-msdeploy for each package, bdist-webpi, then clean-webpi.
    Webpi(webpi::WebpiArgs),
    /// Decode or encode a manifest's `MSDeploy.MSDeployProviderOptions`.
    MsdeployOptions(msdeploy_options::MsdeployOptionsArgs),
    /// Check a site as IIS will meet it (configuration, handler, FastCGI
    /// registration, program, venv, app loading, log file) and print
    /// each problem with its fix; exit status 1 when any is an error.
    Doctor(doctor::DoctorArgs),
}

/// The whole command line, in both forms (the binary's `main`, and the
/// extension module's `main` under a host Python): parses `argv`, runs
/// the command, prints an error once. Returns the exit status: 0, 1 for a
/// failed command, clap's 2 for a usage error (0 for `--help`).
pub fn main<I, T>(argv: I, host: &Host) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return u8::try_from(err.exit_code()).unwrap_or(2);
        }
    };
    match cli.command {
        // Its findings are its output: an error among them is exit status 1.
        Command::Doctor(args) => doctor::run(args, host).unwrap_or_else(|err| report(Err(err))),
        command => report(run(Cli { command }, host)),
    }
}

/// Logging for the commands a person watches: stderr, `info` and up, more
/// with each `-v`; `RUST_LOG` overrides.
fn log_to_stderr(verbose: u8) {
    log_to_stderr_above("info", verbose);
}

/// [`log_to_stderr`] from `quiet` when no `-v` is given.
fn log_to_stderr_above(quiet: &str, verbose: u8) {
    let level = match verbose {
        0 => quiet,
        1 => "debug",
        _ => "trace",
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| level.into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// The exit status of a command's outcome; an error is printed once.
fn report(outcome: anyhow::Result<()>) -> u8 {
    match outcome {
        Ok(()) => 0,
        Err(err) => {
            eprintln!("error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  Caused by: {cause}");
            }
            tracing::error!("{err:#}");
            1
        }
    }
}

/// Runs a parsed command.
pub fn run(cli: Cli, host: &Host) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let prepared = serve::prepare(args)?;
            #[cfg(feature = "python")]
            if prepared.needs_python() {
                host.start_python(prepared.args.venv.as_deref())?;
            }
            serve::run(prepared)
        }
        Command::Emulate(args) => emulate::run(args, host),
        Command::Doctor(args) => doctor::run(args, host).map(drop),
        Command::MsdeployOptions(args) => msdeploy_options::run(args),
        Command::BuildMsdeploy(args) => build_msdeploy::run(args),
        Command::BdistWebpi(args) => webpi::bdist_webpi(&args).map(|_| ()),
        Command::CleanWebpi(args) => webpi::clean_webpi(&args),
        Command::Webpi(args) => webpi::webpi(args, host),
        Command::BdistMsdeploy(args) => bdist_msdeploy::run(args, host),
        Command::Install(args) => install::run(args, host),
        Command::InstallMsdeploy(args) => install_msdeploy::run(args, host),
        Command::Enable(args) => enable::enable(args, host),
        Command::Disable(args) => enable::disable(args, host),
        Command::TestMsdeploy(args) => {
            let (project, choice) = test_msdeploy::prepare(&args)?;
            #[cfg(feature = "python")]
            if choice != test_msdeploy::Choice::Nothing {
                host.start_python(args.venv.as_deref())?;
            }
            test_msdeploy::run(args, project, choice)
        }
    }
}
