use super::Error;
use std::path::PathBuf;
use std::str::FromStr;

/// The argument of `--bind`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindAddr {
    Unix(PathBuf),
    Tcp(String),
}

impl FromStr for BindAddr {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        if let Some(path) = text.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(Error::BindAddr(text.to_string()));
            }
            return Ok(Self::Unix(PathBuf::from(path)));
        }
        match text.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(Self::Tcp(text.to_string())),
            _ => Err(Error::BindAddr(text.to_string())),
        }
    }
}

impl std::fmt::Display for BindAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unix(path) => write!(f, "unix:{}", path.display()),
            Self::Tcp(addr) => f.write_str(addr),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_forms() {
        assert_eq!("unix:/run/a.sock".parse::<BindAddr>().unwrap(), BindAddr::Unix("/run/a.sock".into()));
        assert_eq!("127.0.0.1:9000".parse::<BindAddr>().unwrap(), BindAddr::Tcp("127.0.0.1:9000".into()));
        assert_eq!("[::1]:9000".parse::<BindAddr>().unwrap(), BindAddr::Tcp("[::1]:9000".into()));
        for bad in ["unix:", "9000", "host:", ":80", "host:99999"] {
            assert!(bad.parse::<BindAddr>().is_err(), "{bad}");
        }
    }
}
