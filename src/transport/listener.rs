use super::{BindAddr, Error, Mode, Stream, Transport};
use std::net::IpAddr;
use std::path::PathBuf;
use tokio::net::TcpListener;
#[cfg(unix)]
use tokio::net::UnixListener;

/// `FCGI_WEB_SERVER_ADDRS`: the spec's list of web servers allowed to
/// connect over TCP. Unset means anyone may.
#[derive(Debug, Clone, Default)]
pub struct PeerFilter(Option<Vec<IpAddr>>);

impl PeerFilter {
    pub fn parse(list: Option<&str>) -> Result<Self, Error> {
        let Some(list) = list.filter(|l| !l.trim().is_empty()) else {
            return Ok(Self(None));
        };
        list.split(',')
            .map(str::trim)
            .map(|entry| entry.parse().map_err(|_| Error::WebServerAddr(entry.to_string())))
            .collect::<Result<_, _>>()
            .map(|addrs| Self(Some(addrs)))
    }

    pub fn from_env() -> Result<Self, Error> {
        Self::parse(std::env::var("FCGI_WEB_SERVER_ADDRS").ok().as_deref())
    }

    pub fn allows(&self, peer: IpAddr) -> bool {
        let peer = match peer {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(peer),
            v4 => v4,
        };
        self.0.as_ref().is_none_or(|allowed| allowed.contains(&peer))
    }
}

enum Socket {
    Tcp(TcpListener),
    #[cfg(unix)]
    Unix(UnixListener),
}

/// A listening socket outside the async runtime, non-blocking: one
/// inherited on stdin, kept so until the first accept because registering
/// it with tokio needs the runtime, which starts later (only Unix web
/// servers hand over sockets); or one taken for the application threads to
/// serve themselves ([`Listener::take_std`]).
#[cfg_attr(not(unix), allow(dead_code))]
pub enum StdListener {
    Tcp(std::net::TcpListener),
    #[cfg(unix)]
    Unix(std::os::unix::net::UnixListener),
}

impl StdListener {
    fn register(self) -> std::io::Result<Socket> {
        Ok(match self {
            StdListener::Tcp(listener) => Socket::Tcp(TcpListener::from_std(listener)?),
            #[cfg(unix)]
            StdListener::Unix(listener) => Socket::Unix(UnixListener::from_std(listener)?),
        })
    }
}

/// A listening socket: handed over on stdin, or bound with `--bind`.
pub struct Listener {
    socket: Option<Socket>,
    inherited: Option<StdListener>,
    mode: Mode,
    filter: PeerFilter,
    description: String,
    /// A socket file this process created, removed again on exit.
    owned_path: Option<PathBuf>,
}

