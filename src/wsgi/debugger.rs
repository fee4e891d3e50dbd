//! Debugger attach, the successor of wfastcgi's `WSGI_PTVSD_SECRET` /
//! `WSGI_PTVSD_ADDRESS`: with the appSetting (or environment variable)
//! `WSGI_DEBUGPY_ADDRESS` = `[host:]port`, the gateway calls
//! `debugpy.listen` before it loads the app, so VS Code or Visual Studio
//! can attach (Debug Adapter Protocol) to a site under IIS or the
//! emulator. `WSGI_PTVSD_ADDRESS` (ptvsd's `host:port`) means the same;
//! ptvsd's secret has no debugpy equivalent and is refused with a log line.

use pyo3::prelude::*;

/// The address asked for, if any: (host, port).
pub fn address() -> Option<Result<(String, u16), String>> {
    let (name, text) = ["WSGI_DEBUGPY_ADDRESS", "WSGI_PTVSD_ADDRESS"]
        .into_iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()).map(|v| (name, v)))?;
    let text = text.trim();
    let (host, port) = match text.rsplit_once(':') {
        Some((host, port)) => (host.trim_matches(['[', ']']).to_string(), port),
        None => ("127.0.0.1".to_string(), text),
    };
    Some(port.parse().map(|port| (host, port)).map_err(|_| format!("{name}={text} is not [host:]port")))
}

/// Starts debugpy's listener, once per process.
pub fn listen(py: Python<'_>, host: &str, port: u16) -> Result<(), String> {
    if std::env::var_os("WSGI_PTVSD_SECRET").is_some() {
        tracing::warn!("WSGI_PTVSD_SECRET is ignored: debugpy has no secret; keep the address on 127.0.0.1");
    }
    let debugpy = py.import("debugpy").map_err(|err| {
        format!("WSGI_DEBUGPY_ADDRESS is set but debugpy cannot be imported ({err}): pip install debugpy into the site's Python")
    })?;
    let listening = debugpy.call_method1("listen", ((host, port),));
    listening.map_err(|err| format!("debugpy.listen(({host:?}, {port})) failed: {err}"))?;
    tracing::info!("debugpy listens on {host}:{port}: attach a debugger (Debug Adapter Protocol)");
    Ok(())
}
