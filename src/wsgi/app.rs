use super::environ::Template;
use super::loader::{self, AppSpec, LoadFailure};
use super::log_writer::LogWriter;
use super::paths::PathRules;
use super::response::{self, Reporting};
use super::site;
use crate::app::{App, Next, Requests};
use crate::request::{latin1, Body, Params, Request, Response};
use crate::restart::{self, RestartWatcher};
use crate::shutdown::Shutdown;
use pyo3::prelude::*;
use pyo3::sync::MutexExt;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

/// How the WSGI app is found and served.
#[derive(Debug, Clone)]
pub struct Settings {
    pub spec: AppSpec,
    /// Tracebacks in error responses.
    pub debug: bool,
    /// Started by IIS: apply IIS's fixes, keep routine output off FCGI_STDERR.
    pub iis: bool,
    pub multithread: bool,
    pub multiprocess: bool,
    /// `--pythonpath`.
    pub pythonpath: Option<String>,
    /// `--script-name`; else the `SCRIPT_NAME` environment variable.
    pub script_name: Option<String>,
    /// Watch for changes even when `WSGI_RESTART_FILE_REGEX` is unset.
    pub watch_by_default: bool,
    /// The site's folder when it is known at start-up (HTTP mode: the
    /// folder the IIS module starts the process in): its web.config is
    /// applied and the app loaded then, not at the first request.
    pub site_dir: Option<std::path::PathBuf>,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot prepare the Python environment: {0}")]
pub struct SetupError(String);

struct Loaded {
    app: Result<Py<PyAny>, LoadFailure>,
    paths: PathRules,
}

/// The embedded WSGI gateway as an [`App`].
pub struct WsgiApp {
    settings: Settings,
    shutdown: Shutdown,
    template: Template,
    loaded: OnceLock<Loaded>,
    loading: Mutex<()>,
    watcher: Mutex<Option<RestartWatcher>>,
}

impl WsgiApp {
    /// Prepares the interpreter (which must be running) and, unless the app
    /// comes from WSGI_HANDLER, loads it now so start-up logs say whether
    /// it works.
    pub fn new(settings: Settings, shutdown: Shutdown) -> Result<Self, SetupError> {
        let setup = |err: PyErr| SetupError(err.to_string());
        let template =
            Python::attach(|py| Template::new(py, settings.multithread, settings.multiprocess)).map_err(setup)?;
        let this = Self {
            settings,
            shutdown,
            template,
            loaded: OnceLock::new(),
            loading: Mutex::new(()),
            watcher: Mutex::new(None),
        };
        Python::attach(|py| -> Result<(), SetupError> {
            if this.settings.iis {
                let sys = py.import("sys").map_err(setup)?;
                sys.setattr("stdout", Py::new(py, LogWriter::new("stdout")).map_err(setup)?).map_err(setup)?;
                sys.setattr("stderr", Py::new(py, LogWriter::new("stderr")).map_err(setup)?).map_err(setup)?;
            }
            if let Some(paths) = &this.settings.pythonpath {
                let entries = site::split_pythonpath(&site::expand_percent_vars(paths));
                site::extend_sys_path(py, &entries, true).map_err(setup)?;
            }
            let cwd = std::env::current_dir().map_err(|e| SetupError(e.to_string()))?;
            site::extend_sys_path(py, &[cwd.to_string_lossy().into_owned()], true).map_err(setup)?;
            match &this.settings.site_dir {
                Some(dir) => drop(this.load_site(py, dir)),
                None if !this.settings.spec.is_lazy() => drop(this.load(py, &cwd)),
                None => {}
            }
            Ok(())
        })?;
        Ok(this)
    }

    fn reporting(&self) -> Reporting {
        Reporting { debug: self.settings.debug, iis: self.settings.iis }
    }

    /// The app, loading it at the first request when it comes from
    /// WSGI_HANDLER (the site's folder is known only then).
    fn loaded(&self, py: Python<'_>, request: &Request) -> &Loaded {
        if let Some(loaded) = self.loaded.get() {
            return loaded;
        }
        let _guard = self.loading.lock_py_attached(py).unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(loaded) = self.loaded.get() {
            return loaded;
        }
        let dir = site::site_dir(request.param("APPL_PHYSICAL_PATH").as_deref());
        self.load_site(py, &dir)
    }

    /// Applies the site's web.config (as wfastcgi: appSettings become
    /// environment variables, WSGI_LOG moves the log), then loads the app.
    fn load_site(&self, py: Python<'_>, dir: &Path) -> &Loaded {
        match site::apply(py, dir) {
            Ok(settings) => {
                for (key, value) in &settings {
                    tracing::info!("web.config appSetting {key}={value}");
                }
                if let Ok(path) = std::env::var("WSGI_LOG") {
                    if let Err(err) = crate::logging::redirect(Path::new(&path)) {
                        tracing::warn!("{err}");
                    }
                }
                self.load(py, dir)
            }
            Err(failure) => self.store(Err(failure)),
        }
    }

