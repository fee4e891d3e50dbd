//! The emulated Web Platform Installer, end to end.

use super::{emulated_iis, feed_offering, hostile_zip, publish, symlink_zip, webpi_install, FeedServer};
use crate::emulate::Emulator;
use crate::msdeploy::{failed, ok};
use iiswsgi_proto::iis::ApplicationHost;

fn feed_bytes(published: &super::Published) -> Vec<u8> {
    std::fs::read(&published.feed).unwrap()
}

fn zip_name(published: &super::Published) -> String {
    published.zip.file_name().unwrap().to_string_lossy().into_owned()
}

/// The sample published, its feed and package served.
fn served() -> (FeedServer, super::Published, String) {
    let server = FeedServer::start();
    let published = publish(&server);
    server.serve("/feed.xml", feed_bytes(&published));
    server.serve(&format!("/packages/{}", zip_name(&published)), std::fs::read(&published.zip).unwrap());
    let feed_url = format!("{}/feed.xml", server.uri());
    (server, published, feed_url)
}

#[test]
fn a_package_published_in_a_feed_installs_and_serves() {
    if !crate::support::require("python3") || crate::msdeploy::pip_finds_this_iiswsgi().is_none() {
        return;
    }
    let (_server, _published, feed_url) = served();
    let (iis, config) = emulated_iis(&["Default Web Site"]);
    let output =
        ok(&webpi_install(iis.path(), &feed_url, "modern-sample", &config, &["ApplicationPath=Default Web Site/shop"]));
    for step in [
        "reading feed",
        "downloading",
        "verified",
        "copied",
        "running",
        "installing into",
        "registered the FastCGI application",
        "installed modern-sample 1.0 at Default Web Site/shop",
    ] {
        assert!(output.contains(step), "missing `{step}` in:\n{output}");
    }
    let app_dir = iis.path().join("site0/shop");
    assert!(!app_dir.join("iis_install.stamp").exists(), "iiswsgi install found and removed its stamp");
    assert!(app_dir.join(".venv/pyvenv.cfg").is_file(), "install -e made the venv");
    assert!(app_dir.join("web.config").is_file());
    let host = ApplicationHost::parse(&std::fs::read_to_string(&config).unwrap()).unwrap();
    assert_eq!(host.fastcgi.len(), 1, "registered once");
    let emulator = Emulator::apphost(&config, "Default Web Site");
    let response = emulator.get("/shop/catalog");
    assert_eq!(response.status, 200, "{}", String::from_utf8_lossy(&response.body));
    assert_eq!(String::from_utf8_lossy(&response.body), "modern sample at /shop/catalog");
}

#[test]
fn a_corrupted_download_is_refused_with_nothing_installed() {
    let server = FeedServer::start();
    let published = publish(&server);
    let mut corrupted = std::fs::read(&published.zip).unwrap();
    let middle = corrupted.len() / 2;
    corrupted[middle] ^= 0xff;
    server.serve("/feed.xml", feed_bytes(&published));
    server.serve(&format!("/packages/{}", zip_name(&published)), corrupted);
    let (iis, config) = emulated_iis(&["Default Web Site"]);
    let before = std::fs::read_to_string(&config).unwrap();
    let output =
        failed(&webpi_install(iis.path(), &format!("{}/feed.xml", server.uri()), "modern-sample", &config, &[]));
    assert!(output.contains("SHA-1") && output.contains("refused, nothing installed"), "{output}");
    assert_eq!(std::fs::read_to_string(&config).unwrap(), before, "applicationHost.config untouched");
    assert_eq!(std::fs::read_dir(iis.path().join("site0")).unwrap().count(), 0, "no files written");
}

#[test]
fn the_same_package_in_two_sites_finds_its_own_stamp_each_time() {
    if !crate::support::require("python3") || crate::msdeploy::pip_finds_this_iiswsgi().is_none() {
        return;
    }
    let (_server, _published, feed_url) = served();
    let (iis, config) = emulated_iis(&["Alpha", "Beta"]);
    let first = ok(&webpi_install(iis.path(), &feed_url, "modern-sample", &config, &["ApplicationPath=Alpha/app"]));
    assert!(
        first.contains(&format!("installing into {} (Alpha/app)", iis.path().join("site0/app").display())),
        "{first}"
    );
    let second = ok(&webpi_install(iis.path(), &feed_url, "modern-sample", &config, &["ApplicationPath=Beta/app"]));
    assert!(
        second.contains(&format!("installing into {} (Beta/app)", iis.path().join("site1/app").display())),
        "{second}"
    );
    for site in ["site0", "site1"] {
        assert!(iis.path().join(site).join("app/web.config").is_file(), "{site}");
    }
    let host = ApplicationHost::parse(&std::fs::read_to_string(&config).unwrap()).unwrap();
    assert_eq!(host.fastcgi.len(), 2, "one FastCGI application per installed copy");
}

