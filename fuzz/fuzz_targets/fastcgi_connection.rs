#![no_main]
//! The server state machine on any byte stream: events or an error, bounded output.
use iiswsgi_proto::fastcgi::{Limits, ServerConnection};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_conns: 1, max_reqs: 1, max_params_len: 4096 };
    let mut conn = ServerConnection::new(limits);
    for chunk in data.chunks(7) {
        conn.receive(chunk);
        loop {
            match conn.poll_event() {
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        let _ = conn.take_output();
    }
});
