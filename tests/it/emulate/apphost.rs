//! `--apphost`: an applicationHost.config as IIS Express writes it, and
//! configuration errors.

use super::{failing_start, sites_dir, text, Emulator};
use std::ffi::OsString;

fn iis_express() -> Emulator {
    Emulator::apphost(&sites_dir().join("iis_express/applicationhost.config"), "PythonSite")
}

#[test]
fn iis_express_config_loads_and_serves() {
    let emulator = iis_express();
    let response = emulator.get("/hello?x=1");
    assert_eq!(response.status, 200, "{}", text(&response));
    let environ: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(environ["os.environ"]["IISWSGI_FROM_APPHOST"], "set by applicationHost.config");
    assert_eq!(environ["INSTANCE_ID"], "2");
    assert_eq!(environ["APPL_MD_PATH"], "/LM/W3SVC/2/ROOT");
    assert_eq!(environ["PATH_INFO"], "/hello");
    // The <location path="PythonSite/assets"> removes the Python handler;
    // the server-level StaticFile handler serves the virtual directory.
    let css = emulator.get("/assets/site.css");
    assert_eq!((css.status, text(&css).as_str()), (200, "body { color: #333; }\n"));
}

#[test]
fn fastcgi_in_web_config_is_ignored_with_a_warning_under_apphost() {
    let emulator = iis_express();
    let log = emulator.log("emulator.log");
    assert!(log.contains("<fastCgi> is an applicationHost.config-only section"), "{log}");
    let response = emulator.get("/unregistered.py");
    assert_eq!(response.status, 500);
    let page = text(&response);
    assert!(
        page.contains(
            "Unregistered Python scriptProcessor could not be found in &lt;fastCGI&gt; application configuration"
        ),
        "{page}"
    );
}

#[test]
fn malformed_web_config_stops_the_emulator_naming_file_and_line() {
    let stderr = failing_start(&["--site".into(), sites_dir().join("malformed").into()]);
    assert!(stderr.contains("malformed/web.config:5:"), "{stderr}");
}

#[test]
fn malformed_apphost_and_unknown_site_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("applicationHost.config");
    std::fs::write(
        &config,
        "<configuration>\n  <system.applicationHost>\n    <sites>\n  </system.applicationHost>\n</configuration>\n",
    )
    .unwrap();
    let stderr = failing_start(&["--apphost".into(), config.clone().into()]);
    assert!(stderr.contains("applicationHost.config:4:"), "{stderr}");
    let args: Vec<OsString> = vec![
        "--apphost".into(),
        sites_dir().join("iis_express/applicationhost.config").into(),
        "--site-name".into(),
        "NoSuchSite".into(),
    ];
    let stderr = failing_start(&args);
    assert!(stderr.contains("defines no site named `NoSuchSite`"), "{stderr}");
}

#[test]
fn a_handler_whose_module_is_not_loaded_is_a_500_21() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("applicationhost.config");
    let original = std::fs::read_to_string(sites_dir().join("iis_express/applicationhost.config")).unwrap();
    let without = original.replace("<add name=\"FastCgiModule\" lockItem=\"true\" />", "");
    assert_ne!(original, without);
    std::fs::write(&config, without).unwrap();
    let emulator = Emulator::apphost(&config, "PythonSite");
    let response = emulator.get("/hello");
    assert_eq!(response.status, 500);
    let page = text(&response);
    assert!(page.contains("HTTP Error 500.21"), "{page}");
    assert!(
        page.contains(
            "Handler &quot;Python FastCGI&quot; has a bad module &quot;FastCgiModule&quot; in its module list"
        ),
        "{page}"
    );
    assert_eq!(emulator.get("/assets/site.css").status, 200, "StaticFileModule is still loaded");
}
