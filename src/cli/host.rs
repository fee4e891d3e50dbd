//! The process the command line runs in: the standalone `iiswsgi` binary,
//! which starts CPython itself, or a Python that imported the extension
//! module (`python -m iiswsgi`, the wheel's console scripts), whose
//! interpreter is already running.

use crate::self_command::SelfCommand;
use anyhow::Context as _;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Standalone,
    Hosted,
}

#[derive(Debug, Clone)]
pub struct Host {
    pub form: Form,
    /// How to run this iiswsgi again.
    pub this: SelfCommand,
    /// The mock appcmd that comes with it.
    pub appcmd: PathBuf,
    /// The environment of the Python this iiswsgi runs with: the host's
    /// `sys.prefix`, or for the binary `VIRTUAL_ENV`. The emulator maps an
    /// old project's Windows Python paths onto it.
    pub python_home: Option<PathBuf>,
}

fn appcmd_in(dir: &Path) -> PathBuf {
    dir.join(format!("iiswsgi-appcmd{}", std::env::consts::EXE_SUFFIX))
}

impl Host {
    /// The standalone binary; the mock appcmd is built beside it.
    pub fn standalone() -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("Cannot find the iiswsgi executable")?;
        let appcmd = appcmd_in(exe.parent().unwrap_or(Path::new(".")));
        let python_home = std::env::var_os("VIRTUAL_ENV").filter(|v| !v.is_empty()).map(PathBuf::from);
        Ok(Self { form: Form::Standalone, this: SelfCommand::standalone(exe), appcmd, python_home })
    }

    /// A host Python: `python` is its `sys.executable`, `prefix` its
    /// `sys.prefix`, `scripts` the folder its console scripts
    /// (`iiswsgi-appcmd`) are installed in.
    pub fn hosted(python: PathBuf, prefix: PathBuf, scripts: &Path) -> Self {
        let appcmd = appcmd_in(scripts);
        Self { form: Form::Hosted, this: SelfCommand::hosted(python), appcmd, python_home: Some(prefix) }
    }

    /// Makes the interpreter ready for `serve` and `test-msdeploy`: the
    /// binary starts it in the venv asked for (`--venv`, else
    /// `VIRTUAL_ENV`); a host Python is already running and cannot switch.
    #[cfg(feature = "python")]
    pub fn start_python(&self, venv_flag: Option<&Path>) -> anyhow::Result<()> {
        let venv_env = std::env::var_os("VIRTUAL_ENV").filter(|v| !v.is_empty()).map(PathBuf::from);
        let info = match self.form {
            Form::Standalone => {
                #[cfg(feature = "embed")]
                {
                    crate::wsgi::interpreter::initialize(venv_flag.or(venv_env.as_deref()))?
                }
                #[cfg(not(feature = "embed"))]
                anyhow::bail!("This iiswsgi cannot start Python itself (built without feature `embed`)")
            }
            Form::Hosted => crate::wsgi::runtime::check_hosted_venv(venv_flag, venv_env.as_deref())?,
        };
        tracing::info!("interpreter: {info}");
        Ok(())
    }
}
