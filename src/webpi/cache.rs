//! clean-webpi: forget what WebPI cached for these packages and this feed,
//! so the next install uses the new ones. Removes only
//! `installers/<iisApp>` folders and feed files inside the cache folder,
//! and the stale `iis_install.stamp` files of the packages' applications.

use super::Error;
use crate::msdeploy::appcmd::Appcmd;
use crate::msdeploy::build::STAMP;
use crate::msdeploy::discover::candidates;
use std::path::{Path, PathBuf};

/// `%LOCALAPPDATA%\Microsoft\Web Platform Installer`.
pub fn default_cache() -> Option<PathBuf> {
    std::env::var_os("LOCALAPPDATA").map(|base| PathBuf::from(base).join("Microsoft").join("Web Platform Installer"))
}

/// Removes the cached copies; returns what was removed.
pub fn clean(cache: &Path, iis_apps: &[String], feed_id: &str, appcmd: Option<&Appcmd>) -> Result<Vec<PathBuf>, Error> {
    let mut removed = Vec::new();
    let real_cache = std::fs::canonicalize(cache).ok();
    let inside = |path: &Path| match (&real_cache, std::fs::canonicalize(path)) {
        (Some(root), Ok(real)) => real.starts_with(root) && real != *root,
        _ => false,
    };
    for app in iis_apps {
        let installers = cache.join("installers").join(app);
        if installers.is_dir() && inside(&installers) {
            std::fs::remove_dir_all(&installers).map_err(|source| Error::Read { path: installers.clone(), source })?;
            removed.push(installers);
        }
    }
    if let Ok(entries) = std::fs::read_dir(cache) {
        for path in entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_file()) {
            if inside(&path) && feed_id_of(&path).as_deref() == Some(feed_id) {
                std::fs::remove_file(&path).map_err(|source| Error::Read { path: path.clone(), source })?;
                removed.push(path);
            }
        }
    }
    if let Some(appcmd) = appcmd {
        let args: Vec<String> =
            ["list", "config", "/section:system.applicationHost/sites", "/xml"].map(String::from).to_vec();
        let output = appcmd.run(&args).map_err(crate::msdeploy::Error::from)?;
        let found =
            candidates(&output).map_err(|message| crate::msdeploy::Error::from(appcmd.unexpected(&args, message)))?;
        for candidate in found {
            let last = candidate.name.trim_end_matches('/').rsplit('/').next().unwrap_or("").to_string();
            let stamp = candidate.dir.join(STAMP);
            if iis_apps.iter().any(|a| a.eq_ignore_ascii_case(&last)) && stamp.is_file() {
                std::fs::remove_file(&stamp).map_err(|source| Error::Read { path: stamp.clone(), source })?;
                removed.push(stamp);
            }
        }
    }
    Ok(removed)
}

/// The `<id>` of a cached feed file, if it is one.
fn feed_id_of(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let document = iiswsgi_proto::iis::Document::parse(&text).ok()?;
    let root = document.root().filter(|r| r.name == "feed")?;
    root.child("id").map(|id| id.text())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_only_this_feed_and_these_installers() {
        let cache = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(cache.path().join("installers/Sample/abc")).unwrap();
        std::fs::create_dir_all(cache.path().join("installers/Other")).unwrap();
        std::fs::write(cache.path().join("ours.xml"), "<feed><id>file:///f.xml</id></feed>").unwrap();
        std::fs::write(cache.path().join("theirs.xml"), "<feed><id>https://example.com/feed.xml</id></feed>").unwrap();
        std::fs::write(cache.path().join("notes.txt"), "not a feed").unwrap();
        let removed = clean(cache.path(), &["Sample".into(), "../..".into()], "file:///f.xml", None).unwrap();
        assert_eq!(removed.len(), 2, "{removed:?}");
        assert!(!cache.path().join("installers/Sample").exists());
        assert!(cache.path().join("installers/Other").exists());
        assert!(!cache.path().join("ours.xml").exists());
        assert!(cache.path().join("theirs.xml").exists() && cache.path().join("notes.txt").exists());
    }
}
