//! `<system.webServer><handlers>`: the ordered list of handler mappings and
//! how a request picks one.

use super::collection::{CollectionOp, Named};
use super::xml::{Element, XmlError};

/// IIS's default `responseBufferLimit`: 4 MiB.
pub const DEFAULT_RESPONSE_BUFFER_LIMIT: u64 = 4 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceType {
    File,
    Directory,
    Either,
    Unspecified,
}

/// One `<add>` of a handlers collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handler {
    pub name: String,
    pub path: String,
    pub verb: String,
    pub modules: String,
    /// Still `%VAR%`-unexpanded; the caller expands it.
    pub script_processor: String,
    pub resource_type: ResourceType,
    pub response_buffer_limit: u64,
    pub pre_condition: String,
}

/// One entry of a handlers section, in file order.
pub type HandlerOp = CollectionOp<Handler>;

/// The ops of a `<handlers>` element. Unknown children are ignored.
pub fn handler_ops(section: &Element) -> Result<Vec<HandlerOp>, XmlError> {
    let mut ops = Vec::new();
    for element in section.elements() {
        let required = |name: &str| {
            element.attr(name).map(str::to_string).ok_or_else(|| {
                XmlError::new(
                    element.line,
                    format!("<handlers><{}> lacks the required attribute `{name}`", element.name),
                )
            })
        };
        match element.name.as_str() {
            "add" => ops.push(CollectionOp::Add(Handler {
                name: required("name")?,
                path: required("path")?,
                verb: required("verb")?,
                modules: element.attr("modules").unwrap_or("ManagedPipelineHandler").to_string(),
                script_processor: element.attr("scriptProcessor").unwrap_or("").to_string(),
                resource_type: resource_type(element)?,
                response_buffer_limit: match element.attr("responseBufferLimit") {
                    None => DEFAULT_RESPONSE_BUFFER_LIMIT,
                    Some(text) => text.trim().parse().map_err(|_| {
                        XmlError::new(element.line, format!("responseBufferLimit `{text}` is not a number of bytes"))
                    })?,
                },
                pre_condition: element.attr("preCondition").unwrap_or("").to_string(),
            })),
            "remove" => ops.push(CollectionOp::Remove(required("name")?)),
            "clear" => ops.push(CollectionOp::Clear),
            _ => {}
        }
    }
    Ok(ops)
}

fn resource_type(element: &Element) -> Result<ResourceType, XmlError> {
    match element.attr("resourceType").unwrap_or("Unspecified") {
        "File" => Ok(ResourceType::File),
        "Directory" => Ok(ResourceType::Directory),
        "Either" => Ok(ResourceType::Either),
        "Unspecified" => Ok(ResourceType::Unspecified),
        other => Err(XmlError::new(
            element.line,
            format!("resourceType `{other}` is not File, Directory, Either or Unspecified"),
        )),
    }
}

impl Named for Handler {
    const ITEM: &'static str = "add";

    fn name(&self) -> &str {
        &self.name
    }
}

/// What exists at the request's physical path, for `resourceType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDisk {
    File,
    Directory,
    Missing,
}

impl Handler {
    /// Whether this mapping takes a request for `url_path` (the decoded
    /// path) with `verb`. Names and extensions compare without regard to
    /// case, as Windows file names do; verbs compare exactly (the schema
    /// marks `verb` case-sensitive). `on_disk` says what a URL path is on
    /// disk: the resource type is checked for the script part of the URL.
    pub fn matches(&self, url_path: &str, verb: &str, on_disk: &dyn Fn(&str) -> OnDisk) -> bool {
        self.verb_matches(verb)
            && self.script_part(url_path).is_some_and(|script| self.resource_matches(on_disk(script)))
    }

    fn verb_matches(&self, verb: &str) -> bool {
        self.verb.split(',').map(str::trim).any(|v| v == "*" || v == verb)
    }

    /// The part of `url_path` this mapping's `path` takes, if any. A
    /// pattern with a slash is compared with the whole path; one without,
    /// with the last segment or else, leftmost first, with an earlier one:
    /// a script map takes what follows as path info (`/index.php/extra`,
    /// URL Rewrite's `handler.fcgi/{R:1}`), and the URL up to that segment
    /// is the script.
    pub fn script_part<'u>(&self, url_path: &'u str) -> Option<&'u str> {
        let pattern = self.path.trim().to_ascii_lowercase();
        let matches = |subject: &str| wildcard_matches(&pattern, &subject.to_ascii_lowercase());
        if pattern.contains('/') {
            return matches(url_path).then_some(url_path);
        }
        if matches(url_path.rsplit('/').next().unwrap_or(url_path)) {
            return Some(url_path);
        }
        let mut end = 0;
        for segment in url_path.split('/') {
            end += segment.len();
            if !segment.is_empty() && end < url_path.len() && matches(segment) {
                return Some(&url_path[..end]);
            }
            end += 1;
        }
        None
    }

    fn resource_matches(&self, on_disk: OnDisk) -> bool {
        match self.resource_type {
            ResourceType::Unspecified => true,
            ResourceType::File => on_disk == OnDisk::File,
            ResourceType::Directory => on_disk == OnDisk::Directory,
            ResourceType::Either => on_disk != OnDisk::Missing,
        }
    }

    /// The modules named in `modules`, trimmed.
    pub fn module_names(&self) -> impl Iterator<Item = &str> {
        self.modules.split(',').map(str::trim).filter(|m| !m.is_empty())
    }
}

