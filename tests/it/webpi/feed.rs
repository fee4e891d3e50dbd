//! bdist-webpi's feed and clean-webpi.

use super::{publish, FeedServer};
use crate::msdeploy::{copy_project, iiswsgi, ok};
use iiswsgi_proto::iis::Document;
use sha1::Digest as _;

#[test]
fn the_feed_describes_the_package_in_webpis_schema() {
    let server = FeedServer::start();
    let published = publish(&server);
    let text = std::fs::read_to_string(&published.feed).unwrap();
    let document = Document::parse(&text).unwrap();
    let root = document.root().unwrap();
    assert_eq!(root.attr("xmlns"), Some("http://www.w3.org/2005/Atom"));
    assert!(root.child("id").unwrap().text().starts_with("file:///"));
    assert_eq!(root.child("updated").unwrap().text(), "2023-11-14T22:13:20Z", "SOURCE_DATE_EPOCH fixes the timestamps");
    let entries: Vec<_> = root.elements().filter(|e| e.name == "entry").collect();
    let app = entries[0];
    assert_eq!(app.attr("type"), Some("application"));
    assert_eq!(app.child("productId").unwrap().text(), "modern-sample");
    assert_eq!(app.child("title").unwrap().text(), "Modern Sample");
    assert_eq!(app.child("productFamily").unwrap().text(), "Applications");
    let file = app.descendant(&["installers", "installer", "installerFile"]).unwrap();
    let zip = std::fs::read(&published.zip).unwrap();
    assert_eq!(file.child("sha1").unwrap().text(), iiswsgi::webpi::hex(&sha1::Sha1::digest(&zip)));
    assert_eq!(file.child("fileSize").unwrap().text(), zip.len().div_ceil(1024).to_string());
    let name = published.zip.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(file.child("installerURL").unwrap().text(), format!("{}/packages/{name}", server.uri()));
    let dependencies: Vec<String> = app
        .descendant(&["dependency", "and"])
        .unwrap()
        .elements()
        .map(|d| d.child("productId").unwrap().text())
        .collect();
    assert_eq!(dependencies[0], "WDeploy");
    assert!(dependencies[1].starts_with("Python3"));
    assert_eq!(dependencies[2], "iiswsgi");
    let sums = std::fs::read_to_string(published.feed.with_file_name("SHA256SUMS")).unwrap();
    assert!(sums.ends_with(&format!("  {name}\n")), "{sums}");
    // Deterministic: the same inputs give the same feed.
    let template = format!("{}/packages/{{msdeploy_file}}", server.uri());
    ok(&iiswsgi(published.project.path(), &["bdist-webpi", "-u", &template]));
    assert_eq!(std::fs::read_to_string(&published.feed).unwrap(), text);
}

#[test]
fn hostile_metadata_stays_well_formed() {
    let project = copy_project("modern_sample");
    let toml = std::fs::read_to_string(project.path().join("pyproject.toml")).unwrap().replace(
        "description = \"A WSGI app packaged for Web Deploy by iiswsgi\"",
        "description = \"<b>Fish & Chips</b> ]]> \\\"quoted\\\" — naïve\"",
    );
    std::fs::write(project.path().join("pyproject.toml"), toml).unwrap();
    ok(&iiswsgi(project.path(), &["bdist-msdeploy", "--skip-install-check"]));
    let output =
        ok(&iiswsgi(project.path(), &["bdist-webpi", "-u", "https://example.com/{letter}/{name}/{msdeploy_file}"]));
    let feed = output.lines().find_map(|l| l.strip_prefix("wrote ")).unwrap();
    let document = Document::parse(&std::fs::read_to_string(feed).unwrap()).unwrap();
    let entry = document.root().unwrap().child("entry").unwrap();
    assert_eq!(entry.child("summary").unwrap().text(), "<b>Fish & Chips</b> ]]> \"quoted\" — naïve");
    assert!(entry
        .descendant(&["installers", "installer", "installerFile", "installerURL"])
        .unwrap()
        .text()
        .starts_with("https://example.com/m/modern-sample/modern_sample-1.0-py3."));
    let bad = crate::msdeploy::failed(&iiswsgi(project.path(), &["bdist-webpi", "-u", "https://example.com/{nope}"]));
    assert!(bad.contains("the URL template names `{nope}`"), "{bad}");
}

