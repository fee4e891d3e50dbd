//! The mock appcmd against an applicationHost.config, and the emulator
//! serving what it registered.

use super::{sites_dir, text, Emulator};
use std::path::Path;
use std::process::Command;

/// `iiswsgi-appcmd /apphostconfig:CONFIG ARGS`: exit code and stdout.
pub fn appcmd(config: &Path, args: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_iiswsgi-appcmd"))
        .arg(format!("/apphostconfig:{}", config.display()))
        .args(args)
        .output()
        .expect("run iiswsgi-appcmd");
    (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stdout).into_owned())
}

/// An applicationHost.config with no sites.
pub const EMPTY_HOST: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- written by a test -->\n<configuration>\n    <system.applicationHost>\n        <sites>\n        </sites>\n    </system.applicationHost>\n    <system.webServer>\n    </system.webServer>\n</configuration>\n";

#[test]
fn registering_a_site_and_fastcgi_app_then_serving_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("applicationHost.config");
    std::fs::write(&config, EMPTY_HOST).unwrap();
    // A site whose web.config only has app settings: the handler comes
    // from applicationHost.config, as a server administrator would set it.
    let site = dir.path().join("site");
    std::fs::create_dir(&site).unwrap();
    std::fs::write(
        site.join("web.config"),
        "<configuration><appSettings><add key=\"WSGI_HANDLER\" value=\"apps.echo\" /><add key=\"PYTHONPATH\" value=\"%IISWSGI_TEST_APPS%\" /></appSettings></configuration>",
    )
    .unwrap();
    let (code, out) = appcmd(
        &config,
        &["add", "site", "/name:Py", "/bindings:http/*:8090:", &format!("/physicalPath:{}", site.display())],
    );
    assert_eq!(
        (code, out.as_str()),
        (0, "SITE object \"Py\" added\nAPP object \"Py/\" added\nVDIR object \"Py/\" added\n")
    );
    let exe = crate::support::bin();
    let (code, out) = appcmd(
        &config,
        &[
            "set",
            "config",
            "-section:system.webServer/fastCGI",
            &format!("/+[fullPath='{exe}', arguments='serve', maxInstances='1']"),
            "/commit:apphost",
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("Applied configuration changes to section \"system.webServer/fastCgi\""), "{out}");
    let (code, out) = appcmd(
        &config,
        &[
            "set",
            "config",
            "/section:fastCgi",
            &format!(
                "/+[fullPath='{exe}',arguments='serve'].environmentVariables.[name='REGISTERED_BY',value='appcmd']"
            ),
        ],
    );
    assert_eq!(code, 0, "{out}");
    // The duplicate is refused with appcmd's message and code.
    let (code, out) =
        appcmd(&config, &["set", "config", "/section:fastCgi", &format!("/+[fullPath='{exe}',arguments='serve']")]);
    assert_eq!(code, 183);
    assert!(out.starts_with("ERROR ( message:New application object missing required attributes. Cannot add duplicate collection entry of type 'application' with combined key attributes 'fullPath, arguments' respectively set to '"), "{out}");
    // Map every URL of the site to the registered application.
    let host = std::fs::read_to_string(&config).unwrap().replace(
        "</configuration>",
        &format!("    <location path=\"Py\">\n        <system.webServer>\n            <handlers>\n                <add name=\"Registered\" path=\"*\" verb=\"*\" modules=\"FastCgiModule\" scriptProcessor=\"{exe}|serve\" />\n            </handlers>\n        </system.webServer>\n    </location>\n</configuration>"),
    );
    std::fs::write(&config, host).unwrap();
    let emulator = Emulator::apphost(&config, "Py");
    let response = emulator.get("/where?q=1");
    assert_eq!(response.status, 200, "{}", text(&response));
    let environ: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(environ["QUERY_STRING"], "q=1");
}

