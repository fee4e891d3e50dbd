//! iiswsgi installed from its wheel (`IISWSGI_WHEEL_VENV`, a venv that
//! `.ci/run` fills with `pip install --no-index 'iiswsgi[paste]'` from the
//! built wheel, cargo off PATH): the venv's own Python hosts it.

mod original;
mod paste;

use crate::emulate::Emulator;
use crate::support::fcgi_client::{iis_params, IisProcess};
use crate::support::{apps_dir, bin, repo, wait_until, wheel_venv};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn python(venv: &Path) -> PathBuf {
    venv.join("bin/python")
}

/// `python -m iiswsgi` of the wheel's venv.
fn hosted(venv: &Path) -> Vec<String> {
    vec![python(venv).display().to_string(), "-m".into(), "iiswsgi".into()]
}

fn run(program: &[String], args: &[&str]) -> Output {
    Command::new(&program[0]).args(&program[1..]).args(args).output().expect("run iiswsgi")
}

/// Help, versions, usage errors and command failures: the same bytes and
/// exit codes from `python -m iiswsgi`, the `iiswsgi` console script and
/// the standalone binary.
#[test]
fn python_m_iiswsgi_is_the_binarys_command_line() {
    let Some(venv) = wheel_venv() else { return };
    let script = vec![venv.join("bin/iiswsgi").display().to_string()];
    let cases: [&[&str]; 9] = [
        &["--help"],
        &["--version"],
        &["serve", "--help"],
        &["emulate", "--help"],
        &["install", "--help"],
        &["bdist-msdeploy", "--help"],
        &["serve", "--bogus"],
        &["no-such-command"],
        &["build-msdeploy", "--project", "/nonexistent/project"],
    ];
    for args in cases {
        let binary = run(&[bin().to_string()], args);
        for form in [hosted(&venv), script.clone()] {
            let wheel = run(&form, args);
            assert_eq!(wheel.status.code(), binary.status.code(), "{args:?}");
            assert_eq!(String::from_utf8_lossy(&wheel.stdout), String::from_utf8_lossy(&binary.stdout), "{args:?}");
            assert_eq!(String::from_utf8_lossy(&wheel.stderr), String::from_utf8_lossy(&binary.stderr), "{args:?}");
        }
    }
    let version = run(&hosted(&venv), &["--version"]);
    assert_eq!(String::from_utf8_lossy(&version.stdout), format!("iiswsgi {}\n", env!("CARGO_PKG_VERSION")));
    // The original's console script: `iiswsgi install` with -a, -i, -e, -v.
    let original = run(&[venv.join("bin/iiswsgi_install").display().to_string()], &["--help"]);
    let install = run(&[bin().to_string()], &["install", "--help"]);
    assert_eq!(original.stdout, install.stdout);
    let help = String::from_utf8_lossy(&install.stdout);
    for option in ["-a, --app-name", "-i, --ignore-stamp", "-e, --virtualenv", "-v, --verbose"] {
        assert!(help.contains(option), "{option} in:\n{help}");
    }
}

/// The emulator run by the wheel's Python runs examples/hello's FastCGI
/// application (the venv's `python.exe -m iiswsgi serve`) with that
/// Python.
#[test]
fn the_wheels_emulator_serves_examples_hello_with_python_m_iiswsgi_serve() {
    let Some(venv) = wheel_venv() else { return };
    let emulator =
        Emulator::start_program(&hosted(&venv), &["--site".into(), repo().join("examples/hello").into()], &[]);
    let response = emulator.get("/from/the/wheel");
    assert_eq!(String::from_utf8_lossy(&response.body), "Hello from iiswsgi at /from/the/wheel\n");
    let log = emulator.log("emulator.log");
    let line = log.lines().find(|l| l.contains("started FastCGI process")).unwrap_or_else(|| panic!("{log}"));
    // The key as examples/hello names it, then what runs: the Python that
    // runs the emulator.
    assert!(line.contains(r"for C:\sites\hello\.venv\Scripts\python.exe|-m iiswsgi serve: "), "{line}");
    assert!(line.ends_with(&format!(": {} -m iiswsgi serve", python(&venv).display())), "{line}");
    let gateway = emulator.log("gateway.log");
    assert!(gateway.contains(&format!("sys.prefix {}", venv.display())), "{gateway}");
}

