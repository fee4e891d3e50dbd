//! End-to-end tests of `iiswsgi emulate`: real emulator, real `iiswsgi
//! serve` processes started as IIS would start them, real HTTP. Fixture
//! sites are in testdata/sites/, one per behaviour.

pub mod appcmd;
mod apphost;
mod failures;
mod http_front;
mod http_platform;
mod pool;
mod rewrite;
mod sites;

use crate::support::http::{request, HttpResponse};
use crate::support::{apps_dir, bin, repo, wait_until, Guard};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub fn sites_dir() -> PathBuf {
    repo().join("testdata").join("sites")
}

/// The environment the fixtures' `%VAR%`s refer to.
pub fn fixture_env() -> Vec<(&'static str, OsString)> {
    vec![
        ("IISWSGI_EXE", bin().into()),
        ("IISWSGI_TEST_APPS", apps_dir().into()),
        ("IISWSGI_TEST_DATA", repo().join("testdata").into()),
        ("IISWSGI_TEST_SITES", sites_dir().into()),
        ("IISWSGI_PYTHON", python().into()),
    ]
}

/// The absolute path of `python3` on PATH (a FastCGI fullPath must be absolute).
fn python() -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|dir| dir.join("python3")).find(|p| p.is_file()))
        .unwrap_or_else(|| PathBuf::from("/usr/bin/python3"))
}

/// A running emulator, stopped when dropped.
pub struct Emulator {
    pub port: u16,
    pub logs: tempfile::TempDir,
    _guard: Guard,
}

impl Emulator {
    /// `iiswsgi emulate --site testdata/sites/NAME`.
    pub fn site(name: &str) -> Self {
        Self::site_dir(&sites_dir().join(name), &[])
    }

    pub fn site_dir(dir: &Path, env: &[(&str, &str)]) -> Self {
        Self::start(&["--site".into(), dir.into()], env)
    }

    pub fn apphost(config: &Path, site_name: &str) -> Self {
        Self::start(&["--apphost".into(), config.into(), "--site-name".into(), site_name.into()], &[])
    }

    pub fn start(args: &[OsString], env: &[(&str, &str)]) -> Self {
        Self::start_program(&[bin().to_string()], args, env)
    }

    /// [`Emulator::start`] with `program` (and its leading arguments) as iiswsgi.
    pub fn start_program(program: &[String], args: &[OsString], env: &[(&str, &str)]) -> Self {
        let logs = tempfile::tempdir().unwrap();
        let stderr = std::fs::File::create(logs.path().join("emulator.log")).unwrap();
        let child = Command::new(&program[0])
            .args(&program[1..])
            .arg("emulate")
            .args(args)
            .args(["--listen", "127.0.0.1:0", "--access-log"])
            .arg(logs.path().join("access.log"))
            .envs(fixture_env())
            .env("WSGI_LOG", logs.path().join("gateway.log"))
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("spawn iiswsgi emulate");
        let guard = Guard(child);
        let log = logs.path().join("emulator.log");
        let mut port = None;
        wait_until("the emulator to listen", || {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            assert!(!text.contains("error:"), "the emulator failed to start:\n{text}");
            port = text
                .split("listening on http://127.0.0.1:")
                .nth(1)
                .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next().and_then(|p| p.parse().ok()));
            port.is_some()
        });
        Self { port: port.unwrap_or_default(), logs, _guard: guard }
    }

    pub fn pid(&self) -> u32 {
        self._guard.0.id()
    }

    pub fn get(&self, path: &str) -> HttpResponse {
        request(self.port, "GET", path, b"")
    }

    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.logs.path().join(name)).unwrap_or_default()
    }
}

pub fn text(response: &HttpResponse) -> String {
    String::from_utf8_lossy(&response.body).into_owned()
}

/// Runs `iiswsgi emulate ARGS` expecting it to fail at start; returns stderr.
pub fn failing_start(args: &[OsString]) -> String {
    let output = Command::new(bin())
        .arg("emulate")
        .args(args)
        .args(["--listen", "127.0.0.1:0"])
        .envs(fixture_env())
        .stdin(Stdio::null())
        .output()
        .expect("run iiswsgi emulate");
    assert!(!output.status.success(), "the emulator started: {output:?}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Copies a fixture site into a temporary folder the test may change.
pub fn copy_site(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    crate::support::copy_dir(&sites_dir().join(name), dir.path());
    dir
}