/// `*` matches any run of characters, `?` one character.
fn wildcard_matches(pattern: &str, subject: &str) -> bool {
    let (p, s): (Vec<char>, Vec<char>) = (pattern.chars().collect(), subject.chars().collect());
    let (mut pi, mut si) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == '*' {
            backtrack = Some((pi, si));
            pi += 1;
        } else if let Some((star, matched)) = backtrack {
            pi = star + 1;
            si = matched + 1;
            backtrack = Some((star, matched + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iis::collection::apply;
    use crate::iis::xml::Document;

    fn ops(xml: &str) -> Vec<HandlerOp> {
        handler_ops(Document::parse(xml).unwrap().root().unwrap()).unwrap()
    }

    fn names(list: &[Handler]) -> Vec<&str> {
        list.iter().map(|h| h.name.as_str()).collect()
    }

    #[test]
    fn lower_levels_go_in_front_and_remove_or_clear_inherited() {
        let root = apply(
            &[],
            &ops(r#"<handlers><add name="A" path="*.a" verb="*"/><add name="Static" path="*" verb="*"/></handlers>"#),
        )
        .unwrap();
        let child =
            apply(&root, &ops(r#"<handlers><remove name="A"/><add name="Py" path="*" verb="GET,POST"/></handlers>"#))
                .unwrap();
        assert_eq!(names(&child), ["Py", "Static"]);
        let cleared =
            apply(&child, &ops(r#"<handlers><clear/><add name="Only" path="x" verb="*"/></handlers>"#)).unwrap();
        assert_eq!(names(&cleared), ["Only"]);
        assert!(apply(&root, &ops(r#"<handlers><add name="A" path="*" verb="*"/></handlers>"#)).is_err());
    }

    #[test]
    fn paths_verbs_and_resource_types_match_as_iis_does() {
        let list = apply(
            &[],
            &ops(r#"<handlers>
            <add name="py" path="*.PY" verb="GET, HEAD" resourceType="File"/>
            <add name="exact" path="robots.txt" verb="*"/>
            <add name="all" path="*" verb="*" responseBufferLimit="0"/></handlers>"#),
        )
        .unwrap();
        let first = |path: &str, verb: &str, disk: OnDisk| {
            list.iter().find(|h| h.matches(path, verb, &|_| disk)).map(|h| h.name.as_str())
        };
        assert_eq!(first("/a/b.py", "GET", OnDisk::File), Some("py"));
        assert_eq!(first("/a/b.py", "HEAD", OnDisk::File), Some("py"));
        assert_eq!(first("/a/b.py", "POST", OnDisk::File), Some("all"));
        assert_eq!(first("/a/b.py", "GET", OnDisk::Missing), Some("all"));
        assert_eq!(first("/x/Robots.TXT", "PUT", OnDisk::Missing), Some("exact"));
        assert_eq!(first("/x/robots.txt/more", "PUT", OnDisk::Missing), Some("exact"), "path info");
        let script_is_a_file = |path: &str| if path == "/app.py" { OnDisk::File } else { OnDisk::Missing };
        let py = |path: &str| list[0].matches(path, "GET", &script_is_a_file);
        assert!(py("/app.py/users/1"), "the script part is the file the resource type asks for");
        assert!(!py("/other.py/users/1"));
        assert_eq!(list[2].response_buffer_limit, 0);
        assert_eq!(list[0].response_buffer_limit, DEFAULT_RESPONSE_BUFFER_LIMIT);
    }

    #[test]
    fn missing_required_attribute_names_it() {
        let doc = Document::parse("<handlers>\n<add name=\"x\" verb=\"*\"/></handlers>").unwrap();
        let err = handler_ops(doc.root().unwrap()).unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("`path`"), "{err}");
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_matches("*", ""));
        assert!(wildcard_matches("*.py", "a.b.py"));
        assert!(!wildcard_matches("*.py", "a.pyc"));
        assert!(wildcard_matches("a?c*", "abcdef"));
    }
}
