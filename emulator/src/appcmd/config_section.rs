//! `list config` and `set config` on one section of applicationHost.config.

use super::args::{Args, Pairs, Param, Step};
use super::{Failure, ALREADY_EXISTS, INVALID_DATA, NOT_FOUND};
use iiswsgi_proto::iis::{Document, Element};

const COMMIT_PATH: &str = "MACHINE/WEBROOT/APPHOST";

/// Canonical spelling of the sections and groups appcmd users name in
/// other cases (`fastCGI`, `system.webserver`).
const KNOWN_NAMES: [&str; 8] = [
    "system.webServer",
    "system.applicationHost",
    "fastCgi",
    "handlers",
    "sites",
    "applicationPools",
    "security",
    "staticContent",
];

/// The section path, `system.webServer/fastCgi`, from a full or short name.
fn section_path(document: &Document, name: &str) -> Result<Vec<String>, Failure> {
    let canonical = |part: &str| {
        KNOWN_NAMES.iter().find(|k| k.eq_ignore_ascii_case(part)).map_or(part.to_string(), |k| k.to_string())
    };
    let parts: Vec<String> = name.split('/').filter(|p| !p.is_empty()).map(canonical).collect();
    if parts.is_empty() {
        return Err(Failure::new(INVALID_DATA, "/section:NAME is required"));
    }
    if parts.len() > 1 {
        return Ok(parts);
    }
    let root = document.root();
    let groups = [["system.webServer"].as_slice(), &["system.applicationHost"], &["system.webServer", "security"]];
    let found = groups.iter().find(|group| {
        let mut path: Vec<&str> = group.to_vec();
        path.push(&parts[0]);
        root.is_some_and(|r| r.descendant(&path).is_some())
    });
    let mut path: Vec<String> = found.unwrap_or(&groups[0]).iter().map(|s| s.to_string()).collect();
    path.push(parts[0].clone());
    Ok(path)
}

fn section_name(args: &Args) -> Result<&str, Failure> {
    args.named("section").ok_or_else(|| Failure::new(INVALID_DATA, "/section:NAME is required"))
}

pub fn list(document: &Document, args: &Args) -> Result<String, Failure> {
    let path = section_path(document, section_name(args)?)?;
    let refs: Vec<&str> = path.iter().map(String::as_str).collect();
    let mut section = document
        .root()
        .and_then(|r| r.descendant(&refs))
        .cloned()
        .unwrap_or_else(|| Element::new(&path[path.len() - 1]));
    if args.flag("xml") {
        section.name = path.join("-");
        return Ok(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<appcmd>\n    <CONFIG CONFIG.SECTION=\"{}\" path=\"{COMMIT_PATH}\" overrideMode=\"Inherit\" locked=\"false\">\n        {}\n    </CONFIG>\n</appcmd>\n",
            path.join("/"),
            section.to_xml()
        ));
    }
    let mut text = section.to_xml();
    for group in path[..path.len() - 1].iter().rev() {
        text = format!("<{group}>\n{text}\n</{group}>");
    }
    Ok(format!("{text}\n"))
}

pub fn set(document: &mut Document, args: &Args) -> Result<String, Failure> {
    let path = section_path(document, section_name(args)?)?;
    let refs: Vec<&str> = path.iter().map(String::as_str).collect();
    let root =
        document.root_mut().ok_or_else(|| Failure::new(INVALID_DATA, "the configuration has no root element"))?;
    let section = root.descendant_or_insert(&refs);
    let mut changed = false;
    for param in &args.params {
        match param {
            Param::Add(steps) => add(section, steps)?,
            Param::Remove(steps) => remove(section, steps)?,
            Param::SetItem(steps, attr, value) => navigate(section, steps)?.set_attr(attr, value),
            Param::Named(name, value) if !is_general(name) => set_attribute(section, name, value),
            Param::Named(..) => continue,
        }
        changed = true;
    }
    if !changed {
        return Err(Failure::new(INVALID_DATA, "No changes were given for the section"));
    }
    Ok(format!(
        "Applied configuration changes to section \"{}\" for \"{COMMIT_PATH}\" at configuration commit path \"{COMMIT_PATH}\"\n",
        path.join("/")
    ))
}

/// Parameters that steer appcmd rather than name an attribute.
fn is_general(name: &str) -> bool {
    ["section", "commit", "apphostconfig", "xml", "text", "config", "in"].iter().any(|g| g.eq_ignore_ascii_case(name))
}

