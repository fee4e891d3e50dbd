//! `iiswsgi serve --test-app`: the original iiswsgi's `test_app`, rebuilt in
//! Rust so it needs no Python. It shows the request as the gateway received
//! it, which is what one wants to see when an IIS handler mapping misbehaves.

use crate::app::App;
use crate::request::{latin1, Request};
use std::io::Read;

pub struct TestApp;

impl App for TestApp {
    fn handle(&self, mut request: Request) {
        let mut body_len = 0u64;
        let mut chunk = [0u8; 64 * 1024];
        while let Ok(n @ 1..) = request.body.read(&mut chunk) {
            body_len += n as u64;
        }
        let page = render(&request, body_len);
        let head = format!(
            "Status: 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\r\n",
            page.len()
        );
        let is_head = request.param("REQUEST_METHOD").as_deref() == Some("HEAD");
        let mut out = head.into_bytes();
        if !is_head {
            out.extend_from_slice(page.as_bytes());
        }
        let _ = request.response.stdout(out);
        request.response.end();
    }

    fn describe(&self) -> String {
        "the built-in test app".to_string()
    }
}

fn render(request: &Request, body_len: u64) -> String {
    let mut rows: Vec<(String, String)> = request.params.iter().map(|(n, v)| (latin1(n), latin1(v))).collect();
    rows.sort();
    rows.push(("(request body bytes)".to_string(), body_len.to_string()));
    let mut html = String::from(
        "<!DOCTYPE html>\n<html><head><title>iiswsgi test app</title></head><body>\n\
         <h1>iiswsgi test app</h1>\n<table border=\"1\">\n<tr><th>Name</th><th>Value</th></tr>\n",
    );
    for (name, value) in rows {
        html.push_str(&format!("<tr><td>{}</td><td>{}</td></tr>\n", escape(&name), escape(&value)));
    }
    html.push_str("</table>\n</body></html>\n");
    html
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_values_is_escaped() {
        assert_eq!(escape("<a href=\"x\">&</a>"), "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;");
    }
}
