//! `iiswsgi test-msdeploy`: load the app as `serve` would and make one
//! request through the gateway, in this process. A 5xx or a failure to
//! load exits non-zero and prints the status and body.

use super::project_args::ProjectArgs;
use anyhow::Context as _;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Clone, Args)]
pub struct TestMsdeployArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// The app as `module:attr` (default: from the project or its web.config).
    #[arg(value_name = "MODULE:ATTR")]
    pub app: Option<String>,
    /// A Paste Deploy ini file.
    #[arg(long, value_name = "FILE.ini[#name]", conflicts_with = "app")]
    pub config: Option<String>,
    /// The path (and query) to request.
    #[arg(long, value_name = "PATH", default_value = "/")]
    pub url: String,
    /// The virtual environment to run in (default: `VIRTUAL_ENV`).
    #[arg(long, value_name = "DIR")]
    pub venv: Option<PathBuf>,
}

/// Where the app to test comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    Spec {
        app: Option<String>,
        config: Option<String>,
    },
    /// WSGI_HANDLER from the written web.config, read as under IIS.
    WebConfig,
    Nothing,
}

/// The app named on the command line, in `[tool.iiswsgi]` (or setup.cfg's
/// `[test_msdeploy] config_file`), in web.config's appSettings, or in the
/// `serve` arguments of its fastCgi application.
pub fn choose(args: &TestMsdeployArgs, project: &crate::project::Project) -> anyhow::Result<Choice> {
    if args.app.is_some() || args.config.is_some() {
        return Ok(Choice::Spec { app: args.app.clone(), config: args.config.clone() });
    }
    let tool = &project.metadata.tool;
    if tool.app.is_some() || tool.config.is_some() {
        let config = tool.config.as_ref().map(|c| project.dir.join(c).to_string_lossy().into_owned());
        return Ok(Choice::Spec { app: tool.app.clone(), config });
    }
    let web_config = project.dir.join("web.config");
    if !web_config.is_file() {
        return Ok(Choice::Nothing);
    }
    let text = std::fs::read_to_string(&web_config).with_context(|| format!("Cannot read {}", web_config.display()))?;
    let parsed = iiswsgi_proto::iis::WebConfig::parse(&text)
        .map_err(|e| anyhow::anyhow!("{}:{}: {}", web_config.display(), e.line, e.message))?;
    if parsed.app_settings.iter().any(|(k, _)| k == "WSGI_HANDLER") {
        return Ok(Choice::WebConfig);
    }
    for application in parsed.fastcgi.unwrap_or_default() {
        if let Some(choice) = from_serve_arguments(&application.arguments) {
            return Ok(choice);
        }
    }
    Ok(Choice::Nothing)
}

/// `serve [--config INI] [MODULE:ATTR] ...` as a FastCGI application's arguments.
fn from_serve_arguments(arguments: &str) -> Option<Choice> {
    let words = iiswsgi_proto::iis::split_arguments(arguments);
    let serve = words.iter().position(|w| w == "serve")?;
    let (mut app, mut config) = (None, None);
    let mut rest = words[serve + 1..].iter();
    // Options of `serve` that take a value, so that value is not the app.
    let valued: Vec<String> = super::serve::options()
        .into_iter()
        .filter(|(_, valued)| *valued)
        .map(|(name, _)| format!("--{name}"))
        .collect();
    while let Some(word) = rest.next() {
        match word.as_str() {
            "--config" => config = rest.next().cloned(),
            w if w.starts_with("--config=") => config = Some(w["--config=".len()..].to_string()),
            w if valued.iter().any(|v| v == w) => {
                rest.next();
            }
            w if w.starts_with('-') => {}
            w if app.is_none() && w.contains(':') => app = Some(w.to_string()),
            _ => {}
        }
    }
    (app.is_some() || config.is_some()).then_some(Choice::Spec { app, config })
}

