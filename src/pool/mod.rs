//! A fixed set of application threads. No thread is spawned per request.
//!
//! A request goes to the thread that became idle last (a stack, not a
//! queue of waiters): under light load one hot thread serves request after
//! request, with its caches warm and the GIL uncontended, and the others
//! sleep; under heavy load every thread is busy and requests wait in a
//! queue. Each idle thread waits on a parking spot of its own, so handing
//! over a request wakes exactly that thread.
//!
//! Waking a sleeping thread is the dearest part of a hand-off (a futex
//! wake, a context switch, on a VM an inter-processor interrupt): so a
//! thread that has just finished a request first spins a few microseconds
//! for the next one, and while one spins, the next request is queued for
//! it instead of waking a sleeper. Only one thread spins at a time, so the
//! others sleep and cost nothing. For the same reason, in an app of fast
//! requests, a request that comes while a thread is hot ([`hot`]) queues
//! for that thread, and one idle thread watches that the queue does not
//! wait on a thread that is not.
//!
//! What the pool queues is a [`Job`], made into a request by the thread
//! that takes it: work a server leaves to the job (HTTP mode's CGI
//! variables) is done on the application threads, not on the one I/O
//! thread every connection shares.

mod hot;

use crate::app::{App, Next, Requests};
use crate::request::Request;
use hot::{Clock, Pace, Since};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

/// What the pool hands its threads.
pub trait Job: Send + 'static {
    /// The request, made by the application thread that took the job.
    fn into_request(self) -> Request;
}

impl Job for Request {
    fn into_request(self) -> Request {
        self
    }
}

/// Where one thread waits for its next request, and what the others know
/// of it.
struct Spot<J> {
    request: Mutex<Option<J>>,
    /// Set when the pool closes while the thread is idle.
    closed: Mutex<bool>,
    /// Set when the thread is woken to watch the queue.
    watch: AtomicBool,
    wake: Condvar,
    since: Since,
}

impl<J> Default for Spot<J> {
    fn default() -> Self {
        Self {
            request: Mutex::new(None),
            closed: Mutex::new(false),
            watch: AtomicBool::new(false),
            wake: Condvar::new(),
            since: Since::default(),
        }
    }
}

impl<J> Spot<J> {
    /// Wakes the thread with `job`. It is hot from now on: it will run
    /// the request as soon as it is awake.
    fn hand(&self, job: J) {
        self.since.handed();
        *lock(&self.request) = Some(job);
        self.wake.notify_one();
    }

    /// Wakes the thread to watch the queue.
    fn call_to_watch(&self) {
        // Taking the request lock orders the flag before the wake-up.
        let guard = lock(&self.request);
        self.watch.store(true, Ordering::Release);
        drop(guard);
        self.wake.notify_one();
    }
}

struct State<J> {
    queue: VecDeque<J>,
    /// Idle threads, the last to become idle on top.
    idle: Vec<Arc<Spot<J>>>,
    /// Whether a thread is spinning for the next request.
    spinning: bool,
    /// Whether a thread watches the queue (see [`Shared::watch`]).
    watching: bool,
    closed: bool,
}

struct Shared<J> {
    state: Mutex<State<J>>,
    /// `state.queue.len()`, read without the lock by a spinning thread
    /// and by one that looks for a request at hand ([`Requests::ready`]).
    queued: AtomicUsize,
    /// Every thread's spot.
    spots: Vec<Arc<Spot<J>>>,
    clock: Clock,
    pace: Pace,
}

