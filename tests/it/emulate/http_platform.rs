//! The emulator running HttpPlatformHandler and the ASP.NET Core Module
//! (out of process): the process started with the module's variables,
//! waited for, proxied to with the module's headers, restarted, logged,
//! stopped; IIS's and ANCM's error pages.

use super::{text, Emulator};
use crate::support::http::{gated_download, request, request_with};
use crate::support::{copy_dir, repo, wait_until, wheel_venv};
use std::time::Duration;

const HPH: &str = "httpPlatform";
const ANCM: &str = "aspNetCore";

fn module_of(section: &str) -> &'static str {
    if section == HPH {
        "httpPlatformHandler"
    } else {
        "AspNetCoreModuleV2"
    }
}

const GATEWAY: &str = r#"processPath="%IISWSGI_EXE%" arguments="serve""#;

/// A site whose one handler is `section`'s module, running `iiswsgi serve`
/// with `attributes` on the section and WSGI_HANDLER `app`.
fn site(section: &str, attributes: &str, app: &str) -> tempfile::TempDir {
    site_with(section, GATEWAY, attributes, "", app)
}

fn site_running(section: &str, process: &str, attributes: &str, app: &str) -> tempfile::TempDir {
    site_with(section, process, attributes, "", app)
}

/// The general form: `process` and `attributes` on the section element,
/// `children` inside it.
fn site_with(section: &str, process: &str, attributes: &str, children: &str, app: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <system.webServer>
    <handlers>
      <add name="PythonHandler" path="*" verb="*" modules="{module}" resourceType="Unspecified" />
    </handlers>
    <{section} {process} {attributes}>{children}</{section}>
  </system.webServer>
  <appSettings>
    <add key="WSGI_HANDLER" value="{app}" />
    <add key="PYTHONPATH" value="%IISWSGI_TEST_APPS%" />
  </appSettings>
</configuration>
"#,
        module = module_of(section),
    );
    std::fs::write(dir.path().join("web.config"), config).unwrap();
    dir
}

/// The port of the (last) process the emulator started, from its log.
fn process_port(emulator: &Emulator) -> u16 {
    let log = emulator.log("emulator.log");
    let found = log.rsplit(" on port ").next().and_then(|rest| rest.split(':').next()).and_then(|p| p.parse().ok());
    found.unwrap_or_else(|| panic!("no process port in:\n{log}"))
}

/// How many processes the emulator started.
fn started(emulator: &Emulator) -> usize {
    emulator.log("emulator.log").lines().filter(|l| l.contains("http_platform::process: started ")).count()
}

/// The README's web.config files, run as written: examples/hello with the
/// wheel's python in `.venv` (here a link to the wheel's venv).
#[test]
fn the_readme_configs_serve_examples_hello_through_both_modules() {
    let Some(venv) = wheel_venv() else { return };
    for config in ["web.httpplatform.config", "web.aspnetcore.config"] {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&repo().join("examples/hello"), dir.path());
        std::fs::rename(dir.path().join(config), dir.path().join("web.config")).unwrap();
        std::os::unix::fs::symlink(&venv, dir.path().join(".venv")).unwrap();
        let emulator = Emulator::site_dir(dir.path(), &[]);
        let response = emulator.get("/from/the/readme");
        assert_eq!(
            text(&response),
            "Hello from iiswsgi at /from/the/readme\n",
            "{config}: {}",
            emulator.log("emulator.log")
        );
        let logs: Vec<_> = std::fs::read_dir(dir.path().join("logs")).unwrap().map(|e| e.unwrap().path()).collect();
        assert_eq!(logs.len(), 1, "{logs:?}");
        let stdout = std::fs::read_to_string(&logs[0]).unwrap();
        assert!(stdout.contains("transport: HTTP, listening on http://127.0.0.1:"), "{stdout}");
    }
}

