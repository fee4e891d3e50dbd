//! The contract of the IIS module that started this process, when one did:
//! HttpPlatformHandler (`HTTP_PLATFORM_PORT`) or the ASP.NET Core Module
//! out of process (`ASPNETCORE_PORT`, `ASPNETCORE_TOKEN`,
//! `ASPNETCORE_APPL_PATH`). Sources, in dotnet/aspnetcore
//! `src/Servers/IIS/AspNetCoreModuleV2/OutOfProcessRequestHandler/`:
//! `serverprocess.cpp` (the variables), `forwardinghandler.cpp`
//! `GetHeaders` (the headers on every request), `serverprocess.cpp`
//! `SendShutdownHttpMessage` (the graceful stop); HttpPlatformHandler v1.2:
//! iis-docs `httpplatformhandler-configuration-reference.md`.

use std::net::{IpAddr, SocketAddr};

/// ANCM's secret on every request (`ASPNETCORE_TOKEN`'s value).
const TOKEN_HEADER: http::HeaderName = http::HeaderName::from_static("ms-aspnetcore-token");
/// ANCM's graceful stop: `shutdown`.
const EVENT_HEADER: http::HeaderName = http::HeaderName::from_static("ms-aspnetcore-event");

/// Which module, and what it told us.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Module {
    pub kind: Option<Kind>,
    /// `ASPNETCORE_TOKEN`: every request must carry it in
    /// `MS-ASPNETCORE-TOKEN`, so nothing else on the machine reaches the app
    /// behind IIS's back.
    pub token: Option<String>,
    /// `ASPNETCORE_APPL_PATH` or `HTTP_PLATFORM_APPL_PATH`: the IIS
    /// application's virtual path, which becomes SCRIPT_NAME.
    pub appl_path: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    HttpPlatform,
    AspNetCore,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::HttpPlatform => "HttpPlatformHandler",
            Kind::AspNetCore => "the ASP.NET Core Module",
        }
    }

    /// The request header carrying a Windows user's token (with
    /// `forwardWindowsAuthToken`): a handle value in hex, which the process
    /// must close. ANCM's name; HttpPlatformHandler v1.2 documents its own.
    pub fn auth_token_header(self) -> &'static str {
        match self {
            Kind::HttpPlatform => "x-iis-windowsauthtoken",
            Kind::AspNetCore => "ms-aspnetcore-winauthtoken",
        }
    }
}

/// Why the port variable could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{name}={value} is not a port number")]
pub struct BadPort {
    name: &'static str,
    value: String,
}

fn non_empty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Module {
    /// The module and the port it asked for, from the environment.
    pub fn from_env() -> Result<(Self, Option<u16>), BadPort> {
        let (kind, port_var, path_var) = if let Some(port) = non_empty("ASPNETCORE_PORT") {
            (Kind::AspNetCore, ("ASPNETCORE_PORT", port), "ASPNETCORE_APPL_PATH")
        } else if let Some(port) = non_empty("HTTP_PLATFORM_PORT") {
            (Kind::HttpPlatform, ("HTTP_PLATFORM_PORT", port), "HTTP_PLATFORM_APPL_PATH")
        } else {
            return Ok((Self::default(), None));
        };
        let (name, value) = port_var;
        let port = value.trim().parse().map_err(|_| BadPort { name, value: value.clone() })?;
        let token = match kind {
            Kind::AspNetCore => non_empty("ASPNETCORE_TOKEN"),
            Kind::HttpPlatform => None,
        };
        let appl_path = non_empty(path_var).map(|p| p.trim_end_matches('/').to_string()).filter(|p| !p.is_empty());
        Ok((Self { kind: Some(kind), token, appl_path }, Some(port)))
    }

    /// Whether the token matches; a process without one accepts all.
    pub fn token_matches(&self, headers: &http::HeaderMap) -> bool {
        match &self.token {
            Some(token) => headers.get(&TOKEN_HEADER).is_some_and(|sent| sent.as_bytes() == token.as_bytes()),
            None => true,
        }
    }

    /// `POST {appl_path}/iisintegration` with `MS-ASPNETCORE-EVENT:
    /// shutdown`: ANCM's request for a graceful stop (answered 202).
    pub fn is_shutdown_request(&self, method: &http::Method, path: &str, headers: &http::HeaderMap) -> bool {
        let event = || headers.get(&EVENT_HEADER).map(http::HeaderValue::as_bytes);
        let under_appl_path = || {
            let path = path.as_bytes();
            let prefix = self.appl_path.as_deref().unwrap_or("").as_bytes();
            path.len() > prefix.len()
                && path[..prefix.len()].eq_ignore_ascii_case(prefix)
                && path[prefix.len()..].eq_ignore_ascii_case(b"/iisintegration")
        };
        // Cheapest first: this runs for every request.
        self.kind == Some(Kind::AspNetCore)
            && method == http::Method::POST
            && event().is_some_and(|e| e.trim_ascii().eq_ignore_ascii_case(b"shutdown"))
            && under_appl_path()
    }

    /// Whether `X-Forwarded-*` may be believed: only from a loopback peer,
    /// and only under a module that sets them.
    pub fn trusts_forwarding_from(&self, peer: IpAddr) -> bool {
        self.kind.is_some() && peer.is_loopback()
    }
}

