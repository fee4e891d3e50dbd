//! `pyproject.toml`: PEP 621's `[project]` and `[tool.iiswsgi]`.

use super::{Error, Metadata, Person, Tool};
use std::path::Path;
use toml::{Table, Value};

/// The metadata, or `None` when the file has no `[project]` table (a
/// pyproject.toml that only configures tools, next to a setup.py).
pub fn read(path: &Path) -> Result<Option<Metadata>, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read { path: path.to_path_buf(), source })?;
    let table: Table = text.parse().map_err(|err: toml::de::Error| {
        let line = err.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        let message = format!("{}{}", line.map(|l| format!("line {l}: ")).unwrap_or_default(), err.message());
        Error::Invalid { path: path.to_path_buf(), message }
    })?;
    let Some(project) = table.get("project").and_then(Value::as_table) else { return Ok(None) };
    let fields = Fields { path, table: project, prefix: "project" };
    let name = fields.required_string("name")?;
    let dynamic = fields.strings("dynamic")?;
    let version = match fields.string("version")? {
        Some(version) => version,
        None if dynamic.iter().any(|d| d == "version") => {
            return Err(fields.invalid("version", "is dynamic; iiswsgi needs `version` written in [project]"))
        }
        None => return Err(fields.invalid("version", "is missing")),
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let readme = match project.get("readme") {
        None => None,
        Some(Value::String(file)) => Some(read_text(&dir.join(file))?),
        Some(Value::Table(readme)) => {
            match (readme.get("file").and_then(Value::as_str), readme.get("text").and_then(Value::as_str)) {
                (Some(file), _) => Some(read_text(&dir.join(file))?),
                (None, Some(text)) => Some(text.to_string()),
                _ => return Err(fields.invalid("readme", "needs `file` or `text`")),
            }
        }
        Some(_) => return Err(fields.invalid("readme", "must be a file name or a table")),
    };
    let license = match project.get("license") {
        None => None,
        Some(Value::String(expression)) => Some(expression.clone()),
        Some(Value::Table(license)) => {
            match (license.get("text").and_then(Value::as_str), license.get("file").and_then(Value::as_str)) {
                (Some(text), _) => Some(text.to_string()),
                (None, Some(file)) => Some(read_text(&dir.join(file))?),
                _ => return Err(fields.invalid("license", "needs `text` or `file`")),
            }
        }
        Some(_) => return Err(fields.invalid("license", "must be a string or a table")),
    };
    let mut authors = Vec::new();
    if let Some(list) = project.get("authors") {
        let Some(list) = list.as_array() else { return Err(fields.invalid("authors", "must be an array of tables")) };
        for author in list {
            let Some(author) = author.as_table() else {
                return Err(fields.invalid("authors", "must be an array of tables"));
            };
            let get = |k: &str| author.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            authors.push(Person { name: get("name"), email: get("email") });
        }
    }
    let mut optional_dependencies = std::collections::BTreeMap::new();
    if let Some(extras) = project.get("optional-dependencies").and_then(Value::as_table) {
        let extra_fields = Fields { path, table: extras, prefix: "project.optional-dependencies" };
        for name in extras.keys() {
            optional_dependencies.insert(name.clone(), extra_fields.strings(name)?);
        }
    }
    let urls = project
        .get("urls")
        .and_then(Value::as_table)
        .map(|t| t.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string()))).collect())
        .unwrap_or_default();
    let empty = Table::new();
    let tool_table = table.get("tool").and_then(|t| t.get("iiswsgi")).and_then(Value::as_table).unwrap_or(&empty);
    let tool_fields = Fields { path, table: tool_table, prefix: "tool.iiswsgi" };
    let tool = Tool {
        title: tool_fields.string("title")?,
        author_url: tool_fields.string("author_url")?,
        license_url: tool_fields.string("license_url")?,
        icon_url: tool_fields.string("icon_url")?,
        screenshot_url: tool_fields.string("screenshot_url")?,
        display_url: tool_fields.string("display_url")?,
        help_url: tool_fields.string("help_url")?,
        published: tool_fields.string("published")?,
        msdeploy_url_template: tool_fields.string("msdeploy_url_template")?,
        install_msdeploy: tool_fields.strings("install_msdeploy")?,
        webpi_dependencies: tool_fields.strings("webpi_dependencies")?,
        webpi_eggs: tool_fields.strings("webpi_eggs")?,
        post_install: tool_fields.strings("post-install")?,
        app: tool_fields.string("app")?,
        config: tool_fields.string("config")?,
    };
    Ok(Some(Metadata {
        name,
        version,
        description: fields.string("description")?.unwrap_or_default(),
        readme,
        authors,
        urls,
        keywords: fields.strings("keywords")?,
        license,
        dependencies: fields.strings("dependencies")?,
        optional_dependencies,
        tool,
    }))
}

