//! Building, packaging and installing Web Deploy packages, the I/O side
//! (the formats themselves are in `iiswsgi_proto::msdeploy`).

pub mod appcmd;
pub mod build;
pub mod discover;
mod files;
pub use files::write_atomically;
pub mod install;
pub mod manifest_in;
pub mod package;
pub mod register;

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{} is missing: a Web Deploy package needs one", path.display())]
    MissingTemplate { path: PathBuf },
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}: {message}", path.display())]
    Invalid { path: PathBuf, line: usize, message: String },
    #[error("{} leads outside {}", path.display(), root.display())]
    Escapes { path: PathBuf, root: PathBuf },
    #[error("cannot write the package {}", path.display())]
    Zip {
        path: PathBuf,
        #[source]
        source: zip::result::ZipError,
    },
    #[error(transparent)]
    Appcmd(#[from] appcmd::Error),
    #[error(transparent)]
    Discovery(Box<discover::DiscoveryError>),
    #[error("`{command}` failed{}", code.map(|c| format!(" with exit code {c}")).unwrap_or_default())]
    Command { command: String, code: Option<i32> },
    #[error("cannot run `{command}`")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
}
