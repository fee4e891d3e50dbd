//! `%NAME%` expansion, as Windows' `ExpandEnvironmentStrings` does it for
//! IIS's `expanded="true"` attributes (fullPath, arguments, physicalPath,
//! scriptProcessor).

/// Replaces each `%NAME%` whose `lookup` gives a value. A name without a
/// value is left as written, percent signs included, as Windows leaves it.
/// Variable names are matched without regard to case on Windows, so
/// `lookup` decides that.
pub fn expand_percent_vars(text: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('%') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('%') {
            Some(end) if end > 0 => match lookup(&after[..end]) {
                Some(value) => {
                    out.push_str(&value);
                    rest = &after[end + 1..];
                }
                None => {
                    // The closing `%` may open the next variable.
                    out.push('%');
                    out.push_str(&after[..end]);
                    rest = &after[end..];
                }
            },
            _ => {
                out.push('%');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Looks a name up in the process environment, without regard to case on
/// Windows.
pub fn from_env(name: &str) -> Option<String> {
    if cfg!(windows) {
        std::env::vars().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
    } else {
        std::env::var(name).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(name: &str) -> Option<String> {
        match name {
            "ROOT" => Some("/srv".into()),
            "A" => Some("1".into()),
            _ => None,
        }
    }

    #[test]
    fn known_names_expand_and_unknown_ones_stay() {
        assert_eq!(expand_percent_vars("%ROOT%/lib", lookup), "/srv/lib");
        assert_eq!(expand_percent_vars("%NOPE%/lib", lookup), "%NOPE%/lib");
        assert_eq!(expand_percent_vars("100% sure", lookup), "100% sure");
        assert_eq!(expand_percent_vars("%%A%", lookup), "%1");
        assert_eq!(expand_percent_vars("%NOPE%A%", lookup), "%NOPE1");
        assert_eq!(expand_percent_vars("50%", lookup), "50%");
    }
}
