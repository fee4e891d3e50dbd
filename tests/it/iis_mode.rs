//! IIS mode: stdin is a connected socket carrying one request after another.

use crate::support::fcgi_client::{iis_params, IisProcess};
use crate::support::{apps_dir, wait_until};
use iiswsgi::fastcgi::{ProtocolStatus, Record};
use std::io::{Read, Write};
use std::path::Path;

fn get(iis: &mut IisProcess, path: &str, query: &str, site: &Path) -> crate::support::fcgi_client::Reply {
    iis.request(&iis_params("GET", path, query, site, 0), b"")
}

fn json(reply: &crate::support::fcgi_client::Reply) -> serde_json::Value {
    serde_json::from_slice(reply.body()).unwrap_or_else(|e| panic!("{e}: {}", reply.body_text()))
}

#[test]
fn serves_requests_one_after_another_on_one_connection() {
    let log = tempfile::NamedTempFile::new().unwrap();
    let apps = apps_dir();
    let mut iis = IisProcess::start(&["apps:hello"], &[], &apps, log.path());
    for _ in 0..3 {
        let reply = get(&mut iis, "/", "", &apps);
        assert_eq!(reply.status(), "200 OK");
        assert_eq!(reply.body(), b"Hello, world!");
        assert_eq!(reply.end, Some((0, ProtocolStatus::RequestComplete)));
        assert!(reply.stderr.is_empty());
    }
}

#[test]
fn environ_undoes_the_iis_path_quirk() {
    let log = tempfile::NamedTempFile::new().unwrap();
    let apps = apps_dir();
    let mut iis = IisProcess::start(&["apps:echo"], &[], &apps, log.path());
    let env = json(&get(&mut iis, "/fob/oar/baz", "quox=100", &apps));
    assert_eq!(env["PATH_INFO"], "/fob/oar/baz");
    assert_eq!(env["SCRIPT_NAME"], "");
    assert_eq!(env["QUERY_STRING"], "quox=100");
    assert_eq!(env["wsgi.path_info"], "/fob/oar/baz");
    assert_eq!(env["wsgi.script_name"], "");
    assert_eq!(env["wsgi.query_string"], "quox=100");
    assert_eq!(env["wsgi.url_scheme"], "http");
    assert_eq!(env["wsgi.multithread"], false);
    assert_eq!(env["wsgi.multiprocess"], true);
    assert_eq!(env["wsgi.run_once"], false);
    assert_eq!(env["wsgi.input_terminated"], true);

    let mut params = iis_params("GET", "/rewritten.py", "", &apps, 0);
    params.push(("HTTP_X_ORIGINAL_URL".into(), "/pretty/url?page=2".into()));
    params.retain(|(n, _)| n != "HTTPS");
    params.push(("HTTPS".into(), "on".into()));
    let env = json(&iis.request(&params, b""));
    assert_eq!(env["PATH_INFO"], "/pretty/url");
    assert_eq!(env["wsgi.url_scheme"], "https");
}

#[test]
fn script_name_setting_strips_the_prefix() {
    let log = tempfile::NamedTempFile::new().unwrap();
    let apps = apps_dir();
    let mut iis = IisProcess::start(&["apps:echo", "--script-name", "/app"], &[], &apps, log.path());
    let env = json(&get(&mut iis, "/app/x/y", "", &apps));
    assert_eq!(env["SCRIPT_NAME"], "/app");
    assert_eq!(env["PATH_INFO"], "/x/y");
}

