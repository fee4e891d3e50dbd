//! One FastCGI application's process pool, with IIS's rules: one request
//! per process at a time, at most `maxInstances` processes, a bounded
//! queue, recycling after `instanceMaxRequests`, `idleTimeout` and
//! `monitorChangesTo`, and rapid-fail protection.

use crate::old_python::PythonHome;
use crate::process::{Launch, Process};
use crate::site::expand_path;
use iiswsgi_proto::iis::FastCgiApplication;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// `maxInstances="0"` lets IIS size the pool from load; the emulator uses
/// this fixed bound per CPU instead (at least 4).
pub const AUTO_INSTANCES_PER_CPU: usize = 2;

const RAPID_FAIL_WINDOW: Duration = Duration::from_secs(60);

pub struct Pool {
    pub app: FastCgiApplication,
    launch: Result<Launch, String>,
    monitored: Option<PathBuf>,
    slots: Arc<Semaphore>,
    queue_length: usize,
    waiting: AtomicUsize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    idle: Vec<Instance>,
    failures: VecDeque<Instant>,
    generation: u64,
    monitor_stamp: Option<SystemTime>,
}

pub struct Instance {
    pub process: Process,
    pub requests: u32,
    generation: u64,
    last_used: Instant,
}

#[derive(Debug)]
pub enum AcquireError {
    QueueFull,
    RapidFail,
    MonitorMissing(PathBuf),
    Start(String),
}

/// A process checked out for one request.
pub struct Lease {
    pub instance: Instance,
    _permit: OwnedSemaphorePermit,
}