#[test]
fn list_commands_print_appcmd_shapes() {
    let config = sites_dir().join("iis_express/applicationhost.config");
    let (code, out) = appcmd(&config, &["list", "site"]);
    assert_eq!(code, 0);
    assert_eq!(out, "SITE \"WebSite1\" (id:1,bindings:http/:8080:localhost,state:Started)\nSITE \"PythonSite\" (id:2,bindings:http/*:8181:localhost,state:Started)\n");
    let (_, out) = appcmd(&config, &["list", "vdir", "/xml"]);
    assert!(out.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<appcmd>\n"), "{out}");
    assert!(out.contains(r#"<VDIR VDIR.NAME="PythonSite/assets" APP.NAME="PythonSite/" path="/assets" physicalPath="%IISWSGI_TEST_SITES%\static_nested\static" />"#), "{out}");
    let (_, out) = appcmd(&config, &["list", "app", "/site.name:PythonSite"]);
    assert_eq!(out, "APP \"PythonSite/\" (applicationPool:Clr4IntegratedAppPool,path:/)\n");
    let (_, out) = appcmd(&config, &["list", "config", "/section:system.webServer/fastCgi", "/xml"]);
    assert!(out.contains("<CONFIG CONFIG.SECTION=\"system.webServer/fastCgi\" path=\"MACHINE/WEBROOT/APPHOST\" overrideMode=\"Inherit\" locked=\"false\">"), "{out}");
    assert!(out.contains("<system.webServer-fastCgi>") && out.contains("fullPath=\"%IISWSGI_EXE%\""), "{out}");
    let (code, out) = appcmd(&config, &["list", "site", "ghost"]);
    assert_eq!(
        (code, out.as_str()),
        (1168 & 0xff, "ERROR ( message:Cannot find SITE object with identifier \"ghost\". )\n")
    );
}

#[test]
fn failed_commands_leave_the_file_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("applicationHost.config");
    std::fs::write(&config, EMPTY_HOST).unwrap();
    let (code, out) = appcmd(&config, &["set", "config", "/section:fastCgi", "/-[fullPath='C:\\nope.exe']"]);
    assert_eq!((code, out.as_str()), (1168 & 0xff, "ERROR ( message:Cannot find requested collection element. )\n"));
    let (code, _) = appcmd(&config, &["add", "app", "/site.name:Missing", "/path:/x"]);
    assert_eq!(code, 1168 & 0xff);
    assert_eq!(std::fs::read_to_string(&config).unwrap(), EMPTY_HOST);
    let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(entries.len(), 1, "no temporary files are left behind");
    // Malformed XML is reported with file and line, and not rewritten.
    std::fs::write(&config, "<configuration>\n  <sites>\n</configuration>\n").unwrap();
    let (code, out) = appcmd(&config, &["add", "site", "/name:x"]);
    assert_eq!(code, 13);
    assert!(out.contains("Line number: 3"), "{out}");
    assert_eq!(std::fs::read_to_string(&config).unwrap(), "<configuration>\n  <sites>\n</configuration>\n");
}

#[test]
fn removing_an_application_keeps_the_rest_of_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("applicationHost.config");
    let original = std::fs::read_to_string(sites_dir().join("iis_express/applicationhost.config")).unwrap();
    std::fs::write(&config, &original).unwrap();
    let add = "/+[fullPath='/usr/bin/python3',arguments='/srv/wfastcgi.py',signalBeforeTerminateSeconds='30']";
    assert_eq!(appcmd(&config, &["set", "config", "/section:system.webServer/fastCGI", add, "/commit:apphost"]).0, 0);
    assert_ne!(std::fs::read_to_string(&config).unwrap(), original);
    let remove = "/-[fullPath='/usr/bin/python3',arguments='/srv/wfastcgi.py']";
    assert_eq!(
        appcmd(&config, &["set", "config", "/section:system.webServer/fastCGI", remove, "/commit:apphost"]).0,
        0
    );
    assert_eq!(std::fs::read_to_string(&config).unwrap(), original, "add then remove restores the file byte for byte");
}
