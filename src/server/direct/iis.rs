//! IIS mode on Unix: IIS (and the emulator) drive one connection, one
//! request after another, and the one application thread serves it.

use super::{lock, take_request, Link, Shared, Socket, Taken};
use crate::app::App;
use crate::request::Request;
use crate::shutdown::Shutdown;
use iiswsgi_proto::fastcgi::Limits;
use std::os::unix::net::UnixStream;
use std::sync::Arc;

/// How often a wait for the next request looks at the shutdown flag.
const SHUTDOWN_POLL_MS: i32 = 200;

/// The next request, waiting for it (without the interpreter) as long as
/// the connection lives and no shutdown was asked for.
fn next_request(link: &Shared, shutdown: &Shutdown) -> Option<Request> {
    let mut guard = lock(link);
    loop {
        match take_request(link, &mut guard) {
            Taken::Request(request) => return Some(request),
            Taken::Malformed => return None,
            Taken::NeedMore => {}
        }
        if guard.is_over() || shutdown.is_triggered() {
            return None;
        }
        guard.fill(SHUTDOWN_POLL_MS);
    }
}

/// Serves the connection until IIS closes it or shutdown is asked for.
pub fn run(stream: UnixStream, app: Arc<dyn App>, limits: Limits, shutdown: Shutdown) {
    let link = Link::new(Socket::Unix(stream), limits);
    app.run_thread(&mut || next_request(&link, &shutdown));
    lock(&link).stream.shutdown();
}
