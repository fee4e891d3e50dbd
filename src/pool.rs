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
//! for the next one, and while one spins, new requests are queued for it
//! instead of waking a sleeper. Only one thread spins at a time, so the
//! others sleep and cost nothing.
//!
//! What the pool queues is a [`Job`], made into a request by the thread
//! that takes it: work a server leaves to the job (HTTP mode's CGI
//! variables) is done on the application threads, not on the one I/O
//! thread every connection shares.

use crate::app::{App, Next, Requests};
use crate::request::Request;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
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

/// Where one idle thread waits for its next request.
struct Spot<J> {
    request: Mutex<Option<J>>,
    /// Set when the pool closes while the thread waits.
    closed: Mutex<bool>,
    wake: Condvar,
}

impl<J> Default for Spot<J> {
    fn default() -> Self {
        Self { request: Mutex::new(None), closed: Mutex::new(false), wake: Condvar::new() }
    }
}

struct State<J> {
    queue: VecDeque<J>,
    /// Idle threads, the last to become idle on top.
    idle: Vec<Arc<Spot<J>>>,
    /// Whether a thread is spinning for the next request.
    spinning: bool,
    closed: bool,
}

struct Shared<J> {
    state: Mutex<State<J>>,
    /// `state.queue.len()`, read without the lock by a spinning thread.
    queued: AtomicUsize,
}

impl<J> Default for Shared<J> {
    fn default() -> Self {
        let state = State { queue: VecDeque::new(), idle: Vec::new(), spinning: false, closed: false };
        Self { state: Mutex::new(state), queued: AtomicUsize::new(0) }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<J> Shared<J> {
    /// The next job for the thread parked at `spot`; `None` once the pool
    /// closes.
    fn next(&self, spot: &Arc<Spot<J>>) -> Option<J> {
        let spins = {
            let mut state = lock(&self.state);
            if let Some(request) = self.pop(&mut state) {
                return Some(request);
            }
            !std::mem::replace(&mut state.spinning, true)
        };
        if spins {
            if let Some(request) = self.spin() {
                return Some(request);
            }
        }
        {
            let mut state = lock(&self.state);
            if spins {
                state.spinning = false;
            }
            if let Some(request) = self.pop(&mut state) {
                return Some(request);
            }
            if state.closed {
                return None;
            }
            state.idle.push(spot.clone());
        }
        let mut request = lock(&spot.request);
        loop {
            if let Some(request) = request.take() {
                return Some(request);
            }
            if *lock(&spot.closed) {
                return None;
            }
            request = spot.wake.wait(request).unwrap_or_else(|poisoned| poisoned.into_inner());
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
            let request = self.pop(&mut state)?;
            state.spinning = false;
            Some(request)
        })
    }

    fn pop(&self, state: &mut State<J>) -> Option<J> {
        let request = state.queue.pop_front()?;
        self.queued.store(state.queue.len(), Ordering::Release);
        Some(request)
    }

    fn submit(&self, request: J) {
        let mut state = lock(&self.state);
        if state.closed {
            // Every thread has gone: the request is dropped, which ends it
            // with an empty response.
            return;
        }
        // A spinning thread takes one request from the queue: no one need
        // be woken for it. Another one that comes meanwhile wakes a sleeper,
        // or it would wait for whatever the spinning thread runs next.
        let for_spinner = state.spinning && state.queue.is_empty();
        let sleeper = if for_spinner { None } else { state.idle.pop() };
        match sleeper {
            Some(spot) => {
                drop(state);
                *lock(&spot.request) = Some(request);
                spot.wake.notify_one();
            }
            None => {
                state.queue.push_back(request);
                self.queued.store(state.queue.len(), Ordering::Release);
            }
        }
    }

    fn close(&self) {
        let idle = {
            let mut state = lock(&self.state);
            state.closed = true;
            std::mem::take(&mut state.idle)
        };
        for spot in idle {
            *lock(&spot.closed) = true;
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
        let job = self.shared.pop(&mut lock(&self.shared.state));
        job.map(Job::into_request)
    }
}

pub struct Pool<J: Job = Request> {
    shared: Arc<Shared<J>>,
    threads: Vec<JoinHandle<()>>,
}

impl<J: Job> Pool<J> {
    pub fn start(app: Arc<dyn App>, threads: usize) -> std::io::Result<Self> {
        let shared = Arc::new(Shared::default());
        let handles = (0..threads.max(1))
            .map(|index| {
                let app = app.clone();
                let shared = shared.clone();
                std::thread::Builder::new().name(format!("iiswsgi-app-{index}")).spawn(move || {
                    app.run_thread(&mut PoolThread { shared, spot: Arc::new(Spot::default()) });
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { shared, threads: handles })
    }

    /// Hands a job to the thread idle last, or queues it.
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
mod tests {
    use super::*;
    use crate::request::Params;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Records which thread served each request.
    struct Recorder(Mutex<Vec<String>>, AtomicUsize);

    impl App for Recorder {
        fn handle(&self, request: Request) {
            let name = std::thread::current().name().unwrap_or("").to_string();
            lock(&self.0).push(name);
            self.1.fetch_add(1, Ordering::SeqCst);
            drop(request);
        }

        fn describe(&self) -> String {
            "recorder".into()
        }
    }

    fn request() -> Request {
        Request::new(Params::from_pairs([]), "test", false).0
    }

    #[test]
    fn while_a_thread_spins_one_request_waits_for_it_and_the_next_wakes_a_sleeper() {
        let shared = Shared::<Request>::default();
        let spot = Arc::new(Spot::default());
        {
            let mut state = lock(&shared.state);
            state.idle.push(spot.clone());
            state.spinning = true;
        }
        shared.submit(request());
        assert!(lock(&spot.request).is_none(), "the first is left for the spinning thread");
        assert_eq!(shared.queued.load(Ordering::Acquire), 1);
        shared.submit(request());
        assert!(lock(&spot.request).is_some(), "the second went to the sleeping thread");
        assert_eq!(shared.queued.load(Ordering::Acquire), 1);
    }

    #[test]
    fn one_request_at_a_time_goes_to_the_same_hot_thread_and_a_crowd_to_all() {
        let app = Arc::new(Recorder(Mutex::new(Vec::new()), AtomicUsize::new(0)));
        let pool = Pool::start(app.clone(), 4).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        for served in 1..=20 {
            pool.submit(request());
            while app.1.load(Ordering::SeqCst) < served {
                std::thread::yield_now();
            }
            // Let the thread park again before the next one.
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        let names = lock(&app.0).clone();
        assert!(names.iter().all(|n| *n == names[0]), "one thread served them all: {names:?}");
        for _ in 0..200 {
            pool.submit(request());
        }
        drop(pool);
        assert_eq!(app.1.load(Ordering::SeqCst), 220, "every queued request served before the pool stopped");
    }
}
