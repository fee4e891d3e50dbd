use std::path::PathBuf;

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{}: {}", path.display(), source.line, source.message)]
    Config { path: PathBuf, source: iiswsgi_proto::iis::XmlError },
    #[error("{} defines no site{}", path.display(), name.as_deref().map(|n| format!(" named `{n}`")).unwrap_or_default())]
    NoSite { path: PathBuf, name: Option<String> },
    #[error("site `{site}` has no root application with a root virtual directory")]
    NoRoot { site: String },
    #[error("{} is not a directory", path.display())]
    NotADirectory { path: PathBuf },
    #[error("cannot listen on {addr}")]
    Listen {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the access log {}", path.display())]
    AccessLog {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