#[test]
fn both_modules_proxy_with_their_headers_and_the_process_sees_its_variables() {
    for section in [HPH, ANCM] {
        let variables = r#"<environmentVariables><environmentVariable name="IISWSGI_MARK" value="set by the module" /></environmentVariables>"#;
        let dir = site_with(section, GATEWAY, "", variables, "emulated.platform");
        let emulator = Emulator::site_dir(dir.path(), &[]);
        let response = request_with(emulator.port, "GET", "/environ?x=1", "X-Forwarded-For: 6.6.6.6\r\n", b"");
        assert_eq!(response.status, 200, "{section}: {}\n{}", text(&response), emulator.log("emulator.log"));
        let environ: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(environ["REMOTE_ADDR"], "127.0.0.1", "{section}: the module's entry, not the client's");
        assert_eq!(environ["QUERY_STRING"], "x=1");
        assert_eq!(environ["SCRIPT_NAME"], "");
        assert_eq!(environ["PATH_INFO"], "/environ");
        let process = &environ["os.environ"];
        assert_eq!(process["IISWSGI_MARK"], "set by the module");
        if section == ANCM {
            assert_eq!(process["ASPNETCORE_APPL_PATH"], "/");
            assert_eq!(process["ASPNETCORE_TOKEN"].as_str().map(str::len), Some(36));
            assert!(environ.get("HTTP_MS_ASPNETCORE_TOKEN").is_none());
        } else {
            assert!(process["HTTP_PLATFORM_PORT"].as_str().is_some_and(|p| p.parse::<u16>().is_ok()));
        }
        // Streamed: each chunk reaches the client before the next is made.
        let gates = tempfile::tempdir().unwrap();
        let chunks = gated_download(emulator.port, "/stream", gates.path());
        assert_eq!(chunks.concat(), (0..5).map(|i| format!("chunk {i}\n")).collect::<String>(), "{section}");
    }
}

#[test]
fn a_100_mib_upload_and_download_arrive_byte_exact() {
    for section in [HPH, ANCM] {
        let dir = site(section, "", "emulated.platform");
        let emulator = Emulator::site_dir(dir.path(), &[]);
        let upload: Vec<u8> = (0..100u32 << 20).map(|i| (i % 251) as u8).collect();
        let sum = upload.iter().map(|&b| b as u64).sum::<u64>() % 1_000_000_007;
        let response = request(emulator.port, "POST", "/upload", &upload);
        assert_eq!(text(&response), format!("{} {sum}", upload.len()), "{section}");
        let download = emulator.get("/download?mib=100");
        assert_eq!(download.body.len(), 100 << 20, "{section}");
        assert!(download.body.chunks(256).all(|c| c.iter().enumerate().all(|(i, &b)| b as usize == i)), "{section}");
    }
}

#[test]
fn the_aspnet_core_module_process_refuses_requests_without_the_token() {
    let dir = site(ANCM, "", "emulated.platform");
    let emulator = Emulator::site_dir(dir.path(), &[]);
    assert_eq!(emulator.get("/pid").status, 200);
    let direct = request(process_port(&emulator), "GET", "/pid", b"");
    assert_eq!(direct.status, 400, "nothing else on the machine reaches the app behind IIS's back");
}

#[test]
fn a_process_that_crashes_is_replaced_at_the_next_request() {
    for section in [HPH, ANCM] {
        let dir = site(section, "", "emulated.platform");
        let emulator = Emulator::site_dir(dir.path(), &[]);
        let first = text(&emulator.get("/pid"));
        let crashed = emulator.get("/crash");
        assert_eq!(crashed.status, 502, "{section}: {}", text(&crashed));
        assert!(text(&crashed).contains("HTTP Error 502.3"), "{}", text(&crashed));
        // Right after the crash a request may still meet the dying process
        // (its threads still closing its socket: a 502.3, as under IIS);
        // once it no longer listens, a new one serves.
        let port = process_port(&emulator);
        wait_until("the crashed process to stop listening", || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
        });
        let second = text(&emulator.get("/pid"));
        assert_ne!(first, second, "{section}: a new process");
        let message = second.split("<h4>").nth(1).unwrap_or(&second).split("</h4>").next().unwrap_or_default();
        assert!(second.parse::<u32>().is_ok(), "{section}: {message}\n{}", emulator.log("emulator.log"));
        assert_eq!(started(&emulator), 2, "{}", emulator.log("emulator.log"));
    }
}

