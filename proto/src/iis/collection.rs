//! IIS configuration collections (`<handlers>`, `<modules>`): `add`,
//! `remove` and `clear` entries, merged level by level.

use super::xml::{Element, XmlError};

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

/// Applies one configuration level's ops to the inherited list. IIS's
/// collections have `mergeAppend="false"`, so entries a level adds go in
/// front of the ones it inherits; `<clear/>` drops everything before it.
pub fn apply<T: Named + Clone>(inherited: &[T], ops: &[CollectionOp<T>]) -> Result<Vec<T>, String> {
    let mut inherited = inherited.to_vec();
    let mut local: Vec<T> = Vec::new();
    for op in ops {
        match op {
            CollectionOp::Clear => {
                inherited.clear();
                local.clear();
            }
            CollectionOp::Remove(name) => {
                inherited.retain(|item| item.name() != name);
                local.retain(|item| item.name() != name);
            }
            CollectionOp::Add(item) => {
                if inherited.iter().chain(&local).any(|i| i.name() == item.name()) {
                    return Err(format!(
                        "Cannot add duplicate collection entry of type '{}' with unique key attribute 'name' set to '{}'",
                        T::ITEM,
                        item.name()
                    ));
                }
                local.push(item.clone());
            }
        }
    }
    local.extend(inherited);
    Ok(local)
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
}

impl Level {
    pub fn from_system_web_server(element: Option<&Element>) -> Result<Self, XmlError> {
        let Some(element) = element else { return Ok(Self::default()) };
        Ok(Self {
            handlers: element.child("handlers").map(super::handlers::handler_ops).transpose()?.unwrap_or_default(),
            modules: element.child("modules").map(module_ops).transpose()?,
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
}
