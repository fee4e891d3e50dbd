use crate::app::App;
use crate::pool::Pool;
use crate::server::{self, Context};
use crate::shutdown::Shutdown;
use crate::transport::{self, BindAddr, Detected, Listener, Mode, PeerFilter, Transport};
use anyhow::Context as _;
use clap::Args;
use iiswsgi_proto::fastcgi::Limits;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The app as `module:attr` (gunicorn's form; `attr` may be `factory()`).
    /// Without it: `--config`, else `WSGI_HANDLER` from the environment or
    /// the site's web.config, read at the first request as wfastcgi does.
    #[arg(value_name = "MODULE:ATTR")]
    pub app: Option<String>,
    /// A Paste Deploy ini file, optionally with `#name` of the app section.
    #[arg(long, value_name = "FILE.ini[#name]", conflicts_with = "app")]
    pub config: Option<String>,
    /// Serve the built-in diagnostic page instead of a Python app.
    #[arg(long, conflicts_with_all = ["app", "config"])]
    pub test_app: bool,
    /// Listen on `unix:/path` or `host:port` instead of using stdin.
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<BindAddr>,
    /// Application threads. Default: 1 under IIS (it sends one request at
    /// a time), else 8.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub threads: Option<u32>,
    /// The virtual environment to run in. Default: `VIRTUAL_ENV`, else the
    /// Python iiswsgi was built against.
    #[arg(long, value_name = "DIR")]
    pub venv: Option<PathBuf>,
    /// Change to this directory before loading the app.
    #[arg(long, value_name = "DIR")]
    pub chdir: Option<PathBuf>,
    /// Extra `sys.path` entries, separated by `;` or the OS path separator;
    /// `%VAR%` is expanded.
    #[arg(long, value_name = "PATHS")]
    pub pythonpath: Option<String>,
    /// Strip this prefix from PATH_INFO and use it as SCRIPT_NAME (default:
    /// the `SCRIPT_NAME` environment variable or appSetting).
    #[arg(long, value_name = "PREFIX")]
    pub script_name: Option<String>,
    /// Log file. Default: `WSGI_LOG`, else iiswsgi.log in the temp folder.
    #[arg(long, value_name = "FILE")]
    pub log_file: Option<PathBuf>,
    /// More log detail (repeat for more).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Less log detail (repeat for less).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub quiet: u8,
    /// Show tracebacks to clients (also `WSGI_DEBUG=1`).
    #[arg(long)]
    pub debug: bool,
    /// Largest FastCGI PARAMS block accepted per request, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 1024 * 1024)]
    pub max_params: usize,
    /// Connections served at once in listen-socket and bind modes.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub max_conns: u32,
    /// Seconds a graceful stop (SIGTERM, Ctrl-C, IIS's shutdown event, a
    /// restart on change) waits for requests in flight; then it logs and
    /// abandons them and exits 0. The default is 5 s below the 30 s of
    /// signalBeforeTerminateSeconds that `iiswsgi enable` registers, after
    /// which IIS kills the process.
    #[arg(long, value_name = "SECONDS", default_value_t = 25, env = "IISWSGI_GRACEFUL_TIMEOUT")]
    pub graceful_timeout: u64,
    /// Permissions of the socket file `--bind unix:` creates (octal).
    #[arg(long, value_name = "MODE", default_value = "600", value_parser = parse_mode)]
    pub socket_mode: u32,
}

fn parse_mode(text: &str) -> Result<u32, String> {
    u32::from_str_radix(text, 8).map_err(|_| format!("`{text}` is not an octal mode like 600"))
}

/// Where requests come from, decided before the interpreter starts so that
/// a misconfigured process fails fast.
pub enum Source {
    Iis(transport::IisChannel),
    Listener(Listener),
    Bind(BindAddr, PeerFilter),
}

impl Source {
    pub fn mode(&self) -> Mode {
        match self {
            Source::Iis(_) => Mode::Iis,
            Source::Listener(_) => Mode::ListenSocket,
            Source::Bind(..) => Mode::Bind,
        }
    }
}

/// Everything `serve` resolved before the interpreter starts.
pub struct Prepared {
    pub args: ServeArgs,
    pub source: Source,
    pub debug: bool,
    /// An app object the host Python loaded (Paste Deploy's entry points),
    /// served instead of one named on the command line.
    #[cfg(feature = "python")]
    pub app_object: Option<std::sync::Arc<pyo3::Py<pyo3::PyAny>>>,
}

impl Prepared {
    /// Whether `main` must start the embedded interpreter.
    pub fn needs_python(&self) -> bool {
        !self.args.test_app
    }

    pub fn threads(&self) -> usize {
        self.args.threads.map(|t| t as usize).unwrap_or(if self.source.mode() == Mode::Iis { 1 } else { 8 })
    }
}

/// Steps that need no interpreter: working directory, log, transport.
pub fn prepare(args: ServeArgs) -> anyhow::Result<Prepared> {
    if let Some(dir) = &args.chdir {
        std::env::set_current_dir(dir).with_context(|| format!("Cannot change directory to `{}`", dir.display()))?;
    }
    let filter = PeerFilter::from_env()?;
    let source = match &args.bind {
        Some(addr) => Source::Bind(addr.clone(), filter),
        None => match transport::detect(filter)? {
            Detected::Iis(channel) => Source::Iis(channel),
            Detected::ListenSocket(listener) => Source::Listener(listener),
        },
    };
    let log_path = args.log_file.clone().unwrap_or_else(crate::logging::default_path);
    let verbosity = args.verbose as i8 - args.quiet as i8;
    // Under IIS stderr is an invalid handle and routine output must never
    // reach FCGI_STDERR, so the log goes to the file alone.
    crate::logging::init(&log_path, verbosity, source.mode() != Mode::Iis)?;
    let debug = args.debug || std::env::var("WSGI_DEBUG").is_ok_and(|v| is_truthy(&v));
    Ok(Prepared {
        args,
        source,
        debug,
        #[cfg(feature = "python")]
        app_object: None,
    })
}