#[test]
fn startup_failures_answer_502_5_with_the_modules_page() {
    let missing = r#"processPath="/nonexistent/python" arguments="serve""#;
    let ancm_site = site_running(ANCM, missing, "", "x");
    let ancm = Emulator::site_dir(ancm_site.path(), &[]);
    let page = ancm.get("/");
    assert_eq!(page.status, 502);
    let body = text(&page);
    assert!(body.contains("HTTP Error 502.5 - ANCM Out-Of-Process Startup Failure"), "{body}");
    assert!(body.contains("The application process failed to start") && body.contains("/nonexistent/python"), "{body}");
    let hidden_site = site_running(ANCM, missing, r#"disableStartUpErrorPage="true""#, "x");
    let hidden = Emulator::site_dir(hidden_site.path(), &[]);
    let bare = hidden.get("/");
    assert_eq!((bare.status, bare.body.len()), (502, 0));
    let silent = r#"processPath="/bin/sleep" arguments="30""#;
    let hph_site = site_running(HPH, silent, r#"startupTimeLimit="1" startupRetryCount="2""#, "x");
    let hph = Emulator::site_dir(hph_site.path(), &[]);
    let page = hph.get("/");
    assert_eq!(page.status, 502);
    assert!(
        text(&page).contains("did not listen on port") && text(&page).contains("HTTP Error 502.5"),
        "{}",
        text(&page)
    );
    assert_eq!(started(&hph), 2, "startupRetryCount attempts: {}", hph.log("emulator.log"));
}

#[test]
fn rapid_failures_stop_new_processes_for_the_minute() {
    let failing = r#"processPath="/bin/false" arguments="""#;
    let dir = site_running(HPH, failing, r#"rapidFailsPerMinute="2" startupRetryCount="1""#, "x");
    let emulator = Emulator::site_dir(dir.path(), &[]);
    let pages: Vec<String> = (0..4).map(|_| text(&emulator.get("/"))).collect();
    assert!(pages[0].contains("exited"), "{}", pages[0]);
    assert!(pages[3].contains("rapidFailsPerMinute (2)"), "{}", pages[3]);
    assert_eq!(started(&emulator), 3, "no start once the budget is spent: {}", emulator.log("emulator.log"));
}

#[test]
fn a_request_past_request_timeout_is_502_3() {
    let dir = site(ANCM, r#"requestTimeout="00:00:01""#, "emulated.platform");
    let emulator = Emulator::site_dir(dir.path(), &[]);
    let slow = emulator.get("/sleepy?seconds=3");
    assert_eq!(slow.status, 502);
    assert!(text(&slow).contains("HTTP Error 502.3") && text(&slow).contains("timed out"), "{}", text(&slow));
    assert_eq!(emulator.get("/pid").status, 200);
}

/// `app_offline.htm`: ANCM asks the process to shut down, the request in
/// flight finishes, every request gets the file with a 503 until it goes.
#[test]
fn app_offline_stops_the_process_gracefully_and_answers_503() {
    let dir = site(ANCM, "", "emulated.platform");
    let emulator = Emulator::site_dir(dir.path(), &[]);
    let first = text(&emulator.get("/pid"));
    let port = emulator.port;
    let slow = std::thread::spawn(move || request(port, "GET", "/sleepy?seconds=2", b""));
    std::thread::sleep(Duration::from_millis(300));
    std::fs::write(dir.path().join("app_offline.htm"), "<h1>Down for maintenance</h1>").unwrap();
    let offline = emulator.get("/pid");
    assert_eq!(offline.status, 503);
    assert_eq!(text(&offline), "<h1>Down for maintenance</h1>");
    let finished = slow.join().unwrap();
    assert_eq!(finished.status, 200, "the request in flight finished: {}", text(&finished));
    wait_until("the graceful shutdown", || emulator.log("emulator.log").contains("shut down gracefully"));
    std::fs::remove_file(dir.path().join("app_offline.htm")).unwrap();
    let again = text(&emulator.get("/pid"));
    assert_ne!(again, first, "a new process once the file is gone");
}

#[test]
fn stdout_logs_are_named_as_each_module_names_them() {
    for section in [HPH, ANCM] {
        let dir = site(section, r#"stdoutLogEnabled="true" stdoutLogFile=".\logs\app""#, "emulated.platform");
        let emulator = Emulator::site_dir(dir.path(), &[]);
        assert_eq!(emulator.get("/pid").status, 200);
        let names: Vec<String> = std::fs::read_dir(dir.path().join("logs"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 1);
        let pid = emulator.pid();
        let parts: Vec<&str> = names[0].trim_end_matches(".log").split('_').collect();
        let expected_pid = pid.to_string();
        let (stamp, worker) = if section == ANCM { (parts[1], parts[2]) } else { (parts[2], parts[1]) };
        assert_eq!((parts[0], worker, stamp.len()), ("app", expected_pid.as_str(), 14), "{section}: {names:?}");
        let log = std::fs::read_to_string(dir.path().join("logs").join(&names[0])).unwrap();
        assert!(log.contains("transport: HTTP"), "{log}");
    }
}

#[test]
fn in_process_hosting_is_refused_with_the_reason() {
    let dir = site(ANCM, r#"hostingModel="InProcess""#, "emulated.platform");
    let emulator = Emulator::site_dir(dir.path(), &[]);
    let page = emulator.get("/");
    assert_eq!(page.status, 500);
    let body = text(&page);
    assert!(
        body.contains("HTTP Error 500.0 - ANCM In-Process Handler Load Failure") && body.contains(".NET"),
        "{body}"
    );
    assert_eq!(started(&emulator), 0);
}

#[test]
fn processes_per_application_take_requests_in_turn() {
    let dir = site(HPH, r#"processesPerApplication="2""#, "emulated.platform");
    let emulator = Emulator::site_dir(dir.path(), &[]);
    let pids: Vec<String> = (0..4).map(|_| text(&emulator.get("/pid"))).collect();
    assert_ne!(pids[0], pids[1]);
    assert_eq!((&pids[0], &pids[1]), (&pids[2], &pids[3]), "round-robin: {pids:?}");
}

#[test]
fn a_changed_recycle_on_file_change_file_restarts_the_process() {
    let files = r#"<recycleOnFileChange><file path="touch.txt" /></recycleOnFileChange>"#;
    let dir = site_with(HPH, GATEWAY, "", files, "emulated.platform");
    std::fs::write(dir.path().join("touch.txt"), "1").unwrap();
    let emulator = Emulator::site_dir(dir.path(), &[]);
    let first = text(&emulator.get("/pid"));
    assert_eq!(text(&emulator.get("/pid")), first);
    std::thread::sleep(Duration::from_millis(1100));
    std::fs::write(dir.path().join("touch.txt"), "2").unwrap();
    assert_ne!(text(&emulator.get("/pid")), first, "{}", emulator.log("emulator.log"));
}

#[test]
fn an_app_that_fails_to_load_answers_the_gateways_500_through_the_module() {
    let dir = site(HPH, "", "nosuchmodule.app");
    let emulator = Emulator::site_dir(dir.path(), &[]);
    let page = emulator.get("/");
    assert_eq!(page.status, 500);
    assert!(text(&page).contains(r#""nosuchmodule.app" could not be imported"#), "{}", text(&page));
    assert_eq!(emulator.get("/again").status, 500, "the process stays up");
    assert_eq!(started(&emulator), 1);
}
