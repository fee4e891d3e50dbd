//! SCRIPT_NAME and PATH_INFO as the app must see them (PEP 3333: PATH_INFO
//! decoded, as latin-1 text of its bytes), from what the front end sent.
//!
//! IIS sends the whole URL path in both SCRIPT_NAME and PATH_INFO, and
//! after URL Rewrite the original URL in HTTP_X_ORIGINAL_URL, still
//! %-encoded. As wfastcgi does, under IIS SCRIPT_NAME becomes `''` (unless
//! `AllowPathInfoForScriptMappings` is set) and PATH_INFO the original URL
//! when there is one, cut at any `?`; unlike wfastcgi, which passed it on
//! %-encoded (microsoft/PTVS#123), that URL is %-decoded, and only
//! `wsgi.path_info` keeps its raw bytes. A mount prefix (`--script-name`, or
//! the `SCRIPT_NAME` appSetting, which wfastcgi matches without regard to
//! case) becomes SCRIPT_NAME where the path starts with it, at a segment
//! boundary; a path outside it passes unchanged, logged once.
//!
//! Outside IIS the front end's split is believed when it makes one (a
//! PATH_INFO that is not empty); when it does not, the path comes from
//! REQUEST_URI (see [`front_end_paths`]). flup does the same with the
//! front end's SCRIPT_NAME as the prefix, which leaves nginx's stock
//! configuration with an empty PATH_INFO; uWSGI's `manage-script-name`
//! strips configured mount points, as `--script-name` does here; gunicorn
//! answers 500 for a path outside SCRIPT_NAME, where this passes it on.

use std::sync::atomic::{AtomicBool, Ordering};

/// How SCRIPT_NAME and PATH_INFO are derived; known once the app's
/// settings (web.config included) are in the environment.
#[derive(Debug, Clone, Default)]
pub struct PathRules {
    /// Apply IIS's fixes (SCRIPT_NAME/PATH_INFO, X-Original-URL).
    pub iis: bool,
    /// A mount prefix: SCRIPT_NAME, stripped from PATH_INFO.
    pub script_name: Option<String>,
    /// wfastcgi's `AllowPathInfoForScriptMappings`: keep IIS's SCRIPT_NAME.
    pub allow_path_info: bool,
}

/// What the environ gets.
#[derive(Debug, PartialEq, Eq)]
pub struct Paths {
    pub script_name: String,
    pub path_info: String,
    /// `wsgi.path_info`: the raw bytes of PATH_INFO (the undecoded original
    /// URL where URL Rewrite gave one).
    pub raw_path_info: Vec<u8>,
}

fn latin1_bytes(text: &str) -> Vec<u8> {
    text.chars().map(|c| c as u8).collect()
}

/// `rest` after `prefix` at a segment boundary, without regard to ASCII case.
fn after_prefix<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    let head = path.get(..prefix.len())?;
    let rest = &path[prefix.len()..];
    (head.eq_ignore_ascii_case(prefix) && (rest.is_empty() || rest.starts_with('/'))).then_some(rest)
}

/// The path parameters the front end sent (latin-1 text of their bytes).
#[derive(Debug, Clone, Default)]
pub struct Sent {
    pub script_name: Option<String>,
    pub path_info: Option<String>,
    /// `HTTP_X_ORIGINAL_URL` (IIS's URL Rewrite).
    pub original_url: Option<String>,
    pub request_uri: Option<String>,
}

/// The path part of a URL (before `?`), %-decoded, as latin-1 text of its
/// bytes, and its raw bytes.
fn decoded_path(url: &str) -> (String, Vec<u8>) {
    let path = url.split('?').next().unwrap_or_default();
    let decoded: Vec<u8> = percent_encoding::percent_decode_str(path).collect();
    (crate::request::latin1(&decoded), latin1_bytes(path))
}

