//! WebPI: the feed (bdist-webpi) and the cache cleaner (clean-webpi). The
//! emulated Web Platform Installer is in the emulator crate.

pub mod cache;
pub mod feed;
pub mod url_template;

use crate::msdeploy::install::python_version;
use crate::project::Project;
use feed::{Feed, Package};
use sha1::Digest as _;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{} has no built package ({}) in {}: run bdist-msdeploy there first", project.display(), pattern, dist.display())]
    NoPackage { project: PathBuf, pattern: String, dist: PathBuf },
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error(transparent)]
    Project(#[from] crate::project::Error),
    #[error(transparent)]
    Msdeploy(#[from] crate::msdeploy::Error),
}

/// The newest `dist/<name>-<version>-py*.msdeploy.zip` of a project.
pub fn find_package(project: &Project) -> Result<PathBuf, Error> {
    let dist = project.dir.join("dist");
    let prefix = format!("{}-{}-py", project.metadata.name.replace('-', "_"), project.metadata.version);
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&dist)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name().is_some_and(|n| {
                        n.to_string_lossy().starts_with(&prefix) && n.to_string_lossy().ends_with(".msdeploy.zip")
                    })
                })
                .map(|p| (std::fs::metadata(&p).and_then(|m| m.modified()).unwrap_or(std::time::UNIX_EPOCH), p))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.pop().map(|(_, p)| p).ok_or_else(|| Error::NoPackage {
        project: project.dir.clone(),
        pattern: format!("{prefix}*.msdeploy.zip"),
        dist,
    })
}

/// No real Manifest.xml comes near this; a larger one is a zip bomb.
const MAX_MANIFEST: u64 = 16 * 1024 * 1024;

/// The `<iisApp path>` of the Manifest.xml inside a package.
pub fn package_iis_app(zip_path: &Path) -> Result<String, Error> {
    let invalid = |message: String| Error::Invalid { path: zip_path.to_path_buf(), message };
    let file = std::fs::File::open(zip_path).map_err(|source| Error::Read { path: zip_path.to_path_buf(), source })?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| invalid(e.to_string()))?;
    let name = archive
        .file_names()
        .filter_map(Result::ok)
        .find(|n| n.eq_ignore_ascii_case("Manifest.xml"))
        .map(|n| n.into_owned())
        .ok_or_else(|| invalid("the package has no Manifest.xml".into()))?;
    let entry = archive.by_name(&name).map_err(|e| invalid(e.to_string()))?;
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::Read::take(entry, MAX_MANIFEST + 1), &mut text)
        .map_err(|e| invalid(e.to_string()))?;
    if text.len() as u64 > MAX_MANIFEST {
        return Err(invalid(format!("its Manifest.xml is over {MAX_MANIFEST} bytes")));
    }
    let document = iiswsgi_proto::iis::Document::parse(&text)
        .map_err(|e| invalid(format!("Manifest.xml line {}: {}", e.line, e.message)))?;
    document
        .root()
        .and_then(|r| r.elements().find(|e| e.name.eq_ignore_ascii_case("iisApp")))
        .and_then(|e| e.attr("path"))
        .map(str::to_string)
        .ok_or_else(|| invalid("Manifest.xml has no <iisApp path>".into()))
}

pub fn file_url(path: &Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    let encoded = percent_encode_path(&text);
    if encoded.starts_with('/') {
        format!("file://{encoded}")
    } else {
        format!("file:///{encoded}")
    }
}

