//! A small XML tree for IIS configuration files.
//!
//! The emulator only reads, but the mock appcmd edits applicationHost.config
//! and must leave everything it does not touch as it was: comments, the XML
//! declaration, whitespace and sections it knows nothing about. So every
//! node that is not an element keeps its source text verbatim, and elements
//! keep their attribute order. A DTD is refused: IIS configuration never
//! has one, and entity expansion is how XML input gets weaponised.

use quick_xml::escape::escape;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// Malformed or invalid configuration, with the 1-based line it was found on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct XmlError {
    pub line: usize,
    pub message: String,
}

impl XmlError {
    pub fn new(line: usize, message: impl Into<String>) -> Self {
        Self { line, message: message.into() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Element(Element),
    /// Text, comments, CDATA, declarations and processing instructions, as
    /// they appeared in the source.
    Verbatim(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    /// Unescaped values, in source order.
    pub attributes: Vec<(String, String)>,
    pub children: Vec<Node>,
    /// Where the start tag was, for error messages.
    pub line: usize,
    /// The whitespace before the start tag on its line, so that children
    /// added later are indented one level deeper.
    indent: String,
    /// Written `<a></a>` in the source rather than `<a />`.
    open_close: bool,
}

impl Element {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            attributes: Vec::new(),
            children: Vec::new(),
            line: 0,
            indent: String::new(),
            open_close: false,
        }
    }

    /// `<name>text</name>`, the text escaped.
    pub fn with_text(name: &str, text: &str) -> Self {
        let mut element = Self::new(name);
        element.children.push(Node::Verbatim(escape(text).into_owned()));
        element.open_close = true;
        element
    }

    /// The element's text content, unescaped (its direct text children).
    pub fn text(&self) -> String {
        let raw: String = self
            .children
            .iter()
            .filter_map(|n| match n {
                Node::Verbatim(t) => Some(t.as_str()),
                Node::Element(_) => None,
            })
            .collect();
        quick_xml::escape::unescape(raw.trim()).map(|t| t.into_owned()).unwrap_or_else(|_| raw.trim().to_string())
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Sets an attribute in place, or appends it.
    pub fn set_attr(&mut self, name: &str, value: &str) {
        match self.attributes.iter_mut().find(|(k, _)| k == name) {
            Some((_, v)) => *v = value.to_string(),
            None => self.attributes.push((name.to_string(), value.to_string())),
        }
    }

    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|node| match node {
            Node::Element(e) => Some(e),
            Node::Verbatim(_) => None,
        })
    }

    pub fn elements_mut(&mut self) -> impl Iterator<Item = &mut Element> {
        self.children.iter_mut().filter_map(|node| match node {
            Node::Element(e) => Some(e),
            Node::Verbatim(_) => None,
        })
    }

    pub fn child(&self, name: &str) -> Option<&Element> {
        self.elements().find(|e| e.name == name)
    }

    /// The element at `path` below this one (`["system.webServer", "fastCgi"]`).
    pub fn descendant(&self, path: &[&str]) -> Option<&Element> {
        path.iter().try_fold(self, |element, name| element.child(name))
    }

    /// Like [`Element::descendant`], creating missing elements on the way.
    pub fn descendant_or_insert(&mut self, path: &[&str]) -> &mut Element {
        let Some((first, rest)) = path.split_first() else { return self };
        let index = match self.children.iter().position(|n| matches!(n, Node::Element(e) if e.name == *first)) {
            Some(index) => index,
            None => {
                self.append_child(Element::new(first));
                self.children.len() - 2
            }
        };
        match &mut self.children[index] {
            Node::Element(e) => e.descendant_or_insert(rest),
            Node::Verbatim(_) => unreachable!("index points at an element"),
        }
    }