impl PathRules {
    pub fn paths(&self, sent: Sent) -> Paths {
        let (mut script_name, mut path_info, mut raw) =
            if self.iis { self.iis_paths(sent) } else { front_end_paths(sent) };
        if let Some(prefix) = self.script_name.as_deref().map(|p| p.trim_end_matches('/')).filter(|p| !p.is_empty()) {
            // Outside IIS the request path is SCRIPT_NAME + PATH_INFO, so a
            // front end that already split at the prefix is taken as it is.
            let full = if self.iis { path_info.clone() } else { format!("{script_name}{path_info}") };
            match after_prefix(&full, prefix) {
                Some(rest) => {
                    path_info = rest.to_string();
                    script_name = prefix.to_string();
                    raw = None;
                }
                None => warn_outside_once(prefix, &full),
            }
        }
        let raw_path_info = raw.unwrap_or_else(|| latin1_bytes(&path_info));
        Paths { script_name, path_info, raw_path_info }
    }

    /// IIS: SCRIPT_NAME `''` (unless AllowPathInfoForScriptMappings), and
    /// PATH_INFO the original URL when URL Rewrite gave one.
    fn iis_paths(&self, sent: Sent) -> (String, String, Option<Vec<u8>>) {
        let mut script_name = sent.script_name.unwrap_or_default();
        let mut path_info = sent.path_info.unwrap_or_default();
        let mut raw = None;
        if let Some(original) = sent.original_url {
            let (decoded, raw_path) = decoded_path(&original);
            path_info = decoded;
            raw = Some(raw_path);
        }
        if let Some(query) = path_info.find('?') {
            path_info.truncate(query);
        }
        if !self.allow_path_info {
            script_name.clear();
        }
        (script_name, path_info, raw)
    }
}

/// Outside IIS: a front end that splits the path (a PATH_INFO that is not
/// empty) is taken at its word. One that does not (nginx's stock
/// `fastcgi_params` sends SCRIPT_NAME = the whole path and no PATH_INFO;
/// Apache's ProxyPass the same) leaves the request path to REQUEST_URI's,
/// %-decoded, all of it PATH_INFO until a mount prefix splits it; without
/// REQUEST_URI it is SCRIPT_NAME (CGI's whole path), else `/`, logged once.
fn front_end_paths(sent: Sent) -> (String, String, Option<Vec<u8>>) {
    if let Some(path_info) = sent.path_info.filter(|p| !p.is_empty()) {
        return (sent.script_name.unwrap_or_default(), path_info, None);
    }
    if let Some(uri) = sent.request_uri.filter(|u| !u.is_empty()) {
        let (path_info, raw) = decoded_path(&uri);
        return (String::new(), path_info, Some(raw));
    }
    match sent.script_name.filter(|s| !s.is_empty()) {
        Some(script_name) => (String::new(), script_name, None),
        None => {
            warn_no_path_once();
            (String::new(), "/".to_string(), None)
        }
    }
}

fn warn_no_path_once() {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            "the front end sent neither PATH_INFO nor REQUEST_URI nor SCRIPT_NAME: the request is served as PATH_INFO \"/\" (logged once)"
        );
    }
}

