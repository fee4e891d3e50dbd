//! One request through the emulator, with the site's real configuration:
//! the emulator starts the FastCGI (or HTTP) process as IIS would, with
//! the site's environment and WSGI_DEBUG=1, so an app that does not load
//! shows the very text "Error occurred while reading WSGI handler" and the
//! traceback IIS's 500 would have carried.

use super::{Finding, Target};
use iiswsgi_emulator::site::Site;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long the app may take to load and answer.
const PATIENCE: Duration = Duration::from_secs(60);
/// The body bytes `--request` shows.
const SHOWN: usize = 512;

/// A response as it came: status line, header lines, body.
struct Answer {
    status: u16,
    head: String,
    body: Vec<u8>,
}

async fn get(site: Site, target: &Target, url: &str) -> Result<Answer, String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| format!("cannot listen: {e}"))?;
    let addr = listener.local_addr().map_err(|e| format!("cannot listen: {e}"))?;
    let logs = tempfile::tempdir().map_err(|e| format!("cannot make a temporary folder: {e}"))?;
    let options = iiswsgi_emulator::Options {
        source: target.source.clone(),
        listen: addr,
        gateway: target.gateway.clone(),
        access_log: Some(logs.path().join("access.log")),
        header_timeout: Duration::from_secs(30),
        python_home: None,
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(iiswsgi_emulator::serve(site, listener, options, async move {
        let _ = stopped.await;
    }));
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        // HTTP/1.0: the answer ends with the connection, no chunked framing.
        let request = format!("GET {url} HTTP/1.0\r\nHost: localhost\r\nUser-Agent: iiswsgi-doctor\r\n\r\n");
        stream.write_all(request.as_bytes()).await.map_err(|e| e.to_string())?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.map_err(|e| e.to_string())?;
        Ok::<_, String>(raw)
    };
    let raw =
        tokio::time::timeout(PATIENCE, exchange).await.map_err(|_| format!("no answer in {} s", PATIENCE.as_secs()));
    let _ = stop.send(());
    match server.await {
        Ok(Err(err)) => return Err(err.to_string()),
        Err(err) => return Err(err.to_string()),
        Ok(Ok(())) => {}
    }
    let raw = raw??;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or("the answer has no end of headers")?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).ok_or("the answer has no status")?;
    Ok(Answer { status, head, body: raw[split + 4..].to_vec() })
}

/// The load check (and `--request`'s answer) for the first URL.
pub fn check(site: Site, target: &Target) -> Vec<Finding> {
    let url = target.urls.first().map(String::as_str).unwrap_or("/");
    // Inherited by the processes the emulator starts, as `emulate --debug` does.
    std::env::set_var("WSGI_DEBUG", "1");
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => return vec![Finding::error("load", format!("cannot start the async runtime: {err}"), "retry")],
    };
    let answer = match runtime.block_on(get(site, target, url)) {
        Ok(answer) => answer,
        Err(err) => {
            return vec![Finding::error(
                "load",
                format!("GET {url} through the emulator failed: {err}"),
                "run `iiswsgi emulate` with -v on this configuration to see why",
            )]
        }
    };
    let text = String::from_utf8_lossy(&answer.body);
    let mut findings = Vec::new();
    if text.contains("Error occurred while reading WSGI handler") {
        let shown: Vec<&str> = text.lines().take(40).collect();
        findings.push(Finding::error(
            "load",
            format!("the app does not load: IIS shows HTTP {} with:\n{}", answer.status, shown.join("\n").trim_end()),
            "fix what the traceback names: WSGI_HANDLER (module.attr, or module.func() for a factory), PYTHONPATH, or the app's own import",
        ));
    } else if answer.status >= 500 {
        let shown: Vec<&str> = text.lines().take(20).collect();
        findings.push(Finding::error(
            "load",
            format!("GET {url} answered HTTP {}:\n{}", answer.status, shown.join("\n")),
            "see the log file WSGI_LOG names, or run `iiswsgi emulate --debug -v` on this configuration",
        ));
    } else {
        findings.push(Finding::ok("load", format!("the app loaded: GET {url} answered HTTP {}", answer.status)));
    }
    if target.show_request {
        let cut = &answer.body[..answer.body.len().min(SHOWN)];
        let more = if answer.body.len() > SHOWN {
            format!("\n… ({} bytes in all)", answer.body.len())
        } else {
            String::new()
        };
        let found =
            format!("GET {url}\n{}\n\n{}{more}", answer.head.replace("\r\n", "\n"), String::from_utf8_lossy(cut));
        findings.push(Finding::ok("request", found));
    }
    findings
}
