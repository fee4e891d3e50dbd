//! The package zip: `Manifest.xml` and `Parameters.xml` at the root, the
//! project's files under the application's folder. Deterministic: entries
//! sorted, one fixed time (`SOURCE_DATE_EPOCH`, else 1980-01-01), fixed
//! permissions, so the same inputs give the same bytes.

use super::manifest_in::{defaults, ManifestIn};
use super::Error;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

/// Folders never packaged: version control, build output, caches and
/// virtual environments (hidden folders are skipped as a rule).
const SKIPPED_DIRS: [&str; 5] = ["build", "dist", "__pycache__", "CVS", "_darcs"];

/// Every regular file under `root`, relative and `/`-separated, sorted.
/// A symlink is followed only when it stays inside `root`; one that leads
/// out is an error, never a silent skip.
pub fn project_files(root: &Path) -> Result<Vec<String>, Error> {
    let real_root = std::fs::canonicalize(root).map_err(|source| Error::Read { path: root.to_path_buf(), source })?;
    let mut found = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        let dir = root.join(&relative);
        let entries = std::fs::read_dir(&dir).map_err(|source| Error::Read { path: dir.clone(), source })?;
        for entry in entries {
            let entry = entry.map_err(|source| Error::Read { path: dir.clone(), source })?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            let kind = entry.file_type().map_err(|source| Error::Read { path: path.clone(), source })?;
            let target = if kind.is_symlink() {
                let real = std::fs::canonicalize(&path).map_err(|source| Error::Read { path: path.clone(), source })?;
                if !real.starts_with(&real_root) {
                    return Err(Error::Escapes { path, root: root.to_path_buf() });
                }
                std::fs::metadata(&real).map_err(|source| Error::Read { path: path.clone(), source })?.file_type()
            } else {
                kind
            };
            if target.is_dir() {
                if !name.starts_with('.')
                    && !SKIPPED_DIRS.contains(&name.as_str())
                    && !name.ends_with(".egg-info")
                    && !kind.is_symlink()
                {
                    pending.push(relative.join(&name));
                }
            } else if target.is_file() {
                found.push(relative_name(&relative.join(&name))?);
            }
        }
    }
    found.sort();
    Ok(found)
}

fn relative_name(path: &Path) -> Result<String, Error> {
    let mut parts = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            _ => return Err(Error::Escapes { path: path.to_path_buf(), root: PathBuf::from(".") }),
        }
    }
    Ok(parts.join("/"))
}

/// The files MANIFEST.in (or sdist's defaults alone) selects.
pub fn select_files(root: &Path) -> Result<Vec<String>, Error> {
    let all = project_files(root)?;
    let template_path = root.join("MANIFEST.in");
    let template = if template_path.is_file() {
        ManifestIn::parse(&super::files::read_to_string(&template_path)?, &template_path)?
    } else {
        ManifestIn::default()
    };
    Ok(template.select(&all, &defaults(&all)))
}

/// A zip entry name must stay inside the folder it is unpacked into.
pub fn check_entry_name(name: &str) -> Result<(), String> {
    if iiswsgi_proto::msdeploy::is_safe_entry_name(name) {
        Ok(())
    } else {
        Err(format!("`{name}` is not a safe entry name"))
    }
}

/// The entry time: `SOURCE_DATE_EPOCH` if set (clamped to zip's range),
/// else 1980-01-01 00:00:00, zip's earliest.
pub fn entry_time() -> zip::DateTime {
    let from_env =
        std::env::var("SOURCE_DATE_EPOCH").ok().and_then(|s| s.trim().parse::<u64>().ok()).and_then(|secs| {
            let (year, month, day, hour, minute, second) = iiswsgi_proto::civil_time::utc(secs);
            let year = u16::try_from(year.clamp(1980, 2107)).ok()?;
            zip::DateTime::from_date_and_time(year, month as u8, day as u8, hour as u8, minute as u8, second as u8).ok()
        });
    from_env.unwrap_or_default()
}