fn percent_encode_path(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' | b':' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Everything bdist-webpi needs about one package.
pub fn describe_package(project: Project, template: &str, py_version: &str) -> Result<Package, Error> {
    let zip = find_package(&project)?;
    let bytes = std::fs::read(&zip).map_err(|source| Error::Read { path: zip.clone(), source })?;
    let file_name = zip.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let metadata = &project.metadata;
    let mut fields: Vec<(&str, String)> = vec![
        ("letter", metadata.name.chars().next().map(String::from).unwrap_or_default()),
        ("name", metadata.name.clone()),
        ("version", metadata.version.clone()),
        ("msdeploy_file", file_name.clone()),
        ("msdeploy_package", zip.to_string_lossy().into_owned()),
        ("msdeploy_package_url", file_url(&zip)),
        ("py_version_short", py_version.to_string()),
        ("description", metadata.description.clone()),
        ("author", metadata.authors.first().map(|a| a.name.clone()).unwrap_or_default()),
        ("author_email", metadata.authors.first().map(|a| a.email.clone()).unwrap_or_default()),
        ("url", metadata.urls.get("Homepage").cloned().unwrap_or_default()),
        ("license", metadata.license.clone().unwrap_or_default()),
    ];
    for (key, value) in [
        ("title", &metadata.tool.title),
        ("author_url", &metadata.tool.author_url),
        ("license_url", &metadata.tool.license_url),
    ] {
        fields.push((key, value.clone().unwrap_or_default()));
    }
    let url = url_template::format(template, &fields)
        .map_err(|message| Error::Invalid { path: project.dir.clone(), message })?;
    Ok(Package {
        iis_app: package_iis_app(&zip)?,
        size: bytes.len() as u64,
        sha1: hex(&sha1::Sha1::digest(&bytes)),
        sha256: hex(&sha2::Sha256::digest(&bytes)),
        file_name,
        url,
        project,
    })
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What bdist-webpi wrote.
pub struct Written {
    pub feed: PathBuf,
    pub url: String,
    pub packages: Vec<Package>,
}

/// What bdist-webpi is asked for.
pub struct BdistWebpi<'a> {
    pub feed_project: &'a Project,
    pub msdeploy_projects: &'a [PathBuf],
    pub url_template: Option<&'a str>,
    /// A feed to extend instead of a fresh one.
    pub feed_template: Option<&'a Path>,
    pub dist: &'a Path,
    pub python: &'a Path,
}

/// The feed's path (and so its URL and id) in `dist`.
pub fn feed_path(project: &Project, dist: &Path, py_version: &str) -> Result<PathBuf, Error> {
    let name =
        format!("{}-{}-py{py_version}.webpi.xml", project.metadata.name.replace('-', "_"), project.metadata.version);
    std::path::absolute(dist.join(name)).map_err(|source| Error::Read { path: dist.to_path_buf(), source })
}

/// Writes the feed and SHA256SUMS for the packages into `dist`.
pub fn bdist_webpi(request: &BdistWebpi<'_>) -> Result<Written, Error> {
    let BdistWebpi { feed_project, msdeploy_projects, url_template: template, feed_template, dist, python } = *request;
    let py_version = python_version(python)?;
    let mut packages = Vec::new();
    for dir in msdeploy_projects {
        let project = if dir == &feed_project.dir { feed_project.clone() } else { Project::load(dir, python)? };
        let template = template
            .map(str::to_string)
            .or_else(|| project.metadata.tool.msdeploy_url_template.clone())
            .unwrap_or_else(|| "{msdeploy_package_url}".to_string());
        packages.push(describe_package(project, &template, &py_version)?);
    }
    std::fs::create_dir_all(dist).map_err(|source| Error::Read { path: dist.to_path_buf(), source })?;
    let feed_path = feed_path(feed_project, dist, &py_version)?;
    let url = file_url(&feed_path);
    let timestamp = feed::timestamp();
    let template = match feed_template {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|source| Error::Read { path: path.to_path_buf(), source })?;
            let document = iiswsgi_proto::iis::Document::parse(&text).map_err(|e| Error::Invalid {
                path: path.to_path_buf(),
                message: format!("line {}: {}", e.line, e.message),
            })?;
            if document.root().is_none_or(|r| r.name != "feed") {
                return Err(Error::Invalid {
                    path: path.to_path_buf(),
                    message: "the template's root is not <feed>".into(),
                });
            }
            Some(document)
        }
        None => None,
    };
    let xml = feed::feed_xml(
        &Feed { project: feed_project, packages: &packages, py_version: &py_version, url: &url, timestamp: &timestamp },
        template,
    );
    crate::msdeploy::write_atomically(&feed_path, xml.as_bytes())?;
    let sums: String = packages.iter().map(|p| format!("{}  {}\n", p.sha256, p.file_name)).collect();
    crate::msdeploy::write_atomically(&dist.join("SHA256SUMS"), sums.as_bytes())?;
    Ok(Written { feed: feed_path, url, packages })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_oversized_manifest_is_refused_without_reading_it_all() {
        let dir = tempfile::tempdir().unwrap();
        let zip_path = dir.path().join("bomb.zip");
        let mut writer = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
        let deflated = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        writer.start_file("Manifest.xml", deflated).unwrap();
        std::io::Write::write_all(&mut writer, &vec![b' '; MAX_MANIFEST as usize + 1]).unwrap();
        writer.finish().unwrap();
        let err = package_iis_app(&zip_path).unwrap_err().to_string();
        assert!(err.contains("bomb.zip") && err.contains("Manifest.xml is over"), "{err}");
    }
}