    /// Appends a child element indented like its siblings, keeping the
    /// closing tag on its own line. The new element's own children (built
    /// in memory, without whitespace) are indented to match.
    pub fn append_child(&mut self, mut child: Element) {
        let indent = self.child_indent();
        child.indent.clone_from(&indent);
        child.indent_children(&indent);
        let closing = match self.children.last() {
            Some(Node::Verbatim(text)) if text.trim().is_empty() => self.children.pop(),
            _ => None,
        };
        let closing =
            closing.unwrap_or_else(|| Node::Verbatim(format!("\n{}", &indent[..indent.len().saturating_sub(4)])));
        self.children.push(Node::Verbatim(format!("\n{indent}")));
        self.children.push(Node::Element(child));
        self.children.push(closing);
    }

    /// Lays out the children of an element that sits at `indent`, four
    /// spaces deeper per level.
    fn indent_children(&mut self, indent: &str) {
        if !self.children.iter().any(|n| matches!(n, Node::Element(_))) {
            // Text only (or empty): nothing to lay out.
            return;
        }
        self.children.retain(|n| !matches!(n, Node::Verbatim(t) if t.trim().is_empty()));
        let inner = format!("{indent}    ");
        let mut laid_out = Vec::with_capacity(self.children.len() * 2 + 1);
        for mut node in std::mem::take(&mut self.children) {
            if let Node::Element(e) = &mut node {
                e.indent.clone_from(&inner);
                e.indent_children(&inner);
            }
            laid_out.push(Node::Verbatim(format!("\n{inner}")));
            laid_out.push(node);
        }
        laid_out.push(Node::Verbatim(format!("\n{indent}")));
        self.children = laid_out;
    }

    fn child_indent(&self) -> String {
        let from_sibling = self.children.windows(2).find_map(|pair| match pair {
            [Node::Verbatim(text), Node::Element(_)] if text.trim().is_empty() => {
                Some(text.rsplit('\n').next().unwrap_or("").to_string())
            }
            _ => None,
        });
        from_sibling.unwrap_or_else(|| format!("{}    ", self.indent))
    }

    /// Removes the child elements for which `remove` holds, with the
    /// whitespace that indented them.
    pub fn remove_children(&mut self, mut remove: impl FnMut(&Element) -> bool) -> usize {
        let mut removed = 0;
        let mut index = 0;
        while index < self.children.len() {
            if matches!(&self.children[index], Node::Element(e) if remove(e)) {
                self.children.remove(index);
                removed += 1;
                if index > 0 && matches!(&self.children[index - 1], Node::Verbatim(t) if t.trim().is_empty()) {
                    self.children.remove(index - 1);
                    index -= 1;
                }
            } else {
                index += 1;
            }
        }
        removed
    }

    /// This element and everything in it, as XML text.
    pub fn to_xml(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        out.push('<');
        out.push_str(&self.name);
        for (name, value) in &self.attributes {
            out.push(' ');
            out.push_str(name);
            out.push_str("=\"");
            out.push_str(&escape(value));
            out.push('"');
        }
        if self.children.is_empty() && !self.open_close {
            out.push_str(" />");
            return;
        }
        out.push('>');
        for child in &self.children {
            child.write(out);
        }
        out.push_str("</");
        out.push_str(&self.name);
        out.push('>');
    }
}

impl Node {
    fn write(&self, out: &mut String) {
        match self {
            Node::Element(e) => e.write(out),
            Node::Verbatim(text) => out.push_str(text),
        }
    }
}

/// A parsed file: the nodes around the root element and the root itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub nodes: Vec<Node>,
}

impl Document {
    pub fn parse(text: &str) -> Result<Self, XmlError> {
        // quick-xml skips a byte-order mark without counting it in its
        // positions, which would shift every verbatim slice: take it off
        // here and keep it as the document's first node.
        match text.strip_prefix('\u{feff}') {
            // A second one is a character before the root, which XML
            // forbids and which quick-xml would skip uncounted too.
            Some(rest) if rest.starts_with('\u{feff}') => {
                Err(XmlError::new(1, "two byte-order marks: text before the root element is not allowed"))
            }
            Some(rest) => {
                let mut document = Self::parse_body(rest)?;
                document.nodes.insert(0, Node::Verbatim("\u{feff}".to_string()));
                Ok(document)
            }
            None => Self::parse_body(text),
        }
    }

