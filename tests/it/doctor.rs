//! `iiswsgi doctor` on its fixtures (testdata/doctor/applicationHost.config):
//! one site per problem, each found with IIS's words and the fix, and a
//! healthy site found healthy.

use crate::support::{apps_dir, bin, gateway_command, repo};
use std::path::PathBuf;
use std::sync::OnceLock;

/// A Python without iiswsgi: a bare venv made once.
fn plain_python() -> PathBuf {
    static VENV: OnceLock<tempfile::TempDir> = OnceLock::new();
    let venv = VENV.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let made = std::process::Command::new("python3").args(["-m", "venv", "--without-pip"]).arg(dir.path()).status();
        assert!(made.unwrap().success(), "python3 -m venv");
        dir
    });
    venv.path().join("bin/python")
}

fn fixtures() -> PathBuf {
    repo().join("testdata/doctor")
}

/// Runs the doctor; its exit status and stdout.
fn doctor(args: &[&str]) -> (i32, String) {
    let out = gateway_command()
        .arg("doctor")
        .args(args)
        .env("IISWSGI_EXE", bin())
        .env("IISWSGI_TEST_APPS", apps_dir())
        .env("IISWSGI_DOCTOR", fixtures())
        .env("DOCTOR_PYTHON", plain_python())
        .output()
        .expect("run iiswsgi doctor");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    println!("{stdout}");
    (out.status.code().unwrap_or(-1), stdout)
}

fn site(name: &str) -> (i32, String) {
    let apphost = fixtures().join("applicationHost.config");
    doctor(&["--apphost", apphost.to_str().unwrap(), "--site-name", name])
}

fn assert_has(output: &str, parts: &[&str]) {
    for part in parts {
        assert!(output.contains(part), "missing {part:?} in:\n{output}");
    }
}

#[test]
fn a_healthy_site_passes_every_check_and_answers_the_request() {
    let apphost = fixtures().join("applicationHost.config");
    let (code, out) = doctor(&["--apphost", apphost.to_str().unwrap(), "--site-name", "Healthy", "--request"]);
    assert_eq!(code, 0, "{out}");
    assert_has(
        &out,
        &[
            "ok      config   1 web.config file(s) parse",
            "ok      sections no web.config uses a section IIS refuses there",
            "ok      handler  GET / → handler \"Python FastCGI\" (FastCgiModule)",
            "ok      fastcgi  scriptProcessor",
            "ok      program",
            "ok      load     the app loaded: GET / answered HTTP 200",
            "ok      request  GET /",
            "Hello, world!",
            "no errors",
        ],
    );
    assert!(!out.contains("error   "), "{out}");
}

#[test]
fn json_carries_the_same_results() {
    let apphost = fixtures().join("applicationHost.config");
    let (code, out) = doctor(&["--apphost", apphost.to_str().unwrap(), "--site-name", "NearMiss", "--json"]);
    assert_eq!(code, 1);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["healthy"], false);
    let results = report["sites"][0]["results"].as_array().unwrap();
    let fastcgi = results.iter().find(|r| r["check"] == "fastcgi").unwrap();
    assert_eq!(fastcgi["status"], "error");
    assert!(fastcgi["fix"].as_str().unwrap().contains("make the handler's scriptProcessor exactly"));
}

#[test]
fn a_locked_handlers_section_is_iis_500_19_with_the_unlock_command() {
    let (code, out) = site("Locked");
    assert_eq!(code, 1);
    assert_has(
        &out,
        &[
            "<system.webServer/handlers> is locked for \"Locked\"",
            "error 0x80070021: This configuration section cannot be used at this path.",
            "appcmd.exe unlock config \"Locked\" -section:system.webServer/handlers -commit:apphost",
        ],
    );
}

#[test]
fn a_fastcgi_section_in_web_config_is_named_as_app_host_only() {
    let (code, out) = site("AppHostOnly");
    assert_eq!(code, 1);
    assert_has(&out, &["web.config:8: <system.webServer/fastCgi> is an applicationHost.config-only section"]);
}

#[test]
fn a_malformed_web_config_is_named_with_its_line() {
    let (code, out) = site("BadConfig");
    assert_eq!(code, 1);
    assert_has(&out, &["error   config   IIS cannot read the configuration:", "bad_config/web.config:"]);
}

#[test]
fn a_near_miss_script_processor_is_named() {
    let (code, out) = site("NearMiss");
    assert_eq!(code, 1);
    assert_has(
        &out,
        &[
            "differs from the registered",
            "(quoting)",
            "scriptProcessor could not be found in <fastCGI> application configuration",
        ],
    );
}

