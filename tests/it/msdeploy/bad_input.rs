//! Bad input: a clear message naming the file, line or command, a
//! non-zero exit, and nothing half-written.

use super::{copy_project, failed, iiswsgi};

#[test]
fn a_missing_manifest_template_is_named() {
    let project = copy_project("modern_sample");
    std::fs::remove_file(project.path().join("Manifest.xml.in")).unwrap();
    let output = failed(&iiswsgi(project.path(), &["build-msdeploy"]));
    assert!(output.contains("Manifest.xml.in is missing"), "{output}");
}

#[test]
fn a_run_command_without_path_or_malformed_xml_names_the_line() {
    let project = copy_project("modern_sample");
    std::fs::write(
        project.path().join("Manifest.xml.in"),
        "<m>\n  <iisApp path=\"x\" />\n  <runCommand successReturnCodes=\"0x0\" />\n</m>\n",
    )
    .unwrap();
    let output = failed(&iiswsgi(project.path(), &["build-msdeploy"]));
    assert!(output.contains("Manifest.xml.in:3: <runCommand> has no `path`"), "{output}");
    assert!(!project.path().join("Manifest.xml").exists(), "nothing written");
    std::fs::write(project.path().join("Manifest.xml.in"), "<m>\n  <iisApp path=\"x\">\n</m>\n").unwrap();
    let output = failed(&iiswsgi(project.path(), &["build-msdeploy"]));
    assert!(output.contains("Manifest.xml.in:3:"), "{output}");
}

#[test]
fn a_bad_manifest_in_line_is_named() {
    let project = copy_project("modern_sample");
    std::fs::write(project.path().join("MANIFEST.in"), "include *.py\nrecursive-include docs\n").unwrap();
    let output = failed(&iiswsgi(project.path(), &["bdist-msdeploy", "--skip-install-check"]));
    assert!(output.contains("MANIFEST.in:2: `recursive-include` needs a folder and a pattern"), "{output}");
    assert!(!project.path().join("dist").exists(), "no package written");
}

#[test]
fn an_unreadable_project_is_named() {
    let empty = tempfile::tempdir().unwrap();
    let output = failed(&iiswsgi(empty.path(), &["build-msdeploy"]));
    assert!(output.contains("has neither pyproject.toml nor setup.py"), "{output}");
    let project = copy_project("modern_sample");
    std::fs::write(project.path().join("pyproject.toml"), "[project]\nname = \"x\"\nversion = [\n").unwrap();
    let output = failed(&iiswsgi(project.path(), &["build-msdeploy"]));
    assert!(output.contains("pyproject.toml: line 3"), "{output}");
}

#[test]
fn a_failing_setup_py_is_reported() {
    let project = copy_project("legacy_sample");
    std::fs::write(project.path().join("setup.py"), "raise SystemExit('setup.py is broken')\n").unwrap();
    let output = failed(&iiswsgi(project.path(), &["build-msdeploy"]));
    assert!(output.contains("setup.py is broken"), "{output}");
}

#[test]
fn a_failing_app_fails_the_install_check() {
    let project = copy_project("modern_sample");
    std::fs::write(project.path().join("modern_sample/app.py"), "raise ImportError('the app is broken')\n").unwrap();
    let output = failed(&iiswsgi(project.path(), &["bdist-msdeploy"]));
    assert!(output.contains("500") && output.contains("the app is broken"), "{output}");
    assert!(!project.path().join("dist").exists(), "no package for an app that does not load");
}
