//! IIS's Windows transport, run under wine: a Python-free Windows build of
//! the gateway (`--test-app`) is started by `testdata/wine/iis_pipe.c`,
//! which plays IIS: named pipe on stdin connected before start, requests
//! with FCGI_KEEP_CONN, a disconnect and reconnect, then
//! `_FCGI_SHUTDOWN_EVENT_`. See windows-wine-facts.md for why wine needs
//! the `bcryptprimitives.dll` stand-in.

use crate::support::{repo, require};
use std::path::Path;
use std::process::Command;

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

#[test]
fn named_pipe_transport_and_shutdown_event_work_under_wine() {
    if !require("wine") || !require("x86_64-w64-mingw32-gcc") {
        return;
    }
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
    mingw("iis_pipe.c", &dir.path().join("iis_pipe.exe"), &[]);
    let report = run(
        Command::new("timeout")
            .args(["300", "wine", "iis_pipe.exe", "iiswsgi.exe serve --test-app --log-file iiswsgi.log"])
            .current_dir(dir.path())
            // A prefix of our own, kept between runs: creating one takes a while.
            .env("WINEPREFIX", repo().join("target/wine-prefix"))
            .env("WINEDEBUG", "-all")
            // No Mono or Gecko install prompts.
            .env("WINEDLLOVERRIDES", "mscoree,mshtml="),
        "iis_pipe.exe under wine",
    );
    assert!(report.contains("9 passed, 0 failed"), "{report}");
    let log = std::fs::read_to_string(dir.path().join("iiswsgi.log")).unwrap();
    assert!(log.contains("IIS mode: named pipe \\\\.\\pipe\\IISFCGI-"), "{log}");
    assert!(log.contains("IIS signalled _FCGI_SHUTDOWN_EVENT_"), "{log}");
}
