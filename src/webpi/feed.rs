//! The WebPI feed: an Atom document in WebPI's schema with one
//! `<entry type="application">` per Web Deploy package and one entry per
//! plain Python distribution (`webpi_eggs`). Built as an XML tree, so it is
//! well formed whatever the metadata holds, and ordered, so the same inputs
//! give the same feed apart from the timestamps.

use crate::project::Project;
use iiswsgi_proto::iis::{Document, Element, Node};

/// A built Web Deploy package as the feed lists it.
#[derive(Debug, Clone)]
pub struct Package {
    pub project: Project,
    pub file_name: String,
    pub size: u64,
    pub sha1: String,
    pub sha256: String,
    /// The manifest's `<iisApp path>`.
    pub iis_app: String,
    pub url: String,
}

pub struct Feed<'a> {
    pub project: &'a Project,
    pub packages: &'a [Package],
    /// `3.11`.
    pub py_version: &'a str,
    /// The feed's own URL, also its `<id>`.
    pub url: &'a str,
    /// RFC 3339, for `<updated>` and the default `<published>`.
    pub timestamp: &'a str,
}

/// WebPI's product id for a Python, e.g. `Python311`.
pub fn python_product(py_version: &str) -> String {
    format!("Python{}", py_version.replace('.', ""))
}

fn text(name: &str, value: &str) -> Element {
    Element::with_text(name, value)
}

fn parent(name: &str, children: Vec<Element>) -> Element {
    let mut element = Element::new(name);
    for child in children {
        element.append_child(child);
    }
    element
}

fn author(project: &Project) -> Element {
    let person = project.metadata.authors.first();
    let mut children = vec![text("name", person.map_or("", |p| p.name.as_str()))];
    if let Some(url) = &project.metadata.tool.author_url {
        children.push(text("uri", url));
    }
    parent("author", children)
}

fn link(href: &str) -> Element {
    let mut link = Element::new("link");
    link.set_attr("href", href);
    link
}

fn homepage(project: &Project) -> String {
    let urls = &project.metadata.urls;
    urls.get("Homepage").or_else(|| urls.values().next()).cloned().unwrap_or_default()
}

fn dependency_on(product_ids: &[String]) -> Element {
    let ands = product_ids.iter().map(|id| parent("dependency", vec![text("productId", id)])).collect();
    parent("dependency", vec![parent("and", ands)])
}

fn package_entry(feed: &Feed<'_>, package: &Package) -> Element {
    let metadata = &package.project.metadata;
    let tool = &metadata.tool;
    let mut dependencies = vec!["WDeploy".to_string(), python_product(feed.py_version), "iiswsgi".to_string()];
    dependencies.extend(tool.webpi_dependencies.iter().cloned());
    dependencies.dedup();
    let mut entry = Element::new("entry");
    entry.set_attr("type", "application");
    let mut children = vec![
        text("productId", &metadata.name),
        text("id", &package.url),
        text("version", &metadata.version),
        text("updated", feed.timestamp),
        text("published", tool.published.as_deref().unwrap_or(feed.timestamp)),
        text("title", tool.title.as_deref().unwrap_or(&metadata.name)),
        link(&homepage(&package.project)),
        text("summary", &metadata.description),
        text("longSummary", metadata.readme.as_deref().unwrap_or(&metadata.description)),
        author(&package.project),
        text("frameworkFamily", "Python"),
        parent("keywords", metadata.keywords.iter().map(|k| text("keywordId", k)).collect()),
    ];
    let mut images = Vec::new();
    if let Some(icon) = &tool.icon_url {
        images.push(text("icon", icon));
    }
    if let Some(screenshot) = &tool.screenshot_url {
        images.push(text("screenshot", screenshot));
    }
    children.push(parent("images", images));
    children.push(dependency_on(&dependencies));
    let related = tool.webpi_eggs.iter().map(|egg| parent("relatedProduct", vec![text("productId", egg)])).collect();
    children.push(parent("related", related));
    let mut installer = vec![text("id", "1"), text("languageId", "en")];
    if let Some(eula) = &tool.license_url {
        installer.push(text("eulaURL", eula));
    }
    installer.push(parent(
        "installerFile",
        vec![
            // WebPI wants kilobytes.
            text("fileSize", &package.size.div_ceil(1024).to_string()),
            text("installerURL", &package.url),
            text("displayURL", tool.display_url.as_deref().unwrap_or(&package.url)),
            text("sha1", &package.sha1),
        ],
    ));
    installer.push(parent("msDeploy", vec![Element::new("startPage")]));
    if let Some(help) = &tool.help_url {
        installer.push(text("helpLink", help));
    }
    children.push(parent("installers", vec![parent("installer", installer)]));
    children.push(text("productFamily", "Applications"));
    for child in children {
        entry.append_child(child);
    }
    entry
}

