//! Files the gateway writes or leaves: the log WSGI_LOG names must be
//! writable, and an `iis_install.stamp` left in a site means that its
//! install did not finish (the install removes it as its last step).

use super::Finding;
use iiswsgi_emulator::site::Site;
use std::path::{Path, PathBuf};

/// The file the gateway logs to: WSGI_LOG as written (an appSetting
/// becomes an environment variable unexpanded), relative to the
/// application's folder, where the gateway runs.
fn log_path(root: &Path, value: &str) -> PathBuf {
    root.join(value)
}

/// Whether `path` can be appended to, creating nothing that was not there.
fn writable(path: &Path) -> std::io::Result<()> {
    if path.exists() {
        return std::fs::OpenOptions::new().append(true).open(path).map(drop);
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("its folder {} does not exist", dir.display()),
        ));
    }
    tempfile::NamedTempFile::new_in(dir).map(drop)
}

/// The folders WSGI_LOG points into that exist, per application.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub fn log_folders(site: &Site) -> Vec<PathBuf> {
    site.applications()
        .into_iter()
        .filter_map(|(_, root)| {
            let config = site.web_configs.get(&root).ok().flatten()?;
            let (_, log) = config.app_settings.iter().find(|(key, _)| key == "WSGI_LOG")?;
            let dir = log_path(&root, log).parent()?.to_path_buf();
            dir.is_dir().then_some(dir)
        })
        .collect()
}

pub fn check(site: &Site) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (url, root) in site.applications() {
        let settings = site.web_configs.get(&root).ok().flatten().map(|c| c.app_settings.clone()).unwrap_or_default();
        if let Some((_, log)) = settings.iter().find(|(key, _)| key == "WSGI_LOG") {
            let path = log_path(&root, log);
            if log.contains('%') {
                findings.push(Finding::warning(
                    "files",
                    format!("{url}: WSGI_LOG {log} is used as written: %VARIABLES% in it are not expanded (nor by wfastcgi)"),
                    "write the full path",
                ));
            }
            match writable(&path) {
                Ok(()) => {
                    findings.push(Finding::ok("files", format!("{url}: WSGI_LOG {} is writable", path.display())))
                }
                Err(err) => {
                    let dir = path.parent().unwrap_or(Path::new("."));
                    findings.push(Finding::error(
                        "files",
                        format!("{url}: WSGI_LOG {} is not writable: {err}", path.display()),
                        format!("create the folder if needed and let the application pool write there: icacls \"{}\" /grant \"IIS AppPool\\<pool>:(OI)(CI)M\" (or change WSGI_LOG)", dir.display()),
                    ));
                }
            }
        }
        let stamp = root.join("iis_install.stamp");
        if stamp.is_file() {
            findings.push(Finding::warning(
                "files",
                format!("{url}: {} is left: the site's install did not finish", stamp.display()),
                "run the install again (iiswsgi install, or the package's iiswsgi_install.exe); it removes the stamp when done",
            ));
        }
    }
    findings
}
