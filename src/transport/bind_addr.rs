use super::Error;
use std::path::PathBuf;
use std::str::FromStr;

/// The argument of `--bind`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindAddr {
    Unix(PathBuf),
    Tcp(String),
    /// `http://HOST:PORT`: HTTP/1.1 instead of FastCGI.
    Http(String),
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
        let (http, host_port) = match text.strip_prefix("http://") {
            Some(rest) => (true, rest.trim_end_matches('/')),
            None => (false, text),
        };
        match host_port.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
                Ok(if http { Self::Http(host_port.to_string()) } else { Self::Tcp(host_port.to_string()) })
            }
            _ => Err(Error::BindAddr(text.to_string())),
        }
    }
}

impl std::fmt::Display for BindAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unix(path) => write!(f, "unix:{}", path.display()),
            Self::Tcp(addr) => f.write_str(addr),
            Self::Http(addr) => write!(f, "http://{addr}"),
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
        assert_eq!("http://127.0.0.1:8000/".parse::<BindAddr>().unwrap(), BindAddr::Http("127.0.0.1:8000".into()));
        for bad in ["unix:", "9000", "host:", ":80", "host:99999", "http://", "http://host"] {
            assert!(bad.parse::<BindAddr>().is_err(), "{bad}");
        }
    }
}
