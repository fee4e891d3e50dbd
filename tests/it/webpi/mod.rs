//! WebPI end to end: bdist-webpi's feed served over HTTP by a mock server
//! (wiremock), the emulated Web Platform Installer installing from it into
//! a throwaway emulated IIS, and the emulator serving the result.

mod feed;
mod install;

use crate::msdeploy::{copy_project, iiswsgi, ok};
use std::path::{Path, PathBuf};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A feed server on 127.0.0.1, alive while this value lives.
pub struct FeedServer {
    pub runtime: tokio::runtime::Runtime,
    pub server: MockServer,
}

impl FeedServer {
    pub fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let server = runtime.block_on(MockServer::start());
        Self { runtime, server }
    }

    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// Serves `body` at `at`.
    pub fn serve(&self, at: &str, body: Vec<u8>) {
        let mock =
            Mock::given(method("GET")).and(path(at)).respond_with(ResponseTemplate::new(200).set_body_bytes(body));
        self.runtime.block_on(mock.mount(&self.server));
    }
}

/// The modern sample, built, with its feed pointing at `server`.
pub struct Published {
    pub project: tempfile::TempDir,
    pub zip: PathBuf,
    pub feed: PathBuf,
}

pub fn publish(server: &FeedServer) -> Published {
    let project = copy_project("modern_sample");
    ok(&iiswsgi(project.path(), &["bdist-msdeploy", "--skip-install-check"]));
    let template = format!("{}/packages/{{msdeploy_file}}", server.uri());
    let output = ok(&iiswsgi(project.path(), &["bdist-webpi", "-u", &template]));
    let feed =
        PathBuf::from(output.lines().find_map(|l| l.strip_prefix("wrote ")).expect("bdist-webpi names the feed"));
    let zip = crate::msdeploy::built_zip(project.path());
    Published { project, zip, feed }
}

/// An emulated IIS with the given sites (name, folder).
pub fn emulated_iis(sites: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let iis = tempfile::tempdir().unwrap();
    let config = iis.path().join("applicationHost.config");
    std::fs::write(&config, crate::emulate::appcmd::EMPTY_HOST).unwrap();
    for (index, site) in sites.iter().enumerate() {
        let root = iis.path().join(format!("site{index}"));
        std::fs::create_dir_all(&root).unwrap();
        let (code, out) = crate::emulate::appcmd::appcmd(
            &config,
            &[
                "add",
                "site",
                &format!("/name:{site}"),
                &format!("/bindings:http/*:{}:", 80 + index),
                &format!("/physicalPath:{}", root.display()),
            ],
        );
        assert_eq!(code, 0, "{out}");
    }
    (iis, config)
}

/// `iiswsgi emulate webpi-install ...`; the runCommand's `iiswsgi install
/// -e` finds this iiswsgi's wheel for the venv, where there is one (tests
/// that install check [`crate::msdeploy::pip_finds_this_iiswsgi`] first).
pub fn webpi_install(dir: &Path, feed: &str, product: &str, apphost: &Path, params: &[&str]) -> std::process::Output {
    let mut args = vec!["emulate", "webpi-install", "--feed", feed, "--product", product, "--apphost"];
    let apphost = apphost.to_string_lossy().into_owned();
    args.push(&apphost);
    for param in params {
        args.extend(["--param", param]);
    }
    let wheels =
        std::env::var_os("IISWSGI_WHEELS").map(PathBuf::from).unwrap_or_else(|| crate::support::repo().join("dist"));
    crate::msdeploy::iiswsgi_with(dir, &args, &[("PIP_FIND_LINKS", wheels.as_os_str())])
}

/// A zip written by hand, whatever its entry names.
pub fn hostile_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in entries {
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        writer.start_file(*name, options).unwrap();
        std::io::Write::write_all(&mut writer, data).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// A package whose `evil/link` entry is a symbolic link to `target`.
pub fn symlink_zip(manifest: &[u8], target: &str) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    writer.start_file("Manifest.xml", zip::write::SimpleFileOptions::default()).unwrap();
    std::io::Write::write_all(&mut writer, manifest).unwrap();
    writer.add_symlink("evil/link", target, zip::write::SimpleFileOptions::default()).unwrap();
    writer.start_file("evil/link/escaped.txt", zip::write::SimpleFileOptions::default()).unwrap();
    std::io::Write::write_all(&mut writer, b"x").unwrap();
    writer.finish().unwrap().into_inner()
}

/// A feed file in `dir` offering `package` (written beside it) as product
/// `evil`; returns the feed's file:// URL.
pub fn feed_offering(dir: &Path, package: &[u8]) -> String {
    use sha1::Digest as _;
    let zip_path = dir.join("package.zip");
    std::fs::write(&zip_path, package).unwrap();
    let sha1 = iiswsgi::webpi::hex(&sha1::Sha1::digest(package));
    let feed = format!(
        "<feed xmlns=\"http://www.w3.org/2005/Atom\"><id>hostile</id><entry type=\"application\"><productId>evil</productId><version>1</version><installers><installer><installerFile><fileSize>{}</fileSize><installerURL>{}</installerURL><sha1>{sha1}</sha1></installerFile><msDeploy /></installer></installers></entry></feed>",
        package.len().div_ceil(1024),
        iiswsgi::webpi::file_url(&zip_path)
    );
    let feed_path = dir.join("feed.xml");
    std::fs::write(&feed_path, feed).unwrap();
    iiswsgi::webpi::file_url(&feed_path)
}
