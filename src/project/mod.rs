//! A Python project's metadata, as the packaging commands need it: from
//! `pyproject.toml` (PEP 621 `[project]` plus `[tool.iiswsgi]`), or, for a
//! project in the original iiswsgi's layout, from running its `setup.py`.

mod legacy;
mod pyproject;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{} has neither pyproject.toml nor setup.py", dir.display())]
    NotAProject { dir: PathBuf },
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error("`{command}` failed: {output}")]
    Python { command: String, output: String },
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Person {
    pub name: String,
    pub email: String,
}

/// iiswsgi's own settings (`[tool.iiswsgi]`, or the original's setup()
/// keywords).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tool {
    pub title: Option<String>,
    pub author_url: Option<String>,
    pub license_url: Option<String>,
    pub icon_url: Option<String>,
    pub screenshot_url: Option<String>,
    pub display_url: Option<String>,
    pub help_url: Option<String>,
    pub published: Option<String>,
    pub msdeploy_url_template: Option<String>,
    /// Extra requirements installed by install-msdeploy.
    pub install_msdeploy: Vec<String>,
    /// WebPI product ids the feed entry depends on.
    pub webpi_dependencies: Vec<String>,
    /// Plain Python distributions the feed also offers.
    pub webpi_eggs: Vec<String>,
    /// Shell commands install-msdeploy runs after registering the app.
    pub post_install: Vec<String>,
    /// The WSGI app for test-msdeploy (`module:attr`), or a Paste Deploy ini.
    pub app: Option<String>,
    pub config: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    pub name: String,
    pub version: String,
    pub description: String,
    /// The README's text, if any.
    pub readme: Option<String>,
    pub authors: Vec<Person>,
    pub urls: BTreeMap<String, String>,
    pub keywords: Vec<String>,
    pub license: Option<String>,
    pub dependencies: Vec<String>,
    pub optional_dependencies: BTreeMap<String, Vec<String>>,
    pub tool: Tool,
}

/// A project folder and what it declares.
#[derive(Debug, Clone)]
pub struct Project {
    pub dir: PathBuf,
    pub metadata: Metadata,
}

impl Project {
    /// Reads the project in `dir`: pyproject.toml with a `[project]` table
    /// wins; otherwise setup.py is run with `python`.
    pub fn load(dir: &Path, python: &Path) -> Result<Self, Error> {
        let dir = std::path::absolute(dir).map_err(|source| Error::Read { path: dir.to_path_buf(), source })?;
        let pyproject = dir.join("pyproject.toml");
        if pyproject.is_file() {
            if let Some(metadata) = pyproject::read(&pyproject)? {
                return Ok(Self { dir, metadata });
            }
        }
        if dir.join("setup.py").is_file() {
            let metadata = legacy::read(&dir, python)?;
            return Ok(Self { dir, metadata });
        }
        Err(Error::NotAProject { dir })
    }

    /// The requirements install-msdeploy installs.
    pub fn install_requirements(&self) -> Vec<String> {
        let mut requirements = self.metadata.dependencies.clone();
        requirements.extend(self.metadata.tool.install_msdeploy.iter().cloned());
        requirements
    }
}
