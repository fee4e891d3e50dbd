//! install (stamp discovery through appcmd) and install-msdeploy into a
//! throwaway IIS configuration, then serving through the emulator; and
//! enable/disable.

use super::{built_zip, copy_project, iiswsgi, ok, unpack_app};
use crate::emulate::Emulator;
use iiswsgi_proto::iis::ApplicationHost;
use std::path::Path;

use crate::emulate::appcmd::EMPTY_HOST;

fn appcmd_option(config: &Path) -> String {
    format!("{} /apphostconfig:{}", env!("CARGO_BIN_EXE_iiswsgi-appcmd"), config.display())
}

fn appcmd(config: &Path, args: &[&str]) {
    let (code, out) = crate::emulate::appcmd::appcmd(config, args);
    assert_eq!(code, 0, "{out}");
}

fn registered(config: &Path) -> Vec<String> {
    let host = ApplicationHost::parse(&std::fs::read_to_string(config).unwrap()).unwrap();
    host.fastcgi.iter().map(|a| a.key()).collect()
}

#[test]
fn install_finds_the_stamped_virtual_directory_registers_once_and_serves() {
    let project = copy_project("modern_sample");
    ok(&iiswsgi(project.path(), &["bdist-msdeploy", "--skip-install-check"]));
    let zip = built_zip(project.path());
    // A site with two applications: an old one without a stamp and ours.
    let iis = tempfile::tempdir().unwrap();
    let config = iis.path().join("applicationHost.config");
    std::fs::write(&config, EMPTY_HOST).unwrap();
    let wwwroot = iis.path().join("wwwroot");
    let app_dir = wwwroot.join("modern-sample");
    let other_dir = wwwroot.join("other");
    std::fs::create_dir_all(&other_dir).unwrap();
    appcmd(
        &config,
        &[
            "add",
            "site",
            "/name:Default Web Site",
            "/bindings:http/*:80:",
            &format!("/physicalPath:{}", wwwroot.display()),
        ],
    );
    appcmd(
        &config,
        &[
            "add",
            "app",
            "/site.name:Default Web Site",
            "/path:/other",
            &format!("/physicalPath:{}", other_dir.display()),
        ],
    );
    appcmd(
        &config,
        &[
            "add",
            "app",
            "/site.name:Default Web Site",
            "/path:/modern-sample",
            &format!("/physicalPath:{}", app_dir.display()),
        ],
    );
    unpack_app(&zip, "modern-sample", &app_dir);
    assert!(app_dir.join("iis_install.stamp").is_file());
    // Web Deploy's runCommand: no APPL_PHYSICAL_PATH, run from elsewhere.
    let elsewhere = tempfile::tempdir().unwrap();
    let output =
        ok(&iiswsgi(elsewhere.path(), &["install", "-a", "modern-sample", "--appcmd", &appcmd_option(&config)]));
    assert!(
        output.contains(&format!("installing into {} (Default Web Site/modern-sample)", app_dir.display())),
        "{output}"
    );
    assert!(!app_dir.join("iis_install.stamp").exists(), "the stamp was removed");
    assert!(app_dir.join("web.config").is_file(), "web.config was written");
    assert!(app_dir.join("post-install.txt").is_file(), "the post-install command ran in the app folder");
    assert!(output.contains("test-msdeploy: GET / answered 200 OK"), "{output}");
    let key = format!("%IISWSGI_EXE%|serve --chdir \"{}\" modern_sample.app:application", app_dir.display());
    assert_eq!(registered(&config), std::slice::from_ref(&key));
    // Installing again (the stamp is gone: -i) still leaves one registration.
    ok(&iiswsgi(elsewhere.path(), &["install", "-i", "-a", "modern-sample", "--appcmd", &appcmd_option(&config)]));
    assert_eq!(registered(&config), [key]);
    let host = ApplicationHost::parse(&std::fs::read_to_string(&config).unwrap()).unwrap();
    assert_eq!(host.fastcgi[0].environment_variables[0].0, "IISWSGI_SAMPLE_HOME");
    // And IIS (the emulator) serves it through iiswsgi serve.
    let emulator = Emulator::apphost(&config, "Default Web Site");
    let response = emulator.get("/modern-sample/hello");
    assert_eq!(response.status, 200, "{}", String::from_utf8_lossy(&response.body));
    assert_eq!(String::from_utf8_lossy(&response.body), "modern sample at /modern-sample/hello");
}

