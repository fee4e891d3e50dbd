//! Real frameworks, installed from PyPI (testdata/requirements.txt): Flask,
//! Django, Pyramid, Bottle and Falcon, each answering the scenario of
//! testdata/frameworks/scenario.py through the emulator (IIS mode, one
//! FastCGI instance, so one stuck request shows), in HTTP mode (`--bind
//! http://`, as behind HttpPlatformHandler or the ASP.NET Core Module) and
//! through nginx (`--bind`), every response compared with the same app
//! served by wsgiref.simple_server in the same test.

mod transcript;

use crate::emulate::Emulator;
use crate::support::{repo, test_venv, wait_until, Guard};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;
use transcript::{ask, common, cookies, find, seen, Ask, Seen};

/// One framework's app.
struct Framework {
    name: &'static str,
    /// `module:attr`, for `iiswsgi serve` and the reference server.
    app: &'static str,
    /// The same for web.config's WSGI_HANDLER, as wfastcgi writes it.
    handler: &'static str,
    /// Requests of this framework's own, after the common ones.
    own: fn(u16) -> Vec<Seen>,
}

fn none(_: u16) -> Vec<Seen> {
    Vec::new()
}

fn frameworks_dir() -> PathBuf {
    repo().join("testdata").join("frameworks")
}

/// Django's admin login: GET the form, POST it with the token and the
/// cookie, follow the redirect to the admin index.
fn django_admin_login(port: u16) -> Vec<Seen> {
    let (index, _) = ask(port, &Ask::get("/admin/"));
    let login_path = "/admin/login/?next=/admin/";
    let (form_seen, form) = ask(port, &Ask::get(login_path));
    let token = find(&form, r#"name="csrfmiddlewaretoken" value="([A-Za-z0-9]+)""#);
    let body = format!("csrfmiddlewaretoken={token}&username=admin&password=admin-password&next=%2Fadmin%2F");
    let mut post = Ask::post(login_path, "application/x-www-form-urlencoded", body);
    post.headers.push_str(&cookies(&[&form]));
    let (posted_seen, posted) = ask(port, &post);
    let mut admin = Ask::get("/admin/");
    admin.headers = cookies(&[&form, &posted]);
    let (admin_seen, admin_page) = ask(port, &admin);
    assert!(String::from_utf8_lossy(&admin_page.body).contains("Site administration"), "{admin_seen:?}");
    vec![index, form_seen, posted_seen, admin_seen]
}

/// Pyramid's CSRF check: a form POST with the session's token passes.
fn pyramid_csrf(port: u16) -> Vec<Seen> {
    let (mut token_seen, token) = ask(port, &Ask::get("/csrf"));
    let value = String::from_utf8_lossy(&token.body).into_owned();
    assert_eq!(value.len(), 40, "a token: {value}");
    token_seen.body = "(the session's CSRF token)".into();
    let body = format!("csrf_token={value}&name=J%C3%BCrgen&colour=blue");
    let mut post = Ask::post("/form", "application/x-www-form-urlencoded", body);
    post.headers.push_str(&cookies(&[&token]));
    let (posted, _) = ask(port, &post);
    assert!(posted.status.starts_with("200"), "{posted:?}");
    vec![token_seen, posted]
}

const FRAMEWORKS: [Framework; 5] = [
    Framework { name: "flask", app: "flask_app:app", handler: "flask_app.app", own: none },
    Framework {
        name: "django",
        app: "django_site.wsgi:application",
        handler: "django_site.wsgi.application",
        own: django_admin_login,
    },
    Framework { name: "pyramid", app: "pyramid_app:app", handler: "pyramid_app.app", own: pyramid_csrf },
    Framework { name: "bottle", app: "bottle_app:app", handler: "bottle_app.app", own: none },
    Framework { name: "falcon", app: "falcon_app:app", handler: "falcon_app.app", own: none },
];

/// Every request of the scenario against `port`, with how long each took.
fn transcript(framework: &Framework, port: u16) -> Vec<(Seen, u128)> {
    let mut all = Vec::new();
    for request in common() {
        let started = Instant::now();
        let (seen, _) = ask(port, &request);
        all.push((seen, started.elapsed().as_millis()));
    }
    let started = Instant::now();
    let own = (framework.own)(port);
    let each = started.elapsed().as_millis() / own.len().max(1) as u128;
    all.extend(own.into_iter().map(|seen| (seen, each)));
    all
}

/// The app's environment: Django's settings and database.
fn app_env(framework: &Framework, db: &Path) -> Vec<(String, String)> {
    match framework.name {
        "django" => vec![
            ("DJANGO_SETTINGS_MODULE".into(), "django_site.settings".into()),
            ("IISWSGI_DJANGO_DB".into(), db.display().to_string()),
        ],
        _ => Vec::new(),
    }
}

/// The same app under wsgiref.simple_server.
fn reference(venv: &Path, framework: &Framework, env: &[(String, String)], dir: &Path) -> (u16, Guard) {
    let port_file = dir.join("reference.port");
    let child = Command::new(venv.join("bin/python"))
        .arg(frameworks_dir().join("reference_server.py"))
        .args([framework.app, port_file.to_str().unwrap()])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("reference.log")).unwrap())
        .spawn()
        .expect("start the reference server");
    let guard = Guard(child);
    wait_until("the reference server's port", || port_file.exists());
    (std::fs::read_to_string(&port_file).unwrap().parse().unwrap(), guard)
}