/// How a watch ended.
enum Watched<J> {
    Job(J),
    /// The queue emptied: the watcher is idle again.
    Idle,
    Closed,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<J> Shared<J> {
    fn new(spots: Vec<Arc<Spot<J>>>) -> Self {
        let state = State { queue: VecDeque::new(), idle: Vec::new(), spinning: false, watching: false, closed: false };
        let (clock, pace) = (Clock::default(), Pace::default());
        Self { state: Mutex::new(state), queued: AtomicUsize::new(0), spots, clock, pace }
    }

    /// The next job for the thread parked at `spot`; `None` once the pool
    /// closes.
    fn next(&self, spot: &Arc<Spot<J>>) -> Option<J> {
        self.finished(spot);
        self.wait(spot).inspect(|_| spot.since.began(&self.clock))
    }

    /// The thread at `spot` is done with its request, if it had one.
    fn finished(&self, spot: &Spot<J>) {
        if let Some(took) = spot.since.elapsed(&self.clock) {
            self.pace.record(took);
        }
    }

    fn wait(&self, spot: &Arc<Spot<J>>) -> Option<J> {
        let spins = {
            let mut state = lock(&self.state);
            if let Some(job) = self.pop(&mut state) {
                return Some(job);
            }
            // Not hot while it waits: a request that comes now queues for
            // it only while it spins (see `hot_for`).
            spot.since.ended();
            !std::mem::replace(&mut state.spinning, true)
        };
        if spins {
            if let Some(job) = self.spin() {
                return Some(job);
            }
        }
        {
            let mut state = lock(&self.state);
            if spins {
                state.spinning = false;
            }
            if let Some(job) = self.pop(&mut state) {
                return Some(job);
            }
            if state.closed {
                return None;
            }
            state.idle.push(spot.clone());
        }
        loop {
            let mut request = lock(&spot.request);
            loop {
                if let Some(job) = request.take() {
                    return Some(job);
                }
                if *lock(&spot.closed) {
                    return None;
                }
                if spot.watch.swap(false, Ordering::AcqRel) {
                    break;
                }
                request = spot.wake.wait(request).unwrap_or_else(|poisoned| poisoned.into_inner());
            }
            drop(request);
            match self.watch(spot) {
                Watched::Job(job) => return Some(job),
                Watched::Idle => {}
                Watched::Closed => return None,
            }
        }
    }

    /// Waits a little for a request to be queued, without sleeping; the
    /// caller is the spinning thread.
    fn spin(&self) -> Option<J> {
        crate::backoff::briefly(|| {
            if self.queued.load(Ordering::Acquire) == 0 {
                return None;
            }
            let mut state = lock(&self.state);
            let job = self.pop(&mut state)?;
            state.spinning = false;
            Some(job)
        })
    }

    /// Watches the queue while requests wait in it for a hot thread. Once
    /// no thread is hot, the one that still serves waits on something: the
    /// watcher takes the first request, and the idle threads the others.
    fn watch(&self, spot: &Arc<Spot<J>>) -> Watched<J> {
        loop {
            let mut state = lock(&self.state);
            if state.closed {
                state.watching = false;
                return Watched::Closed;
            }
            if state.queue.is_empty() {
                // Idle again, below the others: the next request goes to
                // the thread that served last, whose caches are warm.
                state.watching = false;
                state.idle.insert(0, spot.clone());
                return Watched::Idle;
            }
            let Some(hot_for) = self.hot_for(&state) else {
                state.watching = false;
                let first = self.pop(&mut state);
                let mut handed = Vec::new();
                while !state.queue.is_empty() {
                    let Some(idle) = state.idle.pop() else { break };
                    handed.extend(self.pop(&mut state).map(|job| (idle, job)));
                }
                drop(state);
                for (idle, job) in handed {
                    idle.hand(job);
                }
                return first.map_or(Watched::Idle, Watched::Job);
            };
            drop(state);
            let request = lock(&spot.request);
            // Nothing hands a watcher a request (it is not idle); only the
            // pool's close wakes it early.
            let _ = spot.wake.wait_timeout(request, hot_for);
        }
    }

    /// How long requests should still wait for a busy thread (see [`hot`]):
    /// in an app of fast requests, for a hot one, or a spinning one (it
    /// takes the next request within microseconds).
    fn hot_for(&self, state: &State<J>) -> Option<std::time::Duration> {
        if !self.pace.is_fast() {
            return None;
        }
        if state.spinning {
            return Some(hot::HOT);
        }
        self.clock.hot_for(self.spots.iter().map(|spot| &spot.since))
    }

    fn pop(&self, state: &mut State<J>) -> Option<J> {
        let job = state.queue.pop_front()?;
        self.queued.store(state.queue.len(), Ordering::Release);
        Some(job)
    }

    fn submit(&self, job: J) {
        let mut state = lock(&self.state);
        if state.closed {
            // Every thread has gone: the request is dropped, which ends it
            // with an empty response.
            return;
        }
        // A spinning thread takes one request from the queue: no one need
        // be woken for it. Another one that comes meanwhile wakes a sleeper,
        // or it would wait for whatever the spinning thread runs next;
        // unless the app's requests are fast and a thread is hot: it takes
        // the queue's requests as it goes, without letting go of the GIL,
        // and one sleeper is woken only to watch that it does (it may wait
        // on something).
        let for_spinner = state.spinning && state.queue.is_empty();
        let behind_hot = !for_spinner && self.hot_for(&state).is_some();
        let sleeper = if for_spinner || behind_hot { None } else { state.idle.pop() };
        if let Some(spot) = sleeper {
            drop(state);
            spot.hand(job);
            return;
        }
        state.queue.push_back(job);
        self.queued.store(state.queue.len(), Ordering::Release);
        if behind_hot && !state.watching {
            if let Some(watcher) = state.idle.pop() {
                state.watching = true;
                drop(state);
                watcher.call_to_watch();
            }
        }
    }

    /// Only the idle threads are told the pool closed: a thread taken off
    /// the idle stack is about to be handed a request (by `submit` or a
    /// watcher, after they let go of the state), which it must serve, and
    /// it finds the pool closed when it next asks for one. The others are
    /// woken so that a watcher sees the close at once.
    fn close(&self) {
        let idle = {
            let mut state = lock(&self.state);
            state.closed = true;
            std::mem::take(&mut state.idle)
        };
        for spot in &idle {
            *lock(&spot.closed) = true;
        }
        for spot in &self.spots {
            // Taking the request lock orders the flag before the wake-up.
            drop(lock(&spot.request));
            spot.wake.notify_one();
        }
    }
}

/// One application thread's view of the pool.
struct PoolThread<J> {
    shared: Arc<Shared<J>>,
    spot: Arc<Spot<J>>,
}

impl<J: Job> Requests for PoolThread<J> {
    fn next(&mut self) -> Next {
        self.shared.next(&self.spot).map_or(Next::End, |job| Next::Request(job.into_request()))
    }

