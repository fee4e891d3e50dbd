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

impl PathRules {
    pub fn paths(&self, script_name: Option<String>, path_info: Option<String>, original: Option<String>) -> Paths {
        let mut script_name = script_name.unwrap_or_default();
        let mut path_info = path_info.unwrap_or_default();
        let mut raw = None;
        if self.iis {
            if let Some(original) = original {
                let path = original.split('?').next().unwrap_or_default();
                let decoded: Vec<u8> = percent_encoding::percent_decode_str(path).collect();
                raw = Some(latin1_bytes(path));
                path_info = crate::request::latin1(&decoded);
            }
            if let Some(query) = path_info.find('?') {
                path_info.truncate(query);
            }
            if !self.allow_path_info {
                script_name.clear();
            }
        }
        if let Some(prefix) = self.script_name.as_deref().map(|p| p.trim_end_matches('/')).filter(|p| !p.is_empty()) {
            match after_prefix(&path_info, prefix) {
                Some(rest) => {
                    path_info = rest.to_string();
                    script_name = prefix.to_string();
                    raw = None;
                }
                None => warn_outside_once(prefix, &path_info),
            }
        }
        let raw_path_info = raw.unwrap_or_else(|| latin1_bytes(&path_info));
        Paths { script_name, path_info, raw_path_info }
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

    #[test]
    fn iis_paths_become_empty_script_name_and_full_path_info() {
        let r = rules(true, None);
        assert_eq!(pair(r.paths(s("/fob/oar/baz"), s("/fob/oar/baz"), None)), (String::new(), "/fob/oar/baz".into()));
        assert_eq!(pair(r.paths(s("/a"), s("/a?x=1"), None)), (String::new(), "/a".into()));
    }

    #[test]
    fn the_original_url_is_decoded_and_its_raw_form_kept() {
        let r = rules(true, None);
        let paths = r.paths(s("/handler.py"), s("/handler.py"), s("/caf%C3%A9/a%20b+c%2Fd?q=1%202"));
        assert_eq!(paths.path_info, "/caf\u{c3}\u{a9}/a b+c/d", "latin-1 text of the UTF-8 bytes; + stays");
        assert_eq!(paths.raw_path_info, b"/caf%C3%A9/a%20b+c%2Fd");
        assert_eq!(paths.script_name, "");
    }

    #[test]
    fn a_prefix_is_matched_without_case_at_a_segment_boundary() {
        let r = rules(true, Some("/App/"));
        assert_eq!(pair(r.paths(s("/app/x"), s("/app/x"), None)), ("/App".into(), "/x".into()));
        assert_eq!(pair(r.paths(s("/APP"), s("/APP"), None)), ("/App".into(), String::new()));
        // Outside the prefix: passed on unchanged (wfastcgi leaves it too).
        assert_eq!(pair(r.paths(s("/apple"), s("/apple"), None)), (String::new(), "/apple".into()));
        let rewritten = r.paths(s("/app/h.py"), s("/app/h.py"), s("/app/caf%C3%A9"));
        assert_eq!((rewritten.script_name.as_str(), rewritten.path_info.as_str()), ("/App", "/caf\u{c3}\u{a9}"));
        let outside_iis = rules(false, None);
        assert_eq!(pair(outside_iis.paths(s("/s"), s("/p"), s("/ignored"))), ("/s".into(), "/p".into()));
    }

    #[test]
    fn allow_path_info_keeps_iis_script_name() {
        let r = PathRules { iis: true, script_name: None, allow_path_info: true };
        assert_eq!(pair(r.paths(s("/app.py"), s("/app.py/x"), None)), ("/app.py".into(), "/app.py/x".into()));
    }
}
