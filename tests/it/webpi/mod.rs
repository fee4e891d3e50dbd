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

/// `iiswsgi emulate webpi-install ...`.
pub fn webpi_install(dir: &Path, feed: &str, product: &str, apphost: &Path, params: &[&str]) -> std::process::Output {
    let mut args = vec!["emulate", "webpi-install", "--feed", feed, "--product", product, "--apphost"];
    let apphost = apphost.to_string_lossy().into_owned();
    args.push(&apphost);
    for param in params {
        args.extend(["--param", param]);
    }
    iiswsgi(dir, &args)
}