    fn ready(&mut self) -> Option<Request> {
        if self.shared.queued.load(Ordering::Acquire) == 0 {
            return None;
        }
        let job = self.shared.pop(&mut lock(&self.shared.state))?;
        self.shared.finished(&self.spot);
        self.spot.since.began(&self.shared.clock);
        Some(job.into_request())
    }
}

pub struct Pool<J: Job = Request> {
    shared: Arc<Shared<J>>,
    threads: Vec<JoinHandle<()>>,
}

impl<J: Job> Pool<J> {
    pub fn start(app: Arc<dyn App>, threads: usize) -> std::io::Result<Self> {
        let spots: Vec<Arc<Spot<J>>> = (0..threads.max(1)).map(|_| Arc::default()).collect();
        let shared = Arc::new(Shared::new(spots.clone()));
        let handles = spots
            .into_iter()
            .enumerate()
            .map(|(index, spot)| {
                let app = app.clone();
                let shared = shared.clone();
                std::thread::Builder::new().name(format!("iiswsgi-app-{index}")).spawn(move || {
                    app.run_thread(&mut PoolThread { shared, spot });
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { shared, threads: handles })
    }

    /// Hands a job to the thread idle last, or queues it: when every
    /// thread is busy, for a spinning thread, or behind a hot one (see
    /// [`hot`]).
    pub fn submit(&self, job: J) {
        self.shared.submit(job);
    }
}

impl<J: Job> Drop for Pool<J> {
    fn drop(&mut self) {
        self.shared.close();
        for handle in self.threads.drain(..) {
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests;