    fn load(&self, py: Python<'_>, dir: &Path) -> &Loaded {
        // A debugger attaches before the app loads, so it can break in
        // the app's import too.
        if let Some(address) = super::debugger::address() {
            if let Err(message) = address.and_then(|(host, port)| super::debugger::listen(py, &host, port)) {
                tracing::error!("{message}");
                return self.store(Err(LoadFailure::new(message)));
            }
        }
        let app = loader::load(py, &self.settings.spec);
        match &app {
            Ok(_) => tracing::info!("loaded the app from {}", self.settings.spec),
            Err(failure) => {
                tracing::error!("cannot load the app from {}: {}", self.settings.spec, failure.render(true))
            }
        }
        self.watch(dir);
        self.store(app)
    }

    /// Keeps the outcome for the life of the process, with the path rules
    /// the environment (web.config included) now implies.
    fn store(&self, app: Result<Py<PyAny>, LoadFailure>) -> &Loaded {
        let paths = PathRules {
            iis: self.settings.iis,
            script_name: self.settings.script_name.clone().or_else(|| std::env::var("SCRIPT_NAME").ok()),
            allow_path_info: std::env::var_os("AllowPathInfoForScriptMappings").is_some(),
        };
        self.loaded.get_or_init(|| Loaded { app, paths })
    }

    fn watch(&self, dir: &Path) {
        let pattern = std::env::var("WSGI_RESTART_FILE_REGEX").ok();
        if pattern.is_none() && !self.settings.watch_by_default {
            return;
        }
        match restart::watch(dir, pattern.as_deref(), self.shutdown.clone()) {
            Ok(watcher) => *self.watcher.lock().unwrap_or_else(|p| p.into_inner()) = watcher,
            Err(err) => tracing::warn!("{err}; files will not be watched"),
        }
    }

    /// Serves one request, whatever the app keeps, and gives back its
    /// response for the caller to end. Ending may write the last bytes
    /// (IIS mode): not while holding the GIL.
    fn serve(&self, py: Python<'_>, request: Request) -> Response {
        let loaded = self.loaded(py, &request);
        let Request { params, body, response } = request;
        self.answer(py, loaded, &params, body, &response);
        response
    }

    fn answer(&self, py: Python<'_>, loaded: &Loaded, params: &Params, body: Body, response: &Response) {
        let app = match &loaded.app {
            Ok(app) => app.bind(py),
            Err(failure) => {
                let text = failure.render(self.settings.debug);
                return response::send_error(response, false, &text, self.settings.iis);
            }
        };
        match self.template.build(py, &loaded.paths, params, body) {
            Ok(environ) => response::run(py, app, environ.dict, response.handle(), environ.head_only, self.reporting()),
            Err(err) => {
                tracing::error!("cannot build the environ: {err}");
                response::send_error(
                    response,
                    false,
                    "Error occurred:\n\ncannot build the WSGI environ\n",
                    self.settings.iis,
                );
            }
        }
    }
}

impl App for WsgiApp {
    fn handle(&self, request: Request) {
        let response = Python::attach(|py| self.serve(py, request));
        response.end();
    }

    /// Attaches the thread to the interpreter once and detaches only while
    /// waiting for the next request (granian's pattern).
    fn run_thread(&self, requests: &mut dyn Requests) {
        Python::attach(|py| {
            let mut served: Option<Response> = None;
            loop {
                // A request already waiting is served without letting go
                // of the GIL: the application threads share it, and handing
                // it to another thread between two short requests cost more
                // than either (a futex wake and a context switch each way).
                // Otherwise one release per request: ending the last
                // response and waiting for the next together. The response
                // goes before the wait: it holds its connection open.
                let next = match served.take() {
                    Some(response) if !response.end_may_block() => {
                        response.end();
                        drop(response);
                        requests.ready().map_or_else(|| py.detach(|| requests.next()), Next::Request)
                    }
                    Some(response) => py.detach(|| {
                        response.end();
                        drop(response);
                        requests.next()
                    }),
                    None => py.detach(|| requests.next()),
                };
                let request = match next {
                    Next::Request(request) => request,
                    // Queued while another thread held the interpreter:
                    // served by whichever got to it first.
                    Next::Queued => match requests.ready() {
                        Some(request) => request,
                        None => continue,
                    },
                    Next::End => break,
                };
                if tracing::enabled!(tracing::Level::DEBUG) {
                    let method = request.param("REQUEST_METHOD").unwrap_or_default();
                    let uri = request.params.get(b"REQUEST_URI").or(request.params.get(b"PATH_INFO")).map(latin1);
                    tracing::debug!("{method} {}", uri.unwrap_or_default());
                }
                served = Some(self.serve(py, request));
            }
        });
    }

    fn describe(&self) -> String {
        format!("WSGI app {}", self.settings.spec)
    }
}
