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

/// A pool whose app has shown fast requests.
fn fast(shared: &Shared<Request>) {
    for _ in 0..8 {
        shared.pace.record(std::time::Duration::ZERO);
    }
}

#[test]
fn while_a_thread_spins_one_request_waits_for_it_and_the_next_wakes_a_sleeper() {
    let shared = Shared::<Request>::new(Vec::new());
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
fn in_an_app_of_fast_requests_a_spinning_thread_keeps_them_and_a_sleeper_watches() {
    let shared = Shared::<Request>::new(Vec::new());
    fast(&shared);
    let spot = Arc::new(Spot::default());
    {
        let mut state = lock(&shared.state);
        state.idle.push(spot.clone());
        state.spinning = true;
    }
    shared.submit(request());
    assert!(!spot.watch.load(Ordering::Acquire), "the spinning thread takes the first at once: no watcher");
    shared.submit(request());
    assert!(lock(&spot.request).is_none(), "the second waits for it too");
    assert!(spot.watch.load(Ordering::Acquire), "and a sleeper watches that it is taken");
    assert_eq!(shared.queued.load(Ordering::Acquire), 2);
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

#[test]
fn in_an_app_of_fast_requests_one_that_comes_while_a_thread_is_hot_queues_for_it_and_a_sleeper_watches() {
    let (busy, idle) = (Arc::new(Spot::default()), Arc::new(Spot::default()));
    let shared = Shared::<Request>::new(vec![busy.clone(), idle.clone()]);
    lock(&shared.state).idle.push(idle.clone());
    let (first, second) = (request(), request());
    fast(&shared);
    busy.since.began(&shared.clock);
    shared.submit(first);
    assert_eq!(shared.queued.load(Ordering::Acquire), 1, "queued for the hot thread");
    assert!(lock(&idle.request).is_none(), "the idle thread got no request");
    assert!(idle.watch.load(Ordering::Acquire), "but was called to watch");
    assert!(lock(&shared.state).watching);
    shared.submit(second);
    assert_eq!(shared.queued.load(Ordering::Acquire), 2, "one watcher is enough");
}

/// Counts the requests running at once, each `pause` long without the
/// GIL (a query, a sleep).
struct Waits {
    running: AtomicUsize,
    most: AtomicUsize,
    served: AtomicUsize,
    pause: std::time::Duration,
}

impl App for Waits {
    fn handle(&self, request: Request) {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        std::thread::sleep(self.pause);
        self.running.fetch_sub(1, Ordering::SeqCst);
        self.served.fetch_add(1, Ordering::SeqCst);
        drop(request);
    }

    fn describe(&self) -> String {
        "waits".into()
    }
}

#[test]
fn requests_queued_behind_a_thread_that_waits_are_handed_to_the_idle_ones() {
    let app = Arc::new(Waits {
        running: AtomicUsize::new(0),
        most: AtomicUsize::new(0),
        served: AtomicUsize::new(0),
        pause: std::time::Duration::from_millis(300),
    });
    let pool = Pool::start(app.clone(), 4).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(50));
    // As if its requests had been fast: these queue behind the first, and
    // only the watcher hands them out, once that one has lasted past HOT.
    fast(&pool.shared);
    for _ in 0..4 {
        pool.submit(request());
    }
    while app.served.load(Ordering::SeqCst) < 4 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(app.most.load(Ordering::SeqCst), 4, "all four waited side by side");
}

#[test]
fn short_requests_in_a_burst_stay_on_the_thread_that_is_hot() {
    let app = Arc::new(Recorder(Mutex::new(Vec::new()), AtomicUsize::new(0)));
    let pool = Pool::start(app.clone(), 4).unwrap();
    // The pool learns the app's pace from the requests it serves.
    for served in 1..=20 {
        pool.submit(request());
        while app.1.load(Ordering::SeqCst) < served {
            std::thread::yield_now();
        }
    }
    for _ in 0..400 {
        pool.submit(request());
    }
    while app.1.load(Ordering::SeqCst) < 420 {
        std::thread::yield_now();
    }
    let names = lock(&app.0).split_off(20);
    let most = names.iter().map(|n| names.iter().filter(|m| *m == n).count()).max().unwrap_or(0);
    // Handed out as they came, the four threads would share them; a
    // thread the machine stops for longer than HOT loses some to the
    // watcher, so only a majority is asked for.
    assert!(most * 2 > names.len(), "one thread served {most} of {}", names.len());
}

#[test]
fn in_an_app_of_longer_requests_one_that_comes_while_a_thread_serves_wakes_a_sleeper() {
    let (busy, idle) = (Arc::new(Spot::default()), Arc::new(Spot::default()));
    let shared = Shared::<Request>::new(vec![busy.clone(), idle.clone()]);
    lock(&shared.state).idle.push(idle.clone());
    for _ in 0..8 {
        shared.pace.record(hot::FAST * 20);
    }
    let next = request();
    busy.since.began(&shared.clock);
    shared.submit(next);
    assert!(lock(&idle.request).is_some(), "the threads run side by side");
    assert_eq!(shared.queued.load(Ordering::Acquire), 0);
}
