//! Paste Deploy: an ini whose `[server:main]` is `egg:iiswsgi#iis` and
//! whose `[app:main]` is `egg:iiswsgi#test_app`, started by the emulator
//! as IIS would start it, through `pserve`, PasteScript's `paster serve`
//! and `paste.deploy.loadserver`.

use super::python;
use crate::emulate::Emulator;
use crate::support::wheel_venv;
use std::path::Path;

fn ini(dir: &Path, server_options: &str) -> std::path::PathBuf {
    let ini = dir.join("site.ini");
    let text =
        format!("[app:main]\nuse = egg:iiswsgi#test_app\n\n[server:main]\nuse = egg:iiswsgi#iis\n{server_options}\n");
    std::fs::write(&ini, text).unwrap();
    ini
}

/// A site whose one FastCGI application is `full_path arguments`.
fn site(dir: &Path, full_path: &Path, arguments: &str) {
    let full_path = full_path.display();
    let config = format!(
        r#"<configuration><system.webServer>
<handlers><add name="paste" path="*" verb="*" modules="FastCgiModule" scriptProcessor="{full_path}|{arguments}" /></handlers>
<fastCgi><application fullPath="{full_path}" arguments="{arguments}" /></fastCgi>
</system.webServer></configuration>"#
    );
    std::fs::write(dir.join("web.config"), config).unwrap();
}

#[test]
fn pserve_paster_and_loadserver_serve_egg_iiswsgi_iis_through_the_emulator() {
    let Some(venv) = wheel_venv() else { return };
    let loadserver = "import sys\nfrom paste.deploy import loadapp, loadserver\n\
                      uri = 'config:' + sys.argv[1]\nloadserver(uri)(loadapp(uri))\n";
    for runner in ["pserve", "paster", "loadserver"] {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("gateway.log");
        let ini = ini(dir.path(), &format!("threads = 1\nlog_file = {}", log.display()));
        let ini = ini.display();
        match runner {
            "pserve" => site(dir.path(), &venv.join("bin/pserve"), &ini.to_string()),
            "paster" => site(dir.path(), &venv.join("bin/paster"), &format!("serve -q {ini}")),
            _ => {
                std::fs::write(dir.path().join("loadserver.py"), loadserver).unwrap();
                site(dir.path(), &python(&venv), &format!("{}/loadserver.py {ini}", dir.path().display()));
            }
        }
        let emulator = Emulator::site_dir(dir.path(), &[]);
        let response = emulator.get("/probe/path?x=1");
        let page = String::from_utf8_lossy(&response.body);
        assert_eq!(response.status, 200, "{runner}: {page}\n{}", emulator.log("emulator.log"));
        assert!(page.contains("<h1>iiswsgi test app</h1>"), "{runner}: {page}");
        assert!(page.contains("<td>PATH_INFO</td><td>&#x27;/probe/path&#x27;</td>"), "{runner}: {page}");
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(text.contains("transport: IIS mode"), "{runner}: {text}");
    }
}

/// A `[server:main]` option `serve` does not know names itself and the ini.
#[test]
fn an_unknown_server_option_is_an_error_naming_it_and_the_file() {
    let Some(venv) = wheel_venv() else { return };
    let dir = tempfile::tempdir().unwrap();
    let ini = ini(dir.path(), "thraeds = 4");
    let out = std::process::Command::new(venv.join("bin/pserve")).arg(&ini).output().unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    let expected = format!("{}: the iis server has no option 'thraeds'; it takes: ", ini.display());
    assert!(text.contains(&expected) && text.contains("threads"), "{text}");
}
