//! The only place where I/O meets the protocol: accept connections from a
//! [`Transport`], run the FastCGI state machine over each, hand requests to
//! the application pool. Where the platform allows, [`direct`] serves the
//! connections on the application threads instead (IIS mode on Unix; bind
//! and listen-socket modes on Linux); this async server serves the rest
//! (Windows, and other Unixes outside IIS mode).

mod connection;
#[cfg(unix)]
pub mod direct;

use crate::pool::Pool;
use crate::shutdown::Shutdown;
use crate::transport::{Mode, Transport};
use iiswsgi_proto::fastcgi::{Limits, ServerConnection};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// What every connection shares.
pub struct Context {
    pub pool: Pool,
    pub limits: Limits,
    pub shutdown: Shutdown,
}

/// Serves until the transport runs dry or shutdown is triggered, then
/// finishes the requests in flight.
pub async fn run<T: Transport>(mut transport: T, context: Arc<Context>) -> std::io::Result<()> {
    if transport.mode() == Mode::Iis {
        // IIS drives one connection at a time and never multiplexes.
        loop {
            let accepted = tokio::select! {
                accepted = transport.accept() => accepted?,
                () = context.shutdown.wait() => None,
            };
            let Some(stream) = accepted else { break };
            let stream = connection::serve(stream, &context).await;
            transport.release(stream);
            if context.shutdown.is_triggered() {
                break;
            }
        }
        return Ok(());
    }
    let slots = Arc::new(Semaphore::new(context.limits.max_conns as usize));
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else { break };
        let accepted = tokio::select! {
            accepted = transport.accept() => accepted,
            () = context.shutdown.wait() => break,
        };
        match accepted {
            Ok(Some(stream)) => {
                let context = context.clone();
                connections.spawn(async move {
                    drop(connection::serve(stream, &context).await);
                    drop(slot);
                });
            }
            Ok(None) => break,
            Err(err) => {
                // Typically EMFILE: back off instead of spinning.
                tracing::warn!("accept failed: {err}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        while connections.try_join_next().is_some() {}
    }
    drop(transport);
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// Answers, without the application, a request whose PARAMS passed the
/// limit: 431 and the end of the request.
fn refuse_params_too_large(conn: &mut ServerConnection, request_id: u16, limit: usize) {
    tracing::warn!("request {request_id}: FastCGI params exceed {limit} bytes; answering 431");
    let page = format!(
        "Status: 431 Request Header Fields Too Large\r\nContent-Type: text/plain\r\n\r\n\
         The request's headers and server variables exceed {limit} bytes.\n"
    );
    conn.write_stdout(request_id, page.as_bytes());
    conn.end_request(request_id, 0);
}
