//! Old projects name their Python by where WebPI installed it on Windows:
//! `%SystemDrive%\Python27\python.exe`, `C:\Python27\Scripts\
//! iiswsgi_install.exe`, `%SystemDrive%\Python27\Scripts\paster-script.py`.
//! Where such a path does not exist (on any machine but that Windows one)
//! the emulator maps it onto the Python it runs with, so an old project
//! runs unchanged; nothing outside the emulator does this.
//!
//! - `ROOT\PythonXY\python.exe` (or `pythonw.exe`) → the venv's python;
//! - `ROOT\PythonXY\Scripts\NAME.exe`, `NAME-script.py` or `NAME` → the
//!   venv's console script NAME (`bin/NAME`; `Scripts\NAME.exe` on Windows);
//! - `ROOT\PythonXY\REST` → `REST` inside the venv;
//!
//! where ROOT is `%SystemDrive%` (expanded or not) or a drive letter, and
//! XY any digits. On Unix a word that still holds backslashes and names an
//! existing path once they become slashes (`/srv/app\iis_fcgi.ini`, from
//! `"%APPL_PHYSICAL_PATH%\iis_fcgi.ini"`) is given the slashes, and a
//! venv's Windows layout (`.venv\Scripts\python.exe`) its Unix one
//! (`.venv/bin/python`) when the venv is there.

use std::path::{Path, PathBuf};

/// The venv old Windows Python paths are mapped onto.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonHome(pub PathBuf);

/// `ROOT\PythonXY\` at the start of `text`: the rest after it.
fn after_python_root(text: &str) -> Option<&str> {
    let (root, rest) = text.split_once(['\\', '/'])?;
    let drive = root.len() == 2 && root.ends_with(':') && root.as_bytes()[0].is_ascii_alphabetic();
    let system_drive = std::env::var("SystemDrive").ok();
    if !(drive || root.eq_ignore_ascii_case("%SystemDrive%") || system_drive.as_deref() == Some(root)) {
        return None;
    }
    let (folder, rest) = rest.split_once(['\\', '/'])?;
    let digits = folder.get(..6).filter(|p| p.eq_ignore_ascii_case("python")).map(|_| &folder[6..])?;
    digits.chars().all(|c| c.is_ascii_digit()).then_some(rest)
}

impl PythonHome {
    fn script(&self, name: &str) -> PathBuf {
        if cfg!(windows) {
            self.0.join("Scripts").join(format!("{name}.exe"))
        } else {
            self.0.join("bin").join(name)
        }
    }

    /// Where the old Windows path `text` points in this venv, if it is one
    /// and does not exist as written.
    pub fn map(&self, text: &str) -> Option<PathBuf> {
        if Path::new(text).exists() {
            return None;
        }
        let rest = after_python_root(text)?;
        let parts: Vec<&str> = rest.split(['\\', '/']).filter(|p| !p.is_empty()).collect();
        let lower = |s: &str| s.to_ascii_lowercase();
        Some(match parts.as_slice() {
            [exe] if matches!(lower(exe).as_str(), "python.exe" | "pythonw.exe" | "python") => self.script("python"),
            [scripts, file] if lower(scripts) == "scripts" => {
                let file_lower = lower(file);
                let name = file_lower
                    .strip_suffix(".exe")
                    .or_else(|| file_lower.strip_suffix("-script.py"))
                    .map(|stem| &file[..stem.len()])
                    .unwrap_or(file);
                self.script(name)
            }
            _ => parts.iter().fold(self.0.clone(), |path, part| path.join(part)),
        })
    }
}

/// One word of a command line, mapped: an old Windows Python path onto
/// `home`, and on Unix a backslashed path that exists with slashes.
pub fn map_word(home: Option<&PythonHome>, word: &str) -> String {
    if let Some(mapped) = home.and_then(|home| home.map(word)) {
        return mapped.to_string_lossy().into_owned();
    }
    if cfg!(unix) && word.contains('\\') {
        let slashed = word.replace('\\', "/");
        if Path::new(&slashed).exists() {
            return slashed;
        }
    }
    word.to_string()
}

