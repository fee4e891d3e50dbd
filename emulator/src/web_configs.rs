//! web.config files, read on demand and re-read when they change, as IIS
//! notices an edited web.config without a restart.

use crate::Error;
use iiswsgi_proto::iis::WebConfig;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// How many folders the start-up check looks into at most.
const MAX_DIRS_CHECKED: usize = 10_000;

/// A parsed file and the (modified, length) it was parsed at.
type Cached = (SystemTime, u64, Arc<WebConfig>);

/// Which file (if any) a folder's web.config is, and the folder's
/// modification time when that was found.
type Located = (SystemTime, Option<PathBuf>);

#[derive(Default)]
pub struct WebConfigs {
    cache: Mutex<HashMap<PathBuf, Cached>>,
    located: Mutex<HashMap<PathBuf, Located>>,
}

impl WebConfigs {
    /// The web.config in `dir`, if there is one.
    pub fn get(&self, dir: &Path) -> Result<Option<Arc<WebConfig>>, Error> {
        let Some(path) = self.locate(dir) else { return Ok(None) };
        let meta = std::fs::metadata(&path).map_err(|source| Error::Read { path: path.clone(), source })?;
        let stamp = (meta.modified().unwrap_or(SystemTime::UNIX_EPOCH), meta.len());
        let mut cache = self.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((modified, len, config)) = cache.get(&path) {
            if (*modified, *len) == stamp {
                return Ok(Some(config.clone()));
            }
        }
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Read { path: path.clone(), source })?;
        let config = Arc::new(WebConfig::parse(&text).map_err(|source| Error::Config { path: path.clone(), source })?);
        cache.insert(path, (stamp.0, stamp.1, config.clone()));
        Ok(Some(config))
    }

    /// [`find`], rescanning a folder only when its modification time says
    /// an entry was added, removed or renamed: requests call this for every
    /// folder on their path, and a case-insensitive match reads the folder.
    fn locate(&self, dir: &Path) -> Option<PathBuf> {
        let Ok(modified) = std::fs::metadata(dir).and_then(|m| m.modified()) else { return find(dir) };
        let mut located = self.located.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((stamp, path)) = located.get(dir) {
            if *stamp == modified {
                return path.clone();
            }
        }
        let path = find(dir);
        located.insert(dir.to_path_buf(), (modified, path.clone()));
        path
    }
}

/// `dir/web.config`, matched without regard to case as on Windows.
fn find(dir: &Path) -> Option<PathBuf> {
    let exact = dir.join("web.config");
    if exact.is_file() {
        return Some(exact);
    }
    std::fs::read_dir(dir).ok()?.filter_map(Result::ok).map(|entry| entry.path()).find(|path| {
        path.is_file() && path.file_name().is_some_and(|n| n.to_string_lossy().eq_ignore_ascii_case("web.config"))
    })
}

/// Every folder under `root` (itself included) that holds a web.config,
/// skipping hidden folders and `__pycache__`.
pub fn find_all(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    let mut visited = 0;
    while let Some(dir) = pending.pop() {
        visited += 1;
        if visited > MAX_DIRS_CHECKED {
            break;
        }
        if find(&dir).is_some() {
            found.push(dir.clone());
        }
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if is_dir && !name.starts_with('.') && name != "__pycache__" {
                pending.push(entry.path());
            }
        }
    }
    found
}
