//! Downloads over HTTP (hyper's client) or from `file://` URLs, with a
//! size limit so a hostile server cannot fill memory.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};

/// The most a feed or package download may be.
pub const MAX_DOWNLOAD: usize = 512 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("`{0}` is not an http:// or file:// URL")]
    Scheme(String),
    #[error("GET {url} answered {status}")]
    Status { url: String, status: u16 },
    #[error("GET {url} failed: {message}")]
    Http { url: String, message: String },
    #[error("cannot read {url}")]
    File {
        url: String,
        #[source]
        source: std::io::Error,
    },
}

pub async fn fetch(url: &str) -> Result<Vec<u8>, FetchError> {
    if let Some(path) = url.strip_prefix("file://") {
        let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy().into_owned();
        let path = if cfg!(windows) { decoded.trim_start_matches('/').to_string() } else { decoded };
        return tokio::fs::read(&path).await.map_err(|source| FetchError::File { url: url.to_string(), source });
    }
    if !url.starts_with("http://") {
        return Err(FetchError::Scheme(url.to_string()));
    }
    let http = |message: String| FetchError::Http { url: url.to_string(), message };
    let uri: http::Uri = url.parse().map_err(|e: http::uri::InvalidUri| http(e.to_string()))?;
    let client =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let response = client.get(uri).await.map_err(|e| http(e.to_string()))?;
    if !response.status().is_success() {
        return Err(FetchError::Status { url: url.to_string(), status: response.status().as_u16() });
    }
    let body = Limited::new(response.into_body(), MAX_DOWNLOAD).collect().await.map_err(|e| http(e.to_string()))?;
    Ok(body.to_bytes().to_vec())
}
