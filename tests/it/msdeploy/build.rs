//! build-msdeploy, bdist-msdeploy and msdeploy-options.

use super::{built_zip, copy_project, iiswsgi, ok, zip_names};
use iiswsgi_proto::iis::Document;
use iiswsgi_proto::msdeploy::decode_blob;

const REAL_BLOB: &str = "H4sIAAAAAAAEAE2QTU/DMAyGO9gCE1x24N4fUEUd3QZCqgSMGwKqqYIDuaStx7KlSZSPTv31kEhj4MPrV5Htx3E0iKLo20fIIS5PvHy+sFpLI9cW76HCDSgu+xaETeJ30IZJkd/gKU5xmsRLx63TkAtwVlOexIWrOKufoS/lDkSeTat1djtf0CZbzCCbjwLp+g/w4QFPR8A/W2jZsQb0m7IeaIZhOXV4e6UtDBW1m5HwzqCOcgdmMEAorI9OgzBmHpRCoe9+eUf8uC3U1pBSunrD1j15dIw3BBpmpSay2pIVcKAGSEHrHf065rJV45GfMkZeJsGFL6AzL1ctFb6iWTlhWQuH40zQb825l2E3w+nFD2R2ZbJpAQAA";

#[test]
fn msdeploy_options_decodes_and_re_encodes_a_real_blob() {
    let dir = tempfile::tempdir().unwrap();
    let decoded = ok(&iiswsgi(dir.path(), &["msdeploy-options", "decode", REAL_BLOB]));
    assert_eq!(
        decoded,
        "providerName: iisApp\npath: C:\\Projects\\Touchify\\Build\\editor\\obj\\Release\\Package\\PackageTmp\nnames: [managedRuntimeVersion]\nvalues: [v4.0]\n"
    );
    let encoded = ok(&iiswsgi(
        dir.path(),
        &[
            "msdeploy-options",
            "encode",
            "--provider",
            "iisApp",
            "--path",
            r"C:\Projects\Touchify\Build\editor\obj\Release\Package\PackageTmp",
            "--setting",
            "managedRuntimeVersion=v4.0",
        ],
    ));
    assert_eq!(encoded.trim(), REAL_BLOB);
}

#[test]
fn build_msdeploy_compiles_run_commands_and_copies_the_stamp() {
    let project = copy_project("modern_sample");
    ok(&iiswsgi(project.path(), &["build-msdeploy"]));
    let stamp = std::fs::read_to_string(project.path().join("iis_install.stamp")).unwrap();
    assert_eq!(stamp, std::fs::read_to_string(project.path().join("iis_install.stamp.in")).unwrap());
    let manifest = std::fs::read_to_string(project.path().join("Manifest.xml")).unwrap();
    assert!(
        manifest.contains("<!-- Web Deploy manifest for modern-sample: copy the app, then run the install step. -->"),
        "{manifest}"
    );
    let document = Document::parse(&manifest).unwrap();
    let run = document.root().unwrap().child("runCommand").unwrap();
    assert_eq!(run.attr("path"), Some("%IISWSGI_EXE% install -e -a modern-sample"));
    assert_eq!(run.attr("successReturnCodes"), None, "settings moved into the blob");
    let options = decode_blob(run.attr("MSDeploy.MSDeployProviderOptions").unwrap()).unwrap();
    assert_eq!(options.provider_name, "runCommand");
    assert_eq!(
        options.settings,
        [("successReturnCodes", "0x0"), ("waitAttempts", "10"), ("waitInterval", "60000")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
    );
}

#[test]
fn bdist_msdeploy_writes_a_deterministic_package_with_the_sdist_layout() {
    let project = copy_project("modern_sample");
    let output = ok(&iiswsgi(project.path(), &["bdist-msdeploy"]));
    assert!(output.contains("install check passed in a scratch copy"), "{output}");
    assert!(!project.path().join("web.config").exists(), "the check never dirties the source tree");
    assert!(!project.path().join("post-install.txt").exists());
    let zip = built_zip(project.path());
    assert!(zip.file_name().unwrap().to_string_lossy().starts_with("modern_sample-1.0-py3."), "{zip:?}");
    assert_eq!(
        zip_names(&zip),
        [
            "Manifest.xml",
            "Parameters.xml",
            "modern-sample/",
            "modern-sample/MANIFEST.in",
            "modern-sample/README.md",
            "modern-sample/iis_install.stamp",
            "modern-sample/modern_sample/",
            "modern-sample/modern_sample/__init__.py",
            "modern-sample/modern_sample/app.py",
            "modern-sample/modern_sample/static/",
            "modern-sample/modern_sample/static/site.css",
            "modern-sample/pyproject.toml",
            "modern-sample/web.config.in",
        ]
    );
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&zip).unwrap()).unwrap();
    let time = archive.by_index(0).unwrap().last_modified().unwrap();
    // SOURCE_DATE_EPOCH=1700000000 is 2023-11-14 22:13:20 UTC.
    assert_eq!((time.year(), time.month(), time.day(), time.hour(), time.minute()), (2023, 11, 14, 22, 13));
    let first = std::fs::read(&zip).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    ok(&iiswsgi(project.path(), &["bdist-msdeploy", "--skip-install-check"]));
    assert_eq!(first, std::fs::read(&zip).unwrap(), "same inputs, same bytes");
}

#[test]
fn a_project_in_the_original_layout_builds_unchanged() {
    if crate::support::test_venv().is_none() {
        return;
    }
    let project = copy_project("legacy_sample");
    let output = ok(&iiswsgi(project.path(), &["bdist-msdeploy"]));
    assert!(
        output.contains("test-msdeploy: GET / answered 200 OK"),
        "the ini from setup.cfg's [test_msdeploy] was served: {output}"
    );
    let zip = built_zip(project.path());
    assert!(zip.file_name().unwrap().to_string_lossy().starts_with("IISWSGISampleApp-0.3-py3."), "{zip:?}");
    let names = zip_names(&zip);
    for expected in [
        "Manifest.xml",
        "Parameters.xml",
        "IISWSGISampleApp/setup.py",
        "IISWSGISampleApp/iis_fcgi.ini",
        "IISWSGISampleApp/sampleapp/__init__.py",
        "IISWSGISampleApp/iis_install.stamp",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected} missing from {names:?}");
    }
    let manifest = std::fs::read_to_string(project.path().join("Manifest.xml")).unwrap();
    let document = Document::parse(&manifest).unwrap();
    let options = decode_blob(
        document.root().unwrap().child("runCommand").unwrap().attr("MSDeploy.MSDeployProviderOptions").unwrap(),
    )
    .unwrap();
    assert_eq!(options.path, r"%SystemDrive%\Python27\Scripts\iiswsgi_install.exe -vv -a IISWSGISampleApp");
    assert_eq!(options.settings, [("successReturnCodes".to_string(), "0x0".to_string())]);
}