/// A site folder whose web.config runs the app as IIS would, on one
/// FastCGI instance: a request that never ends would hold every later one.
fn site(venv: &Path, framework: &Framework, env: &[(String, String)], debug: bool, dir: &Path) -> PathBuf {
    let site = dir.join(format!("{}_site", framework.name));
    std::fs::create_dir_all(&site).unwrap();
    let mut settings: Vec<(String, String)> = vec![
        ("WSGI_HANDLER".into(), framework.handler.into()),
        ("PYTHONPATH".into(), frameworks_dir().display().to_string()),
    ];
    settings.extend(env.iter().cloned());
    if debug {
        settings.push(("DJANGO_DEBUG".into(), "1".into()));
    }
    let settings: String =
        settings.iter().map(|(key, value)| format!("    <add key=\"{key}\" value=\"{value}\" />\n")).collect();
    let config = format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <system.webServer>
    <handlers>
      <add name="Python FastCGI" path="*" verb="*" modules="FastCgiModule"
           scriptProcessor="%IISWSGI_EXE%|serve" resourceType="Unspecified" requireAccess="Script" />
    </handlers>
    <fastCgi>
      <application fullPath="%IISWSGI_EXE%" arguments="serve" maxInstances="1" activityTimeout="15">
        <environmentVariables>
          <environmentVariable name="VIRTUAL_ENV" value="{venv}" />
        </environmentVariables>
      </application>
    </fastCgi>
  </system.webServer>
  <appSettings>
{settings}  </appSettings>
</configuration>
"#,
        venv = venv.display()
    );
    std::fs::write(site.join("web.config"), config).unwrap();
    site
}

/// Django's database, made once per test run.
fn django_db(venv: &Path, dir: &Path) -> PathBuf {
    let db = dir.join("django.sqlite3");
    let status = Command::new(venv.join("bin/python"))
        .arg(frameworks_dir().join("django_site/setup_db.py"))
        .env("IISWSGI_DJANGO_DB", &db)
        .status()
        .expect("run setup_db.py");
    assert!(status.success(), "setup_db.py failed");
    db
}

fn compare(framework: &Framework, server: &str, expected: &[(Seen, u128)], got: &[(Seen, u128)]) {
    assert_eq!(expected.len(), got.len());
    for ((want, _), (seen, millis)) in expected.iter().zip(got) {
        eprintln!("{} via {server}: {} → {} in {millis} ms", framework.name, seen.what, seen.status);
        let mut want = want.clone();
        if want.what.starts_with("HEAD ") {
            // wsgiref sends what the app gives for HEAD; IIS and nginx do not.
            assert!(seen.body.is_empty(), "{} via {server}: a body for {}", framework.name, want.what);
            want.body.clear();
        }
        assert_eq!(seen, &want, "{} via {server} differs from wsgiref for {}", framework.name, want.what);
    }
}

/// `//x`, the URL that made Flask's 404 hang, answers at once. It is not
/// compared: Python 3.11's http.server, under wsgiref, collapses the
/// leading `//` (an open-redirect fix), while IIS and nginx pass it on.
fn double_slash_is_a_404(framework: &Framework, server: &str, port: u16) {
    let started = Instant::now();
    let (seen, _) = ask(port, &Ask::get("//x"));
    eprintln!("{} via {server}: GET //x → {} in {} ms", framework.name, seen.status, started.elapsed().as_millis());
    assert!(seen.status.starts_with("404"), "{seen:?}");
}

