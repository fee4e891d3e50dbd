use crate::app::App;
use crate::http::module::Module;
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
    /// Listen on `unix:/path` or `host:port` (FastCGI), or on
    /// `http://host:port` (HTTP/1.1), instead of using stdin. Under IIS's
    /// HttpPlatformHandler or ASP.NET Core Module (HTTP_PLATFORM_PORT or
    /// ASPNETCORE_PORT set) the default is HTTP on 127.0.0.1 at that port.
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
    /// HTTP mode: most request headers (more is a 431).
    #[arg(long, value_name = "N", default_value_t = crate::http::DEFAULT_MAX_HEADERS)]
    pub max_headers: usize,
    /// HTTP mode: most bytes of request line and headers (more is a 431).
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024)]
    pub max_header_bytes: usize,
    /// HTTP mode: most request body bytes (a larger one is a 413, or cut
    /// off when chunked). Default: no limit (IIS's requestFiltering limits
    /// bodies in front of the module, 30,000,000 bytes by default).
    #[arg(long, value_name = "BYTES")]
    pub max_body: Option<u64>,
    /// HTTP mode: seconds a client may take to send its request headers.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub header_timeout: u64,
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
    /// HTTP on `host:port`, with what the IIS module (if any) asks.
    Http(String, Module),
}

impl Source {
    pub fn mode(&self) -> Mode {
        match self {
            Source::Iis(_) => Mode::Iis,
            Source::Listener(_) => Mode::ListenSocket,
            Source::Bind(..) => Mode::Bind,
            Source::Http(..) => Mode::Http,
        }
    }

    /// The IIS module that started this process, in HTTP mode.
    fn module(&self) -> Option<&Module> {
        match self {
            Source::Http(_, module) => Some(module).filter(|m| m.kind.is_some()),
            _ => None,
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
    let (module, module_port) = Module::from_env()?;
    let source = match (&args.bind, module_port) {
        (Some(BindAddr::Http(addr)), _) => Source::Http(addr.clone(), module),
        (Some(addr), _) => Source::Bind(addr.clone(), filter),
        (None, Some(port)) => Source::Http(format!("127.0.0.1:{port}"), module),
        (None, None) => match transport::detect(filter)? {
            Detected::Iis(channel) => Source::Iis(channel),
            Detected::ListenSocket(listener) => Source::Listener(listener),
        },
    };
    let verbosity = args.verbose as i8 - args.quiet as i8;
    match log_file(&args, source.module().is_some()) {
        // Under IIS stderr is an invalid handle and routine output must
        // never reach FCGI_STDERR, so the log goes to the file alone.
        Some(path) => crate::logging::init(&path, verbosity, source.mode() != Mode::Iis)?,
        // Under an HTTP module without a log file: stdout, which the
        // module's stdoutLogFile captures.
        None => crate::logging::init_stdout(verbosity),
    }
    let debug = args.debug || std::env::var("WSGI_DEBUG").is_ok_and(|v| is_truthy(&v));
    Ok(Prepared {
        args,
        source,
        debug,
        #[cfg(feature = "python")]
        app_object: None,
    })
}

/// The log file: `--log-file`, else `WSGI_LOG` (the environment's, or
/// under an HTTP module the site's web.config's, read before anything is
/// logged), else iiswsgi.log in the temp folder, except under an HTTP
/// module, which captures stdout instead (`None`).
fn log_file(args: &ServeArgs, under_http_module: bool) -> Option<PathBuf> {
    if let Some(path) = &args.log_file {
        return Some(path.clone());
    }
    if !under_http_module {
        return Some(crate::logging::default_path());
    }
    std::env::var_os("WSGI_LOG").filter(|v| !v.is_empty()).map(PathBuf::from).or_else(|| {
        let text = std::fs::read_to_string("web.config").ok()?;
        let settings = iiswsgi_proto::iis::app_settings(&text).ok()?;
        settings.into_iter().find(|(key, _)| key == "WSGI_LOG").map(|(_, value)| PathBuf::from(value))
    })
}

pub fn is_truthy(value: &str) -> bool {
    matches!(value.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on")
}

/// Builds the app (the interpreter, if needed, is already running) and
/// serves until shutdown.
pub fn run(prepared: Prepared) -> anyhow::Result<()> {
    // One I/O thread: the app threads, not parsing, are the limit (they
    // share one GIL), and a second only spread the hand-offs over more
    // threads. In HTTP mode, where the I/O thread also makes every TCP
    // send and receive, a second took 7-10 % more requests/s while the
    // CGI variables and the response head were still made there; since
    // they are made on the application threads it gains nothing with 4
    // of them, and with one it costs a fifth (README, "Benchmarks").
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
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
                let served =
                    tokio::task::spawn_blocking(move || server::direct::iis::run(stream, app, limits, shutdown));
                served.await.context("The application thread failed")?;
                tracing::info!("stopped");
                return Ok(());
            }
        }
        prepared
    };
    #[cfg(target_os = "linux")]
    let prepared = {
        let mut prepared = prepared;
        match prepared.source {
            Source::Listener(listener) => return serve_on_app_threads(listener, app, threads, limits, shutdown).await,
            Source::Bind(addr, filter) => {
                let listener = Listener::bind(&addr, filter, prepared.args.socket_mode).await?;
                return serve_on_app_threads(listener, app, threads, limits, shutdown).await;
            }
            other => prepared.source = other,
        }
        prepared
    };
    if let Source::Http(addr, module) = prepared.source {
        let pool = Pool::start(app, threads).context("Cannot start application threads")?;
        return serve_http(&addr, module, &prepared.args, pool, shutdown).await;
    }
    let pool = Pool::start(app, threads).context("Cannot start application threads")?;
    let context = Arc::new(Context { pool, limits, shutdown });
    match prepared.source {
        Source::Iis(channel) => run_transport(channel, context).await,
        Source::Listener(listener) => run_transport(listener, context).await,
        Source::Bind(addr, filter) => {
            let listener = Listener::bind(&addr, filter, prepared.args.socket_mode).await?;
            run_transport(listener, context).await
        }
        Source::Http(..) => Ok(()),
    }
}

