//! An IIS emulator: serves a site the way IIS and its FastCGI module
//! would, so that the gateway is tested end to end on Linux and a site can
//! be debugged locally with one command.
//!
//! Map of the crate, outside in:
//! - [`run`]: load the site, listen, serve until shutdown.
//! - `http`: hyper front, routing to a handler, access log.
//! - [`site`], `web_configs`: applications, virtual directories, the handler
//!   list at each URL (the configuration model itself is in
//!   `iiswsgi_proto::iis`).
//! - `fastcgi_handler`, `pool`, `process`: IIS's FastCgiModule.
//! - `rewrite`: URL Rewrite's inbound rules, before handler mapping.
//! - `static_files`, `error_page`, `server_vars`, `cgi_response`.
//! - [`appcmd`]: the mock `appcmd` that edits applicationHost.config.
//! - [`webpi`]: the emulated Web Platform Installer.

mod access_log;
pub mod appcmd;
mod body;
pub use iiswsgi_proto::cgi_response;
mod error;
mod error_page;
mod fastcgi_handler;
mod http;
mod http_platform;
pub mod old_python;
mod pool;
mod process;
mod rewrite;
mod server_vars;
pub mod site;
mod static_files;
mod synthesized;
mod web_configs;
pub mod webpi;

pub use error::Error;
pub use pool::AUTO_INSTANCES_PER_CPU;
pub use site::Source;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// The iiswsgi that runs the emulator: the binary, or a Python with
/// `-m iiswsgi` (`leading`), for the FastCGI applications that run
/// iiswsgi itself.
#[derive(Debug, Clone, Default)]
pub struct Gateway {
    pub full_path: PathBuf,
    pub leading: Vec<String>,
}

impl Gateway {
    /// A FastCGI `arguments` attribute running `rest` (`serve ...`).
    pub fn arguments(&self, rest: &str) -> String {
        self.leading.iter().map(String::as_str).chain([rest]).collect::<Vec<_>>().join(" ")
    }
}

/// What `iiswsgi emulate` was asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    pub source: Source,
    pub listen: SocketAddr,
    /// How to start `iiswsgi serve`, for the application synthesized in
    /// `--site` mode.
    pub gateway: Gateway,
    /// Access log file; `None` writes it to stdout.
    pub access_log: Option<PathBuf>,
    /// How long a client may take to send its request headers.
    pub header_timeout: std::time::Duration,
    /// Where an old project's Windows Python paths point (see [`old_python`]).
    pub python_home: Option<old_python::PythonHome>,
}

/// Loads the configuration (any error stops here, before listening), then
/// serves until `shutdown` resolves, and stops the FastCGI processes.
pub async fn run(options: Options, shutdown: impl std::future::Future<Output = ()>) -> Result<(), Error> {
    let site = site::Site::load(&options.source, &options.gateway)?;
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|source| Error::Listen { addr: options.listen, source })?;
    serve(site, listener, options, shutdown).await
}

/// Serves an already loaded site on `listener` (`iiswsgi doctor` sends
/// its request this way) until `shutdown` resolves.
pub async fn serve(
    site: site::Site,
    listener: tokio::net::TcpListener,
    options: Options,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), Error> {
    let out: Box<dyn std::io::Write + Send> = match &options.access_log {
        Some(path) => Box::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|source| Error::AccessLog { path: path.clone(), source })?,
        ),
        None => Box::new(std::io::stdout()),
    };
    let log =
        access_log::AccessLog::new(out).map_err(|source| Error::AccessLog { path: PathBuf::from("-"), source })?;
    let local = listener.local_addr().map_err(|source| Error::Listen { addr: options.listen, source })?;
    tracing::info!("site \"{}\" (id {}) listening on http://{local}/", site.name, site.id);
    let state = Arc::new(http::State::new(
        site,
        log,
        options.header_timeout,
        options.python_home.clone(),
        options.gateway.clone(),
    ));
    http::serve(listener, state, shutdown).await;
    Ok(())
}
