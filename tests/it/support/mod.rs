//! Helpers shared by the integration tests.

pub mod fcgi_client;
pub mod http;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_iiswsgi")
}

/// The venv with this iiswsgi's wheel installed (`IISWSGI_WHEEL_VENV`,
/// made by `.ci/run` from the built wheel, with cargo off PATH).
pub fn wheel_venv() -> Option<PathBuf> {
    let venv = std::env::var_os("IISWSGI_WHEEL_VENV").map(PathBuf::from);
    match venv.filter(|v| v.join("pyvenv.cfg").is_file()) {
        Some(venv) => Some(venv),
        None => {
            assert!(std::env::var("CI").is_err(), "IISWSGI_WHEEL_VENV must name the wheel's venv under CI");
            eprintln!("skipping: no IISWSGI_WHEEL_VENV (a venv with the iiswsgi wheel installed)");
            None
        }
    }
}

/// How the gateway tests run `iiswsgi` (program, then leading arguments):
/// the binary, or with `IISWSGI_TEST_FORM=wheel` the wheel's `python -m
/// iiswsgi`, so one suite checks both forms.
pub fn gateway() -> Vec<String> {
    if std::env::var("IISWSGI_TEST_FORM").as_deref() == Ok("wheel") {
        if let Some(venv) = wheel_venv() {
            return vec![venv.join("bin/python").display().to_string(), "-m".into(), "iiswsgi".into()];
        }
    }
    vec![bin().to_string()]
}

/// The `serve` arguments that select a venv with PasteDeploy: the test
/// venv's `--venv` for the binary, none for the wheel's Python, which has
/// it (and cannot switch to another venv).
pub fn venv_with_paste() -> Option<Vec<String>> {
    if gateway().len() > 1 {
        return Some(Vec::new());
    }
    Some(vec!["--venv".into(), test_venv()?.display().to_string()])
}

/// [`gateway`] as a command; add the subcommand.
pub fn gateway_command() -> Command {
    let gateway = gateway();
    let mut command = Command::new(&gateway[0]);
    command.args(&gateway[1..]);
    command
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn apps_dir() -> PathBuf {
    repo().join("testdata").join("apps")
}

/// Whether an external program is installed. On a developer's machine a
/// missing one skips the test; under CI it fails it.
pub fn require(program: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(std::env::var("CI").is_err(), "{program} is required under CI but is not installed");
        eprintln!("skipping: {program} is not installed");
    }
    found
}

/// The venv with testdata/requirements.txt installed (.ci/run makes it).
pub fn test_venv() -> Option<PathBuf> {
    let venv = std::env::var_os("IISWSGI_TEST_VENV").map(PathBuf::from).unwrap_or_else(|| repo().join(".venv"));
    if venv.join("pyvenv.cfg").is_file() {
        return Some(venv);
    }
    assert!(std::env::var("CI").is_err(), "the test venv {} is missing under CI", venv.display());
    eprintln!("skipping: no test venv at {} (run .ci/run once)", venv.display());
    None
}

/// The folder with this version's wheel (`IISWSGI_WHEELS`, else `dist/`,
/// where `.ci/run` builds it), for tests whose venvs pip-install iiswsgi.
pub fn wheels() -> Option<PathBuf> {
    let dir = std::env::var_os("IISWSGI_WHEELS").map(PathBuf::from).unwrap_or_else(|| repo().join("dist"));
    let prefix = format!("iiswsgi-{}-", env!("CARGO_PKG_VERSION"));
    let found = std::fs::read_dir(&dir).into_iter().flatten().flatten().any(|entry| {
        let name = entry.file_name().to_string_lossy().into_owned();
        name.starts_with(&prefix) && name.ends_with(".whl")
    });
    if found {
        return Some(dir);
    }
    assert!(std::env::var("CI").is_err(), "no iiswsgi {prefix}*.whl in {} under CI", dir.display());
    eprintln!("skipping: no {prefix}*.whl in {} (build it with maturin, as .ci/run does)", dir.display());
    None
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Polls until `ready` holds, for at most 20 s.
pub fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A child process killed when the test ends.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `iiswsgi serve ARGS --bind 127.0.0.1:0`: the port the server got, read
/// from its log, and the server.
pub fn serve_tcp(args: &[&str], env: &[(&str, &str)], log: &Path) -> (u16, Guard) {
    let server = spawn_bound(args, "127.0.0.1:0", log, env);
    let mut port = None;
    wait_until("the server to log its port", || {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        port = text
            .split("listening on 127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next().and_then(|p| p.parse().ok()));
        port.is_some()
    });
    (port.unwrap_or_default(), server)
}

/// `iiswsgi serve ARGS --bind ADDR` with extra environment, not waited for.
fn spawn_bound(args: &[&str], bind: &str, log: &Path, env: &[(&str, &str)]) -> Guard {
    let child = gateway_command()
        .arg("serve")
        .args(args)
        .args(["--bind", bind, "--log-file"])
        .arg(log)
        .envs(env.iter().copied())
        .current_dir(apps_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn iiswsgi");
    Guard(child)
}

/// `iiswsgi serve ARGS --bind unix:PATH`, waiting until it accepts connections.
pub fn serve_unix(args: &[&str], path: &Path, log: &Path) -> Guard {
    serve_unix_with(args, &[], path, log)
}

/// [`serve_unix`] with extra environment.
pub fn serve_unix_with(args: &[&str], env: &[(&str, &str)], path: &Path, log: &Path) -> Guard {
    let guard = spawn_bound(args, &format!("unix:{}", path.display()), log, env);
    wait_until("the unix socket", || std::os::unix::net::UnixStream::connect(path).is_ok());
    guard
}

/// Copies a folder tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
