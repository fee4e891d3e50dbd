//! One flag that every part of the server watches: set by SIGTERM, by IIS's
//! `_FCGI_SHUTDOWN_EVENT_`, or by the restart-on-change watcher. Whoever sees
//! it finishes the request in flight and stops, within a deadline.

use crate::request::inflight;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

#[derive(Clone)]
pub struct Shutdown {
    reason: Arc<watch::Sender<Option<String>>>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self { reason: Arc::new(watch::channel(None).0) }
    }
}

impl Shutdown {
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the server to stop; the first reason given is kept for the log.
    pub fn trigger(&self, reason: impl Into<String>) {
        let reason = reason.into();
        self.reason.send_if_modified(|current| {
            if current.is_some() {
                return false;
            }
            tracing::info!("shutting down: {reason}");
            *current = Some(reason);
            true
        });
    }

    pub fn is_triggered(&self) -> bool {
        self.reason.borrow().is_some()
    }

    /// Resolves once [`Shutdown::trigger`] has been called.
    pub async fn wait(&self) {
        let mut rx = self.reason.subscribe();
        let _ = rx.wait_for(Option::is_some).await;
    }

    /// Bounds the graceful stop: `grace` after the trigger, the requests
    /// still in flight are logged and abandoned, and the process exits 0,
    /// so that it never needs a kill (IIS kills it after
    /// signalBeforeTerminateSeconds anyway, without a word in any log).
    /// Call from within the async runtime.
    pub fn abandon_after(&self, grace: Duration) -> std::io::Result<()> {
        let runtime = tokio::runtime::Handle::current();
        let this = self.clone();
        std::thread::Builder::new().name("iiswsgi-graceful-deadline".into()).spawn(move || {
            runtime.block_on(this.wait());
            std::thread::sleep(grace);
            let left = inflight::global().describe(Instant::now());
            tracing::warn!(
                "the graceful stop took more than {} s: exiting with {} request(s) in flight",
                grace.as_secs_f64(),
                left.len()
            );
            for request in left {
                tracing::warn!("abandoning {request}");
            }
            std::process::exit(0);
        })?;
        Ok(())
    }

    /// Triggers on SIGTERM and SIGINT (Unix) or Ctrl-C (Windows).
    pub fn listen_for_signals(&self) -> std::io::Result<()> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            for (kind, name) in [(SignalKind::terminate(), "SIGTERM"), (SignalKind::interrupt(), "SIGINT")] {
                let mut stream = signal(kind)?;
                let this = self.clone();
                tokio::spawn(async move {
                    if stream.recv().await.is_some() {
                        this.trigger(format!("received {name}"));
                    }
                });
            }
        }
        #[cfg(windows)]
        {
            let this = self.clone();
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    this.trigger("received Ctrl-C");
                }
            });
        }
        Ok(())
    }
}
