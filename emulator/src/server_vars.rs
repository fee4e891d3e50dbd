//! The FCGI_PARAMS IIS sends with each request.
//!
//! The list follows a `$_SERVER` capture from IIS 10.0 serving PHP through
//! FastCGI (see `../shared/reference/iis-fastcgi-facts.md`, section 3, and
//! the emulator section of the README): the CGI set, IIS's own variables,
//! empty values for the authentication and certificate ones, and one
//! `HTTP_*` per request header. `SCRIPT_NAME`, `PATH_INFO` and `URL` all
//! carry the decoded URL path, the quirk wfastcgi and iiswsgi undo
//! (SCRIPT_NAME only its script part when the mapping took path info).

use std::net::SocketAddr;

/// What the server variables are made from.
pub struct RequestInfo<'a> {
    pub method: &'a str,
    /// The path as the client sent it, still percent-encoded.
    pub raw_path: &'a str,
    pub query: &'a str,
    /// The decoded path.
    pub url: &'a str,
    /// The part of it the handler mapping took as the script: all of it,
    /// or less when the rest is path info (`/app.py` of `/app.py/x`).
    pub script_name: &'a str,
    pub headers: &'a http::HeaderMap,
    pub version: http::Version,
    pub remote: SocketAddr,
    pub local: SocketAddr,
    pub site_name: &'a str,
    pub site_id: u32,
    /// The application's virtual path, `/` or `/app`.
    pub app_url: &'a str,
    /// The application's folder, ending in a separator.
    pub app_physical: &'a str,
    /// Where the URL maps on disk.
    pub physical_path: &'a str,
    /// `None` for a chunked upload.
    pub content_length: Option<u64>,
}

const EMPTY: [&str; 17] = [
    "AUTH_PASSWORD",
    "AUTH_TYPE",
    "AUTH_USER",
    "CERT_COOKIE",
    "CERT_FLAGS",
    "CERT_ISSUER",
    "CERT_SERIALNUMBER",
    "CERT_SUBJECT",
    "HTTPS_KEYSIZE",
    "HTTPS_SECRETKEYSIZE",
    "HTTPS_SERVER_ISSUER",
    "HTTPS_SERVER_SUBJECT",
    "LOGON_USER",
    "REMOTE_USER",
    "CONTENT_TYPE",
    "HTTPS",
    "SERVER_PORT_SECURE",
];

