#![no_main]
//! IIS's parsing of a FastCGI app's CGI head, fed in pieces.
use iiswsgi_proto::cgi_response::HeadParser;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut parser = HeadParser::new();
    for chunk in data.chunks(5) {
        match parser.feed(chunk) {
            Ok(None) => {}
            Ok(Some(_)) | Err(_) => return,
        }
    }
    let _ = parser.finish();
});
