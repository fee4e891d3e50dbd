//! HttpPlatformHandler and the ASP.NET Core Module (out of process): a
//! handler whose module is `httpPlatformHandler` or `AspNetCoreModuleV2`
//! runs the process its `<httpPlatform>` or `<aspNetCore>` section names,
//! on a port of its own, and proxies HTTP to it. Per IIS application: up to
//! `processesPerApplication` processes, chosen round-robin; a process that
//! died is started again at the next request, within
//! `rapidFailsPerMinute`; ANCM's `app_offline.htm` and HttpPlatformHandler's
//! `recycleOnFileChange` stop them.
//!
//! - [`process`]: starting, readiness, stdout logs, stopping.
//! - [`proxy`]: forwarding, with the module's headers.
//! - [`page`]: ANCM's error page.

mod page;
mod process;
mod proxy;

use crate::body::Body;
use crate::error_page::IisError;
use crate::old_python::PythonHome;
use http::Response;
use hyper::body::Incoming;
use iiswsgi_proto::iis::{HttpPlatform, ModuleKind};
use process::{AppPlace, Running};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// ANCM's file that takes an application offline.
const APP_OFFLINE: &str = "app_offline.htm";
/// ANCM counts rapid failures in fixed windows of a minute.
const FAIL_WINDOW: Duration = Duration::from_secs(60);

/// One IIS application's processes.
struct Application {
    config: HttpPlatform,
    url: String,
    physical: PathBuf,
    slots: Vec<tokio::sync::Mutex<Option<Running>>>,
    next: AtomicUsize,
    /// (start of the window, failures in it).
    fails: Mutex<(Instant, u32)>,
    /// `recycleOnFileChange` files' modification times when last seen.
    watched: Mutex<Vec<Option<SystemTime>>>,
}

/// The process a request goes to.
struct Chosen {
    index: usize,
    port: u16,
    token: Option<String>,
}

/// Why no process could serve the request.
enum Unavailable {
    RapidFails,
    StartFailed(String),
}

impl Application {
    fn new(config: HttpPlatform, url: &str, physical: &Path) -> Self {
        let slots = (0..config.processes_per_application).map(|_| tokio::sync::Mutex::new(None)).collect();
        let watched = Mutex::new(Vec::new());
        let url = url.to_string();
        Self {
            config,
            url,
            physical: physical.to_path_buf(),
            slots,
            next: AtomicUsize::new(0),
            fails: Mutex::new((Instant::now(), 0)),
            watched,
        }
    }

    fn place(&self) -> AppPlace<'_> {
        AppPlace { url: &self.url, physical: &self.physical }
    }

    /// Counts a failure; false once the minute's budget is spent.
    fn record_failure(&self) -> bool {
        let mut fails = self.fails.lock().unwrap_or_else(|p| p.into_inner());
        if fails.0.elapsed() >= FAIL_WINDOW {
            *fails = (Instant::now(), 0);
        }
        fails.1 += 1;
        fails.1 <= self.config.rapid_fails_per_minute
    }

    fn over_budget(&self) -> bool {
        let fails = self.fails.lock().unwrap_or_else(|p| p.into_inner());
        fails.0.elapsed() < FAIL_WINDOW && fails.1 > self.config.rapid_fails_per_minute
    }

    /// A listening process of the next slot (round-robin), started if
    /// need be.
    async fn process(&self, python_home: Option<&PythonHome>) -> Result<Chosen, Unavailable> {
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        let mut slot = self.slots[index].lock().await;
        if let Some(running) = slot.as_mut() {
            if running.is_alive() {
                return Ok(Chosen { index, port: running.port, token: running.token.clone() });
            }
            tracing::warn!("{} process {} exited; starting another", self.config.kind.module_name(), running.pid);
            *slot = None;
            self.record_failure();
        }
        let mut last_error = String::new();
        for _ in 0..self.config.startup_attempts {
            if self.over_budget() {
                return Err(Unavailable::RapidFails);
            }
            let mut running =
                process::spawn(&self.config, &self.place(), python_home).map_err(Unavailable::StartFailed)?;
            match running.wait_until_ready(self.config.startup_time_limit).await {
                Ok(()) => {
                    let chosen = Chosen { index, port: running.port, token: running.token.clone() };
                    *slot = Some(running);
                    return Ok(chosen);
                }
                Err(err) => {
                    tracing::warn!("{err}");
                    last_error = err;
                    let _ = running.child.kill().await;
                    self.record_failure();
                }
            }
        }
        Err(Unavailable::StartFailed(last_error))
    }

    /// After a refused connection: whether the slot's process (on `port`)
    /// has died, in which case it is forgotten and counted as a failure.
    async fn lost(&self, chosen: &Chosen) -> bool {
        let mut slot = self.slots[chosen.index].lock().await;
        let Some(running) = slot.as_mut().filter(|r| r.port == chosen.port) else { return true };
        if tokio::time::timeout(Duration::from_secs(2), running.child.wait()).await.is_err() {
            return false;
        }
        tracing::warn!("{} process {} exited; starting another", self.config.kind.module_name(), running.pid);
        *slot = None;
        self.record_failure();
        true
    }

    /// Stops every process (gracefully for ANCM).
    async fn stop(&self) {
        for slot in &self.slots {
            if let Some(running) = slot.lock().await.take() {
                running.stop(&self.config, &self.url).await;
            }
        }
    }

    /// Whether a `recycleOnFileChange` file changed since the last look.
    fn files_changed(&self) -> bool {
        let now: Vec<Option<SystemTime>> = self
            .config
            .recycle_on_file_change
            .iter()
            .map(|path| {
                let path = crate::site::expand_path(path);
                let path = if path.is_relative() { self.physical.join(path) } else { path };
                std::fs::metadata(path).and_then(|m| m.modified()).ok()
            })
            .collect();
        let mut watched = self.watched.lock().unwrap_or_else(|p| p.into_inner());
        let changed = !watched.is_empty() && *watched != now;
        *watched = now;
        changed
    }
}

