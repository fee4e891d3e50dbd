//! Forwarding one request to the process and its response back, streamed
//! both ways, with the headers the module adds (dotnet/aspnetcore
//! `OutOfProcessRequestHandler/forwardinghandler.cpp`: `GetHeaders` on the
//! way in, `SetStatusAndHeaders` on the way out). HttpPlatformHandler v1.2
//! is closed; its successor v2 is a fork of ANCM that forwards the same
//! headers, so the emulator adds them for both modules (the token only for
//! ANCM).

use crate::body::Body;
use bytes::Bytes;
use http::{header, HeaderValue, Request, Response};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use std::net::SocketAddr;
use std::time::Duration;

/// Why a forward failed: IIS's 502.3 is built from it.
pub struct ProxyError(pub String);

/// Appends `value` to a comma list header, as ANCM does.
fn append(headers: &mut http::HeaderMap, name: &'static str, value: &str) {
    let joined = match headers.get(name).and_then(|v| v.to_str().ok()) {
        Some(existing) if !existing.is_empty() => format!("{existing}, {value}"),
        _ => value.to_string(),
    };
    if let Ok(joined) = HeaderValue::from_str(&joined) {
        headers.insert(name, joined);
    }
}

/// The request headers the process sees.
pub fn forwarded_headers(headers: &mut http::HeaderMap, remote: SocketAddr, https: bool, token: Option<&str>) {
    // A client may not speak for the module.
    let spoofed: Vec<_> = headers.keys().filter(|name| name.as_str().starts_with("ms-aspnetcore")).cloned().collect();
    for name in spoofed {
        headers.remove(name);
    }
    headers.remove(header::CONNECTION);
    let client = match remote {
        SocketAddr::V4(v4) => format!("{}:{}", v4.ip(), v4.port()),
        SocketAddr::V6(v6) => format!("[{}]:{}", v6.ip(), v6.port()),
    };
    append(headers, "x-forwarded-for", &client);
    append(headers, "x-forwarded-proto", if https { "https" } else { "http" });
    if let Some(token) = token.and_then(|t| HeaderValue::from_str(t).ok()) {
        headers.insert("ms-aspnetcore-token", token);
    }
}

pub type Sender = hyper::client::conn::http1::SendRequest<Incoming>;

/// Idle connections kept for later requests (by process port), as ANCM's
/// WinHTTP session keeps them; one older than [`IDLE_FOR`] is dropped, as
/// the process may have closed it (the gateway's idle limit is 30 s).
#[derive(Default)]
pub struct Connections {
    idle: std::sync::Mutex<std::collections::HashMap<u16, Vec<(std::time::Instant, Sender)>>>,
}

const IDLE_FOR: Duration = Duration::from_secs(20);
const IDLE_PER_PROCESS: usize = 32;

impl Connections {
    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<u16, Vec<(std::time::Instant, Sender)>>> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// An idle connection to the process on `port`, or a new one.
    pub async fn get(&self, port: u16) -> Result<Sender, ProxyError> {
        let reused = {
            let mut idle = self.lock();
            let list = idle.entry(port).or_default();
            list.retain(|(since, sender)| since.elapsed() < IDLE_FOR && !sender.is_closed());
            list.pop().map(|(_, sender)| sender)
        };
        match reused {
            Some(sender) if sender.is_ready() => Ok(sender),
            _ => connect(port).await,
        }
    }

    fn put(&self, port: u16, sender: Sender) {
        if sender.is_ready() {
            let mut idle = self.lock();
            let list = idle.entry(port).or_default();
            if list.len() < IDLE_PER_PROCESS {
                list.push((std::time::Instant::now(), sender));
            }
        }
    }

    /// Drops the connections to a process that is gone.
    pub fn forget(&self, port: u16) {
        self.lock().remove(&port);
    }
}

/// A new connection to the process on `port`.
async fn connect(port: u16) -> Result<Sender, ProxyError> {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| ProxyError(format!("cannot connect to the process on port {port}: {e}")))?;
    let _ = stream.set_nodelay(true);
    let (sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .map_err(|e| ProxyError(format!("cannot talk HTTP to the process: {e}")))?;
    tokio::spawn(async move {
        if let Err(err) = connection.await {
            tracing::debug!("connection to the process on port {port}: {err}");
        }
    });
    Ok(sender)
}

