//! `iiswsgi install-msdeploy`: set the application up in its folder.

use super::project_args::{AppcmdArgs, ProjectArgs};
use crate::msdeploy::install::{self, InstallMsdeploy};
use anyhow::Context as _;
use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct InstallMsdeployArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(flatten)]
    pub appcmd: AppcmdArgs,
    /// Write web.config but do not register its FastCGI applications in IIS.
    #[arg(long)]
    pub skip_fcgi_app_install: bool,
    /// Do not run test-msdeploy at the end.
    #[arg(long)]
    pub skip_test: bool,
}

pub fn run(args: InstallMsdeployArgs, host: &super::Host) -> anyhow::Result<()> {
    let project = args.project.load()?;
    let appcmd = if args.skip_fcgi_app_install { None } else { Some(args.appcmd.locate()?) };
    let tester = (!args.skip_test).then(|| host.this.clone());
    let options = InstallMsdeploy { python: args.project.python.clone(), appcmd: appcmd.as_ref(), tester };
    install::install_msdeploy(&project, &options).context("install-msdeploy failed")
}
