//! The seam between the server and whatever answers requests: the embedded
//! WSGI gateway, or the built-in diagnostic app.

use crate::request::Request;

/// Where an application thread gets its requests.
pub trait Requests: Send {
    /// Blocks until a request comes; `None` when serving ends.
    fn next(&mut self) -> Option<Request>;

    /// A request that is already waiting, without blocking; `None` when
    /// there is none just now.
    fn ready(&mut self) -> Option<Request> {
        None
    }
}

/// A closure is a source that only blocks.
impl<F: FnMut() -> Option<Request> + Send> Requests for F {
    fn next(&mut self) -> Option<Request> {
        self()
    }
}

/// Something that answers requests on the pool's threads.
pub trait App: Send + Sync + 'static {
    /// Serves one request, ending its response ([`crate::request::Response::end`])
    /// when the answer is complete; one left unended ends on return.
    fn handle(&self, request: Request);

    /// Runs one pool thread on `requests`. Apps that keep per-thread state
    /// (an attached interpreter thread) override this to set it up once.
    fn run_thread(&self, requests: &mut dyn Requests) {
        while let Some(request) = requests.next() {
            self.handle(request);
        }
    }

    /// A line for the start-up log saying what this app is.
    fn describe(&self) -> String;
}