/// Bind and listen-socket modes on Linux: the application threads take
/// the connections themselves (see [`server::direct::reactor`]).
#[cfg(target_os = "linux")]
async fn serve_on_app_threads(
    mut listener: Listener,
    app: Arc<dyn App>,
    threads: usize,
    limits: Limits,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    tracing::info!("transport: {} (served on the application threads)", listener.describe());
    let socket = listener.take_std()?.context("The listening socket is gone")?;
    let served =
        tokio::task::spawn_blocking(move || server::direct::reactor::run(socket, app, threads, limits, shutdown));
    served.await.context("The application threads failed")?.context("Serving failed")?;
    // Only now: dropping the listener removes its socket file.
    drop(listener);
    tracing::info!("stopped");
    Ok(())
}

async fn serve_http(
    addr: &str,
    module: Module,
    args: &ServeArgs,
    pool: Pool<crate::http::exchange::HttpJob>,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let listener =
        tokio::net::TcpListener::bind(addr).await.with_context(|| format!("Cannot listen on http://{addr}"))?;
    let local = listener.local_addr().with_context(|| format!("Cannot listen on http://{addr}"))?;
    let under = module.kind.map(|kind| format!(" for {}", kind.name())).unwrap_or_default();
    tracing::info!("transport: HTTP, listening on http://{local}{under}");
    let limits = crate::http::Limits {
        max_headers: args.max_headers,
        max_header_bytes: args.max_header_bytes,
        max_body: args.max_body,
        header_timeout: std::time::Duration::from_secs(args.header_timeout.max(1)),
        max_conns: args.max_conns as usize,
    };
    let context = Arc::new(crate::http::Context { pool, shutdown, module: Arc::new(module), limits });
    crate::http::run(listener, context).await.context("Serving failed")?;
    tracing::info!("stopped");
    Ok(())
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
        let module = prepared.source.module();
        let settings = crate::wsgi::Settings {
            spec,
            debug: prepared.debug,
            iis: mode == Mode::Iis,
            multithread: threads > 1,
            multiprocess: !matches!(mode, Mode::Bind | Mode::Http),
            pythonpath: prepared.args.pythonpath.clone(),
            // The IIS application's path, as the module gives it.
            script_name: prepared.args.script_name.clone().or_else(|| module.and_then(|m| m.appl_path.clone())),
            // Under IIS something restarts the process; behind a plain
            // proxy nothing would.
            watch_by_default: match mode {
                Mode::Bind => false,
                Mode::Http => module.is_some(),
                _ => true,
            },
            // The folder the module starts the process in is the site's.
            site_dir: module.and_then(|_| std::env::current_dir().ok()),
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