pub fn is_truthy(value: &str) -> bool {
    matches!(value.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on")
}

/// Builds the app (the interpreter, if needed, is already running) and
/// serves until shutdown.
pub fn run(prepared: Prepared) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("Cannot start the async runtime")?;
    runtime.block_on(serve(prepared))
}

async fn serve(prepared: Prepared) -> anyhow::Result<()> {
    let shutdown = Shutdown::new();
    shutdown.listen_for_signals().context("Cannot install signal handlers")?;
    shutdown
        .abandon_after(std::time::Duration::from_secs(prepared.args.graceful_timeout))
        .context("Cannot start the graceful-stop deadline")?;
    #[cfg(windows)]
    transport::watch_shutdown_event(shutdown.clone());
    let mode = prepared.source.mode();
    let threads = prepared.threads();
    let app = build_app(&prepared, mode, threads, &shutdown)?;
    tracing::info!(
        "iiswsgi {} serving {} with {threads} thread(s), pid {}",
        env!("CARGO_PKG_VERSION"),
        app.describe(),
        std::process::id()
    );
    let (max_conns, max_reqs) = match mode {
        Mode::Iis => (1, 1),
        _ => (prepared.args.max_conns, threads as u32),
    };
    let limits = Limits { max_conns, max_reqs, max_params_len: prepared.args.max_params };
    #[cfg(unix)]
    let prepared = {
        let mut prepared = prepared;
        if let Source::Iis(channel) = &mut prepared.source {
            if let Some(stream) = channel.take_unix() {
                tracing::info!("transport: {} (served on the application thread)", channel.describe());
                let served = tokio::task::spawn_blocking(move || server::direct::run(stream, app, limits, shutdown));
                served.await.context("The application thread failed")?;
                tracing::info!("stopped");
                return Ok(());
            }
        }
        prepared
    };
    let pool = Pool::start(app, threads).context("Cannot start application threads")?;
    let context = Arc::new(Context { pool, limits, shutdown });
    match prepared.source {
        Source::Iis(channel) => run_transport(channel, context).await,
        Source::Listener(listener) => run_transport(listener, context).await,
        Source::Bind(addr, filter) => {
            let listener = Listener::bind(&addr, filter, prepared.args.socket_mode).await?;
            run_transport(listener, context).await
        }
    }
}

async fn run_transport<T: Transport>(transport: T, context: Arc<Context>) -> anyhow::Result<()> {
    tracing::info!("transport: {}", transport.describe());
    server::run(transport, context.clone()).await.context("Serving failed")?;
    tracing::info!("stopped");
    Ok(())
}

fn build_app(prepared: &Prepared, mode: Mode, threads: usize, shutdown: &Shutdown) -> anyhow::Result<Arc<dyn App>> {
    if prepared.args.test_app {
        return Ok(Arc::new(crate::test_app::TestApp));
    }
    #[cfg(feature = "python")]
    {
        let spec = match &prepared.app_object {
            Some(app) => crate::wsgi::AppSpec::Object(app.clone()),
            None => crate::wsgi::AppSpec::from_args(prepared.args.app.as_deref(), prepared.args.config.as_deref())?,
        };
        let settings = crate::wsgi::Settings {
            spec,
            debug: prepared.debug,
            iis: mode == Mode::Iis,
            multithread: threads > 1,
            multiprocess: mode != Mode::Bind,
            pythonpath: prepared.args.pythonpath.clone(),
            script_name: prepared.args.script_name.clone(),
            watch_by_default: mode != Mode::Bind,
        };
        Ok(Arc::new(crate::wsgi::WsgiApp::new(settings, shutdown.clone())?))
    }
    #[cfg(not(feature = "python"))]
    {
        let _ = (mode, threads, shutdown);
        anyhow::bail!("This iiswsgi was built without Python (feature `python`); only `--test-app` is available")
    }
}

/// `(name, takes_a_value)` of every `serve` option, from its definition.
pub fn options() -> Vec<(String, bool)> {
    use clap::Args as _;
    let command = ServeArgs::augment_args(clap::Command::new("serve"));
    command
        .get_arguments()
        .filter_map(|arg| Some((arg.get_long()?.to_string(), arg.get_action().takes_values())))
        .collect()
}

/// `serve` with `argv` (`iiswsgi serve ...`) for an app object a host
/// Python loaded: Paste Deploy's `egg:iiswsgi#iis` server. The exit status,
/// errors printed as [`super::main`] prints them.
#[cfg(feature = "python")]
pub fn main_with_app(argv: Vec<String>, host: &super::Host, app: pyo3::Py<pyo3::PyAny>) -> u8 {
    use clap::Parser as _;
    let run = || -> anyhow::Result<()> {
        let cli = super::Cli::try_parse_from(argv)?;
        let super::Command::Serve(args) = cli.command else {
            anyhow::bail!("expected the arguments of `iiswsgi serve`")
        };
        if args.app.is_some() || args.config.is_some() || args.test_app {
            anyhow::bail!("the app comes from the Paste Deploy config: no MODULE:ATTR, --config or --test-app");
        }
        let mut prepared = prepare(args)?;
        prepared.app_object = Some(std::sync::Arc::new(app));
        host.start_python(prepared.args.venv.as_deref())?;
        run(prepared)
    };
    super::report(run())
}
