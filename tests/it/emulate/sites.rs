//! WSGI apps served through the emulator, as IIS would serve them.

use super::{text, Emulator};
use crate::support::http::{request, request_with};

#[test]
fn hello_world() {
    let emulator = Emulator::site("hello");
    let response = emulator.get("/");
    assert_eq!(response.status, 200, "{}", response.head);
    assert_eq!(response.body, b"Hello, world!");
    assert!(response.head.contains("server: Microsoft-IIS/10.0"), "{}", response.head);
}

#[test]
fn callable_class_instance() {
    let response = Emulator::site("callable_class").get("/x");
    assert_eq!((response.status, text(&response).as_str()), (200, "callable instance"));
}

#[test]
fn environ_is_what_the_app_would_get_under_iis() {
    let emulator = Emulator::site("environ");
    let response = emulator.get("/fob/oar/baz?quox=100");
    assert_eq!(response.status, 200, "{}", text(&response));
    let environ: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(environ["QUERY_STRING"], "quox=100");
    assert_eq!(environ["PATH_INFO"], "/fob/oar/baz");
    assert_eq!(environ["SCRIPT_NAME"], "");
    assert_eq!(environ["SERVER_SOFTWARE"], "Microsoft-IIS/10.0");
    assert_eq!(environ["HTTP_HOST"], "localhost");
    assert_eq!(environ["REQUEST_METHOD"], "GET");
    assert_eq!(environ["SERVER_PORT"], emulator.port.to_string());
    let physical = environ["APPL_PHYSICAL_PATH"].as_str().unwrap();
    assert!(physical.ends_with("sites/environ/"), "{physical}");
    assert_eq!(environ["APPL_MD_PATH"], "/LM/W3SVC/1/ROOT");
    assert_eq!(environ["HTTPS"], "off");
    assert_eq!(environ["wsgi.url_scheme"], "http");
}

#[test]
fn post_form_bodies_reach_the_app() {
    let emulator = Emulator::site("post_form");
    let response = request_with(
        emulator.port,
        "POST",
        "/submit",
        "Content-Type: application/x-www-form-urlencoded\r\n",
        b"name=Ada+Lovelace&lang=python&lang=rust",
    );
    assert_eq!((response.status, text(&response).as_str()), (200, "lang=python,rust name=Ada Lovelace"));
}

#[test]
fn three_megabyte_response_is_byte_exact() {
    let response = Emulator::site("big_response").get("/");
    assert_eq!(response.status, 200);
    let expected: Vec<u8> = (0..3 * 1024 * 1024).map(|i| (i % 256) as u8).collect();
    assert_eq!(response.body.len(), expected.len());
    assert!(response.body == expected, "body differs");
}

#[test]
fn pythonpath_app_setting_expands_environment_variables() {
    let response = Emulator::site("pythonpath").get("/");
    assert_eq!((response.status, text(&response).as_str()), (200, "found through --pythonpath"));
}

#[test]
fn load_failures_answer_500_with_the_cause() {
    let cases = [
        ("load_module_missing", "\"no_such_module.application\" could not be imported"),
        ("load_attribute_missing", "no_such_attribute"),
        ("load_import_raises", "ZeroDivisionError: import went wrong"),
        ("load_handler_unset", "WSGI_HANDLER env var must be set"),
        ("load_handler_none", "none_handler"),
        ("load_noisy_import", "noisy import gave up"),
    ];
    std::thread::scope(|scope| {
        for (site, cause) in cases {
            scope.spawn(move || {
                let response = Emulator::site(site).get("/");
                let body = text(&response);
                assert_eq!(response.status, 500, "{site}: {body}");
                assert!(body.contains("Error occurred while reading WSGI handler"), "{site}: {body}");
                assert!(body.contains(cause), "{site}: {body}");
                assert!(!body.contains("Traceback"), "{site}: tracebacks are for --debug only: {body}");
            });
        }
    });
}

#[test]
fn debug_shows_tracebacks_and_captured_output() {
    let emulator =
        Emulator::start(&["--site".into(), super::sites_dir().join("load_noisy_import").into(), "--debug".into()], &[]);
    let body = text(&emulator.get("/"));
    assert!(body.contains("Traceback"), "{body}");
    assert!(body.contains("noisy import says hello on stdout"), "{body}");
}