impl Pool {
    pub fn new(app: FastCgiApplication, python_home: Option<&PythonHome>, gateway: &crate::Gateway) -> Arc<Self> {
        let launch = Launch::new(&app, python_home, gateway);
        let max = match app.max_instances {
            0 => std::thread::available_parallelism()
                .map_or(2, |n| n.get())
                .saturating_mul(AUTO_INSTANCES_PER_CPU)
                .max(4),
            n => n as usize,
        };
        let monitored = Some(app.monitor_changes_to.trim()).filter(|m| !m.is_empty()).map(|m| {
            let path = crate::old_python::map_path(python_home, expand_path(m));
            match &launch {
                Ok(launch) if path.is_relative() => launch.cwd.join(path),
                _ => path,
            }
        });
        let pool = Arc::new(Self {
            queue_length: app.queue_length as usize,
            app,
            launch,
            monitored,
            slots: Arc::new(Semaphore::new(max)),
            waiting: AtomicUsize::new(0),
            state: Mutex::new(State::default()),
        });
        tokio::spawn(reap(Arc::downgrade(&pool)));
        pool
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A process for one request: an idle one, or a new one.
    pub async fn acquire(&self) -> Result<Lease, AcquireError> {
        self.check_monitored()?;
        let permit = match self.slots.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.queue_length {
                    self.waiting.fetch_sub(1, Ordering::SeqCst);
                    return Err(AcquireError::QueueFull);
                }
                let permit = self.slots.clone().acquire_owned().await;
                self.waiting.fetch_sub(1, Ordering::SeqCst);
                permit.map_err(|_| AcquireError::Start("the pool is shutting down".into()))?
            }
        };
        let reusable = {
            let mut state = self.state();
            let generation = state.generation;
            let mut found = None;
            while let Some(mut instance) = state.idle.pop() {
                if instance.generation == generation && instance.process.exit_code().is_none() {
                    found = Some(instance);
                    break;
                }
                if let Some(code) = instance.process.exit_code() {
                    if code != 0 {
                        state.failures.push_back(Instant::now());
                    }
                } else {
                    tokio::spawn(instance.process.terminate());
                }
            }
            found
        };
        if let Some(instance) = reusable {
            return Ok(Lease { instance, _permit: permit });
        }
        let launch = self.launch.as_ref().map_err(|e| AcquireError::Start(e.clone()))?;
        let generation = {
            let mut state = self.state();
            let now = Instant::now();
            while state.failures.front().is_some_and(|t| now.duration_since(*t) >= RAPID_FAIL_WINDOW) {
                state.failures.pop_front();
            }
            let limit = self.app.rapid_fails_per_minute as usize;
            if limit > 0 && state.failures.len() >= limit {
                return Err(AcquireError::RapidFail);
            }
            state.generation
        };
        let process = Process::spawn(launch).map_err(|err| {
            self.record_failure();
            AcquireError::Start(format!("cannot start {}: {err}", launch.program.display()))
        })?;
        tracing::info!(
            "started FastCGI process {} for {}: {} {}",
            process.pid,
            self.app.key(),
            launch.program.display(),
            launch.args.join(" ")
        );
        Ok(Lease {
            instance: Instance { process, requests: 0, generation, last_used: Instant::now() },
            _permit: permit,
        })
    }

    /// `monitorChangesTo`: a change recycles every instance; a missing file
    /// fails every request, as in IIS.
    fn check_monitored(&self) -> Result<(), AcquireError> {
        let Some(path) = &self.monitored else { return Ok(()) };
        let modified = std::fs::metadata(path)
            .and_then(|m| m.modified())
            .map_err(|_| AcquireError::MonitorMissing(path.clone()))?;
        let mut state = self.state();
        match state.monitor_stamp {
            Some(stamp) if stamp != modified => {
                tracing::info!("{} changed: recycling the processes of {}", path.display(), self.app.key());
                state.generation += 1;
                state.monitor_stamp = Some(modified);
            }
            Some(_) => {}
            None => state.monitor_stamp = Some(modified),
        }
        Ok(())
    }

    /// The request ended and the process is fine: keep it, unless it has
    /// served `instanceMaxRequests`.
    pub fn release(&self, lease: Lease) {
        let mut instance = lease.instance;
        instance.requests += 1;
        instance.last_used = Instant::now();
        let mut state = self.state();
        if instance.requests >= self.app.instance_max_requests || instance.generation != state.generation {
            tracing::info!("recycling FastCGI process {} after {} request(s)", instance.process.pid, instance.requests);
            tokio::spawn(instance.process.terminate());
        } else {
            state.idle.push(instance);
        }
    }

    /// The process misbehaved (timeout, stderr under TerminateProcess) and
    /// must go.
    pub fn discard(&self, lease: Lease) {
        tokio::spawn(lease.instance.process.terminate());
    }

    /// The process exited on its own mid-request.
    pub fn exited(&self, lease: Lease) {
        self.record_failure();
        drop(lease);
    }

    fn record_failure(&self) {
        self.state().failures.push_back(Instant::now());
    }

    /// Stops every idle process (shutdown).
    pub async fn shutdown(&self) {
        let idle = std::mem::take(&mut self.state().idle);
        for instance in idle {
            instance.process.terminate().await;
        }
    }
}

/// Every second: drop idle processes that exited (an unexpected exit) and
/// stop the ones idle for longer than `idleTimeout`.
async fn reap(pool: std::sync::Weak<Pool>) {
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let Some(pool) = pool.upgrade() else { return };
        let idle_timeout = Duration::from_secs(u64::from(pool.app.idle_timeout));
        let mut state = pool.state();
        let mut kept = Vec::with_capacity(state.idle.len());
        for mut instance in std::mem::take(&mut state.idle) {
            if let Some(code) = instance.process.exit_code() {
                // Exit code 0 is a process that chose to stop (iiswsgi and
                // wfastcgi do after a watched file changes); anything else
                // is a failure for rapid-fail protection.
                if code == 0 {
                    tracing::info!("idle FastCGI process {} exited", instance.process.pid);
                } else {
                    tracing::warn!("idle FastCGI process {} exited with code {code}", instance.process.pid);
                    state.failures.push_back(Instant::now());
                }
            } else if instance.last_used.elapsed() >= idle_timeout {
                tracing::info!(
                    "stopping FastCGI process {}: idle for {}s",
                    instance.process.pid,
                    pool.app.idle_timeout
                );
                tokio::spawn(instance.process.terminate());
            } else {
                kept.push(instance);
            }
        }
        state.idle = kept;
    }
}
