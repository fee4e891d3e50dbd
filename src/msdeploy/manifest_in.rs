//! MANIFEST.in, with the rules of distutils' `sdist` (which setuptools
//! keeps): start from sdist's default files, then apply each line in order
//! to the project's files. Patterns are globs where `*` and `?` never cross
//! a `/`; `include`/`exclude` are anchored at the project root,
//! `recursive-*` under a folder at any depth, `global-*` anywhere.

use super::Error;
use regex::Regex;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Action {
    Include,
    Exclude,
    RecursiveInclude(String),
    RecursiveExclude(String),
    GlobalInclude,
    GlobalExclude,
    Graft,
    Prune,
}

#[derive(Debug, Clone)]
struct Line {
    number: usize,
    text: String,
    action: Action,
    patterns: Vec<String>,
}

/// The parsed template.
#[derive(Debug, Clone, Default)]
pub struct ManifestIn {
    lines: Vec<Line>,
}

impl ManifestIn {
    /// Parses `text`; `path` names the file in errors. Comments start with
    /// `#`, a trailing `\` continues a line.
    pub fn parse(text: &str, path: &Path) -> Result<Self, Error> {
        let mut lines = Vec::new();
        let mut pending = String::new();
        let mut first_number = 0;
        for (index, raw) in text.lines().enumerate() {
            let without_comment = raw.split('#').next().unwrap_or("").trim_end();
            if pending.is_empty() {
                first_number = index + 1;
            }
            if let Some(continued) = without_comment.strip_suffix('\\') {
                pending.push_str(continued);
                pending.push(' ');
                continue;
            }
            pending.push_str(without_comment);
            let line = std::mem::take(&mut pending);
            if line.trim().is_empty() {
                continue;
            }
            lines.push(parse_line(line.trim(), first_number).map_err(|message| Error::Invalid {
                path: path.to_path_buf(),
                line: first_number,
                message,
            })?);
        }
        Ok(Self { lines })
    }

    /// The files to package, from `all` (every file of the project,
    /// relative, `/`-separated) and the defaults, in sorted order.
    pub fn select(&self, all: &[String], defaults: &[String]) -> Vec<String> {
        let mut files: Vec<String> = defaults.to_vec();
        for line in &self.lines {
            let regexes: Vec<Regex> = match &line.action {
                Action::Graft | Action::Prune => {
                    line.patterns.iter().map(|dir| translate(None, Some(dir), true)).collect()
                }
                Action::RecursiveInclude(dir) | Action::RecursiveExclude(dir) => {
                    line.patterns.iter().map(|p| translate(Some(p), Some(dir), true)).collect()
                }
                Action::Include | Action::Exclude => {
                    line.patterns.iter().map(|p| translate(Some(p), None, true)).collect()
                }
                Action::GlobalInclude | Action::GlobalExclude => {
                    line.patterns.iter().map(|p| translate(Some(p), None, false)).collect()
                }
            };
            let including = matches!(
                line.action,
                Action::Include | Action::RecursiveInclude(_) | Action::GlobalInclude | Action::Graft
            );
            let mut matched = false;
            if including {
                for file in all.iter().filter(|f| regexes.iter().any(|r| r.is_match(f))) {
                    matched = true;
                    if !files.contains(file) {
                        files.push(file.clone());
                    }
                }
            } else {
                let before = files.len();
                files.retain(|f| !regexes.iter().any(|r| r.is_match(f)));
                matched = files.len() != before;
            }
            if !matched {
                tracing::warn!("MANIFEST.in line {}: `{}` matches no files", line.number, line.text);
            }
        }
        files.sort();
        files.dedup();
        files
    }
}

fn parse_line(line: &str, number: usize) -> Result<Line, String> {
    let words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    let (command, args) = words.split_first().ok_or("empty line")?;
    let need = |min: usize| -> Result<(), String> {
        if args.len() < min {
            Err(format!("`{command}` needs {}", if min == 1 { "a pattern" } else { "a folder and a pattern" }))
        } else {
            Ok(())
        }
    };
    let (action, patterns) = match command.as_str() {
        "include" => (need(1).map(|_| Action::Include)?, args.to_vec()),
        "exclude" => (need(1).map(|_| Action::Exclude)?, args.to_vec()),
        "global-include" => (need(1).map(|_| Action::GlobalInclude)?, args.to_vec()),
        "global-exclude" => (need(1).map(|_| Action::GlobalExclude)?, args.to_vec()),
        "recursive-include" => (need(2).map(|_| Action::RecursiveInclude(args[0].clone()))?, args[1..].to_vec()),
        "recursive-exclude" => (need(2).map(|_| Action::RecursiveExclude(args[0].clone()))?, args[1..].to_vec()),
        "graft" | "prune" if args.len() != 1 => return Err(format!("`{command}` takes exactly one folder")),
        "graft" => (Action::Graft, args.to_vec()),
        "prune" => (Action::Prune, args.to_vec()),
        other => return Err(format!("unknown command `{other}` (expected include, exclude, recursive-include, recursive-exclude, global-include, global-exclude, graft or prune)")),
    };
    Ok(Line { number, text: line.to_string(), action, patterns })
}

