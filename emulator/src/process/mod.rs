//! Starting and stopping one FastCGI process the way IIS does: the
//! executable named by `fullPath` (no PATH search), `arguments` split as the
//! child's C runtime will split them, the folder of `fullPath` as working
//! directory, the emulator's environment plus `<environmentVariables>`,
//! stdin connected to the server, stdout and stderr not connected.

#[cfg(unix)]
mod unix;
#[cfg(windows)]
mod windows;

use crate::old_python::{map_path, map_word, PythonHome};
use crate::site::{expand, expand_path};
use iiswsgi_proto::iis::{split_arguments, FastCgiApplication};
use std::path::PathBuf;
use std::time::Duration;

#[cfg(unix)]
pub use unix::Channel;
#[cfg(windows)]
pub use windows::Channel;

/// Everything needed to start an instance of one application.
#[derive(Debug, Clone)]
pub struct Launch {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub cwd: PathBuf,
    pub env: Vec<(String, String)>,
    /// `signalBeforeTerminateSeconds`: 0 kills at once.
    pub grace: Duration,
}

impl Launch {
    /// IIS refuses a `fullPath` that is not a full path; so does this. An
    /// old project's Windows Python paths are mapped onto `python_home`;
    /// iiswsgi itself, named where it is not, is the iiswsgi that runs the
    /// emulator (`gateway`).
    pub fn new(
        app: &FastCgiApplication,
        python_home: Option<&PythonHome>,
        gateway: &crate::Gateway,
    ) -> Result<Self, String> {
        let mut program = map_path(python_home, expand_path(&app.full_path));
        let mut args: Vec<String> =
            split_arguments(&expand(&app.arguments)).iter().map(|word| map_word(python_home, word)).collect();
        if !program.exists() && !gateway.full_path.as_os_str().is_empty() {
            if let Some(rest) = crate::synthesized::iiswsgi_itself(&program, &args) {
                program = gateway.full_path.clone();
                args = gateway.leading.iter().cloned().chain(rest).collect();
            }
        }
        if !program.is_absolute() {
            return Err(format!("fullPath `{}` is not an absolute path", app.full_path));
        }
        let cwd = program.parent().map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/"));
        Ok(Self {
            program,
            args,
            cwd,
            env: app.environment_variables.clone(),
            grace: Duration::from_secs(u64::from(app.signal_before_terminate_seconds)),
        })
    }
}

/// A running FastCGI process and the server's end of its connection.
pub struct Process {
    child: tokio::process::Child,
    pub channel: Channel,
    pub pid: u32,
    grace: Duration,
    #[cfg(windows)]
    shutdown_event: Option<windows::Event>,
}

impl Process {
    pub fn spawn(launch: &Launch) -> std::io::Result<Self> {
        let mut command = tokio::process::Command::new(&launch.program);
        command
            .args(&launch.args)
            .current_dir(&launch.cwd)
            .envs(launch.env.iter().map(|(k, v)| (k, v)))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true);
        #[cfg(unix)]
        {
            let channel = unix::connect(&mut command)?;
            let child = command.spawn()?;
            let pid = child.id().unwrap_or_default();
            Ok(Self { child, channel, pid, grace: launch.grace })
        }
        #[cfg(windows)]
        {
            let (channel, shutdown_event) = windows::connect(&mut command, !launch.grace.is_zero())?;
            let child = command.spawn()?;
            let pid = child.id().unwrap_or_default();
            Ok(Self { child, channel, pid, grace: launch.grace, shutdown_event })
        }
    }

    /// The exit code, if the process has exited.
    pub fn exit_code(&mut self) -> Option<i32> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(exit_code(status)),
            Ok(None) => None,
            Err(_) => Some(-1),
        }
    }

    /// Waits up to `limit` for the process to exit and returns its code.
    pub async fn wait_for_exit(&mut self, limit: Duration) -> Option<i32> {
        tokio::time::timeout(limit, self.child.wait()).await.ok().and_then(Result::ok).map(exit_code)
    }

    /// Ends the process as IIS does: with `signalBeforeTerminateSeconds`,
    /// signal it (SIGTERM on Unix, the shutdown event on Windows), wait that
    /// long, then kill; without, kill at once.
    pub async fn terminate(mut self) {
        if !self.grace.is_zero() {
            #[cfg(unix)]
            unix::signal_terminate(self.pid);
            #[cfg(windows)]
            if let Some(event) = &self.shutdown_event {
                event.set();
            }
            if self.wait_for_exit(self.grace).await.is_some() {
                return;
            }
        }
        let _ = self.child.kill().await;
    }
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        status.code().or_else(|| status.signal().map(|s| 128 + s)).unwrap_or(-1)
    }
    #[cfg(windows)]
    {
        status.code().unwrap_or(-1)
    }
}
