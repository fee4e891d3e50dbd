//! appcmd's argument grammar: `COMMAND OBJECT [ID] /name:value ...`,
//! parameters also written `-name:value`, and the collection expressions of
//! `set config`: `/+[k='v',...]`, `/-[...]`,
//! `/[k='v'].child.[k='v']` and `/[k='v'].attr:value`.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Param {
    /// `/name:value` (or `/name` alone, with an empty value).
    Named(String, String),
    /// `/+expr`: add a collection element.
    Add(Vec<Step>),
    /// `/-expr`: remove one.
    Remove(Vec<Step>),
    /// `/expr.attr:value` where expr starts with an indexer.
    SetItem(Vec<Step>, String, String),
}

/// `name='value'` pairs of an indexer, in the order given.
pub type Pairs = Vec<(String, String)>;

/// One step of a configuration path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Element(String),
    /// `[name='value',...]`; appcmd's `@start`/`@end`/`@N` position is
    /// accepted and ignored (new elements go at the end).
    Item(Pairs),
}

#[derive(Debug, Default)]
pub struct Args {
    pub positional: Vec<String>,
    pub params: Vec<Param>,
}

impl Args {
    /// The value of `/name:` (case-insensitive), the last one given.
    pub fn named(&self, name: &str) -> Option<&str> {
        self.params.iter().rev().find_map(|p| match p {
            Param::Named(n, v) if n.eq_ignore_ascii_case(name) => Some(v.as_str()),
            _ => None,
        })
    }

    pub fn flag(&self, name: &str) -> bool {
        self.named(name).is_some()
    }
}

pub fn parse(raw: &[String]) -> Result<Args, String> {
    let mut args = Args::default();
    for arg in raw {
        let Some(body) = arg.strip_prefix('/').or_else(|| arg.strip_prefix('-').filter(|b| !b.starts_with('['))) else {
            args.positional.push(arg.clone());
            continue;
        };
        let param = if let Some(expr) = body.strip_prefix('+') {
            Param::Add(steps(expr)?)
        } else if let Some(expr) = body.strip_prefix('-') {
            Param::Remove(steps(expr)?)
        } else if body.starts_with('[') {
            let (path, value) = split_value(body);
            let mut path = steps(path)?;
            let Some(Step::Element(attr)) = path.pop() else {
                return Err(format!("Invalid parameter \"{arg}\": expected [key='value'].attribute:value"));
            };
            Param::SetItem(path, attr, value.to_string())
        } else {
            let (name, value) = split_value(body);
            Param::Named(name.to_string(), value.to_string())
        };
        args.params.push(param);
    }
    Ok(args)
}

/// Splits at the first `:` outside brackets and quotes.
fn split_value(text: &str) -> (&str, &str) {
    let (mut depth, mut quoted) = (0, false);
    for (i, c) in text.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '[' if !quoted => depth += 1,
            ']' if !quoted => depth -= 1,
            ':' if !quoted && depth == 0 => return (&text[..i], &text[i + 1..]),
            _ => {}
        }
    }
    (text, "")
}

fn steps(expr: &str) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    let mut rest = expr.trim();
    while !rest.is_empty() {
        rest = rest.strip_prefix('.').unwrap_or(rest);
        if let Some(inner) = rest.strip_prefix('[') {
            let end = closing_bracket(inner).ok_or_else(|| format!("Invalid indexer \"{expr}\": missing ]"))?;
            steps.push(Step::Item(indexer(&inner[..end])?));
            rest = &inner[end + 1..];
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            steps.push(Step::Element(rest[..end].to_string()));
            rest = &rest[end..];
        }
    }
    if steps.is_empty() {
        return Err("Invalid parameter: an empty configuration path".to_string());
    }
    Ok(steps)
}

fn closing_bracket(text: &str) -> Option<usize> {
    let mut quoted = false;
    text.char_indices().find_map(|(i, c)| {
        if c == '\'' {
            quoted = !quoted;
        }
        (c == ']' && !quoted).then_some(i)
    })
}

/// `name='value',name2='value2'`, with spaces after commas tolerated.
fn indexer(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        if let Some(position) = rest.strip_prefix('@') {
            rest = position.split_once(',').map_or("", |(_, r)| r).trim_start();
            continue;
        }
        let (name, after) = rest.split_once('=').ok_or_else(|| {
            format!("Invalid indexer \"[{text}]\": the format is [@position,name='value',name2='value2',...]")
        })?;
        let after = after.trim_start();
        let value_text = after
            .strip_prefix('\'')
            .ok_or_else(|| format!("Invalid indexer \"[{text}]\": values go in single quotes"))?;
        let end = value_text.find('\'').ok_or_else(|| format!("Invalid indexer \"[{text}]\": unterminated quote"))?;
        pairs.push((name.trim().to_string(), value_text[..end].to_string()));
        rest = value_text[end + 1..].trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(pairs: &[(&str, &str)]) -> Step {
        Step::Item(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn parses_what_wfastcgi_enable_and_the_docs_write() {
        let raw: Vec<String> = [
            "set",
            "config",
            "-section:system.webServer/fastCGI",
            r"/+[fullPath='C:\Python\python.exe', arguments='C:\w.py', signalBeforeTerminateSeconds='30']",
            r"/+[fullPath='C:\PHP\php-cgi.exe'].environmentVariables.[name='PHP_FCGI_MAX_REQUESTS',value='10000']",
            r"/[fullPath='C:\PHP\php-cgi.exe'].maxInstances:4",
            "/-[@start,fullPath='x']",
            "/commit:apphost",
        ]
        .map(String::from)
        .to_vec();
        let args = parse(&raw).unwrap();
        assert_eq!(args.positional, ["set", "config"]);
        assert_eq!(args.named("SECTION"), Some("system.webServer/fastCGI"));
        assert_eq!(
            args.params[1],
            Param::Add(vec![item(&[
                ("fullPath", r"C:\Python\python.exe"),
                ("arguments", r"C:\w.py"),
                ("signalBeforeTerminateSeconds", "30")
            ])])
        );
        assert_eq!(
            args.params[2],
            Param::Add(vec![
                item(&[("fullPath", r"C:\PHP\php-cgi.exe")]),
                Step::Element("environmentVariables".into()),
                item(&[("name", "PHP_FCGI_MAX_REQUESTS"), ("value", "10000")]),
            ])
        );
        assert_eq!(
            args.params[3],
            Param::SetItem(vec![item(&[("fullPath", r"C:\PHP\php-cgi.exe")])], "maxInstances".into(), "4".into())
        );
        assert_eq!(args.params[4], Param::Remove(vec![item(&[("fullPath", "x")])]));
        assert_eq!(args.named("commit"), Some("apphost"));
    }

    #[test]
    fn bad_indexers_are_errors() {
        assert!(parse(&["/+[fullPath=x]".to_string()]).is_err());
        assert!(parse(&["/+[fullPath='x".to_string()]).is_err());
    }
}
