//! Command-line definitions (clap derive; doc comments are the help text)
//! and the code that turns them into a running command. The only module
//! that uses `anyhow`.

pub mod emulate;
pub mod msdeploy_options;
pub mod serve;

use clap::{Parser, Subcommand};

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
    /// Decode or encode a manifest's `MSDeploy.MSDeployProviderOptions`.
    MsdeployOptions(msdeploy_options::MsdeployOptionsArgs),
}
