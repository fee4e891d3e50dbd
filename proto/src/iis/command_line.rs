//! Splitting a Windows command line into arguments, by the rules the
//! Microsoft C runtime and `CommandLineToArgvW` apply to everything after
//! the program name. IIS passes `arguments` verbatim on the command line,
//! so the emulator must split it the way the child's runtime would.

/// The arguments in `line`: whitespace separates them outside quotes;
/// `"` toggles quoting; `2n` backslashes before a quote give `n` backslashes
/// and a quoting toggle, `2n+1` give `n` and a literal quote; `""` inside
/// quotes is a literal quote; other backslashes are literal.
pub fn split_arguments(line: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut current = String::new();
    let mut in_arg = false;
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' if !quoted => {
                if in_arg {
                    args.push(std::mem::take(&mut current));
                    in_arg = false;
                }
            }
            '\\' => {
                in_arg = true;
                let mut count = 1;
                while chars.peek() == Some(&'\\') {
                    chars.next();
                    count += 1;
                }
                if chars.peek() == Some(&'"') {
                    current.extend(std::iter::repeat_n('\\', count / 2));
                    if count % 2 == 1 {
                        chars.next();
                        current.push('"');
                    }
                } else {
                    current.extend(std::iter::repeat_n('\\', count));
                }
            }
            '"' => {
                in_arg = true;
                if quoted && chars.peek() == Some(&'"') {
                    chars.next();
                    current.push('"');
                } else {
                    quoted = !quoted;
                }
            }
            c => {
                in_arg = true;
                current.push(c);
            }
        }
    }
    if in_arg {
        args.push(current);
    }
    args
}

#[cfg(test)]
mod tests {
    use super::split_arguments;

    #[test]
    fn follows_the_c_runtime_rules() {
        // The examples from Microsoft's "Parsing C command-line arguments".
        assert_eq!(split_arguments(r#""abc" d e"#), ["abc", "d", "e"]);
        assert_eq!(split_arguments(r#"a\\b d"e f"g h"#), [r"a\\b", "de fg", "h"]);
        assert_eq!(split_arguments(r#"a\\\"b c d"#), [r#"a\"b"#, "c", "d"]);
        assert_eq!(split_arguments(r#"a\\\\"b c" d e"#), [r"a\\b c", "d", "e"]);
        assert_eq!(split_arguments(r#"a"b"" c d"#), [r#"ab" c d"#]);
    }

    #[test]
    fn empty_quotes_are_an_empty_argument() {
        assert_eq!(split_arguments(r#"serve "" x"#), ["serve", "", "x"]);
        assert!(split_arguments("   ").is_empty());
    }

    #[test]
    fn wfastcgi_registration_splits_into_one_path() {
        assert_eq!(split_arguments(r#""C:\Python\Lib\wfastcgi.py""#), [r"C:\Python\Lib\wfastcgi.py"]);
    }
}