#[test]
fn clean_webpi_removes_this_feed_and_these_installers_only() {
    let server = FeedServer::start();
    let published = publish(&server);
    let cache = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(cache.path().join("installers/modern-sample/x")).unwrap();
    std::fs::create_dir_all(cache.path().join("installers/other")).unwrap();
    std::fs::copy(&published.feed, cache.path().join("cached-feed.xml")).unwrap();
    std::fs::write(cache.path().join("other-feed.xml"), "<feed><id>https://example.com/other.xml</id></feed>").unwrap();
    // A stale stamp in an application of that name, found through appcmd.
    let (iis, config) = super::emulated_iis(&["Default Web Site"]);
    let app_dir = iis.path().join("site0/modern-sample");
    std::fs::create_dir_all(&app_dir).unwrap();
    std::fs::write(app_dir.join("iis_install.stamp"), "stale").unwrap();
    let (code, out) = crate::emulate::appcmd::appcmd(
        &config,
        &[
            "add",
            "app",
            "/site.name:Default Web Site",
            "/path:/modern-sample",
            &format!("/physicalPath:{}", app_dir.display()),
        ],
    );
    assert_eq!(code, 0, "{out}");
    let appcmd = format!("{} /apphostconfig:{}", env!("CARGO_BIN_EXE_iiswsgi-appcmd"), config.display());
    let cache_arg = cache.path().to_string_lossy().into_owned();
    let output = ok(&iiswsgi(published.project.path(), &["clean-webpi", "-c", &cache_arg, "--appcmd", &appcmd]));
    assert!(output.contains("removed") && output.contains("installers/modern-sample"), "{output}");
    assert!(!app_dir.join("iis_install.stamp").exists(), "{output}");
    assert!(!cache.path().join("installers/modern-sample").exists());
    assert!(!cache.path().join("cached-feed.xml").exists());
    assert!(cache.path().join("installers/other").exists() && cache.path().join("other-feed.xml").exists());
}

#[test]
fn webpi_builds_the_package_writes_the_feed_and_cleans_the_cache() {
    let project = copy_project("modern_sample");
    let cache = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(cache.path().join("installers/modern-sample")).unwrap();
    let (_iis, config) = super::emulated_iis(&["Default Web Site"]);
    let appcmd = format!("{} /apphostconfig:{}", env!("CARGO_BIN_EXE_iiswsgi-appcmd"), config.display());
    let cache_arg = cache.path().to_string_lossy().into_owned();
    let output = ok(&iiswsgi(project.path(), &["webpi", "-c", &cache_arg, "--appcmd", &appcmd]));
    assert!(output.contains("install check passed in a scratch copy"), "{output}");
    assert!(output.contains(".webpi.xml") && output.contains("removed"), "{output}");
    let dist: Vec<String> = std::fs::read_dir(project.path().join("dist"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        dist.iter().any(|n| n.ends_with(".msdeploy.zip")) && dist.iter().any(|n| n.ends_with(".webpi.xml")),
        "{dist:?}"
    );
    assert!(!cache.path().join("installers/modern-sample").exists());
}

#[test]
fn a_template_feed_is_extended() {
    let server = FeedServer::start();
    let published = publish(&server);
    let template = published.project.path().join("base-feed.xml");
    std::fs::write(
        &template,
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n    <title>Our products</title>\n    <id>old</id>\n    <tabs><tab><keywordTab><id>Python</id></keywordTab></tab></tabs>\n    <entry><productId>modern-sample</productId><version>0.1</version></entry>\n    <entry><productId>another</productId></entry>\n</feed>\n",
    )
    .unwrap();
    let template_arg = template.to_string_lossy().into_owned();
    let output = ok(&iiswsgi(published.project.path(), &["bdist-webpi", "--template", &template_arg]));
    let feed = output.lines().find_map(|l| l.strip_prefix("wrote ")).unwrap();
    let document = Document::parse(&std::fs::read_to_string(feed).unwrap()).unwrap();
    let root = document.root().unwrap();
    assert_eq!(root.child("title").unwrap().text(), "Our products");
    assert!(root.child("tabs").is_some());
    assert!(root.child("id").unwrap().text().starts_with("file:///"));
    let products: Vec<(String, String)> = root
        .elements()
        .filter(|e| e.name == "entry")
        .map(|e| (e.child("productId").unwrap().text(), e.child("version").map(|v| v.text()).unwrap_or_default()))
        .collect();
    assert_eq!(products[0].0, "another");
    assert!(products.contains(&("modern-sample".to_string(), "1.0".to_string())), "{products:?}");
    assert!(!products.contains(&("modern-sample".to_string(), "0.1".to_string())), "{products:?}");
}
