//! IIS configuration collections (`<handlers>`, `<modules>`): `add`,
//! `remove` and `clear` entries, merged level by level.

use super::xml::{Element, XmlError};
use std::collections::HashMap;

/// One entry of a collection section, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CollectionOp<T> {
    Add(T),
    Remove(String),
    Clear,
}

/// A collection item with a unique `name`.
pub trait Named {
    /// The item's element name, for messages.
    const ITEM: &'static str;
    fn name(&self) -> &str;
}

/// Where the entries a level adds go, relative to the ones it inherits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merge {
    /// In front: `mergeAppend="false"`, as `<handlers>` and `<modules>`.
    Prepend,
    /// After them: URL Rewrite's `<rules>`, evaluated parent to child.
    Append,
}

/// Applies one configuration level's ops to the inherited list, the
/// level's own entries in front (`<handlers>`, `<modules>`); `<clear/>`
/// drops everything before it.
pub fn apply<T: Named + Clone>(inherited: &[T], ops: &[CollectionOp<T>]) -> Result<Vec<T>, String> {
    apply_merging(inherited, ops, Merge::Prepend)
}

/// [`apply`], with the level's entries placed as `merge` says.
pub fn apply_merging<T: Named + Clone>(
    inherited: &[T],
    ops: &[CollectionOp<T>],
    merge: Merge,
) -> Result<Vec<T>, String> {
    let mut kept = Slots::default();
    for item in inherited {
        kept.push(item.name(), item.clone());
    }
    let mut local = Slots::default();
    for op in ops {
        match op {
            CollectionOp::Clear => {
                kept.clear();
                local.clear();
            }
            CollectionOp::Remove(name) => {
                kept.remove(name);
                local.remove(name);
            }
            CollectionOp::Add(item) => {
                if kept.contains(item.name()) || local.contains(item.name()) {
                    return Err(format!(
                        "Cannot add duplicate collection entry of type '{}' with unique key attribute 'name' set to '{}'",
                        T::ITEM,
                        item.name()
                    ));
                }
                local.push(item.name(), item.clone());
            }
        }
    }
    let (first, second) = match merge {
        Merge::Prepend => (local, kept),
        Merge::Append => (kept, local),
    };
    let mut merged = first.into_vec();
    merged.extend(second.into_vec());
    Ok(merged)
}

/// Items in order, removable by key in constant time: a collection of
/// 100,000 entries must not cost 10^10 steps to read (a hostile or
/// generated config file).
#[derive(Debug)]
pub(crate) struct Slots<T> {
    items: Vec<Option<T>>,
    by_key: HashMap<String, Vec<usize>>,
}

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Self { items: Vec::new(), by_key: HashMap::new() }
    }
}

impl<T> Slots<T> {
    pub(crate) fn push(&mut self, key: &str, item: T) {
        self.by_key.entry(key.to_string()).or_default().push(self.items.len());
        self.items.push(Some(item));
    }

    pub(crate) fn contains(&self, key: &str) -> bool {
        self.by_key.contains_key(key)
    }

    /// Removes every item with this key.
    pub(crate) fn remove(&mut self, key: &str) {
        for at in self.by_key.remove(key).unwrap_or_default() {
            self.items[at] = None;
        }
    }

    pub(crate) fn clear(&mut self) {
        self.items.clear();
        self.by_key.clear();
    }

    pub(crate) fn into_vec(self) -> Vec<T> {
        self.items.into_iter().flatten().collect()
    }
}

/// A `<modules>` entry: only its name matters here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module(pub String);

impl Named for Module {
    const ITEM: &'static str = "add";

    fn name(&self) -> &str {
        &self.0
    }
}

pub type ModuleOp = CollectionOp<Module>;

/// The ops of a `<modules>` element.
pub fn module_ops(section: &Element) -> Result<Vec<ModuleOp>, XmlError> {
    let mut ops = Vec::new();
    for element in section.elements() {
        let name = || {
            element.attr("name").map(str::to_string).ok_or_else(|| {
                XmlError::new(element.line, format!("<modules><{}> lacks the required attribute `name`", element.name))
            })
        };
        match element.name.as_str() {
            "add" => ops.push(CollectionOp::Add(Module(name()?))),
            "remove" => ops.push(CollectionOp::Remove(name()?)),
            "clear" => ops.push(CollectionOp::Clear),
            _ => {}
        }
    }
    Ok(ops)
}

/// What one `<system.webServer>` element contributes to a URL's
/// configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Level {
    pub handlers: Vec<CollectionOp<super::Handler>>,
    /// `None` when the level has no `<modules>` section.
    pub modules: Option<Vec<ModuleOp>>,
    /// The `<httpPlatform>` and `<aspNetCore>` sections this level has.
    pub http_platform: Vec<super::http_platform::HttpPlatform>,
    /// The `<rewrite>` section (URL Rewrite rules), if the level has one.
    pub rewrite: Option<super::rewrite::RewriteLevel>,
}

impl Level {
    pub fn from_system_web_server(element: Option<&Element>) -> Result<Self, XmlError> {
        let Some(element) = element else { return Ok(Self::default()) };
        Ok(Self {
            handlers: element.child("handlers").map(super::handlers::handler_ops).transpose()?.unwrap_or_default(),
            modules: element.child("modules").map(module_ops).transpose()?,
            http_platform: super::http_platform::sections(Some(element))?,
            rewrite: super::rewrite::level(Some(element))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iis::xml::Document;

    #[test]
    fn modules_merge_like_handlers() {
        let doc = Document::parse(r#"<modules><add name="A"/><add name="FastCgiModule"/></modules>"#).unwrap();
        let server = apply(&[], &module_ops(doc.root().unwrap()).unwrap()).unwrap();
        let doc = Document::parse(r#"<modules><remove name="FastCgiModule"/><add name="B"/></modules>"#).unwrap();
        let site = apply(&server, &module_ops(doc.root().unwrap()).unwrap()).unwrap();
        assert_eq!(site, [Module("B".into()), Module("A".into())]);
    }

    #[test]
    fn a_hundred_thousand_entries_merge_in_order() {
        // Each add and remove once scanned the whole list: 10^10 steps.
        let mut ops: Vec<ModuleOp> = (0..100_000).map(|i| CollectionOp::Add(Module(format!("M{i}")))).collect();
        ops.extend((0..100_000).step_by(2).map(|i| CollectionOp::Remove(format!("M{i}"))));
        let inherited = [Module("M1".into()), Module("Inherited".into())];
        assert!(apply(&inherited, &ops).unwrap_err().contains("'M1'"), "a duplicate of an inherited entry");
        let merged = apply(&inherited[1..], &ops).unwrap();
        assert_eq!(merged.len(), 50_001);
        assert_eq!(merged[..2], [Module("M1".into()), Module("M3".into())]);
        assert_eq!(merged.last(), Some(&Module("Inherited".into())));
    }
}
