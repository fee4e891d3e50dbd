//! The seam between the server and whatever answers requests: the embedded
//! WSGI gateway, or the built-in diagnostic app.

use crate::request::Request;

/// Something that answers requests on the pool's threads.
pub trait App: Send + Sync + 'static {
    /// Serves one request, ending its response ([`crate::request::Response::end`])
    /// when the answer is complete; one left unended ends on return.
    fn handle(&self, request: Request);

    /// Runs one pool thread: `next` blocks until a request comes, and gives
    /// `None` when the pool shuts down. Apps that keep per-thread state (an
    /// attached interpreter thread) override this to set it up once.
    fn run_thread(&self, next: &mut (dyn FnMut() -> Option<Request> + Send)) {
        while let Some(request) = next() {
            self.handle(request);
        }
    }

    /// A line for the start-up log saying what this app is.
    fn describe(&self) -> String;
}