fn matches_wsgiref(framework: &Framework) {
    let Some(venv) = test_venv() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = django_db(&venv, dir.path());
    let env = app_env(framework, &db);
    let (port, _reference) = reference(&venv, framework, &env, dir.path());
    let expected = transcript(framework, port);

    let emulator = Emulator::site_dir(&site(&venv, framework, &env, false, dir.path()), &[]);
    compare(framework, "the emulator", &expected, &transcript(framework, emulator.port));
    double_slash_is_a_404(framework, "the emulator", emulator.port);
    let gateway_log = emulator.log("gateway.log");
    assert!(!gateway_log.contains("has not ended"), "the watchdog saw a stuck response:\n{gateway_log}");

    let pythonpath = frameworks_dir().display().to_string();
    let args = [framework.app, "--venv", venv.to_str().unwrap(), "--pythonpath", &pythonpath];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let http = crate::http_mode::start(&args, &env);
    compare(framework, "HTTP mode", &expected, &transcript(framework, http.port));
    double_slash_is_a_404(framework, "HTTP mode", http.port);
    assert!(!http.log_text().contains("has not ended"), "{}", http.log_text());
    drop(http);
    let Some(nginx) = crate::front_ends::nginx::start_with(&args, &env, true) else { return };
    compare(framework, "nginx", &expected, &transcript(framework, nginx.port));
    double_slash_is_a_404(framework, "nginx", nginx.port);
    assert!(!nginx.gateway_log().contains("has not ended"), "{}", nginx.gateway_log());
}

#[test]
fn flask_answers_as_under_wsgiref() {
    matches_wsgiref(&FRAMEWORKS[0]);
}

#[test]
fn django_answers_as_under_wsgiref() {
    matches_wsgiref(&FRAMEWORKS[1]);
}

#[test]
fn pyramid_answers_as_under_wsgiref() {
    matches_wsgiref(&FRAMEWORKS[2]);
}

#[test]
fn bottle_answers_as_under_wsgiref() {
    matches_wsgiref(&FRAMEWORKS[3]);
}

#[test]
fn falcon_answers_as_under_wsgiref() {
    matches_wsgiref(&FRAMEWORKS[4]);
}

/// Django's DEBUG page for a view that raises keeps the traceback (and so
/// the request's objects) alive: the response must end all the same.
#[test]
fn djangos_technical_500_ends_and_the_instance_serves_on() {
    let Some(venv) = test_venv() else { return };
    let dir = tempfile::tempdir().unwrap();
    let framework = &FRAMEWORKS[1];
    let env = app_env(framework, &django_db(&venv, dir.path()));
    let emulator = Emulator::site_dir(&site(&venv, framework, &env, true, dir.path()), &[]);
    for _ in 0..2 {
        let boom = emulator.get("/boom");
        let text = String::from_utf8_lossy(&boom.body);
        assert_eq!(boom.status, 500);
        assert!(text.contains("RuntimeError at /boom") && text.contains("the view failed on purpose"), "{text}");
        let hello = seen("GET /hello", &emulator.get("/hello"));
        assert_eq!(hello.body, "hello from django\n");
    }
}

/// Django behind the classic URL Rewrite rule (every URL rewritten to the
/// FastCGI handler's `handler.fcgi/{R:1}`): the gateway gives Django the
/// URL the browser asked for, so the admin's login, its CSRF check and
/// its redirects work as without the rule.
#[test]
fn django_admin_logs_in_behind_url_rewrite() {
    let Some(venv) = test_venv() else { return };
    let dir = tempfile::tempdir().unwrap();
    let framework = &FRAMEWORKS[1];
    let env = app_env(framework, &django_db(&venv, dir.path()));
    let site = site(&venv, framework, &env, false, dir.path());
    let config = std::fs::read_to_string(site.join("web.config")).unwrap();
    let rules = r#"<rewrite>
      <rules>
        <rule name="Configure Python" stopProcessing="true">
          <match url="(.*)" ignoreCase="false" />
          <conditions>
            <add input="{REQUEST_FILENAME}" matchType="IsFile" negate="true" />
          </conditions>
          <action type="Rewrite" url="handler.fcgi/{R:1}" appendQueryString="true" />
        </rule>
      </rules>
    </rewrite>
    <fastCgi>"#;
    let rewritten = config.replace(r#"path="*""#, r#"path="handler.fcgi""#).replace("<fastCgi>", rules);
    assert_ne!(config, rewritten);
    std::fs::write(site.join("web.config"), rewritten).unwrap();
    let emulator = Emulator::site_dir(&site, &[]);
    let seen = django_admin_login(emulator.port);
    assert!(seen[1].status.starts_with("200"), "the login form: {:?}", seen[1]);
    assert!(seen[2].status.starts_with("302"), "the login POST redirects: {:?}", seen[2]);
    let log = emulator.log("access.log");
    assert!(log.contains(" POST /admin/login/ next=/admin/ "), "{log}");
}
