//! `iiswsgi doctor`: checks a site's configuration, program and app the
//! way IIS will meet them, and prints each problem with its fix.

use crate::doctor::{self, Finding, Target};
use anyhow::Context as _;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Clone, Args)]
pub struct DoctorArgs {
    /// A site folder with its web.config (IIS's own configuration is then
    /// not at hand: what only applicationHost.config shows is a warning).
    #[arg(long, value_name = "DIR", conflicts_with = "apphost")]
    pub site: Option<PathBuf>,
    /// An applicationHost.config (a server's, or a copy of it).
    #[arg(long, value_name = "FILE")]
    pub apphost: Option<PathBuf>,
    /// The site in `--apphost` (default: every site).
    #[arg(long, value_name = "NAME")]
    pub site_name: Option<String>,
    /// The application's URL path in the site (default: `/`).
    #[arg(long, value_name = "PATH")]
    pub app: Option<String>,
    /// Another URL path whose handler to check (repeat).
    #[arg(long = "url", value_name = "PATH")]
    pub urls: Vec<String>,
    /// Also show the answer to `GET` of the application's URL: status,
    /// headers and the first bytes of the body.
    #[arg(long)]
    pub request: bool,
    /// Check that this user (the one the web server runs the app as) can
    /// read the program, venv and site and write WSGI_LOG's folder; as
    /// root, Linux only.
    #[arg(long, value_name = "NAME")]
    pub as_user: Option<String>,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub appcmd: super::project_args::AppcmdArgs,
    /// Log on stderr what the checks do (repeat for more).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// The sites to examine: `--site`, `--apphost` (one site or all), or the
/// applicationHost.config the server's appcmd edits.
fn sources(args: &DoctorArgs) -> anyhow::Result<Vec<iiswsgi_emulator::Source>> {
    use iiswsgi_emulator::Source;
    if let Some(dir) = &args.site {
        return Ok(vec![Source::Site(dir.clone())]);
    }
    let path = match &args.apphost {
        Some(path) => path.clone(),
        None => {
            let appcmd = args.appcmd.locate().context("No --site or --apphost, and no appcmd to ask")?;
            appcmd.app_host_config().context("appcmd does not say which applicationHost.config it edits")?
        }
    };
    if args.site_name.is_some() {
        return Ok(vec![Source::AppHost { path, site_name: args.site_name.clone() }]);
    }
    let text = std::fs::read_to_string(&path).with_context(|| format!("Cannot read {}", path.display()))?;
    let names: Vec<String> = match iiswsgi_proto::iis::ApplicationHost::parse(&text) {
        Ok(host) => host.sites.into_iter().map(|s| s.name).collect(),
        // The doctor reports the error with its line.
        Err(_) => vec![String::new()],
    };
    Ok(names
        .into_iter()
        .map(|name| Source::AppHost { path: path.clone(), site_name: Some(name).filter(|n| !n.is_empty()) })
        .collect())
}

fn title(source: &iiswsgi_emulator::Source) -> String {
    match source {
        iiswsgi_emulator::Source::Site(dir) => format!("site folder {}", dir.display()),
        iiswsgi_emulator::Source::AppHost { path, site_name } => {
            format!("site \"{}\" of {}", site_name.as_deref().unwrap_or("(first)"), path.display())
        }
    }
}

/// Runs the checks; exit status 1 when any is an error.
pub fn run(args: DoctorArgs, host: &super::Host) -> anyhow::Result<u8> {
    // The findings are the output; the emulator's start-up lines only with -v.
    super::log_to_stderr_above("warn", args.verbose);
    let app = args.app.clone().unwrap_or_else(|| "/".into());
    let urls: Vec<String> = std::iter::once(app).chain(args.urls.iter().cloned()).collect();
    let gateway =
        iiswsgi_emulator::Gateway { full_path: host.this.program.clone(), leading: host.this.leading.clone() };
    let mut reports: Vec<(String, Vec<Finding>)> = Vec::new();
    for source in sources(&args)? {
        let target = Target {
            source,
            urls: urls.clone(),
            show_request: args.request,
            gateway: gateway.clone(),
            as_user: args.as_user.clone(),
        };
        reports.push((title(&target.source), doctor::examine(&target)));
    }
    let healthy = reports.iter().all(|(_, findings)| doctor::healthy(findings));
    if args.json {
        let sites: Vec<_> = reports
            .iter()
            .map(|(name, findings)| {
                let results: Vec<_> = findings.iter().map(Finding::to_json).collect();
                serde_json::json!({ "site": name, "results": results })
            })
            .collect();
        let all = serde_json::json!({ "healthy": healthy, "sites": sites });
        println!("{}", serde_json::to_string_pretty(&all).context("Cannot write JSON")?);
    } else {
        for (name, findings) in &reports {
            println!("{name}");
            for finding in findings {
                println!("{finding}");
            }
        }
        let errors = reports.iter().flat_map(|(_, f)| f).filter(|f| f.status == doctor::Status::Error).count();
        println!("{}", if healthy { "no errors".to_string() } else { format!("{errors} error(s)") });
    }
    Ok(if healthy { 0 } else { 1 })
}
