//! Options every packaging command shares.

use anyhow::Context as _;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Clone, Args)]
pub struct ProjectArgs {
    /// The project folder (default: the current one).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub project: PathBuf,
    /// The Python that reads a setup.py project and runs pip (under a
    /// Python that runs iiswsgi, that one).
    #[arg(long, value_name = "PYTHON", default_value = "python3", env = "IISWSGI_PYTHON", hide_env_values = true)]
    pub python: PathBuf,
}

impl ProjectArgs {
    pub fn load(&self) -> anyhow::Result<crate::project::Project> {
        crate::project::Project::load(&self.project, &self.python)
            .with_context(|| format!("Cannot read the project in {}", self.project.display()))
    }
}

#[derive(Debug, Clone, Args)]
pub struct AppcmdArgs {
    /// The appcmd to run, with any leading arguments
    /// (`"iiswsgi-appcmd /apphostconfig:PATH"`); default: `IISWSGI_APPCMD`,
    /// else `%IIS_BIN%\appcmd.exe`, else `%WINDIR%\System32\inetsrv\appcmd.exe`.
    #[arg(long, value_name = "COMMAND")]
    pub appcmd: Option<String>,
}

impl AppcmdArgs {
    pub fn locate(&self) -> anyhow::Result<crate::msdeploy::appcmd::Appcmd> {
        Ok(crate::msdeploy::appcmd::Appcmd::locate(self.appcmd.as_deref())?)
    }
}