    fn parse_body(text: &str) -> Result<Self, XmlError> {
        let mut reader = Reader::from_str(text);
        reader.config_mut().check_end_names = true;
        let mut stack: Vec<Element> = Vec::new();
        let mut top: Vec<Node> = Vec::new();
        let mut lines = LineCounter::new(text);
        loop {
            let start = reader.buffer_position();
            let line = lines.at(start);
            let event = reader.read_event().map_err(|e| XmlError::new(line, e.to_string()))?;
            let end = reader.buffer_position();
            let raw = || {
                text.get(to_usize(start)..to_usize(end))
                    .map(str::to_string)
                    .ok_or_else(|| XmlError::new(line, "the reader lost its place in the text"))
            };
            let siblings = stack.last().map_or(&top, |parent| &parent.children);
            let indent = match siblings.last() {
                Some(Node::Verbatim(text)) if text.trim().is_empty() && text.contains('\n') => {
                    text.rsplit('\n').next().unwrap_or("").to_string()
                }
                _ => String::new(),
            };
            let node = match event {
                Event::Start(tag) => {
                    let mut element = element(&tag, line, indent)?;
                    element.open_close = true;
                    stack.push(element);
                    continue;
                }
                Event::Empty(tag) => Node::Element(element(&tag, line, indent)?),
                Event::End(_) => match stack.pop() {
                    Some(element) => Node::Element(element),
                    None => return Err(XmlError::new(line, "closing tag without an opening tag")),
                },
                Event::DocType(_) => {
                    return Err(XmlError::new(line, "a DTD is not allowed: entities are never expanded or fetched"))
                }
                Event::Eof => break,
                _ => Node::Verbatim(raw()?),
            };
            match stack.last_mut() {
                Some(parent) => parent.children.push(node),
                None => top.push(node),
            }
        }
        if let Some(open) = stack.last() {
            return Err(XmlError::new(lines.at(reader.buffer_position()), format!("<{}> is never closed", open.name)));
        }
        let document = Document { nodes: top };
        if document.root().is_none() {
            return Err(XmlError::new(1, "no root element"));
        }
        Ok(document)
    }

    pub fn root(&self) -> Option<&Element> {
        self.nodes.iter().find_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Verbatim(_) => None,
        })
    }

    pub fn root_mut(&mut self) -> Option<&mut Element> {
        self.nodes.iter_mut().find_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Verbatim(_) => None,
        })
    }

    pub fn to_xml(&self) -> String {
        let mut out = String::new();
        for node in &self.nodes {
            node.write(&mut out);
        }
        out
    }
}

fn element(tag: &BytesStart<'_>, line: usize, indent: String) -> Result<Element, XmlError> {
    let name = String::from_utf8_lossy(tag.name().as_ref()).into_owned();
    let mut attributes = Vec::new();
    for attr in tag.attributes() {
        let attr = attr.map_err(|e| XmlError::new(line, format!("<{name}>: {e}")))?;
        let key = String::from_utf8_lossy(attr.key.as_ref()).into_owned();
        let value = attr.unescape_value().map_err(|e| XmlError::new(line, format!("<{name} {key}>: {e}")))?;
        attributes.push((key, value.into_owned()));
    }
    Ok(Element { name, attributes, children: Vec::new(), line, indent, open_close: false })
}

fn to_usize(offset: u64) -> usize {
    usize::try_from(offset).unwrap_or(usize::MAX)
}

