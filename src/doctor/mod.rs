//! `iiswsgi doctor`: everything IIS and the gateway need for a site,
//! checked in the order IIS meets it, each problem with its fix, before
//! IIS shows its opaque 500.
//!
//! - [`sections`]: the web.config files and the sections IIS refuses there.
//! - [`handler`]: the handler mapping for a URL, its module, and the
//!   `<fastCgi>` application its scriptProcessor names.
//! - [`program`]: the FastCGI program (a Python with iiswsgi, or iiswsgi).
//! - [`files`]: WSGI_LOG and a stamp left by an unfinished install.
//! - `access` (Linux, `--as-user`) and `windows_access` (the application
//!   pool's identity, from [`identity`]): what the app's user can reach.
//! - [`probe`]: one request through the emulator: the app loads (or the
//!   text IIS's 500 would show), and `--request`'s answer.
//!
//! The configuration model is the emulator's ([`iiswsgi_emulator::site`]):
//! what the doctor calls broken is what the emulator would serve broken.

#[cfg(target_os = "linux")]
mod access;
mod files;
mod handler;
mod identity;
mod probe;
mod program;
mod sections;
#[cfg(windows)]
mod windows_access;

use iiswsgi_emulator::site::Site;
use iiswsgi_emulator::{Gateway, Source};
use std::fmt;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Warning,
    Error,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warning => "warning",
            Status::Error => "error",
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Which check: `config`, `handler`, `fastcgi`, `program`, `load`, ...
    pub check: &'static str,
    pub status: Status,
    /// What was found.
    pub found: String,
    /// What to do about it, when something is wrong.
    pub fix: Option<String>,
}

impl Finding {
    pub fn ok(check: &'static str, found: impl Into<String>) -> Self {
        Self { check, status: Status::Ok, found: found.into(), fix: None }
    }

    pub fn warning(check: &'static str, found: impl Into<String>, fix: impl Into<String>) -> Self {
        Self { check, status: Status::Warning, found: found.into(), fix: Some(fix.into()) }
    }

    pub fn error(check: &'static str, found: impl Into<String>, fix: impl Into<String>) -> Self {
        Self { check, status: Status::Error, found: found.into(), fix: Some(fix.into()) }
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "check": self.check,
            "status": self.status.name(),
            "found": self.found,
            "fix": self.fix,
        })
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut lines = self.found.lines();
        write!(f, "{:<8}{:<9}{}", self.status.name(), self.check, lines.next().unwrap_or(""))?;
        for line in lines {
            write!(f, "\n{:17}{line}", "")?;
        }
        if let Some(fix) = &self.fix {
            for (index, line) in fix.lines().enumerate() {
                let label = if index == 0 { "fix: " } else { "     " };
                write!(f, "\n{:17}{label}{line}", "")?;
            }
        }
        Ok(())
    }
}

/// What to examine and how.
pub struct Target {
    pub source: Source,
    /// URL paths whose handler is checked (`/` first).
    pub urls: Vec<String>,
    /// Show the answer to one request (`--request`).
    pub show_request: bool,
    /// The iiswsgi running the doctor, for a synthesized `--site` handler.
    pub gateway: Gateway,
    /// The user the app runs as, whose access is checked (`--as-user`).
    pub as_user: Option<String>,
}

/// Runs every check, in order; a configuration that does not load stops
/// the rest (IIS would answer every request with 500.19).
pub fn examine(target: &Target) -> Vec<Finding> {
    let site = match Site::load(&target.source, &target.gateway) {
        Ok(site) => site,
        Err(err) => {
            return vec![Finding::error(
                "config",
                format!("IIS cannot read the configuration: {err}"),
                "correct the file at that line; IIS answers every request with HTTP 500.19 until then",
            )]
        }
    };
    let mut findings = vec![Finding::ok("config", format!("{} web.config file(s) parse", site.config_folders().len()))];
    let app_host = match &target.source {
        Source::AppHost { path, .. } => Some(path.as_path()),
        Source::Site(_) => None,
    };
    findings.append(&mut sections::check(&site, app_host));
    let mut programs = Vec::new();
    for url in &target.urls {
        let (mut found, program) = handler::check(&site, &target.source, url);
        findings.append(&mut found);
        if let Some(program) = program.filter(|p| !programs.contains(p)) {
            findings.append(&mut program::check(&program));
            programs.push(program);
        }
    }
    findings.append(&mut files::check(&site));
    findings.append(&mut access_of(target, &site, &programs));
    if findings.iter().all(|f| f.status != Status::Error || f.check == "files") {
        findings.append(&mut probe::check(site, target));
    } else {
        findings.push(Finding::warning(
            "load",
            "not tried: IIS would not reach the app",
            "fix the errors above, then run the doctor again",
        ));
    }
    findings
}

/// What the app needs of one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    pub path: std::path::PathBuf,
    /// Write (a folder the log goes into), else read and execute.
    pub write: bool,
    /// What the place is, for the report.
    pub what: String,
}

/// The places the app's identity must reach: the programs with their
/// venvs and Python homes, the applications' folders, WSGI_LOG's folders.
fn needs(site: &Site, programs: &[handler::Program]) -> Vec<Need> {
    let place = |path, write, what: &str| Need { path, write, what: what.to_string() };
    let mut needs: Vec<Need> =
        programs.iter().flat_map(program::places).map(|(path, what)| place(path, false, what)).collect();
    for (url, root) in site.applications() {
        needs.push(place(root, false, &format!("the folder of {url}")));
    }
    needs.extend(files::log_folders(site).into_iter().map(|dir| place(dir, true, "the folder WSGI_LOG writes to")));
    needs.dedup();
    needs
}

/// What `user` can reach of what the app needs (Linux: as that user).
#[cfg(target_os = "linux")]
fn access_of(target: &Target, site: &Site, programs: &[handler::Program]) -> Vec<Finding> {
    match &target.as_user {
        Some(user) => access::check(user, &needs(site, programs)),
        None => Vec::new(),
    }
}

/// What the application pool's identity (or `--as-user`) may do, from
/// the files' ACLs.
#[cfg(windows)]
fn access_of(target: &Target, site: &Site, programs: &[handler::Program]) -> Vec<Finding> {
    let account = target.as_user.clone().or_else(|| {
        let Source::AppHost { path, .. } = &target.source else { return None };
        let text = std::fs::read_to_string(path).ok()?;
        let url = target.urls.first().map(String::as_str).unwrap_or("/");
        identity::of_application(&text, &site.name, url).map(|identity| identity.account)
    });
    match account {
        Some(account) => windows_access::check(&account, &needs(site, programs)),
        None => vec![Finding::warning(
            "access",
            "the application pool's identity is not known without applicationHost.config",
            "pass --apphost, or --as-user \"IIS AppPool\\<pool>\"",
        )],
    }
}

#[cfg(not(any(target_os = "linux", windows)))]
fn access_of(target: &Target, _site: &Site, _programs: &[handler::Program]) -> Vec<Finding> {
    match &target.as_user {
        Some(user) => vec![Finding::error(
            "access",
            format!("--as-user {user}: checking another user's access is implemented on Linux and Windows only"),
            "check the permissions by hand",
        )],
        None => Vec::new(),
    }
}

/// True when nothing is an error.
pub fn healthy(findings: &[Finding]) -> bool {
    findings.iter().all(|f| f.status != Status::Error)
}