/// Sends `request` on `sender` (to the process on `port`) and streams the
/// response; `timeout` bounds the wait for the head and for each read
/// after it. The connection goes back to `connections` once the response
/// is over.
pub async fn forward(
    connections: std::sync::Arc<Connections>,
    port: u16,
    mut sender: Sender,
    request: Request<Incoming>,
    timeout: Duration,
) -> Result<Response<Body>, ProxyError> {
    let pending = sender.send_request(request);
    let response = match tokio::time::timeout(timeout, pending).await {
        Err(_) => return Err(ProxyError("The operation timed out".into())),
        Ok(Err(err)) => return Err(ProxyError(format!("the process did not answer: {err}"))),
        Ok(Ok(response)) => response,
    };
    let (mut parts, mut body) = response.into_parts();
    // ANCM drops the process's Date, chunked framing and Connection.
    for name in [header::DATE, header::TRANSFER_ENCODING, header::CONNECTION] {
        parts.headers.remove(name);
    }
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    tokio::spawn(async move {
        loop {
            let frame = match tokio::time::timeout(timeout, body.frame()).await {
                Err(_) => Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "the process stopped sending")),
                Ok(None) => {
                    // The response is over: the connection can serve another.
                    drop(body);
                    connections.put(port, sender);
                    return;
                }
                Ok(Some(Err(err))) => Err(std::io::Error::other(err)),
                Ok(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => Ok(data),
                    Err(_) => continue,
                },
            };
            let failed = frame.is_err();
            if tx.send(frame).await.is_err() || failed {
                return;
            }
        }
    });
    Ok(Response::from_parts(parts, Body::streamed(Bytes::new(), rx)))
}

/// ANCM's graceful-shutdown request; true when the process answered 202.
pub async fn send_shutdown(port: u16, appl_path: &str, token: Option<&str>) -> bool {
    let attempt = async {
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok()?;
        let io = hyper_util::rt::TokioIo::new(stream);
        let (mut sender, connection) = hyper::client::conn::http1::handshake(io).await.ok()?;
        tokio::spawn(connection);
        let path = format!("{}/iisintegration", appl_path.trim_end_matches('/'));
        let mut request = Request::post(path)
            .header(header::HOST, format!("127.0.0.1:{port}"))
            .header("ms-aspnetcore-event", "shutdown")
            .body(http_body_util::Empty::<Bytes>::new())
            .ok()?;
        if let Some(token) = token.and_then(|t| HeaderValue::from_str(t).ok()) {
            request.headers_mut().insert("ms-aspnetcore-token", token);
        }
        let response = sender.send_request(request).await.ok()?;
        Some(response.status() == http::StatusCode::ACCEPTED)
    };
    matches!(tokio::time::timeout(Duration::from_secs(10), attempt).await, Ok(Some(true)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_module_adds_the_client_and_the_token_and_drops_what_clients_send_for_it() {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static("6.6.6.6"));
        headers.insert("ms-aspnetcore-token", HeaderValue::from_static("forged"));
        headers.insert("ms-aspnetcore-winauthtoken", HeaderValue::from_static("1"));
        headers.insert(header::CONNECTION, HeaderValue::from_static("keep-alive"));
        headers.insert(header::HOST, HeaderValue::from_static("example.org"));
        forwarded_headers(&mut headers, "192.0.2.5:40000".parse().unwrap(), false, Some("real-token"));
        assert_eq!(headers["x-forwarded-for"], "6.6.6.6, 192.0.2.5:40000");
        assert_eq!(headers["x-forwarded-proto"], "http");
        assert_eq!(headers["ms-aspnetcore-token"], "real-token");
        assert!(!headers.contains_key("ms-aspnetcore-winauthtoken"));
        assert!(!headers.contains_key(header::CONNECTION));
        assert_eq!(headers[header::HOST], "example.org", "Host is kept (preserveHostHeader)");
        let mut v6 = http::HeaderMap::new();
        forwarded_headers(&mut v6, "[2001:db8::1]:443".parse().unwrap(), true, None);
        assert_eq!(v6["x-forwarded-for"], "[2001:db8::1]:443");
        assert_eq!(v6["x-forwarded-proto"], "https");
        assert!(!v6.contains_key("ms-aspnetcore-token"));
    }
}