/// Writes the package at `dest` (atomically): `root_files` at the root
/// (entry name, source), `app_files` under `folder/`.
pub fn write_zip(
    dest: &Path,
    root_files: &[(String, PathBuf)],
    folder: &str,
    app_root: &Path,
    app_files: &[String],
) -> Result<(), Error> {
    let invalid = |message: String| Error::Invalid { path: dest.to_path_buf(), line: 0, message };
    check_entry_name(folder).map_err(invalid)?;
    let mut entries: Vec<(String, Option<PathBuf>)> =
        root_files.iter().map(|(n, p)| (n.clone(), Some(p.clone()))).collect();
    let mut dirs = std::collections::BTreeSet::new();
    dirs.insert(format!("{folder}/"));
    for file in app_files {
        let name = format!("{folder}/{file}");
        check_entry_name(&name).map_err(invalid)?;
        let mut parent = name.as_str();
        while let Some((dir, _)) = parent.rsplit_once('/') {
            dirs.insert(format!("{dir}/"));
            parent = dir;
        }
        entries.push((name, Some(app_root.join(file))));
    }
    entries.extend(dirs.into_iter().map(|d| (d, None)));
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries.dedup_by(|a, b| a.0 == b.0);
    let dir = dest.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|source| Error::Write { path: dir.to_path_buf(), source })?;
    let temp =
        tempfile::NamedTempFile::new_in(dir).map_err(|source| Error::Write { path: dest.to_path_buf(), source })?;
    let zip_error = |source| Error::Zip { path: dest.to_path_buf(), source };
    let mut writer = zip::ZipWriter::new(temp);
    let time = entry_time();
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(time);
    for (name, source) in &entries {
        match source {
            None => writer.add_directory(name.as_str(), options.unix_permissions(0o755)).map_err(zip_error)?,
            Some(path) => {
                let data = std::fs::read(path).map_err(|source| Error::Read { path: path.clone(), source })?;
                writer.start_file(name.as_str(), options.unix_permissions(0o644)).map_err(zip_error)?;
                writer.write_all(&data).map_err(|source| Error::Write { path: dest.to_path_buf(), source })?;
            }
        }
    }
    let temp = writer.finish().map_err(zip_error)?;
    temp.persist(dest).map_err(|err| Error::Write { path: dest.to_path_buf(), source: err.error })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_entry_names_are_refused() {
        for name in ["../x", "/etc/passwd", "a/../../b", "a\\b", "C:/x", "a//b", ""] {
            assert!(check_entry_name(name).is_err(), "{name}");
        }
        assert!(check_entry_name("Sample/app/__init__.py").is_ok());
    }

    #[test]
    fn same_inputs_give_identical_bytes() {
        let src = tempfile::tempdir().unwrap();
        std::fs::write(src.path().join("a.py"), "print(1)\n").unwrap();
        std::fs::create_dir(src.path().join("pkg")).unwrap();
        std::fs::write(src.path().join("pkg/b.txt"), "b").unwrap();
        std::fs::write(src.path().join("Manifest.xml"), "<m/>").unwrap();
        let out = tempfile::tempdir().unwrap();
        let files = vec!["pkg/b.txt".to_string(), "a.py".to_string()];
        let root = vec![("Manifest.xml".to_string(), src.path().join("Manifest.xml"))];
        write_zip(&out.path().join("one.zip"), &root, "Sample", src.path(), &files).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        std::fs::write(src.path().join("a.py"), "print(1)\n").unwrap();
        write_zip(&out.path().join("two.zip"), &root, "Sample", src.path(), &files).unwrap();
        let one = std::fs::read(out.path().join("one.zip")).unwrap();
        assert_eq!(one, std::fs::read(out.path().join("two.zip")).unwrap());
        let archive = zip::ZipArchive::new(std::io::Cursor::new(one)).unwrap();
        let names: Vec<String> = archive.file_names().map(|n| n.unwrap().into_owned()).collect();
        assert_eq!(names, ["Manifest.xml", "Sample/", "Sample/a.py", "Sample/pkg/", "Sample/pkg/b.txt"]);
    }

    #[test]
    fn a_symlink_out_of_the_project_is_an_error() {
        let src = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "x").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), src.path().join("leak")).unwrap();
        assert!(matches!(project_files(src.path()), Err(Error::Escapes { .. })));
    }
}
