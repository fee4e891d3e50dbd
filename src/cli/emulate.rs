//! `iiswsgi emulate`: run a site in the IIS emulator (crate
//! `iiswsgi-emulator`), which starts `iiswsgi serve` (or whatever the
//! site's FastCGI applications name) the way IIS would.

use anyhow::Context as _;
use clap::{Args, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone, Args)]
#[command(group(clap::ArgGroup::new("config").required(true).args(["site", "apphost"])))]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct EmulateArgs {
    #[command(subcommand)]
    pub tool: Option<EmulateTool>,
    /// A site folder with a web.config; the rest of IIS's configuration is
    /// synthesized (a FastCGI application running this `iiswsgi serve`
    /// unless the web.config's `<fastCgi>` names others).
    #[arg(long, value_name = "DIR")]
    pub site: Option<PathBuf>,
    /// An applicationHost.config (IIS or IIS Express) to serve a site of.
    #[arg(long, value_name = "FILE", conflicts_with = "site")]
    pub apphost: Option<PathBuf>,
    /// The site to serve from `--apphost` (default: its first site).
    #[arg(long, value_name = "NAME", requires = "apphost")]
    pub site_name: Option<String>,
    /// Address to listen on. Loopback by default: the emulator is for
    /// local debugging and tests, not for serving a network.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Seconds a client may take to send its request headers before the
    /// connection is closed (IIS's `headerWaitTimeout`).
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub header_timeout: u64,
    /// Write the W3C access log here instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub access_log: Option<PathBuf>,
    /// Show Python tracebacks in error responses (sets WSGI_DEBUG=1 for
    /// the FastCGI processes).
    #[arg(long)]
    pub debug: bool,
    /// More log detail on stderr (repeat for more).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Clone, Subcommand)]
pub enum EmulateTool {
    /// The emulated Web Platform Installer: install a product of a WebPI
    /// feed into the emulated IIS, as WebPI and Web Deploy would.
    WebpiInstall(WebpiInstallArgs),
}

#[derive(Debug, Clone, Args)]
pub struct WebpiInstallArgs {
    /// The feed's URL (http:// or file://).
    #[arg(long, value_name = "URL")]
    pub feed: String,
    /// The entry's productId.
    #[arg(long, value_name = "ID")]
    pub product: String,
    /// A Parameters.xml value (repeat).
    #[arg(long = "param", value_name = "NAME=VALUE", value_parser = parse_param)]
    pub params: Vec<(String, String)>,
    /// The emulated IIS's applicationHost.config.
    #[arg(long, value_name = "FILE")]
    pub apphost: PathBuf,
}

fn parse_param(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_string(), value.to_string())),
        _ => Err(format!("`{text}` is not NAME=VALUE")),
    }
}

fn webpi_install(args: WebpiInstallArgs, host: &super::Host) -> anyhow::Result<()> {
    let appcmd = host.appcmd.clone();
    if !appcmd.is_file() {
        anyhow::bail!("the mock appcmd {} is missing (it comes with iiswsgi)", appcmd.display());
    }
    let options = iiswsgi_emulator::webpi::Options {
        feed: args.feed,
        product: args.product,
        params: args.params,
        apphost: std::path::absolute(&args.apphost)?,
        appcmd,
        python_home: host.python_home.clone().map(iiswsgi_emulator::old_python::PythonHome),
    };
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().context("Cannot start the async runtime")?;
    runtime.block_on(iiswsgi_emulator::webpi::install(&options)).context("The install failed")?;
    Ok(())
}

pub fn run(args: EmulateArgs, host: &super::Host) -> anyhow::Result<()> {
    if let Some(EmulateTool::WebpiInstall(install)) = args.tool {
        return webpi_install(install, host);
    }
    super::log_to_stderr(args.verbose);
    if args.debug {
        // Inherited by every FastCGI process, as a worker's environment is.
        std::env::set_var("WSGI_DEBUG", "1");
    }
    let source = match (args.site, args.apphost) {
        (Some(dir), _) => iiswsgi_emulator::Source::Site(dir),
        (None, Some(path)) => iiswsgi_emulator::Source::AppHost { path, site_name: args.site_name },
        (None, None) => anyhow::bail!("either --site or --apphost is required"),
    };
    // The synthesized FastCGI application runs the form of iiswsgi that runs here.
    let gateway =
        iiswsgi_emulator::Gateway { full_path: host.this.program.clone(), leading: host.this.leading.clone() };
    let options = iiswsgi_emulator::Options {
        source,
        listen: args.listen,
        gateway,
        access_log: args.access_log,
        header_timeout: std::time::Duration::from_secs(args.header_timeout.max(1)),
        python_home: host.python_home.clone().map(iiswsgi_emulator::old_python::PythonHome),
    };
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("Cannot start the async runtime")?;
    runtime.block_on(async {
        iiswsgi_emulator::run(options, shutdown_signal()).await.context("The emulator could not start")
    })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("shutting down");
}
