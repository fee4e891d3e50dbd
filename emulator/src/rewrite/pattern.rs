//! Rule and condition patterns in the three syntaxes URL Rewrite knows
//! (iis-docs `url-rewrite-module-configuration-reference.md`, "Rule
//! pattern syntax"; ExactMatch from the 2.0 reference).
//!
//! ECMAScript patterns run on `fancy-regex`, which adds the look-around
//! and back-references ECMAScript has to the `regex` crate's syntax, so
//! `^(?!static/)` works as it does under IIS. A pattern is searched for
//! anywhere in its input, as in IIS, unless it anchors itself.

use iiswsgi_proto::iis::rewrite::PatternSyntax;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// How much backtracking one match may do before it counts as an error:
/// a pathological pattern must not hang a request.
const BACKTRACK_LIMIT: usize = 1_000_000;

#[derive(Debug)]
pub enum Pattern {
    Regex(fancy_regex::Regex),
    Exact { text: String, ignore_case: bool },
}

impl Pattern {
    pub fn compile(syntax: PatternSyntax, pattern: &str, ignore_case: bool) -> Result<Self, String> {
        let source = match syntax {
            PatternSyntax::ExactMatch => return Ok(Pattern::Exact { text: pattern.to_string(), ignore_case }),
            PatternSyntax::EcmaScript => pattern.to_string(),
            PatternSyntax::Wildcard => wildcard_regex(pattern),
        };
        fancy_regex::RegexBuilder::new(&source)
            .case_insensitive(ignore_case)
            .backtrack_limit(BACKTRACK_LIMIT)
            .build()
            .map(Pattern::Regex)
            .map_err(|err| format!("the expression \"{pattern}\" is not valid: {err}"))
    }

    /// The captures (0: the whole match) if `input` matches.
    pub fn captures(&self, input: &str) -> Result<Option<Vec<String>>, String> {
        match self {
            Pattern::Exact { text, ignore_case } => {
                let same = if *ignore_case { text.to_lowercase() == input.to_lowercase() } else { text == input };
                Ok(same.then(|| vec![input.to_string()]))
            }
            Pattern::Regex(regex) => {
                let found = regex.captures(input).map_err(|err| format!("matching \"{regex}\" failed: {err}"))?;
                Ok(found.map(|caps| {
                    (0..caps.len()).map(|i| caps.get(i).map_or(String::new(), |m| m.as_str().to_string())).collect()
                }))
            }
        }
    }
}

/// IIS's wildcard syntax as a regular expression: the whole input, `*`
/// any run of characters (captured), `?` exactly one.
fn wildcard_regex(pattern: &str) -> String {
    let mut source = String::from("^");
    for c in pattern.chars() {
        match c {
            '*' => source.push_str("(.*)"),
            '?' => source.push('.'),
            c => source.push_str(&fancy_regex::escape(&c.to_string())),
        }
    }
    source.push('$');
    source
}

type Key = (PatternSyntax, String, bool);

/// Compiled patterns, kept for the next request: patterns come from
/// configuration, so the cache is as large as the configuration at most.
#[derive(Default)]
pub struct Patterns {
    compiled: Mutex<HashMap<Key, Arc<Pattern>>>,
}

impl Patterns {
    pub fn get(&self, syntax: PatternSyntax, pattern: &str, ignore_case: bool) -> Result<Arc<Pattern>, String> {
        let key = (syntax, pattern.to_string(), ignore_case);
        if let Some(found) = self.compiled.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return Ok(found.clone());
        }
        let compiled = Arc::new(Pattern::compile(syntax, pattern, ignore_case)?);
        self.compiled.lock().unwrap_or_else(|p| p.into_inner()).insert(key, compiled.clone());
        Ok(compiled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(syntax: PatternSyntax, pattern: &str, ignore_case: bool, input: &str) -> Option<Vec<String>> {
        Pattern::compile(syntax, pattern, ignore_case).unwrap().captures(input).unwrap()
    }

    #[test]
    fn the_three_syntaxes() {
        use PatternSyntax::*;
        assert_eq!(
            caps(EcmaScript, "([0-9]+)/([a-z]+)\\.html", true, "x/07/article.html").unwrap()[1..],
            ["07", "article"]
        );
        assert_eq!(caps(EcmaScript, "^ARTICLE", true, "article/1").unwrap()[0], "article");
        assert_eq!(caps(EcmaScript, "^ARTICLE", false, "article/1"), None);
        assert!(caps(EcmaScript, "^(?!static/)", true, "static/app.css").is_none(), "look-ahead");
        assert_eq!(caps(Wildcard, "*/*.html", true, "contoso/test.html").unwrap()[1..], ["contoso", "test"]);
        assert_eq!(caps(Wildcard, "/Scripts/*_in.???", true, "/scripts/x_in.abc").unwrap()[1..], ["x"]);
        assert_eq!(caps(Wildcard, "a.b", true, "axb"), None, "a dot is a dot");
        assert_eq!(caps(ExactMatch, "Old.aspx", true, "old.ASPX").unwrap(), ["old.ASPX"]);
        assert_eq!(caps(ExactMatch, "Old.aspx", false, "old.aspx"), None);
    }

    #[test]
    fn a_bad_expression_says_what_is_wrong() {
        let err = Pattern::compile(PatternSyntax::EcmaScript, "^(unclosed", true).unwrap_err();
        assert!(err.contains("\"^(unclosed\""), "{err}");
    }
}
