//! Substitution strings: condition inputs, action URLs, server variable
//! values and custom responses, with `{R:n}` and `{C:n}` back-references,
//! `{SERVER_VARIABLE}`, `{MapName:key}` and the string functions
//! (iis-docs `url-rewrite-module-configuration-reference.md`, "Using
//! back-references", "String functions", "Rewrite maps").
//!
//! A template is parsed when its rule is read, so that a reference to a
//! map that does not exist makes the rule unusable (500.52), as a typo in
//! IIS does, instead of silently expanding to nothing.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS, NON_ALPHANUMERIC};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Rule(usize),
    Condition(usize),
    Variable(String),
    Function(Function, Template),
    Map(String, Template),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Function {
    ToLower,
    UrlEncode,
    UrlDecode,
    EscapeDataString,
}

impl Function {
    fn named(name: &str) -> Option<Self> {
        [
            ("ToLower", Function::ToLower),
            ("UrlEncode", Function::UrlEncode),
            ("UrlDecode", Function::UrlDecode),
            ("EscapeDataString", Function::EscapeDataString),
        ]
        .into_iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, f)| f)
    }

    fn call(self, text: &str) -> String {
        match self {
            Function::ToLower => text.to_lowercase(),
            Function::UrlEncode => utf8_percent_encode(text, URL_UNSAFE).to_string(),
            Function::UrlDecode => percent_decode_str(text).decode_utf8_lossy().into_owned(),
            Function::EscapeDataString => utf8_percent_encode(text, DATA_UNSAFE).to_string(),
        }
    }
}

/// `UrlEncode`: what may not stand in a URL as it is (non-ASCII, spaces,
/// `"<>[\]^`{|}` and `%`), so that `{UrlEncode:{R:1}.aspx?p=[résumé]}`
/// stays a URL with its `?` and `=` (the documented example). Which
/// characters IIS encodes is not documented: a decision.
const URL_UNSAFE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}')
    .add(b'%');

/// `EscapeDataString`, as .NET's `Uri.EscapeDataString`: all but RFC 3986's
/// unreserved characters.
const DATA_UNSAFE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

/// What a template's references resolve to.
pub struct Scope<'a> {
    /// `{R:n}`: the rule pattern's captures.
    pub rule: &'a [String],
    /// `{C:n}`: the conditions' captures.
    pub condition: &'a [String],
    /// A server variable by (upper-case) name; unknown ones are empty.
    pub variable: &'a dyn Fn(&str) -> String,
    /// A map lookup by map name and key.
    pub map: &'a dyn Fn(&str, &str) -> String,
}

impl Template {
    /// Parses `text`; `is_map` says which `{Name:key}` names are maps.
    pub fn parse(text: &str, is_map: &dyn Fn(&str) -> bool) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            literal.push_str(&rest[..open]);
            let inner = &rest[open + 1..];
            let close = matching_close(inner).ok_or_else(|| format!("\"{text}\" has a {{ without its }}"))?;
            if !literal.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut literal)));
            }
            parts.push(reference(&inner[..close], is_map)?);
            rest = &inner[close + 1..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Ok(Template { parts })
    }

    pub fn expand(&self, scope: &Scope<'_>) -> String {
        let capture = |list: &[String], n: usize| list.get(n).cloned().unwrap_or_default();
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Rule(n) => out.push_str(&capture(scope.rule, *n)),
                Part::Condition(n) => out.push_str(&capture(scope.condition, *n)),
                Part::Variable(name) => out.push_str(&(scope.variable)(name)),
                Part::Function(function, arg) => out.push_str(&function.call(&arg.expand(scope))),
                Part::Map(name, key) => out.push_str(&(scope.map)(name, &key.expand(scope))),
            }
        }
        out
    }
}

/// Where the `}` closing an opened `{` is in `text` (which follows it).
fn matching_close(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (at, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return Some(at),
            '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

fn reference(inner: &str, is_map: &dyn Fn(&str) -> bool) -> Result<Part, String> {
    let Some((name, arg)) = inner.split_once(':') else {
        if inner.is_empty() || !inner.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(format!("{{{inner}}} is not a server variable name"));
        }
        return Ok(Part::Variable(inner.to_ascii_uppercase()));
    };
    let number = || arg.parse::<usize>().ok().filter(|n| *n <= 9);
    if name.eq_ignore_ascii_case("R") {
        return number().map(Part::Rule).ok_or_else(|| format!("{{{inner}}}: back-references are {{R:0}} to {{R:9}}"));
    }
    if name.eq_ignore_ascii_case("C") {
        return number()
            .map(Part::Condition)
            .ok_or_else(|| format!("{{{inner}}}: back-references are {{C:0}} to {{C:9}}"));
    }
    let arg = Template::parse(arg, is_map)?;
    if let Some(function) = Function::named(name) {
        return Ok(Part::Function(function, arg));
    }
    if is_map(name) {
        return Ok(Part::Map(name.to_string(), arg));
    }
    Err(format!(
        "{{{name}:...}} names neither a rewrite map nor a function (ToLower, UrlEncode, UrlDecode, EscapeDataString)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(text: &str) -> String {
        let template = Template::parse(text, &|name| name == "Moves").unwrap();
        let rule = ["x/Café".to_string(), "Café".to_string()];
        let condition = ["www.example.test".to_string(), "example.test".to_string()];
        let variable = |name: &str| if name == "HTTP_HOST" { "Example.Test".to_string() } else { String::new() };
        let map = |name: &str, key: &str| format!("[{name}:{key}]");
        template.expand(&Scope { rule: &rule, condition: &condition, variable: &variable, map: &map })
    }

    #[test]
    fn references_and_functions() {
        assert_eq!(expand("handler.fcgi/{R:1}"), "handler.fcgi/Café");
        assert_eq!(expand("https://{C:1}/{R:0}"), "https://example.test/x/Café");
        assert_eq!(expand("{http_host}|{NOT_SET}|{R:7}"), "Example.Test||", "names without case; unknown is empty");
        assert_eq!(expand("{ToLower:{HTTP_HOST}/{R:1}}"), "example.test/café");
        assert_eq!(expand("{UrlEncode:{R:1}.aspx?p=[a b]}"), "Caf%C3%A9.aspx?p=%5Ba%20b%5D");
        assert_eq!(expand("{EscapeDataString:a b/c~}"), "a%20b%2Fc~");
        assert_eq!(expand("{UrlDecode:a%20b%2Fc}"), "a b/c");
        assert_eq!(expand("{Moves:/{R:1}}"), "[Moves:/Café]");
        assert_eq!(expand("no references } here"), "no references } here");
    }

    #[test]
    fn a_broken_template_says_what_is_wrong() {
        let parse = |text: &str| Template::parse(text, &|_| false).unwrap_err();
        assert!(parse("{Missing:{R:1}}").contains("neither a rewrite map"));
        assert!(parse("a/{R:1").contains("without its }"));
        assert!(parse("{R:10}").contains("{R:0} to {R:9}"));
        assert!(parse("{NO SPACE}").contains("not a server variable"));
    }
}
