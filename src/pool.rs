//! A fixed set of application threads. Requests queue in a channel; each
//! thread takes the next one when it is free. No thread is spawned per
//! request.

use crate::app::App;
use crate::request::Request;
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;

pub struct Pool {
    jobs: Option<mpsc::Sender<Request>>,
    threads: Vec<JoinHandle<()>>,
}

impl Pool {
    pub fn start(app: Arc<dyn App>, threads: usize) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel::<Request>();
        let rx = Arc::new(Mutex::new(rx));
        let handles = (0..threads.max(1))
            .map(|index| {
                let app = app.clone();
                let rx = rx.clone();
                std::thread::Builder::new().name(format!("iiswsgi-app-{index}")).spawn(move || {
                    let mut next = || rx.lock().ok()?.recv().ok();
                    app.run_thread(&mut next);
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { jobs: Some(tx), threads: handles })
    }

    /// Queues a request for the next free thread.
    pub fn submit(&self, request: Request) {
        if let Some(jobs) = &self.jobs {
            // Sending fails only when every thread has exited; the request is
            // then dropped, which ends it with an empty response.
            let _ = jobs.send(request);
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.jobs.take();
        for handle in self.threads.drain(..) {
            let _ = handle.join();
        }
    }
}