#[test]
fn a_server_without_the_cgi_feature_gets_its_install_command() {
    let apphost = fixtures().join("no_cgi.applicationHost.config");
    let (code, out) = doctor(&["--apphost", apphost.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_has(&out, &["has a bad module \"FastCgiModule\" in its module list", "Install-WindowsFeature Web-CGI"]);
}

#[test]
fn a_missing_program_a_broken_venv_and_a_python_without_iiswsgi_are_named() {
    let (code, out) = site("MissingProgram");
    assert_eq!(code, 1);
    assert_has(&out, &["nowhere/python.exe does not exist"]);
    let (code, out) = site("BrokenVenv");
    assert_eq!(code, 1);
    assert_has(
        &out,
        &["error   venv", "pyvenv.cfg's home /nonexistent/python3.11/bin does not exist", "python -m venv --clear"],
    );
    let (code, out) = site("NoIiswsgi");
    assert_eq!(code, 1);
    assert_has(&out, &["cannot import iiswsgi: ModuleNotFoundError", "-m pip install iiswsgi"]);
}

#[test]
fn an_app_that_does_not_load_shows_what_iis_would_have_shown() {
    let (code, out) = site("NotLoading");
    assert_eq!(code, 1);
    assert_has(
        &out,
        &["error   load     the app does not load", "Error occurred while reading WSGI handler", "no_such_app"],
    );
}

#[test]
fn an_unwritable_log_and_a_left_stamp_are_found() {
    let (code, out) = site("Files");
    assert_eq!(code, 1);
    assert_has(&out, &["WSGI_LOG", "files/no_such_folder/iiswsgi.log is not writable", "iis_install.stamp is left"]);
    let mut left: Vec<_> =
        std::fs::read_dir(fixtures().join("files")).unwrap().map(|e| e.unwrap().file_name()).collect();
    left.sort();
    assert_eq!(left, ["iis_install.stamp", "web.config"], "nothing written into the site");
}

#[test]
fn a_site_folder_alone_warns_that_iis_needs_the_registration() {
    let dir = fixtures().join("healthy");
    let (code, out) = doctor(&["--site", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert_has(&out, &["warning fastcgi", "appcmd.exe set config /section:system.webServer/fastCgi", "ok      load"]);
}

/// An unprivileged user for `--as-user`, made once (the tests run as root
/// in CI; elsewhere without root the test is skipped).
fn test_user() -> Option<&'static str> {
    const NAME: &str = "iiswsgi-doctor";
    static MADE: OnceLock<bool> = OnceLock::new();
    let made = *MADE.get_or_init(|| {
        let exists = std::process::Command::new("id").arg(NAME).output().is_ok_and(|o| o.status.success());
        exists
            || std::process::Command::new("useradd")
                .args(["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", NAME])
                .status()
                .is_ok_and(|s| s.success())
    });
    if !made {
        assert!(std::env::var("CI").is_err(), "the test user {NAME} cannot be made under CI (root is needed)");
    }
    made.then_some(NAME)
}

#[test]
fn as_user_names_the_folder_the_apps_user_cannot_enter() {
    let Some(user) = test_user() else { return };
    // A folder only root may enter, with the site in it.
    let outer = tempfile::tempdir().unwrap();
    std::fs::set_permissions(outer.path(), std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let site = outer.path().join("site");
    std::fs::create_dir(&site).unwrap();
    std::fs::copy(fixtures().join("healthy/web.config"), site.join("web.config")).unwrap();
    let site_text = site.to_str().unwrap();
    let (code, out) = doctor(&["--site", site_text, "--as-user", user]);
    assert_eq!(code, 1, "{out}");
    let outer_text = outer.path().display().to_string();
    assert_has(
        &out,
        &[
            &format!("error   access   {user} cannot read and execute {site_text} (the folder of /) (it cannot enter {outer_text})"),
            &format!("fix: setfacl -m u:{user}:x {outer_text}"),
        ],
    );
    std::fs::set_permissions(outer.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let (_, out) = doctor(&["--site", site_text, "--as-user", user]);
    assert_has(&out, &[&format!("ok      access   {user} can read and execute {site_text} (the folder of /)")]);
}

/// No --site or --apphost: the applicationHost.config the given appcmd
/// edits, every site of it.
#[test]
fn without_a_site_it_asks_appcmd_and_checks_every_site() {
    let apphost = fixtures().join("no_cgi.applicationHost.config");
    let appcmd = format!("{} /apphostconfig:{}", env!("CARGO_BIN_EXE_iiswsgi-appcmd"), apphost.display());
    let (code, out) = doctor(&["--appcmd", &appcmd]);
    assert_eq!(code, 1);
    assert_has(&out, &["site \"Healthy\" of", "has a bad module \"FastCgiModule\" in its module list"]);
    let apphost = fixtures().join("applicationHost.config");
    let appcmd = format!("{} /apphostconfig:{}", env!("CARGO_BIN_EXE_iiswsgi-appcmd"), apphost.display());
    let (code, out) = doctor(&["--appcmd", &appcmd, "--json"]);
    assert_eq!(code, 1);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let sites: Vec<&str> = report["sites"].as_array().unwrap().iter().map(|s| s["site"].as_str().unwrap()).collect();
    assert_eq!(sites.len(), 10, "{sites:?}");
    assert!(sites[0].starts_with("site \"Healthy\""), "{sites:?}");
}
