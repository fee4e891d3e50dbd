//! The log: a file (IIS gives the process no usable stdout or stderr) plus
//! stderr when a person or a front end is watching it.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// The default log file: `WSGI_LOG` (wfastcgi's variable), else
/// `iiswsgi.log` in the temporary directory (`%TEMP%`, `$TMPDIR`).
pub fn default_path() -> PathBuf {
    std::env::var_os("WSGI_LOG").map(PathBuf::from).unwrap_or_else(|| std::env::temp_dir().join("iiswsgi.log"))
}

#[derive(Debug, thiserror::Error)]
#[error("cannot open log file `{}`", path.display())]
pub struct LogError {
    path: PathBuf,
    source: std::io::Error,
}

/// The file every log line goes to; [`redirect`] can move it, which is how
/// a `WSGI_LOG` found in web.config takes effect after start-up.
#[derive(Clone)]
struct SharedFile(Arc<Mutex<File>>);

impl Write for &SharedFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().map_err(|_| std::io::Error::other("log lock poisoned"))?.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for SharedFile {
    type Writer = &'a SharedFile;

    fn make_writer(&'a self) -> Self::Writer {
        self
    }
}

static LOG_FILE: OnceLock<(SharedFile, Mutex<PathBuf>)> = OnceLock::new();

fn open(path: &Path) -> Result<File, LogError> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|source| LogError { path: path.to_path_buf(), source })
}

/// Starts logging. `verbosity` is the count of `-v` minus the count of `-q`.
pub fn init(path: &Path, verbosity: i8, to_stderr: bool) -> Result<(), LogError> {
    let file = SharedFile(Arc::new(Mutex::new(open(path)?)));
    let filter = || filter(verbosity);
    let file_layer = tracing_subscriber::fmt::layer().with_ansi(false).with_writer(file.clone()).with_filter(filter());
    let stderr_layer = to_stderr.then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_target(false)
            .with_filter(filter())
    });
    // A second init (tests running in one process) keeps the first subscriber.
    let _ = tracing_subscriber::registry().with(file_layer).with(stderr_layer).try_init();
    let _ = LOG_FILE.set((file, Mutex::new(path.to_path_buf())));
    Ok(())
}

/// The level for `verbosity`, unless `IISWSGI_LOG` gives a filter.
fn filter(verbosity: i8) -> EnvFilter {
    let level = match verbosity {
        i8::MIN..=-2 => "error",
        -1 => "warn",
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    EnvFilter::try_from_env("IISWSGI_LOG").unwrap_or_else(|_| EnvFilter::new(level))
}

/// Starts logging to stdout alone: under IIS's HttpPlatformHandler and
/// ASP.NET Core Module, whose stdoutLogFile captures it.
pub fn init_stdout(verbosity: i8) {
    let layer =
        tracing_subscriber::fmt::layer().with_ansi(false).with_writer(std::io::stdout).with_filter(filter(verbosity));
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

/// Moves the log to `path` if it differs from the current file.
pub fn redirect(path: &Path) -> Result<(), LogError> {
    let Some((file, current)) = LOG_FILE.get() else { return Ok(()) };
    let mut current = current.lock().map_err(|_| LogError { path: path.into(), source: poisoned() })?;
    if *current == path {
        return Ok(());
    }
    let new = open(path)?;
    *file.0.lock().map_err(|_| LogError { path: path.into(), source: poisoned() })? = new;
    tracing::info!("log continues in {} (from {})", path.display(), current.display());
    *current = path.to_path_buf();
    Ok(())
}

fn poisoned() -> std::io::Error {
    std::io::Error::other("log lock poisoned")
}