#[test]
fn install_without_a_stamp_anywhere_lists_where_it_looked() {
    let iis = tempfile::tempdir().unwrap();
    let config = iis.path().join("applicationHost.config");
    std::fs::write(&config, EMPTY_HOST).unwrap();
    let root = iis.path().join("root");
    std::fs::create_dir(&root).unwrap();
    appcmd(
        &config,
        &["add", "site", "/name:Only", "/bindings:http/*:80:", &format!("/physicalPath:{}", root.display())],
    );
    let output = super::failed(&iiswsgi(iis.path(), &["install", "--appcmd", &appcmd_option(&config)]));
    assert!(output.contains("no virtual directory holds iis_install.stamp; looked in:"), "{output}");
    assert!(output.contains(&format!("Only/ ({}) — no stamp", root.display())), "{output}");
    let missing = super::failed(&iiswsgi(iis.path(), &["install", "--appcmd", "/nonexistent/appcmd"]));
    assert!(missing.contains("cannot run `/nonexistent/appcmd list config"), "{missing}");
    let odd = super::failed(&iiswsgi(iis.path(), &["install", "--appcmd", "echo not xml"]));
    assert!(
        odd.contains(
            "`echo not xml list config /section:system.applicationHost/sites /xml` printed something unexpected"
        ),
        "{odd}"
    );
}

#[test]
fn install_uses_appl_physical_path_when_set() {
    let project = copy_project("modern_sample");
    ok(&iiswsgi(project.path(), &["build-msdeploy"]));
    let output = std::process::Command::new(crate::support::bin())
        .args(["install", "--", "sh", "-c", "echo custom step in $APPL_PHYSICAL_PATH > custom.txt"])
        .env("APPL_PHYSICAL_PATH", project.path())
        .output()
        .unwrap();
    ok(&output);
    assert!(!project.path().join("iis_install.stamp").exists());
    let custom = std::fs::read_to_string(project.path().join("custom.txt")).unwrap();
    assert_eq!(custom.trim(), format!("custom step in {}", project.path().display()));
    let gone = std::process::Command::new(crate::support::bin())
        .arg("install")
        .env("APPL_PHYSICAL_PATH", "/nonexistent/app")
        .output()
        .unwrap();
    assert!(super::failed(&gone).contains("APPL_PHYSICAL_PATH is /nonexistent/app but that folder does not exist"));
}

#[test]
fn enable_and_disable_register_this_iiswsgi() {
    let iis = tempfile::tempdir().unwrap();
    let config = iis.path().join("applicationHost.config");
    std::fs::write(&config, EMPTY_HOST).unwrap();
    let appcmd = env!("CARGO_BIN_EXE_iiswsgi-appcmd");
    let apphost = format!("/apphostconfig:{}", config.display());
    let output = ok(&iiswsgi(iis.path(), &["enable", "--appcmd", appcmd, "--", &apphost]));
    let key = format!("{}|serve", crate::support::bin());
    assert!(output.contains(&format!("\"{key}\"")), "prints the scriptProcessor: {output}");
    assert_eq!(registered(&config), std::slice::from_ref(&key));
    let host = ApplicationHost::parse(&std::fs::read_to_string(&config).unwrap()).unwrap();
    assert_eq!(host.fastcgi[0].signal_before_terminate_seconds, 30);
    ok(&iiswsgi(iis.path(), &["enable", "--appcmd", appcmd, "--", &apphost]));
    assert_eq!(registered(&config).len(), 1);
    ok(&iiswsgi(iis.path(), &["disable", "--appcmd", appcmd, "--", &apphost]));
    assert!(registered(&config).is_empty());
    let again = ok(&iiswsgi(iis.path(), &["disable", "--appcmd", appcmd, "--", &apphost]));
    assert!(again.contains("was not registered"), "{again}");
}

#[test]
fn install_with_a_virtualenv_installs_the_app_into_it() {
    if !crate::support::require("python3") {
        return;
    }
    let Some((pip_var, wheels)) = super::pip_finds_this_iiswsgi() else { return };
    let project = copy_project("modern_sample");
    ok(&iiswsgi(project.path(), &["build-msdeploy"]));
    let output = std::process::Command::new(crate::support::bin())
        .args([
            "install",
            "-e",
            "--python",
            "python3",
            "--appcmd",
            "true",
            "--",
            "sh",
            "-c",
            "$APPL_PHYSICAL_PATH/.venv/bin/python -c 'import modern_sample.app; print(\"imported\")' > venv-check.txt",
        ])
        .env("APPL_PHYSICAL_PATH", project.path())
        .env(pip_var, wheels)
        .env_remove("VIRTUAL_ENV")
        .output()
        .unwrap();
    ok(&output);
    assert!(project.path().join(".venv/pyvenv.cfg").is_file());
    let pip = std::process::Command::new(project.path().join(".venv/bin/python"))
        .args(["-m", "pip", "show", "iiswsgi"])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&pip.stdout);
    assert!(shown.contains(&format!("Version: {}", env!("CARGO_PKG_VERSION"))), "the project's webpi_eggs: {shown}");
    let check = std::fs::read_to_string(project.path().join("venv-check.txt")).unwrap();
    assert_eq!(check.trim(), "imported", "the app was pip-installed into the venv");
}