/// distutils' `glob_to_re`: `*` and `?` stay within one path segment.
fn glob_to_re(pattern: &str) -> String {
    let mut out = String::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => out.push_str("[^/]*"),
            '?' => out.push_str("[^/]"),
            '[' => {
                let mut class = String::new();
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == ']' && !class.is_empty() && class != "!" {
                        closed = true;
                        break;
                    }
                    class.push(c);
                }
                if closed {
                    let (negate, body) = match class.strip_prefix('!') {
                        Some(body) => (true, body.to_string()),
                        None => (false, class.clone()),
                    };
                    let body = body.replace('\\', "\\\\").replace('[', "\\[");
                    out.push_str(&format!("[{}{}]", if negate { "^" } else { "" }, body));
                } else {
                    out.push_str(&regex::escape(&format!("[{class}")));
                }
            }
            c => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    out
}

/// distutils' `translate_pattern`.
fn translate(pattern: Option<&str>, prefix: Option<&str>, anchor: bool) -> Regex {
    let pattern_re = pattern.map(glob_to_re).unwrap_or_default();
    let text = match prefix {
        Some(prefix) => {
            let prefix = prefix.trim_end_matches('/');
            let prefix_re =
                if prefix == "." || prefix.is_empty() { String::new() } else { format!("{}/", glob_to_re(prefix)) };
            format!(r"\A{prefix_re}.*{pattern_re}\z")
        }
        None if anchor => format!(r"\A{pattern_re}\z"),
        None => format!(r"(?:\A|/){pattern_re}\z"),
    };
    // The pieces are escaped or generated above, so this always compiles.
    Regex::new(&text).unwrap_or_else(|_| Regex::new(r"\A\z").expect("the empty regex compiles"))
}

/// sdist's default files for a pure-Python project: README, setup and
/// license files, MANIFEST.in, top-level modules and every package's `.py`.
pub fn defaults(all: &[String]) -> Vec<String> {
    let standard = Regex::new(
        r"\A(README(\.(txt|rst|md))?|setup\.py|setup\.cfg|pyproject\.toml|MANIFEST\.in|(LICEN[CS]E|COPYING|NOTICE|AUTHORS)[^/]*)\z",
    )
    .expect("a fixed regex");
    let packages: Vec<&str> =
        all.iter().filter_map(|f| f.strip_suffix("/__init__.py")).filter(|dir| is_package(dir, all)).collect();
    all.iter()
        .filter(|f| {
            standard.is_match(f)
                || (!f.contains('/') && f.ends_with(".py"))
                || (f.ends_with(".py") && f.rsplit_once('/').is_some_and(|(dir, _)| packages.contains(&dir)))
        })
        .cloned()
        .collect()
}

/// A folder with `__init__.py` whose parents, if any, are packages too.
fn is_package(dir: &str, all: &[String]) -> bool {
    let mut current = dir;
    while let Some((parent, _)) = current.rsplit_once('/') {
        if !all.iter().any(|f| *f == format!("{parent}/__init__.py")) {
            return false;
        }
        current = parent;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> Vec<String> {
        [
            "setup.py",
            "setup.cfg",
            "README.rst",
            "MANIFEST.in",
            "web.config.in",
            "iis_fcgi.ini",
            "notes.txt",
            "app/__init__.py",
            "app/views.py",
            "app/templates/index.pt",
            "app/static/site.css",
            "app/static/old.css",
            "docs/index.txt",
            "docs/api/ref.txt",
            "scripts/tool.py",
            "junk/a.txt",
            "junk/b.py",
            "top.py",
        ]
        .map(String::from)
        .to_vec()
    }

    fn select(template: &str) -> Vec<String> {
        let all = files();
        ManifestIn::parse(template, Path::new("MANIFEST.in")).unwrap().select(&all, &defaults(&all))
    }

    #[test]
    fn defaults_are_sdists() {
        assert_eq!(
            select(""),
            ["MANIFEST.in", "README.rst", "app/__init__.py", "app/views.py", "setup.cfg", "setup.py", "top.py"]
        );
    }

    #[test]
    fn every_command_applies_in_order() {
        let chosen = select(
            "include *.in \\\n  iis_fcgi.ini\n\
             recursive-include app *.pt *.css\n\
             recursive-exclude app old.*\n\
             graft docs\n\
             prune docs/api\n\
             global-include *.txt\n\
             global-exclude junk/*  # a comment\n\
             exclude top.py\n",
        );
        assert!(chosen.contains(&"web.config.in".to_string()));
        assert!(chosen.contains(&"iis_fcgi.ini".to_string()));
        assert!(chosen.contains(&"app/templates/index.pt".to_string()));
        assert!(chosen.contains(&"app/static/site.css".to_string()));
        assert!(!chosen.contains(&"app/static/old.css".to_string()));
        assert!(chosen.contains(&"docs/index.txt".to_string()));
        // global-include came after the prune, so it brings ref.txt back.
        assert!(chosen.contains(&"docs/api/ref.txt".to_string()), "{chosen:?}");
        assert!(chosen.contains(&"notes.txt".to_string()));
        assert!(!chosen.contains(&"junk/a.txt".to_string()));
        assert!(!chosen.contains(&"top.py".to_string()));
        assert!(!chosen.contains(&"scripts/tool.py".to_string()), "scripts/ is no package");
    }

    #[test]
    fn bad_lines_name_their_number() {
        let err = ManifestIn::parse("include *.py\n\nrecursive-include docs\n", Path::new("MANIFEST.in")).unwrap_err();
        assert_eq!(err.to_string(), "MANIFEST.in:3: `recursive-include` needs a folder and a pattern");
        let err = ManifestIn::parse("includ *.py\n", Path::new("MANIFEST.in")).unwrap_err();
        assert!(err.to_string().starts_with("MANIFEST.in:1: unknown command `includ`"), "{err}");
    }
}
