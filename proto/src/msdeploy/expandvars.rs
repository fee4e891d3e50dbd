//! Python's `ntpath.expandvars`, rule for rule, because the original
//! iiswsgi expanded its `*.in` templates with it and projects rely on its
//! quirks:
//! - `%NAME%`, `${NAME}` and `$NAME` (NAME = letters, digits, `_`, `-`);
//! - `%%` is `%` and `$$` is `$`;
//! - text between single quotes is copied as is, quotes included;
//! - an unknown name is left exactly as written; an unclosed `%` or `${`
//!   copies the rest of the text.
//!
//! `tests/it/expandvars.rs` checks it against Python's own implementation.

pub fn expandvars(text: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    if !text.contains(['$', '%']) {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let rest = |from: usize| chars[from.min(chars.len())..].iter().collect::<String>();
    let find =
        |from: usize, wanted: char| chars[from.min(chars.len())..].iter().position(|&c| c == wanted).map(|p| p + from);
    // `%NAME%` or `${NAME}` whose name starts at `start`: the value, or the
    // text as written; an unclosed one copies the rest. Returns the index
    // of the last character consumed.
    let named = |start: usize, close: char, open_text: &str, close_text: &str, out: &mut String| -> usize {
        match find(start, close) {
            Some(end) => {
                let name: String = chars[start..end].iter().collect();
                match lookup(&name) {
                    Some(value) => out.push_str(&value),
                    None => {
                        out.push_str(open_text);
                        out.push_str(&name);
                        out.push_str(close_text);
                    }
                }
                end
            }
            None => {
                out.push_str(open_text);
                out.push_str(&rest(start));
                chars.len()
            }
        }
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\'' => match find(i + 1, '\'') {
                Some(end) => {
                    out.extend(&chars[i..=end]);
                    i = end;
                }
                None => {
                    out.push_str(&rest(i));
                    i = chars.len();
                }
            },
            '%' if chars.get(i + 1) == Some(&'%') => {
                out.push('%');
                i += 1;
            }
            '%' => i = named(i + 1, '%', "%", "%", &mut out),
            '$' if chars.get(i + 1) == Some(&'$') => {
                out.push('$');
                i += 1;
            }
            '$' if chars.get(i + 1) == Some(&'{') => i = named(i + 2, '}', "${", "}", &mut out),
            '$' => {
                let start = i + 1;
                let mut end = start;
                while end < chars.len()
                    && (chars[end].is_ascii_alphanumeric() || chars[end] == '_' || chars[end] == '-')
                {
                    end += 1;
                }
                let name: String = chars[start..end].iter().collect();
                match lookup(&name) {
                    Some(value) => out.push_str(&value),
                    None => {
                        out.push('$');
                        out.push_str(&name);
                    }
                }
                i = end - 1;
            }
            c => out.push(c),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::expandvars;

    fn env(name: &str) -> Option<String> {
        match name {
            "DIST_NAME" => Some("sample".into()),
            "A" => Some("1".into()),
            "" => None,
            _ => None,
        }
    }

    #[test]
    fn ntpath_rules() {
        let cases = [
            ("%DIST_NAME%\\iis_install.stamp", "sample\\iis_install.stamp"),
            ("$DIST_NAME/${DIST_NAME}", "sample/sample"),
            ("100%% and $$5", "100% and $5"),
            ("'%DIST_NAME%' %A%", "'%DIST_NAME%' 1"),
            ("%NOPE% $NOPE ${NOPE}", "%NOPE% $NOPE ${NOPE}"),
            ("50% off", "50% off"),
            ("${unclosed", "${unclosed"),
            ("it's %A%", "it's %A%"),
            ("$ alone", "$ alone"),
            ("$A-x", "$A-x"),
            ("$A.x", "1.x"),
        ];
        for (text, expected) in cases {
            assert_eq!(expandvars(text, env), expected, "{text}");
        }
    }
}