/// A load failure: the same 500, stderr and log line as the binary.
#[test]
fn a_load_failure_answers_as_the_binary_does() {
    let Some(venv) = wheel_venv() else { return };
    let apps = apps_dir();
    let mut replies = Vec::new();
    for program in [vec![bin().to_string()], hosted(&venv)] {
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut iis = IisProcess::start_program(&program, &["import_raises:app"], &[], &apps, log.path());
        let reply = iis.request(&iis_params("GET", "/", "", &apps, 0), b"");
        let text = std::fs::read_to_string(log.path()).unwrap();
        let logged = text.lines().find(|l| l.contains("cannot load the app")).unwrap_or_default();
        // The log line without its timestamp.
        let logged = logged.split_once("ERROR").map(|(_, rest)| rest.to_string()).unwrap_or_default();
        replies.push((reply.stderr_text(), reply.stdout, logged));
    }
    assert_eq!(replies[0], replies[1]);
    assert!(replies[1].0.contains("ZeroDivisionError: import went wrong"), "{}", replies[1].0);
}

/// The hosted form stops gracefully on SIGINT and SIGTERM, as the binary
/// does: Python's own SIGINT handler would see nothing while Rust runs.
#[test]
fn the_hosted_gateway_stops_gracefully_on_sigint_and_sigterm() {
    let Some(venv) = wheel_venv() else { return };
    let apps = apps_dir();
    for (signal, name) in [(libc::SIGINT, "SIGINT"), (libc::SIGTERM, "SIGTERM")] {
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut iis = IisProcess::start_program(&hosted(&venv), &["apps:hello"], &[], &apps, log.path());
        assert_eq!(iis.request(&iis_params("GET", "/", "", &apps, 0), b"").body(), b"Hello, world!");
        // SAFETY: signalling our own child.
        unsafe { libc::kill(iis.child.id() as i32, signal) };
        wait_until("the gateway to exit", || iis.child.try_wait().unwrap().is_some());
        assert_eq!(iis.child.try_wait().unwrap().and_then(|s| s.code()), Some(0), "{name}");
        let text = std::fs::read_to_string(log.path()).unwrap();
        assert!(text.contains(&format!("shutting down: received {name}")), "{text}");
    }
}

/// A Python cannot become another venv's: `--venv` naming one is refused.
#[test]
fn venv_naming_another_environment_is_refused() {
    let Some(venv) = wheel_venv() else { return };
    let other = tempfile::tempdir().unwrap();
    let out = run(
        &hosted(&venv),
        &["serve", "apps:hello", "--venv", other.path().to_str().unwrap(), "--bind", "127.0.0.1:0"],
    );
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("cannot switch to another environment") && text.contains(&venv.display().to_string()),
        "{text}"
    );
}

/// `enable` from the wheel registers the venv's python with `-m iiswsgi serve`.
#[test]
fn enable_registers_the_venvs_python() {
    let Some(venv) = wheel_venv() else { return };
    let iis = tempfile::tempdir().unwrap();
    let config = iis.path().join("applicationHost.config");
    std::fs::write(&config, crate::emulate::appcmd::EMPTY_HOST).unwrap();
    let appcmd = venv.join("bin/iiswsgi-appcmd");
    let apphost = format!("/apphostconfig:{}", config.display());
    let out = run(&hosted(&venv), &["enable", "--appcmd", appcmd.to_str().unwrap(), "--", &apphost]);
    let text = String::from_utf8_lossy(&out.stdout);
    let key = format!("{}|-m iiswsgi serve", python(&venv).display());
    assert!(
        out.status.success() && text.contains(&format!("\"{key}\"")),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let host = iiswsgi_proto::iis::ApplicationHost::parse(&std::fs::read_to_string(&config).unwrap()).unwrap();
    assert_eq!(host.fastcgi.iter().map(|a| a.key()).collect::<Vec<_>>(), [key]);
}

/// pip refuses the wheel to a Python older than its abi3 floor (3.9): by
/// its tag and its requires-python, not by failing at import.
#[test]
fn pip_refuses_the_wheel_to_python_3_8() {
    let Some(wheels) = crate::support::wheels() else { return };
    let into = tempfile::tempdir().unwrap();
    let pip = |version: &str| {
        Command::new("python3")
            .args(["-m", "pip", "download", "--no-deps", "--no-index", "--only-binary", ":all:"])
            .args(["--python-version", version, "--platform", "manylinux_2_34_x86_64", "--find-links"])
            .arg(&wheels)
            .arg("-d")
            .arg(into.path())
            .arg(format!("iiswsgi=={}", env!("CARGO_PKG_VERSION")))
            .output()
            .unwrap()
    };
    let old = pip("3.8");
    assert!(!old.status.success(), "{}", String::from_utf8_lossy(&old.stdout));
    assert!(String::from_utf8_lossy(&old.stderr).contains("No matching distribution found for iiswsgi"));
    for supported in ["3.9", "3.13"] {
        let new = pip(supported);
        assert!(new.status.success(), "{supported}: {}", String::from_utf8_lossy(&new.stderr));
    }
}