#[test]
fn feed_and_download_errors_are_clear() {
    let server = FeedServer::start();
    let published = publish(&server);
    server.serve("/not-xml", b"hello, not a feed".to_vec());
    server.serve("/feed.xml", feed_bytes(&published));
    let (iis, config) = emulated_iis(&["Default Web Site"]);
    let not_xml =
        failed(&webpi_install(iis.path(), &format!("{}/not-xml", server.uri()), "modern-sample", &config, &[]));
    assert!(not_xml.contains("is not a WebPI feed"), "{not_xml}");
    let missing = failed(&webpi_install(iis.path(), &format!("{}/feed.xml", server.uri()), "nope", &config, &[]));
    assert!(missing.contains("the feed has no product `nope` (it has: modern-sample, iiswsgi)"), "{missing}");
    let egg = failed(&webpi_install(iis.path(), &format!("{}/feed.xml", server.uri()), "iiswsgi", &config, &[]));
    assert!(egg.contains("`iiswsgi` is not a Web Deploy application"), "{egg}");
    // The package itself is not served: 404.
    let gone = failed(&webpi_install(iis.path(), &format!("{}/feed.xml", server.uri()), "modern-sample", &config, &[]));
    assert!(gone.contains("answered 404"), "{gone}");
    server.serve(&format!("/packages/{}", zip_name(&published)), std::fs::read(&published.zip).unwrap());
    let bad_param = failed(&webpi_install(
        iis.path(),
        &format!("{}/feed.xml", server.uri()),
        "modern-sample",
        &config,
        &["Nope=1"],
    ));
    assert!(bad_param.contains("the package has no parameter `Nope` (it has: ApplicationPath)"), "{bad_param}");
}

#[test]
fn hostile_packages_are_refused_with_nothing_written() {
    let manifest: &[u8] = b"<m><iisApp path=\"evil\" /></m>";
    let escape = tempfile::tempdir().unwrap();
    let zeros = vec![0u8; 64 * 1024 * 1024];
    let cases: [(&str, Vec<u8>); 5] = [
        ("dot-dot", hostile_zip(&[("Manifest.xml", manifest), ("evil/../../escaped.txt", b"x")])),
        ("absolute", hostile_zip(&[("Manifest.xml", manifest), ("/tmp/iiswsgi-absolute-escape.txt", b"x")])),
        ("duplicate", hostile_zip(&[("Manifest.xml", manifest), ("evil/a.txt", b"1"), ("evil/A.txt", b"2")])),
        ("symlink", symlink_zip(manifest, &escape.path().display().to_string())),
        ("zip bomb", hostile_zip(&[("Manifest.xml", manifest), ("evil/zeros.bin", &zeros)])),
    ];
    for (label, bytes) in cases {
        let (iis, config) = emulated_iis(&["evil"]);
        let before = std::fs::read_to_string(&config).unwrap();
        let feed = feed_offering(iis.path(), &bytes);
        let output = failed(&webpi_install(iis.path(), &feed, "evil", &config, &[]));
        let reason = match label {
            "duplicate" => "twice",
            "symlink" => "is a symbolic link: refused",
            "zip bomb" => "refused as a zip bomb",
            _ => "would be written outside the application: refused",
        };
        assert!(output.contains(reason), "{label}: {output}");
        assert_eq!(std::fs::read_to_string(&config).unwrap(), before, "{label}: applicationHost.config untouched");
        assert_eq!(
            std::fs::read_dir(iis.path().join("site0")).unwrap().count(),
            0,
            "{label}: nothing written in the site"
        );
        assert!(
            !iis.path().join("escaped.txt").exists()
                && !std::path::Path::new("/tmp/iiswsgi-absolute-escape.txt").exists()
                && std::fs::read_dir(escape.path()).unwrap().count() == 0,
            "{label}: nothing written outside"
        );
    }
}