#[cfg(feature = "python")]
pub fn run(args: TestMsdeployArgs, project: crate::project::Project, choice: Choice) -> anyhow::Result<()> {
    use crate::app::App;
    use crate::request::{Output, Params, Request};
    let (spec, lazy) = match choice {
        Choice::Nothing => {
            eprintln!("warning: {} names no app (no --config, [tool.iiswsgi] app or config, WSGI_HANDLER or serve arguments); not tested", project.dir.display());
            return Ok(());
        }
        Choice::WebConfig => (crate::wsgi::AppSpec::from_args(None, None)?, true),
        Choice::Spec { app, config } => (crate::wsgi::AppSpec::from_args(app.as_deref(), config.as_deref())?, false),
    };
    std::env::set_current_dir(&project.dir).with_context(|| format!("Cannot change to {}", project.dir.display()))?;
    let settings = crate::wsgi::Settings {
        spec,
        debug: true,
        iis: false,
        multithread: false,
        multiprocess: false,
        pythonpath: None,
        script_name: None,
        watch_by_default: false,
        site_dir: None,
    };
    let app = crate::wsgi::WsgiApp::new(settings, crate::shutdown::Shutdown::new())?;
    let (path, query) = args.url.split_once('?').unwrap_or((&args.url, ""));
    let dir = project.dir.to_string_lossy().into_owned();
    let mut pairs: Vec<(&str, &str)> = vec![
        ("REQUEST_METHOD", "GET"),
        ("PATH_INFO", path),
        ("QUERY_STRING", query),
        ("SCRIPT_NAME", ""),
        ("SERVER_NAME", "localhost"),
        ("SERVER_PORT", "80"),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("REMOTE_ADDR", "127.0.0.1"),
        ("CONTENT_LENGTH", "0"),
        ("HTTP_HOST", "localhost"),
    ];
    if lazy {
        pairs.push(("APPL_PHYSICAL_PATH", &dir));
    }
    let params = Params::from_pairs(pairs.iter().map(|(k, v)| (k.as_bytes(), v.as_bytes())));
    let label = crate::request::label(&params, "test-msdeploy");
    let (request, channels) = Request::new(params, label, false);
    let mut output = channels.output;
    let worker = std::thread::spawn(move || {
        let mut pending = Some(request);
        app.run_thread(&mut || pending.take());
    });
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    while let Some(chunk) = output.blocking_recv() {
        match chunk {
            Output::Stdout(bytes) => stdout.extend_from_slice(&bytes),
            Output::Stderr(bytes) => stderr.extend_from_slice(&bytes),
        }
    }
    worker.join().map_err(|_| anyhow::anyhow!("the application thread panicked"))?;
    report(&args.url, &stdout, &stderr)
}

#[cfg(not(feature = "python"))]
pub fn run(_: TestMsdeployArgs, _: crate::project::Project, _: Choice) -> anyhow::Result<()> {
    anyhow::bail!("This iiswsgi was built without Python (feature `python`); test-msdeploy needs it")
}

/// Prints the outcome; a 5xx or anything on stderr is a failure.
#[cfg(any(feature = "python", test))]
fn report(url: &str, stdout: &[u8], stderr: &[u8]) -> anyhow::Result<()> {
    let text = String::from_utf8_lossy(stdout);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .lines()
        .find_map(|l| l.strip_prefix("Status:"))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "(no status)".to_string());
    let code: u16 = status.split_whitespace().next().and_then(|c| c.parse().ok()).unwrap_or(500);
    if code >= 500 || !stderr.is_empty() {
        let snippet: String = body.chars().take(2000).collect();
        anyhow::bail!("GET {url} answered {status}\n{snippet}{}", String::from_utf8_lossy(stderr));
    }
    println!("test-msdeploy: GET {url} answered {status} ({} body bytes)", body.len());
    Ok(())
}

/// The project for `args`, loaded before the interpreter starts.
pub fn prepare(args: &TestMsdeployArgs) -> anyhow::Result<(crate::project::Project, Choice)> {
    let project = args.project.load()?;
    let choice = choose(args, &project)?;
    Ok((project, choice))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serve_arguments_name_the_app() {
        assert_eq!(
            from_serve_arguments(r#"serve --config "C:\site\app.ini""#),
            Some(Choice::Spec { app: None, config: Some(r"C:\site\app.ini".into()) })
        );
        assert_eq!(
            from_serve_arguments("serve -v app:application"),
            Some(Choice::Spec { app: Some("app:application".into()), config: None })
        );
        assert_eq!(
            from_serve_arguments(r#"serve --chdir "C:\site" app:application"#),
            Some(Choice::Spec { app: Some("app:application".into()), config: None })
        );
        assert_eq!(from_serve_arguments("serve"), None);
    }

    #[test]
    fn five_hundreds_fail() {
        assert!(report("/", b"Status: 200 OK\r\n\r\nhi", b"").is_ok());
        let err = report("/", b"Status: 500 Internal Server Error\r\n\r\nboom", b"").unwrap_err().to_string();
        assert!(err.contains("500 Internal Server Error") && err.contains("boom"), "{err}");
    }
}
