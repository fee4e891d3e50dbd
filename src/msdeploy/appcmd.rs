//! Running appcmd: the real `appcmd.exe`, or any command given with
//! `--appcmd` / `IISWSGI_APPCMD` (which may carry leading arguments, such
//! as `iiswsgi-appcmd /apphostconfig:PATH`).

use std::path::PathBuf;
use std::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no appcmd: give --appcmd or set IISWSGI_APPCMD (looked for {})", looked.join(", "))]
    NotFound { looked: Vec<String> },
    #[error("cannot run `{command}`")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed with exit code {code}: {output}")]
    Failed { command: String, code: i32, output: String },
    #[error("`{command}` printed something unexpected: {message}")]
    Unexpected { command: String, message: String },
}

/// How to invoke appcmd.
#[derive(Debug, Clone)]
pub struct Appcmd {
    program: PathBuf,
    leading: Vec<String>,
    /// Arguments every call ends with (enable's pass-through).
    trailing: Vec<String>,
}

/// Splits a command given as one string into program and arguments:
/// Windows rules on Windows, shell-like whitespace and quotes elsewhere.
fn split_command(text: &str) -> Vec<String> {
    iiswsgi_proto::iis::split_arguments(text)
}

impl Appcmd {
    /// `--appcmd`, else `IISWSGI_APPCMD`, else IIS's appcmd.exe.
    pub fn locate(given: Option<&str>) -> Result<Self, Error> {
        let text =
            given.map(str::to_string).or_else(|| std::env::var("IISWSGI_APPCMD").ok().filter(|v| !v.trim().is_empty()));
        if let Some(text) = text {
            let mut parts = split_command(&text);
            if parts.is_empty() {
                return Err(Error::NotFound { looked: vec!["--appcmd (empty)".into()] });
            }
            let program = PathBuf::from(parts.remove(0));
            return Ok(Self { program, leading: parts, trailing: Vec::new() });
        }
        let mut looked = Vec::new();
        for (var, tail) in [("IIS_BIN", "appcmd.exe"), ("WINDIR", r"System32\inetsrv\appcmd.exe")] {
            match std::env::var(var) {
                Ok(base) => {
                    let candidate = PathBuf::from(base).join(tail);
                    if candidate.is_file() {
                        return Ok(Self { program: candidate, leading: Vec::new(), trailing: Vec::new() });
                    }
                    looked.push(candidate.display().to_string());
                }
                Err(_) => looked.push(format!("%{var}%\\{tail} (%{var}% is not set)")),
            }
        }
        Err(Error::NotFound { looked })
    }

    /// The applicationHost.config this appcmd edits: its
    /// `/apphostconfig:PATH`, else IIS's own under `%WINDIR%`.
    pub fn app_host_config(&self) -> Option<PathBuf> {
        let given = self.leading.iter().chain(&self.trailing).find_map(|arg| {
            let (switch, path) = arg.split_once(':')?;
            switch.trim_start_matches(['/', '-']).eq_ignore_ascii_case("apphostconfig").then(|| PathBuf::from(path))
        });
        given.or_else(|| {
            let windir = std::env::var_os("WINDIR")?;
            Some(PathBuf::from(windir).join(r"System32\inetsrv\config\applicationHost.config"))
        })
    }

    /// Adds arguments every call ends with (enable's pass-through).
    pub fn with_args(mut self, extra: &[String]) -> Self {
        self.trailing.extend(extra.iter().cloned());
        self
    }

    fn describe(&self, args: &[String]) -> String {
        std::iter::once(self.program.display().to_string())
            .chain(self.leading.iter().cloned())
            .chain(args.iter().cloned())
            .chain(self.trailing.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Runs appcmd; returns its stdout, or its `ERROR ( ... )` text as an error.
    pub fn run(&self, args: &[String]) -> Result<String, Error> {
        let command = self.describe(args);
        tracing::info!("running {command}");
        let output = Command::new(&self.program)
            .args(&self.leading)
            .args(args)
            .args(&self.trailing)
            .output()
            .map_err(|source| Error::Spawn { command: command.clone(), source })?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if !output.status.success() {
            let text =
                if stdout.trim().is_empty() { String::from_utf8_lossy(&output.stderr).into_owned() } else { stdout };
            return Err(Error::Failed {
                command,
                code: output.status.code().unwrap_or(-1),
                output: text.trim().to_string(),
            });
        }
        Ok(stdout)
    }

    /// Like [`Appcmd::run`], but a failure whose text says the element is
    /// missing is `Ok(false)` (removing what is not there).
    pub fn run_allowing_missing(&self, args: &[String]) -> Result<bool, Error> {
        match self.run(args) {
            Ok(_) => Ok(true),
            Err(Error::Failed { output, .. }) if output.contains("Cannot find requested collection element") => {
                Ok(false)
            }
            Err(other) => Err(other),
        }
    }

    pub fn command_line(&self, args: &[String]) -> String {
        self.describe(args)
    }

    pub fn unexpected(&self, args: &[String], message: impl Into<String>) -> Error {
        Error::Unexpected { command: self.describe(args), message: message.into() }
    }
}