/// `/limits.requestQueueMax:4000`: an attribute, maybe of a child element.
fn set_attribute(section: &mut Element, name: &str, value: &str) {
    let parts: Vec<&str> = name.split('.').collect();
    let (attr, elements) = parts.split_last().unwrap_or((&name, &[]));
    section.descendant_or_insert(elements).set_attr(attr, value);
}

/// The element name of a collection's items.
fn item_name(collection: &str) -> &'static str {
    match collection.to_ascii_lowercase().as_str() {
        "fastcgi" => "application",
        "environmentvariables" => "environmentVariable",
        "sites" => "site",
        "bindings" => "binding",
        _ => "add",
    }
}

/// The attributes that identify an item, for duplicate checks.
fn key_attributes(item: &str, given: &[(String, String)]) -> Vec<String> {
    match item {
        "application" => vec!["fullPath".into(), "arguments".into()],
        "environmentVariable" | "site" => vec!["name".into()],
        "binding" => vec!["protocol".into(), "bindingInformation".into()],
        _ => given.iter().map(|(k, _)| k.clone()).take(1).collect(),
    }
}

fn matches(element: &Element, pairs: &[(String, String)]) -> bool {
    !matches!(element.name.as_str(), "clear" | "remove")
        && pairs.iter().all(|(k, v)| element.attr(k).unwrap_or("").eq_ignore_ascii_case(v))
}

/// Follows the steps before the last one; items must exist, elements are
/// created.
fn navigate<'a>(mut current: &'a mut Element, steps: &[Step]) -> Result<&'a mut Element, Failure> {
    for step in steps {
        current = match step {
            Step::Element(name) => current.descendant_or_insert(&[name.as_str()]),
            Step::Item(pairs) => current
                .elements_mut()
                .find(|e| matches(e, pairs))
                .ok_or_else(|| Failure::new(NOT_FOUND, "Cannot find requested collection element."))?,
        };
    }
    Ok(current)
}

fn split_last_item(steps: &[Step]) -> Result<(&[Step], &Pairs), Failure> {
    match steps.split_last() {
        Some((Step::Item(pairs), before)) => Ok((before, pairs)),
        _ => Err(Failure::new(INVALID_DATA, "Invalid collection expression: it must end in [name='value',...]")),
    }
}

fn add(section: &mut Element, steps: &[Step]) -> Result<(), Failure> {
    let (before, pairs) = split_last_item(steps)?;
    let collection_name = match before.last() {
        Some(Step::Element(name)) => name.clone(),
        _ => section.name.clone(),
    };
    let collection = navigate(section, before)?;
    let item = item_name(&collection_name);
    let keys = key_attributes(item, pairs);
    let value_of = |k: &String| pairs.iter().find(|(n, _)| n == k).map_or(String::new(), |(_, v)| v.clone());
    if item == "application" && value_of(&"fullPath".to_string()).is_empty() {
        return Err(Failure::new(INVALID_DATA, "New application object missing required attributes: fullPath"));
    }
    let key_pairs: Vec<(String, String)> = keys.iter().map(|k| (k.clone(), value_of(k))).collect();
    if collection.elements().any(|e| e.name == item && matches(e, &key_pairs)) {
        let values: Vec<String> = key_pairs.iter().map(|(_, v)| v.clone()).collect();
        let message = if keys.len() == 1 {
            format!(
                "Cannot add duplicate collection entry of type '{item}' with unique key attribute '{}' set to '{}'",
                keys[0], values[0]
            )
        } else {
            format!(
                "New {item} object missing required attributes. Cannot add duplicate collection entry of type '{item}' with combined key attributes '{}' respectively set to '{}'",
                keys.join(", "),
                values.join(", ")
            )
        };
        return Err(Failure::new(ALREADY_EXISTS, message));
    }
    let mut element = Element::new(item);
    for (k, v) in pairs {
        element.set_attr(k, v);
    }
    collection.append_child(element);
    Ok(())
}

fn remove(section: &mut Element, steps: &[Step]) -> Result<(), Failure> {
    let (before, pairs) = split_last_item(steps)?;
    let collection = navigate(section, before)?;
    let mut removed = false;
    collection.remove_children(|e| {
        let hit = !removed && matches(e, pairs);
        removed |= hit;
        hit
    });
    if !removed {
        return Err(Failure::new(NOT_FOUND, "Cannot find requested collection element."));
    }
    Ok(())
}