#[test]
fn header_errors_follow_wsgi_and_iis_rules() {
    std::thread::scope(|scope| {
        scope.spawn(|| {
            // exc_info before any body: the app's second start_response wins.
            let response = Emulator::site("headers_exc_info").get("/");
            assert_eq!((response.status, text(&response).as_str()), (500, "replaced"));
            assert!(response.head.starts_with("HTTP/1.1 500 Oops"), "{}", response.head);
        });
        for site in ["headers_error_after_body", "headers_twice", "headers_body_first"] {
            scope.spawn(move || {
                let response = Emulator::site(site).get("/");
                assert_eq!(response.status, 500, "{site}: {}", text(&response));
                assert!(text(&response).contains("Error occurred"), "{site}: {}", text(&response));
            });
        }
    });
}

#[test]
fn head_requests_get_headers_only() {
    let emulator = Emulator::site("hello");
    let response = request(emulator.port, "HEAD", "/", b"");
    assert_eq!(response.status, 200);
    assert!(response.body.is_empty());
}

#[test]
fn readme_example_site_runs_with_a_synthesized_fastcgi_application() {
    // `iiswsgi emulate --site examples/hello`: the web.config names the
    // venv's `python.exe|-m iiswsgi serve` at a Windows path, so the
    // emulator runs the iiswsgi that runs it for that handler.
    let emulator = Emulator::site_dir(&crate::support::repo().join("examples/hello"), &[]);
    let response = emulator.get("/");
    assert_eq!((response.status, text(&response).as_str()), (200, "Hello from iiswsgi at /\n"));
}

/// A `--site` without `<fastCgi>` runs what its handlers name, as written:
/// a wfastcgi site runs wfastcgi (with its Windows-only watcher stubbed),
/// and the start-up log says which application serves which handler.
#[test]
fn a_site_naming_wfastcgi_runs_wfastcgi() {
    let Some(venv) = crate::support::test_venv() else { return };
    let dir = tempfile::tempdir().unwrap();
    let python = venv.join("bin/python");
    let wrapper = crate::support::apps_dir().join("wfastcgi_linux.py");
    let script_processor = format!("{}|{}", python.display(), wrapper.display());
    // wfastcgi opens `Web.config`, spelt so; IIS and the emulator take any case.
    std::fs::write(
        dir.path().join("Web.config"),
        format!(
            r#"<configuration>
  <system.webServer><handlers>
    <add name="Python FastCGI" path="*" verb="*" modules="FastCgiModule" scriptProcessor="{script_processor}" resourceType="Unspecified" />
  </handlers></system.webServer>
  <appSettings>
    <add key="WSGI_HANDLER" value="emulated.which_gateway" />
    <add key="PYTHONPATH" value="%IISWSGI_TEST_APPS%" />
    <add key="WSGI_RESTART_FILE_REGEX" value="" />
  </appSettings>
</configuration>"#
        ),
    )
    .unwrap();
    let emulator = Emulator::site_dir(dir.path(), &[]);
    let response = emulator.get("/");
    // wfastcgi's wsgi.input is a BytesIO; iiswsgi's would be `iiswsgi.Input`.
    assert_eq!(text(&response), "_io.BytesIO", "{}", emulator.log("emulator.log"));
    let log = emulator.log("emulator.log");
    assert!(
        log.contains(&format!("handler \"Python FastCGI\" runs the FastCGI application {script_processor}")),
        "{log}"
    );
}

/// A `*.py` script map takes what follows the script as path info; with
/// `AllowPathInfoForScriptMappings` the app keeps IIS's SCRIPT_NAME (and
/// PATH_INFO the whole path, as wfastcgi leaves it).
#[test]
fn allow_path_info_for_script_mappings_keeps_the_script_name() {
    let site = super::copy_site("allow_path_info");
    let emulator = Emulator::site_dir(site.path(), &[]);
    let env: serde_json::Value = serde_json::from_slice(&emulator.get("/app.py/users/1").body).unwrap();
    assert_eq!((env["SCRIPT_NAME"].as_str(), env["PATH_INFO"].as_str()), (Some("/app.py"), Some("/app.py/users/1")));
    assert_eq!(emulator.get("/missing.py/users/1").status, 404, "resourceType=\"File\": the script must exist");
    drop(emulator);
    let config = std::fs::read_to_string(site.path().join("web.config")).unwrap();
    std::fs::write(site.path().join("web.config"), config.replace("AllowPathInfoForScriptMappings", "Unrelated"))
        .unwrap();
    let emulator = Emulator::site_dir(site.path(), &[]);
    let env: serde_json::Value = serde_json::from_slice(&emulator.get("/app.py/users/1").body).unwrap();
    assert_eq!((env["SCRIPT_NAME"].as_str(), env["PATH_INFO"].as_str()), (Some(""), Some("/app.py/users/1")));
}
