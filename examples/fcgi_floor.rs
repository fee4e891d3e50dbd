//! The benchmark floor for the IIS path (`ci/bench`, scenario A): a FastCGI
//! responder with no Python that answers every request with a fixed
//! "Hello, world!" response, over IIS's channel (fd 0 as on Unix under the
//! emulator). It uses the same sans-IO codec as the gateway, blocking I/O,
//! and one write per response: the least a FastCGI process can do.

use iiswsgi_proto::fastcgi::{encoder, Decoder, Record, RecordType};
use std::io::{Read, Write};
use std::os::fd::FromRawFd;

const RESPONSE: &[u8] = b"Status: 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, world!";

fn main() -> std::io::Result<()> {
    // SAFETY: fd 0 is the socket the emulator (as IIS) connected us with;
    // nothing else in this process uses it.
    let mut stream = unsafe { std::os::unix::net::UnixStream::from_raw_fd(0) };
    let mut decoder = Decoder::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut out = Vec::with_capacity(256);
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        decoder.feed(&buf[..n]);
        while let Some(record) = decoder.decode().map_err(std::io::Error::other)? {
            if let Record::Stdin { request_id, content } = record {
                if content.is_empty() {
                    out.clear();
                    encoder::record(RecordType::Stdout, request_id, RESPONSE, &mut out);
                    encoder::end_stream(RecordType::Stdout, request_id, &mut out);
                    encoder::record(RecordType::EndRequest, request_id, &[0; 8], &mut out);
                    stream.write_all(&out)?;
                }
            }
        }
    }
}
