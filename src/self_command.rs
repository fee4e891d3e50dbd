//! How to run this iiswsgi again. The commands that start iiswsgi as a
//! child process (the emulator's synthesized FastCGI application, the
//! registration `enable` writes, the install check, `install` running
//! install-msdeploy) name the form that is running: the standalone binary,
//! or the Python that hosts the extension module, as `python -m iiswsgi`.

use std::path::PathBuf;
use std::process::Command;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelfCommand {
    /// The binary, or the host's `sys.executable`.
    pub program: PathBuf,
    /// What comes before the subcommand: nothing, or `-m iiswsgi`.
    pub leading: Vec<String>,
}

impl SelfCommand {
    pub fn standalone(exe: PathBuf) -> Self {
        Self { program: exe, leading: Vec::new() }
    }

    /// `python -m iiswsgi`. Not the `iiswsgi` console script: on Windows
    /// pip's launcher starts python as a child process of its own, one
    /// process more between IIS and the app.
    pub fn hosted(python: PathBuf) -> Self {
        Self { program: python, leading: vec!["-m".into(), "iiswsgi".into()] }
    }

    /// A command that runs iiswsgi; add the subcommand and its arguments.
    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.args(&self.leading);
        command
    }

    /// A FastCGI `arguments` attribute running iiswsgi with `arguments`
    /// (such as `serve`), for `fullPath` = [`SelfCommand::program`].
    pub fn fastcgi_arguments(&self, arguments: &str) -> String {
        self.leading
            .iter()
            .map(String::as_str)
            .chain([arguments])
            .filter(|a| !a.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fastcgi_arguments_name_the_running_form() {
        assert_eq!(SelfCommand::standalone("/usr/bin/iiswsgi".into()).fastcgi_arguments("serve"), "serve");
        let hosted = SelfCommand::hosted(r"C:\site\.venv\Scripts\python.exe".into());
        assert_eq!(hosted.fastcgi_arguments("serve --threads 4"), "-m iiswsgi serve --threads 4");
        let command = hosted.command();
        assert_eq!(command.get_args().collect::<Vec<_>>(), ["-m", "iiswsgi"]);
    }
}
