//! Interpreter selection: `--venv` and `VIRTUAL_ENV` run the app in that
//! environment (its sys.prefix, its site-packages), not the base install.

use crate::support::fcgi_client::{iis_params, IisProcess};
use crate::support::{apps_dir, repo};
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

/// A venv made by the same Python iiswsgi embeds, with one package in it.
fn marker_venv() -> &'static Path {
    static VENV: OnceLock<tempfile::TempDir> = OnceLock::new();
    VENV.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let venv = dir.path().join("venv");
        let ok = Command::new("python3").args(["-m", "venv"]).arg(&venv).status().unwrap().success();
        assert!(ok, "python3 -m venv failed");
        let built =
            Command::new("python3").arg(repo().join("testdata/pkgs/make_wheel.py")).arg(dir.path()).output().unwrap();
        assert!(built.status.success(), "make_wheel.py failed");
        let wheel = String::from_utf8(built.stdout).unwrap();
        let ok = Command::new(venv.join("bin/python"))
            .args(["-m", "pip", "install", "--quiet", "--no-index", wheel.trim()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "pip install of the marker package failed");
        dir
    })
    .path()
}

fn serve_marker(args: &[&str], env: &[(&str, &str)]) -> (u16, String, String) {
    let log = tempfile::NamedTempFile::new().unwrap();
    let apps = apps_dir();
    let mut all = vec!["uses_marker:application"];
    all.extend_from_slice(args);
    let mut iis = IisProcess::start(&all, env, &apps, log.path());
    let reply = iis.request(&iis_params("GET", "/", "", &apps, 0), b"");
    let code = reply.status().split(' ').next().unwrap_or("").parse().unwrap_or(0);
    (code, reply.body_text() + &reply.stderr_text(), std::fs::read_to_string(log.path()).unwrap())
}

#[test]
fn venv_flag_selects_the_environment() {
    let venv = marker_venv().join("venv");
    let canonical = venv.canonicalize().unwrap();
    let (code, body, log) = serve_marker(&["--venv", venv.to_str().unwrap()], &[]);
    assert_eq!(code, 200, "{body}\n{log}");
    assert_eq!(body, format!("marker-from-venv {}", canonical.display()));
    assert!(log.contains(&format!("sys.prefix {}", canonical.display())), "{log}");
}

#[test]
fn virtual_env_variable_selects_the_environment() {
    let venv = marker_venv().join("venv");
    let (code, body, _) = serve_marker(&[], &[("VIRTUAL_ENV", venv.to_str().unwrap())]);
    assert_eq!(code, 200, "{body}");
    assert!(body.starts_with("marker-from-venv "));
}

#[test]
fn without_the_venv_its_packages_are_not_importable() {
    let (code, body, _) = serve_marker(&[], &[("VIRTUAL_ENV", "")]);
    assert_eq!(code, 500);
    assert!(body.contains("No module named 'iiswsgi_marker'") || body.contains("could not be imported"), "{body}");
}

#[test]
fn a_folder_that_is_not_a_venv_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(crate::support::bin())
        .args(["serve", "apps:hello", "--bind", "127.0.0.1:1", "--venv"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is not a virtual environment (no pyvenv.cfg)"), "{stderr}");
}
