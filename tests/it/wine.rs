//! IIS's Windows transport, run under wine: a Python-free Windows build of
//! the gateway (`--test-app`) is started by `testdata/wine/iis_pipe.c`,
//! which plays IIS: named pipe on stdin connected before start, requests
//! with FCGI_KEEP_CONN, a disconnect and reconnect, then
//! `_FCGI_SHUTDOWN_EVENT_`. See windows-wine-facts.md for why wine needs
//! the `bcryptprimitives.dll` stand-in.

use crate::support::{repo, require};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, OnceLock};

const TARGET: &str = "x86_64-pc-windows-gnu";

fn run(command: &mut Command, what: &str) -> String {
    let out = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{what} failed:\n{text}");
    text
}

fn mingw(source: &str, output: &Path, extra: &[&str]) {
    let source = repo().join("testdata/wine").join(source);
    run(Command::new("x86_64-w64-mingw32-gcc").args(["-O2", "-o"]).arg(output).arg(source).args(extra), "mingw gcc");
}

/// The tests' own wine prefix, kept between runs: creating one takes a while.
fn prefix() -> PathBuf {
    repo().join("target/wine-prefix")
}

/// One test at a time under wine, in a prefix that is ready: a fresh
/// prefix boots for longer than a test waits, and each test ends by
/// stopping every process of the prefix. Dropping it stops them.
struct WineSession {
    _only_one: MutexGuard<'static, ()>,
}

impl WineSession {
    fn start() -> Self {
        static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
        static BOOTED: OnceLock<()> = OnceLock::new();
        let only_one = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        BOOTED.get_or_init(|| drop(run(&mut wine(&["wineboot", "--init"], &repo()), "wineboot")));
        Self { _only_one: only_one }
    }
}

impl Drop for WineSession {
    /// What the test started (the emulator, the gateways it started, and
    /// wine's own services) must not outlive it.
    fn drop(&mut self) {
        for flag in ["-k", "-w"] {
            let _ = Command::new("wineserver").arg(flag).env("WINEPREFIX", prefix()).status();
        }
    }
}

/// A folder with the Python-free Windows build of iiswsgi.exe and the
/// DLL stand-in wine needs, and the session to run it in; `None` when wine
/// or mingw is missing locally.
fn windows_build() -> Option<(tempfile::TempDir, WineSession)> {
    if !require("wine") || !require("x86_64-w64-mingw32-gcc") {
        return None;
    }
    let session = WineSession::start();
    let target_dir = repo().join("target/wine");
    run(
        Command::new(env!("CARGO"))
            .args(["build", "--quiet", "--no-default-features", "--target", TARGET, "--manifest-path"])
            .arg(repo().join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", &target_dir),
        "cargo build for Windows",
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(target_dir.join(TARGET).join("debug/iiswsgi.exe"), dir.path().join("iiswsgi.exe")).unwrap();
    mingw("bcryptprimitives.c", &dir.path().join("bcryptprimitives.dll"), &["-shared", "-ladvapi32"]);
    Some((dir, session))
}

/// `wine ARGS` in the tests' prefix, ended after 300 s at most.
fn wine(args: &[&str], dir: &Path) -> Command {
    let mut command = Command::new("timeout");
    command.arg("300").arg("wine").args(args).current_dir(dir);
    wine_env(&mut command);
    command
}

fn wine_env(command: &mut Command) {
    command
        .env("WINEPREFIX", prefix())
        .env("WINEDEBUG", "-all")
        // No Mono or Gecko install prompts.
        .env("WINEDLLOVERRIDES", "mscoree,mshtml=");
}

#[test]
fn named_pipe_transport_and_shutdown_event_work_under_wine() {
    let Some((dir, _session)) = windows_build() else { return };
    mingw("iis_pipe.c", &dir.path().join("iis_pipe.exe"), &[]);
    let report = run(
        &mut wine(&["iis_pipe.exe", "iiswsgi.exe serve --test-app --log-file iiswsgi.log"], dir.path()),
        "iis_pipe.exe under wine",
    );
    assert!(report.contains("9 passed, 0 failed"), "{report}");
    let log = std::fs::read_to_string(dir.path().join("iiswsgi.log")).unwrap();
    assert!(log.contains("IIS mode: named pipe \\\\.\\pipe\\IISFCGI-"), "{log}");
    assert!(log.contains("IIS signalled _FCGI_SHUTDOWN_EVENT_"), "{log}");
}

/// The emulator's Windows side: it creates `\\.\pipe\IISFCGI-*`, hands the
/// server end to the gateway as stdin, and on recycling signals
/// `_FCGI_SHUTDOWN_EVENT_` (signalBeforeTerminateSeconds) before killing.
#[test]
fn emulator_starts_the_gateway_over_a_named_pipe_under_wine() {
    let Some((dir, _session)) = windows_build() else { return };
    let windows_dir = format!("Z:{}", dir.path().display()).replace('/', "\\");
    let arguments = format!("serve --test-app --log-file {windows_dir}\\gateway.log");
    std::fs::write(
        dir.path().join("web.config"),
        format!(
            r#"<configuration><system.webServer>
<handlers><add name="TestApp" path="*" verb="*" modules="FastCgiModule" scriptProcessor="{windows_dir}\iiswsgi.exe|{arguments}" /></handlers>
<fastCgi><application fullPath="{windows_dir}\iiswsgi.exe" arguments="{arguments}" instanceMaxRequests="2" signalBeforeTerminateSeconds="10" /></fastCgi>
</system.webServer></configuration>"#
        ),
    )
    .unwrap();
    let port = crate::support::free_port();
    let listen = format!("127.0.0.1:{port}");
    let log = std::fs::File::create(dir.path().join("emulator.log")).unwrap();
    // Not under `timeout`: the guard must kill wine's process itself.
    let mut command = Command::new("wine");
    command.args(["iiswsgi.exe", "emulate", "--site", &windows_dir, "--listen", &listen]).current_dir(dir.path());
    wine_env(&mut command);
    let emulator = command.stdout(std::process::Stdio::null()).stderr(log).spawn().unwrap();
    let _guard = crate::support::Guard(emulator);
    crate::support::wait_until("the emulator under wine", || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    for n in 0..3 {
        let response = crate::support::http::request(port, "GET", &format!("/page?n={n}"), b"");
        let body = String::from_utf8_lossy(&response.body).into_owned();
        assert_eq!(response.status, 200, "{body}");
        assert!(body.contains("iiswsgi test app") && body.contains(&format!("n={n}")), "{body}");
    }
    crate::support::wait_until("the recycled gateway to log its shutdown", || {
        std::fs::read_to_string(dir.path().join("gateway.log"))
            .unwrap_or_default()
            .contains("IIS signalled _FCGI_SHUTDOWN_EVENT_")
    });
    let gateway = std::fs::read_to_string(dir.path().join("gateway.log")).unwrap();
    assert!(gateway.contains("IIS mode: named pipe \\\\.\\pipe\\IISFCGI-"), "{gateway}");
    let emulator_log = std::fs::read_to_string(dir.path().join("emulator.log")).unwrap();
    assert_eq!(emulator_log.matches("started FastCGI process").count(), 2, "{emulator_log}");
}
