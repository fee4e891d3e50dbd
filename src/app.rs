//! The seam between the server and whatever answers requests: the embedded
//! WSGI gateway, or the built-in diagnostic app.

use crate::request::Request;

/// What an application thread's wait for a request gave.
pub enum Next {
    /// A request for this thread.
    Request(Request),
    /// A request waits for whichever thread holds the interpreter first:
    /// this one looks with [`Requests::ready`] once it holds it (the thread
    /// that held it may have taken the request already).
    Queued,
    /// Serving ends.
    End,
}

/// Where an application thread gets its requests.
pub trait Requests: Send {
    /// Blocks until a request comes.
    fn next(&mut self) -> Next;

    /// A request that is already waiting, without blocking; `None` when
    /// there is none just now.
    fn ready(&mut self) -> Option<Request> {
        None
    }
}

/// A closure is a source that only blocks; `None` ends serving.
impl<F: FnMut() -> Option<Request> + Send> Requests for F {
    fn next(&mut self) -> Next {
        self().map_or(Next::End, Next::Request)
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
        loop {
            let request = match requests.next() {
                Next::Request(request) => request,
                Next::Queued => match requests.ready() {
                    Some(request) => request,
                    None => continue,
                },
                Next::End => return,
            };
            self.handle(request);
        }
    }

    /// A line for the start-up log saying what this app is.
    fn describe(&self) -> String;
}