fn read_text(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|source| Error::Read { path: path.to_path_buf(), source })
}

/// Typed access to one table, with errors naming `prefix.key`.
struct Fields<'a> {
    path: &'a Path,
    table: &'a Table,
    prefix: &'a str,
}

impl Fields<'_> {
    fn invalid(&self, key: &str, message: &str) -> Error {
        Error::Invalid { path: self.path.to_path_buf(), message: format!("`{}.{key}` {message}", self.prefix) }
    }

    fn string(&self, key: &str) -> Result<Option<String>, Error> {
        match self.table.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.invalid(key, "must be a string")),
        }
    }

    fn required_string(&self, key: &str) -> Result<String, Error> {
        self.string(key)?.filter(|s| !s.trim().is_empty()).ok_or_else(|| self.invalid(key, "is missing"))
    }

    fn strings(&self, key: &str) -> Result<Vec<String>, Error> {
        match self.table.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| {
                    item.as_str().map(str::to_string).ok_or_else(|| self.invalid(key, "must be an array of strings"))
                })
                .collect(),
            Some(_) => Err(self.invalid(key, "must be an array of strings")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Option<Metadata>, Error> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("README.md"), "# Readme").unwrap();
        let path = dir.path().join("pyproject.toml");
        std::fs::write(&path, text).unwrap();
        read(&path)
    }

    #[test]
    fn pep_621_and_tool_tables_are_read() {
        let metadata = parse(
            r#"
[project]
name = "sample-app"
version = "1.2"
description = "A <sample> & app"
readme = "README.md"
authors = [{ name = "Ada", email = "ada@example.com" }]
keywords = ["wsgi", "iis"]
license = { text = "MIT" }
dependencies = ["PasteDeploy"]
optional-dependencies = { test = ["pytest"] }
urls = { Homepage = "https://example.com" }

[tool.iiswsgi]
title = "Sample App"
install_msdeploy = ["virtualenv"]
webpi_eggs = ["iiswsgi"]
post-install = ["echo done"]
app = "sample:application"
"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!((metadata.name.as_str(), metadata.version.as_str()), ("sample-app", "1.2"));
        assert_eq!(metadata.readme.as_deref(), Some("# Readme"));
        assert_eq!(metadata.authors[0].email, "ada@example.com");
        assert_eq!(metadata.license.as_deref(), Some("MIT"));
        assert_eq!(metadata.optional_dependencies["test"], ["pytest"]);
        assert_eq!(metadata.tool.title.as_deref(), Some("Sample App"));
        assert_eq!(metadata.tool.post_install, ["echo done"]);
        assert_eq!(metadata.tool.app.as_deref(), Some("sample:application"));
    }

    #[test]
    fn errors_name_the_field_or_line() {
        let err = parse("[project]\nversion = \"1\"\n").unwrap_err().to_string();
        assert!(err.contains("`project.name` is missing"), "{err}");
        let err = parse("[project]\nname = \"x\"\ndynamic = [\"version\"]\n").unwrap_err().to_string();
        assert!(err.contains("is dynamic"), "{err}");
        let err = parse("[project]\nname = \"x\"\nversion = \"1\"\nkeywords = \"a\"\n").unwrap_err().to_string();
        assert!(err.contains("`project.keywords` must be an array of strings"), "{err}");
        let err = parse("[project]\nname = \"x\"\n\nversion = \n").unwrap_err().to_string();
        assert!(err.contains("line 4"), "{err}");
        assert!(parse("[tool.black]\nline-length = 80\n").unwrap().is_none());
    }
}
