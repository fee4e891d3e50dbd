//! A project in the original iiswsgi's layout (testdata/projects/
//! original_sample: `egg:iiswsgi#iis` and `egg:iiswsgi#test_app` in its
//! ini, a runCommand calling `%SystemDrive%\Python27\Scripts\
//! iiswsgi_install.exe`, a web.config running `paster-script.py serve`),
//! built, published, installed by the emulated WebPI and served by the
//! emulator, all from the wheel's venv: the emulator maps the Windows
//! Python paths onto that venv.

use super::hosted;
use crate::emulate::Emulator;
use crate::msdeploy::copy_project;
use crate::support::wheel_venv;
use crate::webpi::emulated_iis;
use std::path::Path;
use std::process::Command;

fn ok(program: &[String], dir: &Path, args: &[&str]) -> String {
    let out = Command::new(&program[0])
        .args(&program[1..])
        .args(args)
        .current_dir(dir)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env_remove("IISWSGI_PYTHON")
        .env_remove("VIRTUAL_ENV")
        .output()
        .expect("run iiswsgi");
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "iiswsgi {args:?} failed:\n{text}");
    text
}

#[test]
fn a_project_in_the_original_layout_builds_installs_through_webpi_and_answers() {
    let Some(venv) = wheel_venv() else { return };
    let iiswsgi = hosted(&venv);
    let project = copy_project("original_sample");
    let built = ok(&iiswsgi, project.path(), &["bdist-msdeploy"]);
    assert!(built.contains("install check passed in a scratch copy"), "{built}");
    let published = ok(&iiswsgi, project.path(), &["bdist-webpi"]);
    let feed = published.lines().find_map(|l| l.strip_prefix("wrote ")).expect("bdist-webpi names the feed");
    let feed_url = iiswsgi::webpi::file_url(Path::new(feed.trim()));

    let (iis, config) = emulated_iis(&["Default Web Site"]);
    let installed = ok(
        &iiswsgi,
        iis.path(),
        &[
            "emulate",
            "webpi-install",
            "--feed",
            &feed_url,
            "--product",
            "IISWSGIOriginalSample",
            "--apphost",
            config.to_str().unwrap(),
            "--param",
            "ApplicationPath=Default Web Site/original",
        ],
    );
    let mapped = venv.join("bin/iiswsgi_install");
    assert!(
        installed.contains(&format!("running '{}' '-vv' '-a' 'IISWSGIOriginalSample'", mapped.display())),
        "{installed}"
    );
    assert!(installed.contains("installed IISWSGIOriginalSample 0.2 at Default Web Site/original"), "{installed}");

    let emulator = Emulator::start_program(&iiswsgi, &["--apphost".into(), config.into_os_string()], &[]);
    let response = emulator.get("/original/probe?from=webpi");
    let page = String::from_utf8_lossy(&response.body);
    assert_eq!(response.status, 200, "{page}\n{}", emulator.log("emulator.log"));
    assert!(page.contains("<h1>iiswsgi test app</h1>"), "{page}");
    assert!(page.contains("<td>QUERY_STRING</td><td>&#x27;from=webpi&#x27;</td>"), "{page}");
    let log = emulator.log("emulator.log");
    let started = log.lines().find(|l| l.contains("started FastCGI process")).unwrap_or_else(|| panic!("{log}"));
    assert!(started.contains(r"%SystemDrive%\Python27\python.exe|-u"), "the registration is as written: {started}");
}