pub fn server_variables(info: &RequestInfo<'_>) -> Vec<(String, Vec<u8>)> {
    let mut vars: Vec<(String, Vec<u8>)> = Vec::with_capacity(48 + info.headers.len());
    let mut set = |name: &str, value: &[u8]| match vars.iter_mut().find(|(n, _)| n == name) {
        Some((_, v)) => *v = value.to_vec(),
        None => vars.push((name.to_string(), value.to_vec())),
    };
    for name in EMPTY {
        set(name, b"");
    }
    let app_root = info.app_url.trim_end_matches('/');
    let request_uri =
        if info.query.is_empty() { info.raw_path.to_string() } else { format!("{}?{}", info.raw_path, info.query) };
    let protocol = match info.version {
        http::Version::HTTP_10 => "HTTP/1.0",
        _ => "HTTP/1.1",
    };
    let server_name = info
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| h.rsplit_once(':').filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit())).map_or(h, |(n, _)| n))
        .unwrap_or("localhost")
        .to_string();
    let fixed = [
        ("APPL_MD_PATH", format!("/LM/W3SVC/{}/ROOT{app_root}", info.site_id)),
        ("APPL_PHYSICAL_PATH", info.app_physical.to_string()),
        ("CONTENT_LENGTH", info.content_length.map(|n| n.to_string()).unwrap_or_default()),
        ("DOCUMENT_ROOT", info.app_physical.trim_end_matches(['/', '\\']).to_string()),
        ("GATEWAY_INTERFACE", "CGI/1.1".to_string()),
        ("HTTPS", "off".to_string()),
        ("INSTANCE_ID", info.site_id.to_string()),
        ("INSTANCE_META_PATH", format!("/LM/W3SVC/{}", info.site_id)),
        ("INSTANCE_NAME", info.site_name.to_uppercase()),
        ("LOCAL_ADDR", info.local.ip().to_string()),
        ("PATH_INFO", info.url.to_string()),
        ("PATH_TRANSLATED", info.physical_path.to_string()),
        ("QUERY_STRING", info.query.to_string()),
        ("REMOTE_ADDR", info.remote.ip().to_string()),
        ("REMOTE_HOST", info.remote.ip().to_string()),
        ("REMOTE_PORT", info.remote.port().to_string()),
        ("REQUEST_METHOD", info.method.to_string()),
        ("REQUEST_URI", request_uri),
        ("SCRIPT_FILENAME", info.physical_path.to_string()),
        ("SCRIPT_NAME", info.script_name.to_string()),
        ("SERVER_NAME", server_name),
        ("SERVER_PORT", info.local.port().to_string()),
        ("SERVER_PORT_SECURE", "0".to_string()),
        ("SERVER_PROTOCOL", protocol.to_string()),
        ("SERVER_SOFTWARE", "Microsoft-IIS/10.0".to_string()),
        ("URL", info.url.to_string()),
    ];
    for (name, value) in fixed {
        set(name, value.as_bytes());
    }
    if let Some(content_type) = info.headers.get(http::header::CONTENT_TYPE) {
        set("CONTENT_TYPE", content_type.as_bytes());
    }
    if info.content_length.is_none() {
        vars.retain(|(n, _)| n != "CONTENT_LENGTH");
    }
    for name in info.headers.keys() {
        let separator: &[u8] = if name == http::header::COOKIE { b"; " } else { b", " };
        let value = info.headers.get_all(name).iter().map(|v| v.as_bytes()).collect::<Vec<_>>().join(separator);
        let var = format!("HTTP_{}", name.as_str().to_ascii_uppercase().replace('-', "_"));
        vars.push((var, value));
    }
    vars
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iis_quirks_and_headers() {
        let mut headers = http::HeaderMap::new();
        headers.insert("host", "example.test:8080".parse().unwrap());
        headers.append("x-multi", "a".parse().unwrap());
        headers.append("x-multi", "b".parse().unwrap());
        let info = RequestInfo {
            method: "GET",
            raw_path: "/fob/o%20ar",
            query: "quox=100",
            url: "/fob/o ar",
            script_name: "/fob/o ar",
            headers: &headers,
            version: http::Version::HTTP_11,
            remote: "127.0.0.1:5555".parse().unwrap(),
            local: "127.0.0.1:8080".parse().unwrap(),
            site_name: "Site1",
            site_id: 3,
            app_url: "/",
            app_physical: "/srv/site/",
            physical_path: "/srv/site/fob/o ar",
            content_length: Some(0),
        };
        let vars = server_variables(&info);
        let get =
            |name: &str| vars.iter().find(|(n, _)| n == name).map(|(_, v)| String::from_utf8_lossy(v).into_owned());
        assert_eq!(get("SCRIPT_NAME").as_deref(), Some("/fob/o ar"));
        assert_eq!(get("PATH_INFO").as_deref(), Some("/fob/o ar"));
        assert_eq!(get("REQUEST_URI").as_deref(), Some("/fob/o%20ar?quox=100"));
        assert_eq!(get("APPL_MD_PATH").as_deref(), Some("/LM/W3SVC/3/ROOT"));
        assert_eq!(get("SERVER_NAME").as_deref(), Some("example.test"));
        assert_eq!(get("HTTPS").as_deref(), Some("off"));
        assert_eq!(get("HTTP_X_MULTI").as_deref(), Some("a, b"));
        assert_eq!(get("CONTENT_LENGTH").as_deref(), Some("0"));
        assert_eq!(vars.iter().filter(|(n, _)| n == "HTTPS").count(), 1);
    }
}