impl Listener {
    /// Listens on `addr`. A Unix socket gets `socket_mode` permissions; a stale
    /// socket file left by an earlier run is replaced, any other file is not.
    pub async fn bind(addr: &BindAddr, filter: PeerFilter, socket_mode: u32) -> Result<Self, Error> {
        let failed = |source| Error::Bind { addr: addr.to_string(), source };
        let mut description = format!("listening on {addr}");
        let (socket, owned_path) = match addr {
            BindAddr::Tcp(host_port) => {
                let listener = TcpListener::bind(host_port).await.map_err(failed)?;
                // The real address, so `--bind 127.0.0.1:0` says which port it got.
                description = format!("listening on {}", listener.local_addr().map_err(failed)?);
                (Socket::Tcp(listener), None)
            }
            #[cfg(unix)]
            BindAddr::Unix(path) => {
                use std::os::unix::fs::{FileTypeExt, PermissionsExt};
                if let Ok(meta) = std::fs::symlink_metadata(path) {
                    if meta.file_type().is_socket() {
                        std::fs::remove_file(path).map_err(failed)?;
                    }
                }
                let listener = UnixListener::bind(path).map_err(failed)?;
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(socket_mode)).map_err(failed)?;
                (Socket::Unix(listener), Some(path.clone()))
            }
            BindAddr::Http(_) => {
                return Err(failed(std::io::Error::other("an http:// address is served over HTTP, not FastCGI")))
            }
            #[cfg(not(unix))]
            BindAddr::Unix(_) => {
                let _ = socket_mode;
                return Err(failed(std::io::Error::other("unix sockets are not supported on this platform")));
            }
        };
        Ok(Self { socket: Some(socket), inherited: None, mode: Mode::Bind, filter, description, owned_path })
    }

    /// Wraps a socket that was already listening when the process started.
    #[cfg_attr(not(unix), allow(dead_code))]
    pub(crate) fn inherited_tcp(listener: std::net::TcpListener, filter: PeerFilter) -> std::io::Result<Self> {
        listener.set_nonblocking(true)?;
        let local = listener.local_addr()?;
        Ok(Self {
            socket: None,
            inherited: Some(StdListener::Tcp(listener)),
            mode: Mode::ListenSocket,
            filter,
            description: format!("listening socket on stdin ({local})"),
            owned_path: None,
        })
    }

    #[cfg(unix)]
    pub(crate) fn inherited_unix(listener: std::os::unix::net::UnixListener) -> std::io::Result<Self> {
        listener.set_nonblocking(true)?;
        let local = listener.local_addr()?;
        let path = local.as_pathname().map(|p| p.display().to_string()).unwrap_or_else(|| "unnamed".to_string());
        Ok(Self {
            socket: None,
            inherited: Some(StdListener::Unix(listener)),
            mode: Mode::ListenSocket,
            filter: PeerFilter::default(),
            description: format!("listening socket on stdin (unix:{path})"),
            owned_path: None,
        })
    }
}

impl Listener {
    /// The socket, for serving without the async runtime, and the peers it
    /// may accept; the listener keeps owning the socket file. `None` if it
    /// was taken before.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    pub fn take_std(&mut self) -> std::io::Result<Option<(StdListener, PeerFilter)>> {
        let socket = match (self.inherited.take(), self.socket.take()) {
            (Some(inherited), _) => inherited,
            (None, Some(Socket::Tcp(listener))) => StdListener::Tcp(listener.into_std()?),
            #[cfg(unix)]
            (None, Some(Socket::Unix(listener))) => StdListener::Unix(listener.into_std()?),
            (None, None) => return Ok(None),
        };
        Ok(Some((socket, self.filter.clone())))
    }
}

impl Transport for Listener {
    type Stream = Box<dyn Stream>;

    fn mode(&self) -> Mode {
        self.mode
    }

    fn describe(&self) -> String {
        self.description.clone()
    }

    async fn accept(&mut self) -> std::io::Result<Option<Box<dyn Stream>>> {
        if let Some(inherited) = self.inherited.take() {
            self.socket = Some(inherited.register()?);
        }
        let Some(socket) = &self.socket else { return Ok(None) };
        loop {
            match socket {
                Socket::Tcp(listener) => {
                    let (stream, peer) = listener.accept().await?;
                    if !self.filter.allows(peer.ip()) {
                        tracing::warn!("refused connection from {peer}: not in FCGI_WEB_SERVER_ADDRS");
                        continue;
                    }
                    stream.set_nodelay(true)?;
                    return Ok(Some(Box::new(stream)));
                }
                #[cfg(unix)]
                Socket::Unix(listener) => {
                    let (stream, _) = listener.accept().await?;
                    return Ok(Some(Box::new(stream)));
                }
            }
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Some(path) = &self.owned_path {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_server_addrs_restrict_peers() {
        let filter = PeerFilter::parse(Some("127.0.0.1, 10.0.0.2")).unwrap();
        assert!(filter.allows("127.0.0.1".parse().unwrap()));
        assert!(filter.allows("::ffff:10.0.0.2".parse().unwrap()));
        assert!(!filter.allows("10.0.0.3".parse().unwrap()));
        assert!(PeerFilter::parse(None).unwrap().allows("192.0.2.1".parse().unwrap()));
        assert!(matches!(PeerFilter::parse(Some("127.0.0.1,bogus")), Err(Error::WebServerAddr(e)) if e == "bogus"));
    }
}