/// The client as the module saw it: the last `X-Forwarded-For` entry (ANCM
/// appends `<REMOTE_ADDR>:<REMOTE_PORT>` to what the client sent, which may
/// be anything), as an address and, where given, a port.
pub fn forwarded_client(header: &str) -> Option<(IpAddr, Option<u16>)> {
    let last = header.rsplit(',').next()?.trim();
    if let Ok(addr) = last.parse::<SocketAddr>() {
        return Some((addr.ip(), Some(addr.port())));
    }
    let bare = last.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>().ok().map(|ip| (ip, None))
}

/// The handle value of a forwarded Windows token header (hex, with no
/// `0x`, as ANCM writes it); zero or garbage is none. Windows resolves it
/// (`windows_auth`); elsewhere no module sends one.
#[cfg_attr(not(windows), allow(dead_code))]
pub fn token_handle(header: &[u8]) -> Option<usize> {
    let text = std::str::from_utf8(header).ok()?.trim();
    usize::from_str_radix(text.trim_start_matches("0x"), 16).ok().filter(|&h| h != 0)
}

/// The scheme the module saw: the last `X-Forwarded-Proto` entry.
pub fn forwarded_https(header: &str) -> bool {
    header.rsplit(',').next().is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_forwarded_entry_is_the_modules() {
        assert_eq!(forwarded_client("10.1.2.3:5000"), Some(("10.1.2.3".parse().unwrap(), Some(5000))));
        assert_eq!(forwarded_client("6.6.6.6, 10.1.2.3:5000").map(|c| c.0), Some("10.1.2.3".parse().unwrap()));
        assert_eq!(forwarded_client("[2001:db8::1]:443"), Some(("2001:db8::1".parse().unwrap(), Some(443))));
        assert_eq!(forwarded_client("192.0.2.7"), Some(("192.0.2.7".parse().unwrap(), None)));
        assert_eq!(forwarded_client("garbage"), None);
        assert_eq!(token_handle(b"1f4"), Some(0x1f4));
        assert_eq!(token_handle(b" 0x2A "), Some(42));
        assert_eq!(token_handle(b"0"), None);
        assert_eq!(token_handle(b"zz"), None);
        assert!(forwarded_https("http, https"));
        assert!(!forwarded_https("https, http"));
    }

    #[test]
    fn the_token_and_the_shutdown_request() {
        let module = Module {
            kind: Some(Kind::AspNetCore),
            token: Some("c2b1a0e4-0000-4000-8000-000000000001".into()),
            appl_path: Some("/app".into()),
        };
        let headers = |pairs: &[(&'static str, &'static str)]| {
            pairs.iter().map(|(n, v)| (http::HeaderName::from_static(n), http::HeaderValue::from_static(v))).collect()
        };
        let none = http::HeaderMap::new();
        assert!(module.token_matches(&headers(&[("ms-aspnetcore-token", "c2b1a0e4-0000-4000-8000-000000000001")])));
        assert!(!module.token_matches(&headers(&[("ms-aspnetcore-token", "wrong")])));
        assert!(!module.token_matches(&none));
        assert!(Module::default().token_matches(&none));
        let shutdown = headers(&[("ms-aspnetcore-event", "shutdown ")]);
        assert!(module.is_shutdown_request(&http::Method::POST, "/app/iisintegration", &shutdown));
        assert!(module.is_shutdown_request(&http::Method::POST, "/APP/IISIntegration", &shutdown));
        assert!(!module.is_shutdown_request(&http::Method::GET, "/app/iisintegration", &shutdown));
        assert!(!module.is_shutdown_request(&http::Method::POST, "/iisintegration", &shutdown));
        assert!(!module.is_shutdown_request(&http::Method::POST, "/app/iisintegration", &none));
        assert!(module.trusts_forwarding_from("127.0.0.1".parse().unwrap()));
        assert!(!module.trusts_forwarding_from("10.0.0.1".parse().unwrap()));
        assert!(!Module::default().trusts_forwarding_from("127.0.0.1".parse().unwrap()));
    }
}
