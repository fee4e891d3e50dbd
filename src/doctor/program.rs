//! The program a handler starts: it exists, and is a Python that can
//! import iiswsgi (from a complete venv) or the iiswsgi binary.

use super::handler::Program;
use super::Finding;
use iiswsgi_emulator::site::expand_path;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The venv a Python executable is in (`Scripts\python.exe` or
/// `bin/python`): the folder above with a pyvenv.cfg.
fn venv_of(python: &Path) -> Option<PathBuf> {
    let venv = python.parent()?.parent()?;
    venv.join("pyvenv.cfg").is_file().then(|| venv.to_path_buf())
}

/// pyvenv.cfg's `home`: the Python the venv was made from.
fn venv_home(venv: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(venv.join("pyvenv.cfg")).ok()?;
    text.lines().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        (key.trim().eq_ignore_ascii_case("home")).then(|| PathBuf::from(value.trim()))
    })
}

/// The places the program needs to read: itself, its venv and the
/// Python the venv was made from.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub fn places(program: &Program) -> Vec<(PathBuf, &'static str)> {
    let path = expand_path(&program.full_path);
    let mut places = vec![(path.clone(), "the program")];
    if let Some(venv) = venv_of(&path) {
        if let Some(home) = venv_home(&venv) {
            places.push((home, "the venv's Python home"));
        }
        places.push((venv, "the venv"));
    }
    places
}

pub fn check(program: &Program) -> Vec<Finding> {
    let path = expand_path(&program.full_path);
    if !path.is_file() {
        return vec![Finding::error(
            "program",
            format!("fullPath {} does not exist: IIS cannot start the FastCGI process (HTTP 500.0)", path.display()),
            "install Python (or iiswsgi) there, or correct fullPath and the handler's scriptProcessor together",
        )];
    }
    let name = path.file_stem().map(|s| s.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    if name.starts_with("iiswsgi") {
        return vec![Finding::ok("program", format!("{} is iiswsgi", path.display()))];
    }
    if !name.starts_with("python") {
        return vec![Finding::warning(
            "program",
            format!("{} is neither a Python nor iiswsgi", path.display()),
            "point fullPath at the site venv's python.exe, with arguments \"-m iiswsgi serve\"",
        )];
    }
    let mut findings = Vec::new();
    if let Some(venv) = venv_of(&path) {
        match venv_home(&venv) {
            Some(home) if !home.is_dir() => {
                findings.push(Finding::error(
                    "venv",
                    format!("the venv {} is broken: pyvenv.cfg's home {} does not exist (its Python was moved or uninstalled)", venv.display(), home.display()),
                    format!("recreate it with an installed Python: python -m venv --clear {}, then pip install iiswsgi and the app's requirements", venv.display()),
                ));
                return findings;
            }
            _ => findings.push(Finding::ok("venv", format!("{} is complete", venv.display()))),
        }
    }
    if !program.arguments.to_ascii_lowercase().contains("iiswsgi") {
        findings.push(Finding::ok(
            "program",
            format!("{} {} (not iiswsgi: its own checks are not made)", path.display(), program.arguments),
        ));
        return findings;
    }
    let probe = Command::new(&path).args(["-c", "import iiswsgi, sys; print(iiswsgi.__file__)"]).output();
    match probe {
        Ok(out) if out.status.success() => findings.push(Finding::ok(
            "program",
            format!("{} imports iiswsgi from {}", path.display(), String::from_utf8_lossy(&out.stdout).trim()),
        )),
        Ok(out) => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let last = stderr.lines().last().unwrap_or("").trim().to_string();
            findings.push(Finding::error(
                "program",
                format!("{} cannot import iiswsgi: {last}", path.display()),
                format!("{} -m pip install iiswsgi", path.display()),
            ));
        }
        Err(err) => findings.push(Finding::error(
            "program",
            format!("{} does not run: {err}", path.display()),
            "reinstall that Python, or point fullPath at one that runs",
        )),
    }
    findings
}
