//! Writing files so that a failure never leaves one half-written.

use super::Error;
use std::io::Write;
use std::path::Path;

/// Writes `contents` to a temporary file beside `path`, then renames it
/// over `path`.
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), Error> {
    let fail = |source: std::io::Error| Error::Write { path: path.to_path_buf(), source };
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    temp.write_all(contents).map_err(fail)?;
    temp.as_file().sync_all().map_err(fail)?;
    temp.persist(path).map_err(|err| fail(err.error))?;
    Ok(())
}

pub fn read_to_string(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|source| Error::Read { path: path.to_path_buf(), source })
}
