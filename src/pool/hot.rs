//! Whether a request should wait for a busy application thread rather
//! than wake a sleeping one.
//!
//! Python runs one thread at a time (the GIL). A request handed to a
//! sleeping thread while another is busy in the app is only worth it when
//! the busy one waits on something (a database, a sleep) with the GIL let
//! go; if it computes, the woken thread just waits for the GIL, and each
//! request then costs two wake-ups and two switches of the GIL between
//! threads, which on a small app cost more than the request itself
//! (ci/bench F, hello app: 4 threads served 14 % fewer requests than 4
//! threads of which one took them all). Which of the two a busy thread
//! does, no API tells. So the pool watches its app's pace ([`Pace`]):
//! when most requests end within [`FAST`], the app is one whose threads
//! gain nothing from running side by side, and a request that comes while
//! a thread is hot (began its request less than [`HOT`] ago) queues for
//! it; the thread takes it next, without letting go of the GIL. A request
//! that lasts past [`HOT`] probably waits: a watching thread then hands
//! the queue out to the sleeping ones. An app whose requests take longer
//! (most real ones: a query is a millisecond) keeps its threads side by
//! side, as before.
//!
//! The cost, for an app of fast requests that wait (a 50 µs cache call):
//! they run one after another rather than overlapping their waits. On
//! 2 cores that was not measurable (README, "Benchmarks": a loopback
//! cache round trip per request, 16.1k req/s against 15.6k without the
//! pace); with more cores it may be.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A request that ends within this is fast.
pub const FAST: Duration = Duration::from_micros(100);
/// How long a request in a fast app keeps its thread hot: past it, the
/// request probably waits on something.
pub const HOT: Duration = Duration::from_millis(1);

/// When one thread's current request began.
#[derive(Default)]
pub struct Since(AtomicU64);

/// `Since` of a thread between requests.
const IDLE: u64 = 0;
/// `Since` of a thread handed a request that it has not begun: it is
/// being woken, which on a busy machine may take longer than [`HOT`].
const WAKING: u64 = u64::MAX;

impl Since {
    pub fn began(&self, clock: &Clock) {
        self.0.store(clock.now(), Ordering::Release);
    }

    pub fn handed(&self) {
        self.0.store(WAKING, Ordering::Release);
    }

    pub fn ended(&self) {
        self.0.store(IDLE, Ordering::Release);
    }

    /// How long the request in hand has run, if one has begun.
    pub fn elapsed(&self, clock: &Clock) -> Option<Duration> {
        match self.0.load(Ordering::Acquire) {
            IDLE | WAKING => None,
            since => Some(Duration::from_micros(clock.now().saturating_sub(since))),
        }
    }
}

/// Microseconds since the pool started (never [`IDLE`] or [`WAKING`]).
pub struct Clock(Instant);

impl Default for Clock {
    fn default() -> Self {
        Self(Instant::now())
    }
}

impl Clock {
    pub fn now(&self) -> u64 {
        u64::try_from(self.0.elapsed().as_micros()).unwrap_or(WAKING - 1).clamp(1, WAKING - 1)
    }

    /// How long until no thread of `threads` is hot any more; `None` when
    /// none is now. A waking thread is hot until it has begun, and then
    /// for [`HOT`].
    pub fn hot_for<'a>(&self, threads: impl IntoIterator<Item = &'a Since>) -> Option<Duration> {
        let now = self.now();
        let hot = u64::try_from(HOT.as_micros()).unwrap_or(WAKING);
        threads
            .into_iter()
            .map(|since| match since.0.load(Ordering::Acquire) {
                IDLE => None,
                WAKING => Some(hot),
                since => Some(since.saturating_add(hot).saturating_sub(now)).filter(|&left| left > 0),
            })
            .max()
            .flatten()
            .map(Duration::from_micros)
    }
}

/// The share of recent requests that were fast, as a moving average (of
/// the last eight or so): a request now and then that the machine stops
/// for a while does not change it.
pub struct Pace(AtomicU32);

/// [`Pace`] of all requests fast.
const ALL: u32 = 1 << 16;

impl Default for Pace {
    /// Not fast until requests have shown it.
    fn default() -> Self {
        Self(AtomicU32::new(0))
    }
}

impl Pace {
    pub fn record(&self, took: Duration) {
        let sample = if took <= FAST { ALL } else { 0 };
        // Threads may race here; a lost update only makes the average a
        // little older.
        let old = self.0.load(Ordering::Relaxed);
        let new = if sample > old { old + (sample - old) / 8 } else { old - (old - sample) / 8 };
        self.0.store(new, Ordering::Relaxed);
    }

    pub fn is_fast(&self) -> bool {
        self.0.load(Ordering::Relaxed) > ALL / 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_is_hot_for_a_while_after_its_request_began_and_not_between_requests() {
        let clock = Clock::default();
        let (a, b) = (Since::default(), Since::default());
        assert_eq!(clock.hot_for([&a, &b]), None, "both idle");
        a.began(&clock);
        let left = clock.hot_for([&a, &b]).expect("a is hot");
        assert!(left <= HOT && left > HOT / 2, "{left:?}");
        assert!(a.elapsed(&clock).is_some_and(|took| took < HOT / 2));
        std::thread::sleep(HOT * 2);
        assert_eq!(clock.hot_for([&a, &b]), None, "a's request lasts: a probably waits");
        b.began(&clock);
        assert!(clock.hot_for([&a, &b]).is_some(), "b began just now");
        b.ended();
        assert_eq!(clock.hot_for([&a, &b]), None);
        a.handed();
        assert_eq!(a.elapsed(&clock), None);
        std::thread::sleep(HOT * 2);
        assert_eq!(clock.hot_for([&a, &b]), Some(HOT), "a waking thread is hot however long it takes");
    }

    #[test]
    fn the_pace_turns_fast_after_a_run_of_fast_requests_and_a_straggler_does_not_undo_it() {
        let pace = Pace::default();
        assert!(!pace.is_fast(), "unknown at first");
        for _ in 0..8 {
            pace.record(FAST / 4);
        }
        assert!(pace.is_fast());
        pace.record(HOT * 5);
        assert!(pace.is_fast(), "one straggler");
        for _ in 0..8 {
            pace.record(FAST * 10);
        }
        assert!(!pace.is_fast(), "requests that last: threads side by side again");
    }
}
