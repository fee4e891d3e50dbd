//! The requests in flight in this process, for the two things that must
//! see them all: a graceful stop that reaches its deadline names the ones
//! it abandons, and the watchdog warns about a response whose app finished
//! but that did not end.
//!
//! A request has two ends, and is in flight until both happened: the app's
//! (its iterable exhausted and closed, or the app raised: [`app_finished`])
//! and the protocol's (END_REQUEST handed to the connection, or the
//! connection gone: [`response_ended`]). Normally the second follows the
//! first at once; a gap longer than [`OVERDUE`] is a stuck worker, which is
//! what a response ending on an object's lifetime once caused.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// How long after its app finished a response may take to end before the
/// watchdog warns.
pub const OVERDUE: Duration = Duration::from_secs(1);
/// How often the watchdog looks.
const WATCH_EVERY: Duration = Duration::from_millis(250);

/// One request's entry in the registry: the app side and the server side
/// each hold a copy.
#[derive(Debug, Clone)]
pub struct Ticket(u64);

/// How logs name a request: text made only when a log needs it, as the
/// registry keeps one for every request and nearly none is ever shown.
type Label = Box<dyn std::fmt::Display + Send>;

struct Entry {
    label: Label,
    started: Instant,
    app_finished: Option<Instant>,
    response_ended: bool,
    warned: bool,
}

/// The registry. One per process ([`global`]); tests make their own.
#[derive(Default)]
pub struct Registry {
    entries: Mutex<HashMap<u64, Entry>>,
    next: AtomicU64,
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Entry>> {
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn register(&self, label: impl std::fmt::Display + Send + 'static) -> Ticket {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let entry = Entry {
            label: Box::new(label),
            started: Instant::now(),
            app_finished: None,
            response_ended: false,
            warned: false,
        };
        self.lock().insert(id, entry);
        Ticket(id)
    }

    pub fn app_finished(&self, ticket: &Ticket, now: Instant) {
        self.update(ticket, |entry| entry.app_finished = Some(now));
    }

    pub fn response_ended(&self, ticket: &Ticket) {
        self.update(ticket, |entry| entry.response_ended = true);
    }

    fn update(&self, ticket: &Ticket, change: impl FnOnce(&mut Entry)) {
        let mut entries = self.lock();
        if let Some(entry) = entries.get_mut(&ticket.0) {
            change(entry);
            if entry.app_finished.is_some() && entry.response_ended {
                entries.remove(&ticket.0);
            }
        }
    }

    /// Responses whose app finished more than [`OVERDUE`] before `now` and
    /// that have not ended, each reported once.
    pub fn newly_overdue(&self, now: Instant) -> Vec<String> {
        let mut found = Vec::new();
        for entry in self.lock().values_mut() {
            let Some(finished) = entry.app_finished else { continue };
            let waited = now.saturating_duration_since(finished);
            if !entry.warned && !entry.response_ended && waited >= OVERDUE {
                entry.warned = true;
                found.push(format!(
                    "{}: the app finished {} ms ago but the response has not ended (END_REQUEST not sent); \
                     the web server is still waiting for it",
                    entry.label,
                    waited.as_millis()
                ));
            }
        }
        found
    }

    /// Every request in flight, oldest first, saying what it waits for.
    pub fn describe(&self, now: Instant) -> Vec<String> {
        let entries = self.lock();
        let mut all: Vec<&Entry> = entries.values().collect();
        all.sort_by_key(|entry| entry.started);
        all.iter()
            .map(|entry| {
                let state = if entry.app_finished.is_none() { "the app is still running" } else { "not ended" };
                let age = now.saturating_duration_since(entry.started).as_secs_f64();
                format!("{} ({state}, {age:.1} s old)", entry.label)
            })
            .collect()
    }
}

/// This process's registry; its watchdog thread starts with it.
pub fn global() -> &'static Registry {
    static GLOBAL: OnceLock<Registry> = OnceLock::new();
    GLOBAL.get_or_init(|| {
        let spawned = std::thread::Builder::new().name("iiswsgi-watchdog".into()).spawn(|| loop {
            std::thread::sleep(WATCH_EVERY);
            for warning in global().newly_overdue(Instant::now()) {
                tracing::warn!("{warning}");
            }
        });
        if let Err(err) = spawned {
            tracing::warn!("cannot start the watchdog thread: {err}");
        }
        Registry::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_that_ends_after_its_app_is_never_overdue() {
        let registry = Registry::default();
        let start = Instant::now();
        let ticket = registry.register("GET /");
        registry.app_finished(&ticket, start);
        registry.response_ended(&ticket);
        assert!(registry.newly_overdue(start + OVERDUE * 5).is_empty());
        assert!(registry.describe(start).is_empty(), "both ends happened: it is gone");
    }

    #[test]
    fn a_finished_app_whose_response_does_not_end_is_reported_once() {
        let registry = Registry::default();
        let start = Instant::now();
        let ticket = registry.register("GET /stuck (FastCGI request 1)");
        registry.app_finished(&ticket, start);
        assert!(registry.newly_overdue(start + OVERDUE / 2).is_empty(), "not yet");
        let warnings = registry.newly_overdue(start + OVERDUE);
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].starts_with("GET /stuck (FastCGI request 1): the app finished 1000 ms ago"),
            "{warnings:?}"
        );
        assert!(registry.newly_overdue(start + OVERDUE * 3).is_empty(), "reported once");
        registry.response_ended(&ticket);
        assert!(registry.describe(start).is_empty());
    }

    #[test]
    fn a_running_app_is_not_overdue_and_is_described() {
        let registry = Registry::default();
        let start = Instant::now();
        let running = registry.register("POST /upload");
        let ended_first = registry.register("GET /gone");
        registry.response_ended(&ended_first);
        assert!(registry.newly_overdue(start + OVERDUE * 60).is_empty());
        let described = registry.describe(start + Duration::from_secs(3));
        assert_eq!(described.len(), 2);
        assert!(described[0].starts_with("POST /upload (the app is still running, 3.0 s old)"), "{described:?}");
        registry.app_finished(&running, start);
        registry.response_ended(&running);
        assert_eq!(registry.describe(start).len(), 1);
    }
}