fn warn_outside_once(prefix: &str, path: &str) {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            "the request path {path:?} is not under the mount prefix {prefix:?} (--script-name or SCRIPT_NAME): \
             passed on unchanged (logged once)"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(iis: bool, prefix: Option<&str>) -> PathRules {
        PathRules { iis, script_name: prefix.map(str::to_string), allow_path_info: false }
    }

    fn s(text: &str) -> Option<String> {
        Some(text.to_string())
    }

    fn pair(paths: Paths) -> (String, String) {
        (paths.script_name, paths.path_info)
    }

    fn sent(script_name: Option<String>, path_info: Option<String>, original_url: Option<String>) -> Sent {
        Sent { script_name, path_info, original_url, request_uri: None }
    }

    #[test]
    fn iis_paths_become_empty_script_name_and_full_path_info() {
        let r = rules(true, None);
        assert_eq!(
            pair(r.paths(sent(s("/fob/oar/baz"), s("/fob/oar/baz"), None))),
            (String::new(), "/fob/oar/baz".into())
        );
        assert_eq!(pair(r.paths(sent(s("/a"), s("/a?x=1"), None))), (String::new(), "/a".into()));
    }

    #[test]
    fn the_original_url_is_decoded_and_its_raw_form_kept() {
        let r = rules(true, None);
        let paths = r.paths(sent(s("/handler.py"), s("/handler.py"), s("/caf%C3%A9/a%20b+c%2Fd?q=1%202")));
        assert_eq!(paths.path_info, "/caf\u{c3}\u{a9}/a b+c/d", "latin-1 text of the UTF-8 bytes; + stays");
        assert_eq!(paths.raw_path_info, b"/caf%C3%A9/a%20b+c%2Fd");
        assert_eq!(paths.script_name, "");
    }

    #[test]
    fn a_prefix_is_matched_without_case_at_a_segment_boundary() {
        let r = rules(true, Some("/App/"));
        assert_eq!(pair(r.paths(sent(s("/app/x"), s("/app/x"), None))), ("/App".into(), "/x".into()));
        assert_eq!(pair(r.paths(sent(s("/APP"), s("/APP"), None))), ("/App".into(), String::new()));
        // Outside the prefix: passed on unchanged (wfastcgi leaves it too).
        assert_eq!(pair(r.paths(sent(s("/apple"), s("/apple"), None))), (String::new(), "/apple".into()));
        let rewritten = r.paths(sent(s("/app/h.py"), s("/app/h.py"), s("/app/caf%C3%A9")));
        assert_eq!((rewritten.script_name.as_str(), rewritten.path_info.as_str()), ("/App", "/caf\u{c3}\u{a9}"));
        let outside_iis = rules(false, None);
        assert_eq!(pair(outside_iis.paths(sent(s("/s"), s("/p"), s("/ignored")))), ("/s".into(), "/p".into()));
    }

    fn front(prefix: Option<&str>, script_name: Option<&str>, path_info: Option<&str>, uri: Option<&str>) -> Paths {
        let sent = Sent {
            script_name: script_name.map(str::to_string),
            path_info: path_info.map(str::to_string),
            original_url: None,
            request_uri: uri.map(str::to_string),
        };
        rules(false, prefix).paths(sent)
    }

    #[test]
    fn a_front_end_that_does_not_split_the_path_gets_it_from_request_uri() {
        // nginx's stock fastcgi_params: SCRIPT_NAME is the whole path, no PATH_INFO.
        let stock = front(None, Some("/a/caf\u{c3}\u{a9}"), None, Some("/a/caf%C3%A9?x=1"));
        assert_eq!(pair(stock), (String::new(), "/a/caf\u{c3}\u{a9}".into()));
        let raw = front(None, Some("/a b"), Some(""), Some("/a%20b"));
        assert_eq!(raw.raw_path_info, b"/a%20b", "an empty PATH_INFO counts as none; the raw form kept");
        // Mounted: location /app/ with --script-name /app; Apache's ProxyPass.
        assert_eq!(pair(front(Some("/app"), Some("/app/a/b"), None, Some("/app/a/b"))), ("/app".into(), "/a/b".into()));
        assert_eq!(pair(front(Some("/app"), None, None, Some("/App"))), ("/app".into(), String::new()));
        // A front end that splits (fastcgi_split_path_info) is believed.
        assert_eq!(pair(front(None, Some(""), Some("/a/b"), Some("/a/b"))), (String::new(), "/a/b".into()));
        assert_eq!(pair(front(Some("/app"), Some("/app"), Some("/a"), Some("/app/a"))), ("/app".into(), "/a".into()));
        assert_eq!(pair(front(Some("/app"), Some(""), Some("/app/a"), None)), ("/app".into(), "/a".into()));
        // Outside the prefix: passed on as it came, logged once.
        assert_eq!(pair(front(Some("/app"), Some("/other"), None, Some("/other"))), (String::new(), "/other".into()));
        // No REQUEST_URI: SCRIPT_NAME is the path (CGI); nothing at all: /.
        assert_eq!(pair(front(None, Some("/cgi/path"), None, None)), (String::new(), "/cgi/path".into()));
        assert_eq!(pair(front(None, None, None, None)), (String::new(), "/".into()));
    }

    #[test]
    fn allow_path_info_keeps_iis_script_name() {
        let r = PathRules { iis: true, script_name: None, allow_path_info: true };
        assert_eq!(pair(r.paths(sent(s("/app.py"), s("/app.py/x"), None))), ("/app.py".into(), "/app.py/x".into()));
    }
}