#[test]
fn request_body_is_read_in_every_way() {
    let log = tempfile::NamedTempFile::new().unwrap();
    let apps = apps_dir();
    let mut iis = IisProcess::start(&["apps:lines"], &[], &apps, log.path());
    let body = b"first\nsecond\nthird\nfourth";
    let reply = iis.request(&iis_params("POST", "/", "", &apps, body.len()), body);
    assert_eq!(reply.body_text(), r#"["first\n", "sec", "ond\n", "third\n", "fourth"]"#);
}

fn site_with_web_config(app_settings: &str) -> tempfile::TempDir {
    let site = tempfile::tempdir().unwrap();
    let config = format!(
        "<?xml version=\"1.0\"?>\n<configuration>\n<appSettings>\n{app_settings}\n</appSettings>\n</configuration>\n"
    );
    std::fs::write(site.path().join("web.config"), config).unwrap();
    site
}

#[test]
fn wsgi_handler_comes_from_the_sites_web_config_at_the_first_request() {
    let log = tempfile::NamedTempFile::new().unwrap();
    let site = site_with_web_config(
        r#"<add key="WSGI_HANDLER" value="apps.callable_instance" />
           <add key="PYTHONPATH" value="%IISWSGI_TEST_APPS%;C:\does\not\matter" />
           <add key="WSGI_RESTART_FILE_REGEX" value="" />"#,
    );
    // IIS starts the process in the folder of its executable, not the site.
    let exe_dir = tempfile::tempdir().unwrap();
    let apps = apps_dir();
    let mut iis = IisProcess::start(&[], &[("IISWSGI_TEST_APPS", apps.to_str().unwrap())], exe_dir.path(), log.path());
    let reply = get(&mut iis, "/", "", site.path());
    assert_eq!(reply.status(), "200");
    assert_eq!(reply.body(), b"callable instance");
    let log_text = std::fs::read_to_string(log.path()).unwrap();
    assert!(log_text.contains("web.config appSetting WSGI_HANDLER=apps.callable_instance"), "{log_text}");
}

/// Each load failure: the process stays up and every request gets a 500
/// whose text names the cause in wfastcgi's words.
#[test]
fn load_failures_answer_500_with_the_cause_and_the_process_stays_up() {
    let apps = apps_dir();
    let cases: [(&str, &str, bool); 6] = [
        (
            r#"<add key="WSGI_HANDLER" value="nosuchmodule.app" />"#,
            r#""nosuchmodule.app" could not be imported"#,
            false,
        ),
        (
            r#"<add key="WSGI_HANDLER" value="apps.nosuchattr" />"#,
            "AttributeError: module 'apps' has no attribute 'nosuchattr'",
            false,
        ),
        (r#"<add key="WSGI_HANDLER" value="import_raises.app" />"#, "ZeroDivisionError: import went wrong", false),
        ("", "WSGI_HANDLER env var must be set", false),
        (r#"<add key="WSGI_HANDLER" value="apps.CLOSED.__doc__" />"#, "is not callable", false),
        (r#"<add key="WSGI_HANDLER" value="import_raises.app" />"#, "StdOut: loading output on stdout", true),
    ];
    for (setting, expected, debug) in cases {
        let log = tempfile::NamedTempFile::new().unwrap();
        let site = site_with_web_config(&format!(
            r#"{setting}<add key="PYTHONPATH" value="{}" /><add key="WSGI_RESTART_FILE_REGEX" value="" />"#,
            apps.display()
        ));
        let env: &[(&str, &str)] = if debug { &[("WSGI_DEBUG", "1")] } else { &[] };
        let mut iis = IisProcess::start(&[], env, site.path(), log.path());
        for _ in 0..2 {
            let reply = get(&mut iis, "/", "", site.path());
            assert_eq!(reply.status(), "500 Internal Server Error", "{setting}");
            let text = reply.stderr_text();
            assert!(text.starts_with("Error occurred while reading WSGI handler:"), "{text}");
            assert!(text.contains(expected), "{setting}: {text}");
            assert_eq!(text.contains("Traceback"), debug, "traceback only when debugging: {text}");
        }
        assert!(iis.child.try_wait().unwrap().is_none(), "the process must stay up");
        let log_text = std::fs::read_to_string(log.path()).unwrap();
        assert!(log_text.contains("cannot load the app"), "{log_text}");
    }
}

#[test]
fn app_errors_are_reported_in_wfastcgi_words() {
    let apps = apps_dir();
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut iis = IisProcess::start(&["apps:raises", "--debug"], &[], &apps, log.path());
    let reply = get(&mut iis, "/", "", &apps);
    assert_eq!(reply.status(), "500 Internal Server Error");
    assert!(reply.stderr_text().contains("RuntimeError: boom from the app"), "{}", reply.stderr_text());

    for (app, expected) in [
        ("apps:twice", "start_response has already been called"),
        ("apps:body_first", "start_response has not yet been called"),
        ("apps:bad_header", "has a CR, LF or NUL"),
    ] {
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut iis = IisProcess::start(&[app, "--debug"], &[], &apps, log.path());
        let reply = get(&mut iis, "/", "", &apps);
        assert_eq!(reply.status(), "500 Internal Server Error", "{app}");
        assert!(!reply.head().contains("Set-Cookie"), "never a split response");
        assert!(reply.stderr_text().contains(expected), "{app}: {}", reply.stderr_text());
    }
}

#[test]
fn tracebacks_stay_in_the_log_without_debugging() {
    let apps = apps_dir();
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut iis = IisProcess::start(&["apps:raises"], &[], &apps, log.path());
    let reply = get(&mut iis, "/", "", &apps);
    assert!(!reply.stderr_text().contains("Traceback"));
    assert!(!reply.stderr_text().contains("boom"));
    assert!(std::fs::read_to_string(log.path()).unwrap().contains("boom from the app"));
}

#[test]
fn error_after_the_first_chunk_goes_to_stderr() {
    let apps = apps_dir();
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut iis = IisProcess::start(&["apps:error_after_body"], &[], &apps, log.path());
    let reply = get(&mut iis, "/", "", &apps);
    assert_eq!(reply.status(), "200 OK");
    assert_eq!(reply.body(), b"first chunk");
    assert!(reply.stderr_text().starts_with("Error occurred:"), "{}", reply.stderr_text());
}

#[test]
fn routine_output_goes_to_the_log_not_to_fcgi_stderr() {
    let apps = apps_dir();
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut iis = IisProcess::start(&["apps:prints"], &[], &apps, log.path());
    let reply = get(&mut iis, "/", "", &apps);
    assert_eq!(reply.body(), b"printed");
    assert!(reply.stderr.is_empty(), "{}", reply.stderr_text());
    let log_text = std::fs::read_to_string(log.path()).unwrap();
    for line in ["[stdout] to stdout", "[stderr] to stderr", "[wsgi.errors] to wsgi.errors"] {
        assert!(log_text.contains(line), "{line} missing from {log_text}");
    }
}

#[test]
fn get_values_tells_iis_one_request_at_a_time() {
    let apps = apps_dir();
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut iis = IisProcess::start(&["apps:hello"], &[], &apps, log.path());
    let names = ["FCGI_MAX_CONNS", "FCGI_MAX_REQS", "FCGI_MPXS_CONNS"].map(|n| n.as_bytes().to_vec()).to_vec();
    let mut out = Vec::new();
    Record::GetValues { names }.encode(&mut out);
    iis.conn.write_all(&out).unwrap();
    let mut buf = vec![0u8; 4096];
    let mut decoder = iiswsgi::fastcgi::Decoder::new();
    let record = loop {
        if let Some(record) = decoder.decode().unwrap() {
            break record;
        }
        let n = iis.conn.read(&mut buf).unwrap();
        decoder.feed(&buf[..n]);
    };
    let Record::GetValuesResult { pairs } = record else { panic!("{record:?}") };
    let pairs: Vec<_> = pairs
        .iter()
        .map(|(n, v)| (String::from_utf8_lossy(n).into_owned(), String::from_utf8_lossy(v).into_owned()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("FCGI_MAX_CONNS".into(), "1".into()),
            ("FCGI_MAX_REQS".into(), "1".into()),
            ("FCGI_MPXS_CONNS".into(), "0".into())
        ]
    );
}

/// Changing `ignored` leaves the process running; changing `trigger`
/// makes it exit 0 after logging why.
fn assert_restart(env: &[(&str, &str)], ignored: &str, trigger: &str) {
    let site = tempfile::tempdir().unwrap();
    std::fs::copy(apps_dir().join("apps.py"), site.path().join("apps.py")).unwrap();
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut iis = IisProcess::start(&["apps:hello"], env, site.path(), log.path());
    assert_eq!(get(&mut iis, "/", "", site.path()).status(), "200 OK");
    std::fs::write(site.path().join(ignored), "not watched").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(iis.child.try_wait().unwrap().is_none(), "a change to {ignored} must not restart");
    std::fs::write(site.path().join(trigger), "x = 1\n").unwrap();
    wait_until("the process to exit", || iis.child.try_wait().unwrap().is_some());
    assert_eq!(iis.child.wait().unwrap().code(), Some(0));
    assert!(std::fs::read_to_string(log.path()).unwrap().contains(&format!("{trigger} changed")));
}

#[test]
fn a_changed_py_file_makes_the_process_exit_cleanly() {
    assert_restart(&[], "notes.txt", "new_module.py");
}

#[test]
fn a_custom_restart_regex_chooses_the_files() {
    assert_restart(&[("WSGI_RESTART_FILE_REGEX", r".*\.txt$")], "new_module.py", "notes.txt");
}

#[test]
fn sigterm_finishes_the_request_in_flight_then_exits_0() {
    let apps = apps_dir();
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut iis = IisProcess::start(&["apps:slow"], &[], &apps, log.path());
    let params = iis_params("GET", "/", "3", &apps, 0);
    iis.conn.write_all(&crate::support::fcgi_client::encode_request(1, true, &params, b"")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(iis.child.id() as i32, libc::SIGTERM) };
    let reply = crate::support::fcgi_client::read_reply(&mut iis.conn, 1);
    assert_eq!(reply.body_text(), "0\n1\n2\n");
    assert_eq!(iis.child.wait().unwrap().code(), Some(0));
}

#[test]
fn exc_info_after_headers_re_raises_the_original_error() {
    let apps = apps_dir();
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut iis = IisProcess::start(&["apps:exc_info_after_body", "--debug"], &[], &apps, log.path());
    let reply = get(&mut iis, "/", "", &apps);
    assert_eq!(reply.status(), "200 OK");
    assert_eq!(reply.body(), b"sent");
    assert!(reply.stderr_text().contains("KeyError: 'the original error'"), "{}", reply.stderr_text());
}

#[test]
fn pythonpath_entries_expand_percent_vars() {
    let log = tempfile::NamedTempFile::new().unwrap();
    let apps = apps_dir();
    let root = crate::support::repo().join("testdata");
    let mut iis = IisProcess::start(
        &["on_pythonpath:application", "--pythonpath", "/does/not/exist;%IISWSGI_TEST_ROOT%/pythonpath_app"],
        &[("IISWSGI_TEST_ROOT", root.to_str().unwrap())],
        &apps,
        log.path(),
    );
    assert_eq!(get(&mut iis, "/", "", &apps).body(), b"found through --pythonpath");
}

/// URL Rewrite's HTTP_X_ORIGINAL_URL becomes PATH_INFO %-decoded (wfastcgi
/// passed it on raw, microsoft/PTVS#123); `wsgi.path_info` keeps the raw
/// bytes; a mount prefix (a sub-application's SCRIPT_NAME) still applies.
#[test]
fn a_rewritten_url_reaches_the_app_decoded() {
    let log = tempfile::NamedTempFile::new().unwrap();
    let apps = apps_dir();
    let mut iis = IisProcess::start(&["apps:echo"], &[("SCRIPT_NAME", "/Shop")], &apps, log.path());
    for (original, path_info) in [
        ("/shop/caf%C3%A9/a%20b?x=1", "/caf\u{c3}\u{a9}/a b"),
        ("/shop/a+b/%E2%9C%93", "/a+b/\u{e2}\u{9c}\u{93}"),
        ("/shop", ""),
    ] {
        let mut params = iis_params("GET", "/shop/handler.py", "x=1", &apps, 0);
        params.push(("HTTP_X_ORIGINAL_URL".into(), original.into()));
        let env = json(&iis.request(&params, b""));
        assert_eq!(env["SCRIPT_NAME"], "/Shop", "{original}");
        assert_eq!(env["PATH_INFO"], path_info, "{original}");
    }
    let mut params = iis_params("GET", "/other/handler.py", "", &apps, 0);
    params.push(("HTTP_X_ORIGINAL_URL".into(), "/elsewhere/x%20y".into()));
    let env = json(&iis.request(&params, b""));
    assert_eq!((env["SCRIPT_NAME"].as_str(), env["PATH_INFO"].as_str()), (Some(""), Some("/elsewhere/x y")));
    assert_eq!(env["wsgi.path_info"], "/elsewhere/x%20y", "the raw form");
    let log_text = std::fs::read_to_string(log.path()).unwrap();
    assert!(log_text.contains("is not under the mount prefix"), "{log_text}");
}