/// 1-based line numbers of increasing byte offsets, counting each newline
/// once: counting from the start for every event made parsing quadratic
/// (the fuzzer found a 778 KB web.config taking minutes).
struct LineCounter<'a> {
    text: &'a [u8],
    offset: usize,
    line: usize,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a str) -> Self {
        Self { text: text.as_bytes(), offset: 0, line: 1 }
    }

    /// The line of `offset`, which is never before the last one asked.
    fn at(&mut self, offset: u64) -> usize {
        let end = to_usize(offset).min(self.text.len()).max(self.offset);
        self.line += self.text[self.offset..end].iter().filter(|&&b| b == b'\n').count();
        self.offset = end;
        self.line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- keep me -->\n<configuration>\n    <empty></empty>\n    <a x=\"1 &amp; 2\" y='z'>\n        <b />\n    </a>\n    <c>text &lt; here</c>\n</configuration>\n";

    #[test]
    fn unchanged_document_round_trips_apart_from_quote_style() {
        let doc = Document::parse(SAMPLE).unwrap();
        assert_eq!(doc.to_xml(), SAMPLE.replace("y='z'", "y=\"z\""));
        let a = doc.root().unwrap().child("a").unwrap();
        assert_eq!(a.attr("x"), Some("1 & 2"));
        assert_eq!(a.line, 5);
    }

    #[test]
    fn appended_children_are_indented_like_siblings() {
        let mut doc = Document::parse(SAMPLE).unwrap();
        let a = doc.root_mut().unwrap().descendant_or_insert(&["a"]);
        let mut d = Element::new("d");
        d.append_child(Element::new("e"));
        a.append_child(d);
        assert!(
            doc.to_xml().contains("<b />\n        <d>\n            <e />\n        </d>\n    </a>"),
            "{}",
            doc.to_xml()
        );
        let root = doc.root_mut().unwrap();
        assert_eq!(root.child("c").unwrap().text(), "text < here");
        root.append_child(Element::with_text("t", "a < b & é"));
        assert!(doc.to_xml().contains("<t>a &lt; b &amp; é</t>"), "{}", doc.to_xml());
        let root = doc.root_mut().unwrap();
        assert_eq!(root.remove_children(|e| e.name == "c"), 1);
        root.descendant_or_insert(&["a", "b", "f"]);
        assert!(doc.to_xml().contains("<b>\n            <f />\n        </b>"), "{}", doc.to_xml());
        assert!(!doc.to_xml().contains("<c>"));
    }

    #[test]
    fn a_byte_order_mark_survives_and_shifts_nothing() {
        // Found by fuzzing (iis_config, msdeploy_manifest, webpi_inputs).
        let text = "\u{feff}<?xml version=\"1.0\"?>\n<configuration>\n  <a x=\"1\" />\n</configuration>\n";
        let doc = Document::parse(text).unwrap();
        assert_eq!(doc.to_xml(), text);
        assert_eq!(doc.root().unwrap().child("a").unwrap().line, 3);
        let crash = "\u{feff}a<a</=\"0x0\" <?xml version\"\"\"\">\n<m>";
        assert!(Document::parse(crash).is_err());
        // Found by fuzzing: a second mark was skipped uncounted as well,
        // and the written file no longer parsed.
        let doubled = "\u{feff}\u{feff}<?xml version=\"1.0\"?>\n<configuration />\n";
        assert!(Document::parse(doubled).unwrap_err().message.contains("two byte-order marks"));
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(Document::parse("<a>\n<b>\n</a>").unwrap_err().line, 3);
        assert_eq!(Document::parse("<a>\n<b x=\"1>\n</a>").unwrap_err().line, 2);
        assert!(Document::parse("<a>\n<b>").unwrap_err().message.contains("never closed"));
    }

    #[test]
    fn dtd_and_unknown_entities_are_refused() {
        let err = Document::parse("<!DOCTYPE x [<!ENTITY e \"boom\">]>\n<a/>").unwrap_err();
        assert!(err.message.contains("DTD"));
        assert!(Document::parse("<a x=\"&e;\"/>").is_err());
    }

    #[test]
    fn a_large_document_parses_with_its_lines_right() {
        // 200,000 elements on as many lines: this never finished while
        // each event counted lines from the start of the text.
        let mut text = String::from("<configuration>\n  <appSettings>\n");
        for i in 0..200_000 {
            text.push_str(&format!("    <add key=\"K{i}\" value=\"v\" />\n"));
        }
        text.push_str("  </appSettings>\n</configuration>\n");
        let doc = Document::parse(&text).unwrap();
        let settings = doc.root().unwrap().child("appSettings").unwrap();
        assert_eq!(settings.elements().last().unwrap().line, 200_002);
        let broken = text.replace("</configuration>", "</configuration");
        assert_eq!(Document::parse(&broken).unwrap_err().line, 200_004);
    }
}
