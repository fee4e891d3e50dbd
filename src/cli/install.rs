//! `iiswsgi install`: what Web Deploy's runCommand runs. It finds the
//! application's folder (APPL_PHYSICAL_PATH, else the virtual directory
//! holding `iis_install.stamp`), then installs there.

use super::project_args::AppcmdArgs;
use crate::msdeploy::install::{self, Install};
use anyhow::Context as _;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Clone, Args)]
pub struct InstallArgs {
    /// Only consider the application of this project (or whose IIS path's
    /// last segment or folder is NAME).
    #[arg(short = 'a', long, value_name = "NAME")]
    pub app_name: Option<String>,
    /// Go on when the stamp file is missing.
    #[arg(short = 'i', long)]
    pub ignore_stamp: bool,
    /// Create a venv (`.venv`) in the application folder and install the
    /// application and its dependencies into it.
    #[arg(short = 'e', long)]
    pub virtualenv: bool,
    /// The Python that makes the venv and runs pip (under a Python that
    /// runs iiswsgi, that one).
    #[arg(long, value_name = "PYTHON", default_value = "python3", env = "IISWSGI_PYTHON", hide_env_values = true)]
    pub python: PathBuf,
    #[command(flatten)]
    pub appcmd: AppcmdArgs,
    /// More log detail on stderr (repeat for more; the original's `-v`).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// A command to run in the application folder instead of install-msdeploy.
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

pub fn run(args: InstallArgs, host: &super::Host) -> anyhow::Result<()> {
    super::log_to_stderr(args.verbose);
    let options = Install {
        app_name: args.app_name.as_deref(),
        ignore_stamp: args.ignore_stamp,
        virtualenv: args.virtualenv,
        python: args.python.clone(),
        appcmd: args.appcmd.appcmd.clone(),
        command: args.command.clone(),
        gateway: host.this.clone(),
    };
    let dir = install::install(&options).context("install failed")?;
    println!("installed {}", dir.display());
    Ok(())
}
