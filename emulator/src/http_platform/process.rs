//! Starting and stopping the process of an HttpPlatformHandler or ANCM
//! application the way the module does (dotnet/aspnetcore
//! `AspNetCoreModuleV2/OutOfProcessRequestHandler/serverprocess.cpp`,
//! `StartProcess`, `PostStartCheck`, `SetupStdHandles`, `StopProcess`;
//! HttpPlatformHandler v1.2: iis-docs configuration reference).

use crate::old_python::{map_path, map_word, PythonHome};
use crate::site::{expand, expand_path};
use iiswsgi_proto::iis::{split_arguments, HttpPlatform, ModuleKind};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// ANCM's random ports are 10000-48000 (`GetRandomPort`: `MIN_PORT_RANDOM`,
/// `MAX_PORT`). On Linux 32768 and up is the ephemeral range, where a
/// readiness probe of a port nobody listens on yet can connect to itself
/// (TCP self-connect): the emulator stays below it.
const PORTS: std::ops::Range<u16> = 10000..32768;
/// How often readiness is checked (`PostStartCheck`).
const READY_POLL: Duration = Duration::from_millis(250);

/// Where the application lives, for the process's environment.
pub struct AppPlace<'a> {
    /// The IIS application's virtual path: `/` or `/shop`.
    pub url: &'a str,
    /// Its folder: the working directory, and where relative paths start.
    pub physical: &'a Path,
}

/// A started process, listening (or not yet) on its port.
pub struct Running {
    pub child: tokio::process::Child,
    pub port: u16,
    /// ANCM's token, sent on every request.
    pub token: Option<String>,
    pub pid: u32,
}

/// A free port in the module's range: one nothing listens on now.
fn pick_port() -> Option<u16> {
    (0..10).map(|_| fastrand::u16(PORTS)).find(|port| TcpListener::bind((Ipv4Addr::LOCALHOST, *port)).is_ok())
}

/// ANCM's token: a random GUID, as `UuidCreate` makes one.
fn new_token() -> String {
    let hex: String = (0..32).map(|_| char::from_digit(fastrand::u32(0..16), 16).unwrap_or('0')).collect();
    format!("{}-{}-4{}-{}-{}", &hex[..8], &hex[8..12], &hex[13..16], &hex[16..20], &hex[20..32])
}

/// `yyyyMMddHHmmss` in UTC.
fn stamp(now: SystemTime) -> String {
    let seconds = now.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let (y, mo, d, h, mi, s) = iiswsgi_proto::civil_time::utc(seconds);
    format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}")
}

/// The stdout log's file name: ANCM `<path>_<yyyyMMddHHmmss>_<pid>.log`,
/// HttpPlatformHandler `<path>_<pid>_<yyyyMMddHHmmss>.log`, the pid the
/// worker's (here the emulator's); a relative path starts at the app.
pub fn stdout_log_path(config: &HttpPlatform, physical: &Path, now: SystemTime) -> PathBuf {
    let base = expand_path(&config.stdout_log_file);
    let base = if base.is_relative() { physical.join(base) } else { base };
    let pid = std::process::id();
    let name = match config.kind {
        ModuleKind::AspNetCore => format!("{}_{}_{pid}.log", base.display(), stamp(now)),
        ModuleKind::HttpPlatform => format!("{}_{pid}_{}.log", base.display(), stamp(now)),
    };
    PathBuf::from(name)
}

/// `processPath` as the module resolves it: relative to the application's
/// folder when written without a drive or variable, mapped if an old
/// Windows Python path.
fn program(config: &HttpPlatform, physical: &Path, python_home: Option<&PythonHome>) -> PathBuf {
    let written = &config.process_path;
    if !written.contains(':') && !written.contains('%') {
        let candidate = map_path(python_home, physical.join(expand_path(written)));
        if candidate.is_file() {
            return candidate;
        }
    }
    map_path(python_home, expand_path(written))
}

