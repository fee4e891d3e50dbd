//! The Web Deploy commands end to end: real projects copied from
//! testdata/projects, the mock appcmd on a throwaway applicationHost.config,
//! and the emulator serving what was installed.

mod bad_input;
mod build;
mod install;

use crate::support::{bin, copy_dir, repo};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A fixture project copied where the test may write.
pub fn copy_project(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("testdata/projects").join(name), dir.path());
    dir
}

/// `iiswsgi ARGS` in `dir`, with the fixtures' environment.
pub fn iiswsgi(dir: &Path, args: &[&str]) -> Output {
    iiswsgi_with(dir, args, &[])
}

/// [`iiswsgi`] with more environment.
pub fn iiswsgi_with(dir: &Path, args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Output {
    let mut command = Command::new(bin());
    command.args(args).current_dir(dir).env("IISWSGI_EXE", bin()).env("SOURCE_DATE_EPOCH", "1700000000");
    command.envs(env.iter().copied());
    if let Some(venv) = crate::support::test_venv() {
        command.env("VIRTUAL_ENV", &venv).env("IISWSGI_PYTHON", venv.join("bin/python"));
    }
    command.output().expect("run iiswsgi")
}

/// What a venv's pip needs to install this iiswsgi (the samples ask for
/// it): this version's wheel; `None` skips the test where there is none.
pub fn pip_finds_this_iiswsgi() -> Option<(&'static str, PathBuf)> {
    crate::support::wheels().map(|dir| ("PIP_FIND_LINKS", dir))
}

pub fn ok(output: &Output) -> String {
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "failed:\n{text}");
    text
}

pub fn failed(output: &Output) -> String {
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(!output.status.success(), "succeeded:\n{text}");
    text
}

/// The one zip in `dir/dist`.
pub fn built_zip(dir: &Path) -> PathBuf {
    let mut zips: Vec<PathBuf> = std::fs::read_dir(dir.join("dist"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".msdeploy.zip"))
        .collect();
    assert_eq!(zips.len(), 1, "{zips:?}");
    zips.remove(0)
}

pub fn zip_names(zip: &Path) -> Vec<String> {
    let archive = zip::ZipArchive::new(std::fs::File::open(zip).unwrap()).unwrap();
    archive.file_names().map(|n| n.unwrap().into_owned()).collect()
}

/// Unpacks the entries under `folder/` into `dest`, as Web Deploy's iisApp
/// provider copies the application's content.
pub fn unpack_app(zip: &Path, folder: &str, dest: &Path) {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(zip).unwrap()).unwrap();
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).unwrap();
        let name = entry.name().unwrap().into_owned();
        let Some(relative) = name.strip_prefix(&format!("{folder}/")) else { continue };
        let target = dest.join(relative);
        if name.ends_with('/') {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            let mut file = std::fs::File::create(&target).unwrap();
            std::io::copy(&mut entry, &mut file).unwrap();
        }
    }
}