/// A plain Python distribution, installed with pip into WebPI's Python.
fn egg_entry(feed: &Feed<'_>, name: &str) -> Element {
    let python_dir = format!(r"%SystemDrive%\{}", python_product(feed.py_version));
    let version = if name.eq_ignore_ascii_case("iiswsgi") { env!("CARGO_PKG_VERSION") } else { "0" };
    let command = parent(
        "cmdLine",
        vec![
            text("exe", &format!(r"{python_dir}\python.exe")),
            text("commandLineArguments", &format!("-m pip install --upgrade {name}")),
            text("ignoreExitCode", "false"),
        ],
    );
    let hint = parent(
        "discoveryHint",
        vec![parent(
            "or",
            vec![parent(
                "discoveryHint",
                vec![parent("file", vec![text("filePath", &format!(r"{python_dir}\Lib\site-packages\{name}"))])],
            )],
        )],
    );
    let installer = parent(
        "installer",
        vec![
            text("id", "1"),
            text("languageId", "en"),
            parent("installCommands", vec![command]),
            parent("logFiles", vec![text("location", &format!(r"%TEMP%\pip-{name}.log"))]),
        ],
    );
    parent(
        "entry",
        vec![
            text("productId", name),
            text("id", &format!("https://pypi.org/project/{name}/")),
            text("version", version),
            text("updated", feed.timestamp),
            text("title", name),
            link(&format!("https://pypi.org/project/{name}/")),
            text("summary", &format!("The {name} Python distribution, installed with pip")),
            parent("dependency", vec![text("productId", &python_product(feed.py_version))]),
            hint,
            parent("installers", vec![installer]),
            text("productFamily", "Python"),
        ],
    )
}

/// The feed; with a `template` (a feed to extend), its elements are kept,
/// entries with the same productIds are replaced, and `<id>`/`<updated>`
/// are set.
pub fn feed_xml(feed: &Feed<'_>, template: Option<Document>) -> String {
    match template {
        Some(template) => extend(template, feed),
        None => fresh(feed),
    }
}

fn entries(feed: &Feed<'_>) -> Vec<Element> {
    let mut packages: Vec<&Package> = feed.packages.iter().collect();
    packages.sort_by(|a, b| a.project.metadata.name.cmp(&b.project.metadata.name));
    let mut entries: Vec<Element> = packages.iter().map(|p| package_entry(feed, p)).collect();
    let mut eggs: Vec<&String> = feed.packages.iter().flat_map(|p| &p.project.metadata.tool.webpi_eggs).collect();
    eggs.sort();
    eggs.dedup();
    entries.extend(eggs.into_iter().map(|egg| egg_entry(feed, egg)));
    entries
}

fn extend(mut template: Document, feed: &Feed<'_>) -> String {
    let new_entries = entries(feed);
    if let Some(root) = template.root_mut() {
        let ids: Vec<String> = new_entries.iter().filter_map(|e| e.child("productId").map(Element::text)).collect();
        root.remove_children(|e| e.name == "entry" && e.child("productId").is_some_and(|p| ids.contains(&p.text())));
        root.remove_children(|e| e.name == "id" || e.name == "updated");
        root.append_child(text("id", feed.url));
        root.append_child(text("updated", feed.timestamp));
        for entry in new_entries {
            root.append_child(entry);
        }
    }
    template.to_xml()
}

fn fresh(feed: &Feed<'_>) -> String {
    let metadata = &feed.project.metadata;
    let mut root = Element::new("feed");
    root.set_attr("xmlns", "http://www.w3.org/2005/Atom");
    let mut webpi = Element::new("webpiFile");
    webpi.set_attr("version", "4.2.0.0");
    let mut children = vec![
        webpi,
        text("title", &format!("{} WebPI feed", metadata.tool.title.as_deref().unwrap_or(&metadata.name))),
        link(&homepage(feed.project)),
        text("updated", feed.timestamp),
        author(feed.project),
        text("id", feed.url),
    ];
    children.extend(entries(feed));
    children.push(parent("resourcesList", vec![parent("resources", vec![text("culture", "en")])]));
    let mut language = parent("language", vec![text("languageId", "en"), text("name", "English")]);
    language.set_attr("default", "true");
    children.push(parent("languages", vec![language]));
    for child in children {
        root.append_child(child);
    }
    let document = Document {
        nodes: vec![
            Node::Verbatim("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n".into()),
            Node::Element(root),
            Node::Verbatim("\n".into()),
        ],
    };
    document.to_xml()
}

/// `2023-11-14T22:13:20Z` for `SOURCE_DATE_EPOCH`, else now.
pub fn timestamp() -> String {
    let secs = std::env::var("SOURCE_DATE_EPOCH").ok().and_then(|s| s.trim().parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
    });
    let (year, month, day, hour, minute, second) = iiswsgi_proto::civil_time::utc(secs);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
}