/// Starts the process with the module's variables.
pub fn spawn(config: &HttpPlatform, place: &AppPlace<'_>, python_home: Option<&PythonHome>) -> Result<Running, String> {
    let port = pick_port().ok_or("no free port in 10000-32767")?;
    let program = program(config, place.physical, python_home);
    // HttpPlatformHandler puts the port into the arguments; ANCM does not
    // (the process reads ASPNETCORE_PORT).
    let mut arguments = expand(&config.arguments);
    if config.kind == ModuleKind::HttpPlatform {
        arguments = arguments.replace("%HTTP_PLATFORM_PORT%", &port.to_string());
    }
    let mut command = tokio::process::Command::new(&program);
    command
        .args(split_arguments(&arguments).iter().map(|word| map_word(python_home, word)))
        .current_dir(place.physical)
        .envs(config.environment_variables.iter().map(|(k, v)| (k, expand(v))))
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let appl_path = place.url.to_string();
    let token = match config.kind {
        ModuleKind::HttpPlatform => {
            command.env("HTTP_PLATFORM_PORT", port.to_string()).env("HTTP_PLATFORM_APPL_PATH", &appl_path);
            None
        }
        ModuleKind::AspNetCore => {
            let token = new_token();
            command
                .env("ASPNETCORE_PORT", port.to_string())
                .env("ASPNETCORE_APPL_PATH", &appl_path)
                .env("ASPNETCORE_TOKEN", &token)
                .env("ASPNETCORE_IIS_HTTPAUTH", "anonymous;");
            Some(token)
        }
    };
    if config.stdout_log_enabled {
        let path = stdout_log_path(config, place.physical, SystemTime::now());
        if let Some(parent) = path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        let file = std::fs::File::create(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        let copy = file.try_clone().map_err(|e| e.to_string())?;
        command.stdout(file).stderr(copy);
    } else {
        command.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    }
    let child = command.spawn().map_err(|e| format!("cannot start {}: {e}", program.display()))?;
    let pid = child.id().unwrap_or_default();
    tracing::info!("started {} process {pid} on port {port}: {}", config.kind.module_name(), program.display());
    Ok(Running { child, port, token, pid })
}

impl Running {
    /// Waits until the process listens on its port (a connection to it
    /// succeeds), or exits, or `limit` passes.
    pub async fn wait_until_ready(&mut self, limit: Duration) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("the process exited with {status} before it listened on port {}", self.port));
            }
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
            let connect = tokio::time::timeout(Duration::from_millis(100), tokio::net::TcpStream::connect(addr));
            if matches!(connect.await, Ok(Ok(_))) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!("the process did not listen on port {} within {} s", self.port, limit.as_secs()));
            }
            tokio::time::sleep(READY_POLL).await;
        }
    }

    pub fn is_alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Stops the process as the module does: ANCM asks it to shut down
    /// (`POST <path>/iisintegration`, `MS-ASPNETCORE-EVENT: shutdown`),
    /// waits `shutdownTimeLimit`, then kills; HttpPlatformHandler's stop is
    /// undocumented, and the emulator kills at once (TerminateProcess).
    pub async fn stop(mut self, config: &HttpPlatform, appl_path: &str) {
        if config.kind == ModuleKind::AspNetCore && self.is_alive() {
            let accepted = super::proxy::send_shutdown(self.port, appl_path, self.token.as_deref()).await;
            if !accepted {
                // ANCM's fallback is CTRL_BREAK_EVENT: a console signal.
                #[cfg(unix)]
                unsafe_signal(self.pid, libc::SIGINT);
            }
            if tokio::time::timeout(config.shutdown_time_limit, self.child.wait()).await.is_ok() {
                tracing::info!("process {} shut down gracefully", self.pid);
                return;
            }
            tracing::warn!("process {} did not stop within shutdownTimeLimit; killing it", self.pid);
        }
        let _ = self.child.kill().await;
    }
}

#[cfg(unix)]
fn unsafe_signal(pid: u32, signal: i32) {
    if let Ok(pid) = i32::try_from(pid) {
        // SAFETY: signalling a child this emulator started.
        unsafe { libc::kill(pid, signal) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iiswsgi_proto::iis::xml::Document;

    fn config(xml: &str) -> HttpPlatform {
        let doc = Document::parse(xml).unwrap();
        iiswsgi_proto::iis::http_platform::sections(doc.root()).unwrap().remove(0)
    }

    #[test]
    fn stdout_log_names_follow_each_module() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let pid = std::process::id();
        let ancm = config(r#"<s><aspNetCore processPath="p" stdoutLogFile=".\logs\stdout"/></s>"#);
        let name = stdout_log_path(&ancm, Path::new("/srv/app"), at);
        let sep = if cfg!(windows) { r".\logs\stdout" } else { "./logs/stdout" };
        assert_eq!(name, PathBuf::from(format!("/srv/app/{sep}_20231114221320_{pid}.log")));
        let hph = config(r#"<s><httpPlatform processPath="p" stdoutLogFile="/var/log/py"/></s>"#);
        assert_eq!(
            stdout_log_path(&hph, Path::new("/srv/app"), at),
            PathBuf::from(format!("/var/log/py_{pid}_20231114221320.log"))
        );
    }

    #[test]
    fn tokens_look_like_guids_and_ports_are_in_range() {
        let token = new_token();
        assert_eq!(token.len(), 36);
        assert_eq!(token.matches('-').count(), 4);
        let port = pick_port().unwrap();
        assert!(PORTS.contains(&port));
    }
}