/// On Unix, `VENV/Scripts/NAME.exe` of a venv that exists as
/// `VENV/bin/NAME`: a web.config written for Windows, run here.
fn unix_venv_layout(path: &Path) -> Option<PathBuf> {
    if !cfg!(unix) || path.exists() {
        return None;
    }
    let scripts = path.parent()?;
    let venv = scripts.parent()?;
    if !scripts.file_name()?.eq_ignore_ascii_case("scripts") || !venv.join("pyvenv.cfg").is_file() {
        return None;
    }
    let name = path.file_name()?.to_string_lossy();
    let stem = name.strip_suffix(".exe").or_else(|| name.strip_suffix(".EXE")).unwrap_or(&name);
    Some(venv.join("bin").join(stem)).filter(|mapped| mapped.exists())
}

/// A path from the configuration (fullPath, processPath,
/// monitorChangesTo), mapped.
pub fn map_path(home: Option<&PythonHome>, path: PathBuf) -> PathBuf {
    match home.and_then(|home| home.map(&path.to_string_lossy())).or_else(|| unix_venv_layout(&path)) {
        Some(mapped) => mapped,
        None => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home() -> PythonHome {
        PythonHome(PathBuf::from("/srv/venv"))
    }

    #[test]
    fn windows_python_installs_map_onto_the_venv() {
        let bin = if cfg!(windows) { "Scripts" } else { "bin" };
        let exe = if cfg!(windows) { ".exe" } else { "" };
        let script = |name: &str| PathBuf::from("/srv/venv").join(bin).join(format!("{name}{exe}"));
        let home = home();
        assert_eq!(home.map(r"%SystemDrive%\Python27\python.exe"), Some(script("python")));
        assert_eq!(home.map(r"C:\Python311\pythonw.exe"), Some(script("python")));
        assert_eq!(home.map(r"%SystemDrive%\Python27\Scripts\iiswsgi_install.exe"), Some(script("iiswsgi_install")));
        assert_eq!(home.map(r"c:\python27\scripts\paster-script.py"), Some(script("paster")));
        assert_eq!(home.map(r"C:\Python27\Scripts\iiswsgi-script.py"), Some(script("iiswsgi")));
        assert_eq!(home.map(r"C:\Python27\Lib\site.py"), Some(PathBuf::from("/srv/venv/Lib/site.py")));
    }

    #[test]
    fn other_paths_are_left_alone() {
        let home = home();
        for text in
            [r"C:\Program Files\iiswsgi\iiswsgi.exe", r"D:\PythonX\python.exe", "/usr/bin/python3", "serve", "-u"]
        {
            assert_eq!(home.map(text), None, "{text}");
        }
        assert_eq!(map_word(None, "-vv"), "-vv");
        assert_eq!(
            map_word(Some(&home), r"%SystemDrive%\Python27\python.exe"),
            home.script("python").display().to_string()
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_venvs_windows_layout_runs_its_unix_one() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".venv/bin")).unwrap();
        std::fs::write(dir.path().join(".venv/pyvenv.cfg"), "").unwrap();
        std::fs::write(dir.path().join(".venv/bin/python"), "").unwrap();
        let written = dir.path().join(".venv/Scripts/python.exe");
        assert_eq!(map_path(None, written), dir.path().join(".venv/bin/python"));
        let not_a_venv = dir.path().join("other/Scripts/python.exe");
        assert_eq!(map_path(None, not_a_venv.clone()), not_a_venv);
    }

    #[cfg(unix)]
    #[test]
    fn a_backslashed_path_that_exists_with_slashes_gets_them() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("iis_fcgi.ini"), "").unwrap();
        let word = format!(r"{}\iis_fcgi.ini", dir.path().display());
        assert_eq!(map_word(None, &word), format!("{}/iis_fcgi.ini", dir.path().display()));
        assert_eq!(map_word(None, r"/nonexistent\x"), r"/nonexistent\x");
    }
}
