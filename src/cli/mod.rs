//! Command-line definitions (clap derive; doc comments are the help text)
//! and the code that turns them into a running command. The only module
//! that uses `anyhow`.

pub mod bdist_msdeploy;
pub mod build_msdeploy;
pub mod emulate;
pub mod enable;
pub mod install;
pub mod install_msdeploy;
pub mod msdeploy_options;
pub mod project_args;
pub mod serve;
pub mod test_msdeploy;
pub mod webpi;

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
}
