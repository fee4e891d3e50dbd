//! Every XML input the tools read, given a DTD with an external entity
//! and entity expansion: refused with the file and line, the entity never
//! fetched, nothing written (issue 7).

use crate::msdeploy::{copy_project, failed, iiswsgi, ok};
use crate::webpi::{emulated_iis, feed_offering, hostile_zip, webpi_install, FeedServer};
use std::path::Path;

/// A document whose DTD declares an external entity at `url` and a
/// "billion laughs" expansion, both used in the document.
fn with_dtd(root: &str, url: &str) -> String {
    format!(
        "<!DOCTYPE {root} [\n<!ENTITY x SYSTEM \"{url}\">\n<!ENTITY a \"aaaaaaaaaa\">\n<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\n]>\n<{root}>&x;&b;</{root}>\n"
    )
}

fn assert_refused(output: &str, file: &str) {
    assert!(output.contains("a DTD is not allowed"), "{file}: {output}");
    assert!(output.contains(file), "the message names {file}: {output}");
    assert!(!output.contains("root:") && !output.contains("aaaaaaaaaa"), "nothing expanded: {output}");
}

#[test]
fn the_emulator_and_appcmd_refuse_a_dtd_in_configuration() {
    let dtd = with_dtd("configuration", "file:///etc/passwd");
    let site = tempfile::tempdir().unwrap();
    let web_config = site.path().join("web.config");
    std::fs::write(&web_config, &dtd).unwrap();
    let stderr = crate::emulate::failing_start(&["--site".into(), site.path().into()]);
    assert_refused(&stderr, "web.config");
    let apphost = site.path().join("applicationHost.config");
    std::fs::write(&apphost, &dtd).unwrap();
    let stderr = crate::emulate::failing_start(&["--apphost".into(), apphost.clone().into()]);
    assert_refused(&stderr, "applicationHost.config");
    let (code, out) = crate::emulate::appcmd::appcmd(&apphost, &["list", "site"]);
    assert_eq!(code, 13);
    assert_refused(&out, "applicationHost.config");
    assert_eq!(std::fs::read_to_string(&apphost).unwrap(), dtd, "appcmd left the file alone");
}

#[test]
fn the_packaging_tools_refuse_a_dtd_in_every_input() {
    let dtd = |root: &str| with_dtd(root, "file:///etc/passwd");
    let project = copy_project("modern_sample");
    std::fs::write(project.path().join("Manifest.xml.in"), dtd("MSDeploy.iisApp")).unwrap();
    assert_refused(&failed(&iiswsgi(project.path(), &["build-msdeploy"])), "Manifest.xml.in:1");
    assert!(!project.path().join("Manifest.xml").exists(), "nothing written");

    let project = copy_project("modern_sample");
    std::fs::write(project.path().join("web.config.in"), dtd("configuration")).unwrap();
    let install = ["install-msdeploy", "--skip-fcgi-app-install", "--skip-test"];
    assert_refused(&failed(&iiswsgi(project.path(), &install)), "web.config.in:1");
    assert!(!project.path().join("web.config").exists(), "nothing written");

    // test-msdeploy finds the app in web.config when the project names none.
    let pyproject = project.path().join("pyproject.toml");
    let text = std::fs::read_to_string(&pyproject).unwrap().replace("app = \"modern_sample.app:application\"\n", "");
    std::fs::write(&pyproject, text).unwrap();
    std::fs::write(project.path().join("web.config"), dtd("configuration")).unwrap();
    assert_refused(&failed(&iiswsgi(project.path(), &["test-msdeploy"])), "web.config:1");

    let project = copy_project("modern_sample");
    ok(&iiswsgi(project.path(), &["bdist-msdeploy", "--skip-install-check"]));
    let template = project.path().join("template.xml");
    std::fs::write(&template, dtd("feed")).unwrap();
    let output = failed(&iiswsgi(project.path(), &["bdist-webpi", "--template", template.to_str().unwrap()]));
    assert_refused(&output, "template.xml");
    let dist: Vec<_> =
        std::fs::read_dir(project.path().join("dist")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(dist.iter().all(|name| name.to_string_lossy().ends_with(".msdeploy.zip")), "no feed written: {dist:?}");

    // install's discovery reads `appcmd list config ... /xml` output.
    let appcmd = project.path().join("appcmd.sh");
    std::fs::write(&appcmd, format!("#!/bin/sh\ncat <<'XML'\n{}XML\n", dtd("appcmd"))).unwrap();
    make_executable(&appcmd);
    let output = failed(&iiswsgi(project.path(), &["install", "--appcmd", appcmd.to_str().unwrap()]));
    assert_refused(&output, "line 1");
}

#[test]
fn the_emulated_webpi_refuses_a_dtd_in_the_feed_manifest_and_parameters_and_fetches_nothing() {
    let server = FeedServer::start();
    let stolen = format!("{}/stolen", server.uri());
    let (iis, config) = emulated_iis(&["evil"]);
    let before = std::fs::read_to_string(&config).unwrap();

    server.serve("/feed.xml", with_dtd("feed", &stolen).into_bytes());
    let output = failed(&webpi_install(iis.path(), &format!("{}/feed.xml", server.uri()), "evil", &config, &[]));
    assert_refused(&output, "feed");

    let manifest = with_dtd("MSDeploy.iisApp", &stolen);
    let package = hostile_zip(&[("Manifest.xml", manifest.as_bytes()), ("evil/a.txt", b"a")]);
    let output = failed(&webpi_install(iis.path(), &feed_offering(iis.path(), &package), "evil", &config, &[]));
    assert_refused(&output, "Manifest.xml line 1");

    let parameters = with_dtd("parameters", &stolen);
    let package = hostile_zip(&[
        ("Manifest.xml", b"<m><iisApp path=\"evil\" /></m>"),
        ("Parameters.xml", parameters.as_bytes()),
        ("evil/a.txt", b"a"),
    ]);
    let output = failed(&webpi_install(iis.path(), &feed_offering(iis.path(), &package), "evil", &config, &[]));
    assert_refused(&output, "Parameters.xml line 1");

    let requests = server.runtime.block_on(server.server.received_requests()).unwrap_or_default();
    let paths: Vec<_> = requests.iter().map(|r| r.url.path().to_string()).collect();
    assert_eq!(paths, ["/feed.xml"], "the external entity was never fetched");
    assert_eq!(std::fs::read_to_string(&config).unwrap(), before, "applicationHost.config untouched");
    assert_eq!(std::fs::read_dir(iis.path().join("site0")).unwrap().count(), 0, "nothing written in the site");
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}
