//! IIS's StaticFile handler: files from the physical path with a content
//! type from the extension (an unknown extension is IIS's 404.3, not a
//! download), default documents for folders, and nothing outside the
//! site's folder, symlinks included.

use crate::body::Body;
use crate::error_page::IisError;
use bytes::Bytes;
use http::{header, HeaderValue, Method, Response, StatusCode};
use std::path::Path;
use tokio::io::AsyncReadExt;

/// IIS's default documents, in IIS's order (the ones a static server can serve).
const DEFAULT_DOCUMENTS: [&str; 4] = ["Default.htm", "index.htm", "index.html", "iisstart.htm"];

/// IIS's `<staticContent>` defaults for the extensions a Python site ships.
const CONTENT_TYPES: [(&str, &str); 26] = [
    ("css", "text/css"),
    ("csv", "text/csv"),
    ("gif", "image/gif"),
    ("htm", "text/html"),
    ("html", "text/html"),
    ("ico", "image/x-icon"),
    ("jpeg", "image/jpeg"),
    ("jpg", "image/jpeg"),
    ("js", "application/javascript"),
    ("json", "application/json"),
    ("map", "application/json"),
    ("md", "text/markdown"),
    ("mp4", "video/mp4"),
    ("pdf", "application/pdf"),
    ("png", "image/png"),
    ("svg", "image/svg+xml"),
    ("txt", "text/plain"),
    ("wasm", "application/wasm"),
    ("webp", "image/webp"),
    ("woff", "font/woff"),
    ("woff2", "font/woff2"),
    ("xml", "text/xml"),
    ("zip", "application/x-zip-compressed"),
    ("ttf", "application/octet-stream"),
    ("mp3", "audio/mpeg"),
    ("webm", "video/webm"),
];

pub fn content_type(path: &Path) -> Option<&'static str> {
    let extension = path.extension()?.to_string_lossy().to_ascii_lowercase();
    CONTENT_TYPES.iter().find(|(ext, _)| *ext == extension).map(|(_, t)| *t)
}

/// Serves `physical`, which must stay inside `root`.
pub async fn serve(method: &Method, url: &str, physical: &Path, root: &Path) -> Response<Body> {
    let page = |error: IisError| {
        error.with_module("StaticFileModule", "StaticFile").response(url, &physical.to_string_lossy())
    };
    if method != Method::GET && method != Method::HEAD {
        return page(IisError::new(
            405,
            0,
            "The page you are looking for cannot be displayed because an invalid method (HTTP verb) is being used.",
        ));
    }
    let not_found = || {
        page(IisError::new(
            404,
            0,
            "The resource you are looking for has been removed, had its name changed, or is temporarily unavailable.",
        ))
    };
    let (Ok(real), Ok(real_root)) = (std::fs::canonicalize(physical), std::fs::canonicalize(root)) else {
        return not_found();
    };
    if !real.starts_with(&real_root) {
        tracing::warn!("refused {url}: {} leads outside the site", physical.display());
        return not_found();
    }
    let file = if real.is_dir() {
        if !url.ends_with('/') {
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::MOVED_PERMANENTLY;
            if let Ok(location) = HeaderValue::from_str(&format!("{url}/")) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            return response;
        }
        match DEFAULT_DOCUMENTS.iter().map(|d| real.join(d)).find(|p| p.is_file()) {
            Some(document) => document,
            None => {
                return page(IisError::new(
                    403,
                    14,
                    "The Web server is configured to not list the contents of this directory.",
                ))
            }
        }
    } else {
        real
    };
    if file.extension().is_some_and(|e| e.eq_ignore_ascii_case("config")) {
        return page(IisError::new(404, 7, "The request filtering module is configured to deny the file extension."));
    }
    let Some(content_type) = content_type(&file) else {
        return page(IisError::new(
            404,
            3,
            "The page you are requesting cannot be served because of the extension configuration. If the page is a script, add a handler. If the file should be downloaded, add a MIME map.",
        ));
    };
    let Ok(mut opened) = tokio::fs::File::open(&file).await else { return not_found() };
    let meta = opened.metadata().await.ok();
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match opened.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => {
                    if sender.send(Ok(Bytes::copy_from_slice(&buf[..n]))).await.is_err() {
                        break;
                    }
                }
                Err(err) => {
                    let _ = sender.send(Err(err)).await;
                    break;
                }
            }
        }
    });
    let mut response = Response::new(Body::streamed(Bytes::new(), receiver));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Some(meta) = meta {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(meta.len()));
        if let Ok(modified) = meta.modified() {
            if let Ok(value) = HeaderValue::from_str(&httpdate::fmt_http_date(modified)) {
                headers.insert(header::LAST_MODIFIED, value);
            }
        }
    }
    response
}