/// Every application's processes, for the site.
pub struct Applications {
    apps: Mutex<HashMap<String, Arc<Application>>>,
    python_home: Option<PythonHome>,
    connections: Arc<proxy::Connections>,
}

/// What the handler needs to know of the request.
pub struct Place<'a> {
    pub app_url: &'a str,
    pub app_physical: &'a Path,
    pub remote: SocketAddr,
    pub raw_path: &'a str,
    pub physical: &'a str,
    pub handler: &'a str,
}

impl Applications {
    pub fn new(python_home: Option<PythonHome>) -> Self {
        Self { apps: Mutex::new(HashMap::new()), python_home, connections: Arc::default() }
    }

    /// The application's processes; a changed section (IIS recycles on a
    /// configuration change) stops the old ones.
    async fn application(&self, config: &HttpPlatform, place: &Place<'_>) -> Arc<Application> {
        let key = format!("{}|{}", config.kind.module_name(), place.app_url.to_ascii_lowercase());
        let (app, replaced) = {
            let mut apps = self.apps.lock().unwrap_or_else(|p| p.into_inner());
            let current = apps.get(&key).filter(|app| app.config == *config).cloned();
            match current {
                Some(app) => (app, None),
                None => {
                    let app = Arc::new(Application::new(config.clone(), place.app_url, place.app_physical));
                    (app.clone(), apps.insert(key, app))
                }
            }
        };
        if let Some(old) = replaced {
            tracing::info!(
                "the <{}> section of {} changed: recycling its processes",
                config.kind.section(),
                place.app_url
            );
            old.stop().await;
        }
        app
    }

    pub async fn shutdown(&self) {
        let apps: Vec<Arc<Application>> =
            self.apps.lock().unwrap_or_else(|p| p.into_inner()).values().cloned().collect();
        for app in apps {
            app.stop().await;
        }
    }

    pub async fn serve(
        &self,
        config: &HttpPlatform,
        place: Place<'_>,
        mut request: http::Request<Incoming>,
    ) -> Response<Body> {
        let module = config.kind.module_name();
        let iis_error =
            |error: IisError| error.with_module(module, place.handler).response(place.raw_path, place.physical);
        if config.in_process() {
            let detail = format!(
                "hostingModel=\"InProcess\" loads a .NET application into the IIS worker process; {} is not one. \
                 Use hostingModel=\"OutOfProcess\", which runs it as its own process.",
                config.process_path
            );
            return page::response(500, 0, page::IN_PROCESS_FAILURE, &[], &detail);
        }
        let app = self.application(config, &place).await;
        if config.kind == ModuleKind::AspNetCore {
            if let Ok(offline) = std::fs::read(place.app_physical.join(APP_OFFLINE)) {
                app.stop().await;
                let mut response = Response::new(Body::full(offline));
                *response.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
                response.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/html"));
                return response;
            }
        }
        if app.files_changed() {
            tracing::info!("a recycleOnFileChange file of {} changed: recycling its processes", place.app_url);
            app.stop().await;
        }
        let bad_gateway = |message| iis_error(IisError { error_code: 0x8007_2ee2, ..IisError::new(502, 3, message) });
        let mut retried = false;
        let (chosen, sender) = loop {
            let chosen = match app.process(self.python_home.as_ref()).await {
                Ok(chosen) => chosen,
                Err(unavailable) => return startup_failure(config, unavailable, &iis_error),
            };
            match self.connections.get(chosen.port).await {
                Ok(sender) => break (chosen, sender),
                // A process that died since the last request: once more, with a new one.
                Err(_) if !retried && app.lost(&chosen).await => {
                    self.connections.forget(chosen.port);
                    retried = true;
                }
                Err(proxy::ProxyError(message)) => return bad_gateway(message),
            }
        };
        // The emulator listens on plain HTTP only.
        let https = false;
        proxy::forwarded_headers(request.headers_mut(), place.remote, https, chosen.token.as_deref());
        match proxy::forward(self.connections.clone(), chosen.port, sender, request, config.request_timeout).await {
            Ok(response) => response,
            Err(proxy::ProxyError(message)) => bad_gateway(message),
        }
    }
}

fn startup_failure(
    config: &HttpPlatform,
    unavailable: Unavailable,
    iis_error: &dyn Fn(IisError) -> Response<Body>,
) -> Response<Body> {
    let detail = match unavailable {
        Unavailable::RapidFails => format!(
            "The process failed more than rapidFailsPerMinute ({}) times in a minute; no new one is started until the minute is over.",
            config.rapid_fails_per_minute
        ),
        Unavailable::StartFailed(reason) => reason,
    };
    tracing::error!("{} startup failure: {detail}", config.kind.module_name());
    match config.kind {
        ModuleKind::AspNetCore if !config.disable_startup_error_page => {
            page::response(502, 5, page::STARTUP_FAILURE, page::STARTUP_SOLUTIONS, &detail)
        }
        ModuleKind::AspNetCore => {
            let mut response = Response::new(Body::empty());
            *response.status_mut() = http::StatusCode::BAD_GATEWAY;
            response.extensions_mut().insert(crate::error_page::Substatus(5));
            response
        }
        ModuleKind::HttpPlatform => iis_error(IisError {
            error_code: 0x8007_0001,
            ..IisError::new(502, 5, format!("HttpPlatformHandler Startup Failure: {detail}"))
        }),
    }
}
