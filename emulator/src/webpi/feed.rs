//! Reading a WebPI feed: the entries an installer needs.

use iiswsgi_proto::iis::{Document, Element};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub product_id: String,
    pub title: String,
    pub version: String,
    /// Product ids of every `<dependency>` below the entry.
    pub dependencies: Vec<String>,
    pub installer: Option<Installer>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installer {
    pub url: String,
    /// Kilobytes, as the feed says.
    pub file_size_kb: Option<u64>,
    pub sha1: Option<String>,
    pub is_msdeploy: bool,
}

/// The entries of a feed; `source` names it in errors.
pub fn entries(text: &str) -> Result<Vec<Entry>, String> {
    let document = Document::parse(text).map_err(|e| format!("line {}: {}", e.line, e.message))?;
    let root = document.root().ok_or("no root element")?;
    if root.name != "feed" {
        return Err(format!("the root element is <{}>, not an Atom <feed>", root.name));
    }
    Ok(root.elements().filter(|e| e.name == "entry").map(entry).collect())
}

fn child_text(element: &Element, name: &str) -> String {
    element.child(name).map(Element::text).unwrap_or_default()
}

fn entry(element: &Element) -> Entry {
    let mut dependencies = Vec::new();
    if let Some(dependency) = element.child("dependency") {
        collect_products(dependency, &mut dependencies);
    }
    let installer = element.child("installers").and_then(|i| i.child("installer")).map(|installer| {
        let file = installer.child("installerFile");
        Installer {
            url: file.map(|f| child_text(f, "installerURL")).unwrap_or_default(),
            file_size_kb: file.and_then(|f| child_text(f, "fileSize").trim().parse().ok()),
            sha1: file.map(|f| child_text(f, "sha1")).filter(|s| !s.is_empty()),
            is_msdeploy: installer.child("msDeploy").is_some(),
        }
    });
    Entry {
        product_id: child_text(element, "productId"),
        title: child_text(element, "title"),
        version: child_text(element, "version"),
        dependencies,
        installer,
    }
}

fn collect_products(element: &Element, out: &mut Vec<String>) {
    for child in element.elements() {
        if child.name == "productId" {
            out.push(child.text());
        } else {
            collect_products(child, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_entries_with_nested_dependencies() {
        let feed = r#"<feed xmlns="http://www.w3.org/2005/Atom"><id>x</id>
<entry type="application"><productId>Sample</productId><title>Sample &amp; Co</title><version>1.0</version>
<dependency><and><dependency><productId>WDeploy</productId></dependency><dependency><productId>Python311</productId></dependency></and></dependency>
<installers><installer><installerFile><fileSize>3</fileSize><installerURL>http://x/s.zip</installerURL><sha1>AB</sha1></installerFile><msDeploy><startPage/></msDeploy></installer></installers></entry>
</feed>"#;
        let entries = entries(feed).unwrap();
        assert_eq!(entries[0].title, "Sample & Co");
        assert_eq!(entries[0].dependencies, ["WDeploy", "Python311"]);
        let installer = entries[0].installer.as_ref().unwrap();
        assert_eq!(
            (installer.file_size_kb, installer.sha1.as_deref(), installer.is_msdeploy),
            (Some(3), Some("AB"), true)
        );
        assert!(super::entries("not xml").is_err());
        assert!(super::entries("<html/>").unwrap_err().contains("not an Atom"));
    }
}
