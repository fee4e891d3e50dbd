//! IIS's own error responses: the "detailed error" page IIS shows to local
//! clients (the default `errorMode="DetailedLocalOnly"`), with the status,
//! substatus, message and the detail rows users search the web for.

use crate::body::Body;
use http::{header, Response};

/// One IIS error: status.substatus, the message and who raised it.
#[derive(Debug, Clone)]
pub struct IisError {
    pub status: u16,
    pub substatus: u32,
    pub message: String,
    pub module: &'static str,
    pub handler: String,
    /// The HRESULT or exit code in the "Error Code" row.
    pub error_code: u32,
    /// The pipeline stage it happened in.
    pub notification: &'static str,
}

impl IisError {
    pub fn new(status: u16, substatus: u32, message: impl Into<String>) -> Self {
        Self {
            status,
            substatus,
            message: message.into(),
            module: "IIS Web Core",
            handler: String::new(),
            error_code: 0,
            notification: "ExecuteRequestHandler",
        }
    }

    pub fn fastcgi(handler: &str, message: impl Into<String>, error_code: u32) -> Self {
        Self { module: "FastCgiModule", handler: handler.to_string(), error_code, ..Self::new(500, 0, message) }
    }

    pub fn with_module(mut self, module: &'static str, handler: &str) -> Self {
        self.module = module;
        self.handler = handler.to_string();
        self
    }

    pub fn in_notification(mut self, notification: &'static str) -> Self {
        self.notification = notification;
        self
    }

    fn title(&self) -> String {
        format!("HTTP Error {}.{} - {}", self.status, self.substatus, reason(self.status))
    }

    /// The detailed error page for a request to `url` (`physical`: where it mapped).
    pub fn page(&self, url: &str, physical: &str) -> String {
        let rows = [
            ("Module", self.module.to_string()),
            ("Notification", self.notification.to_string()),
            ("Handler", self.handler.clone()),
            ("Error Code", format!("0x{:08x}", self.error_code)),
            ("Requested URL", url.to_string()),
            ("Physical Path", physical.to_string()),
        ];
        let rows: String = rows.iter().map(|(k, v)| format!("<tr><th>{k}</th><td>{}</td></tr>\n", escape(v))).collect();
        format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\" /><title>IIS 10.0 Detailed Error - {}.{} - {}</title></head>\n<body><div id=\"content\">\n<div class=\"content-container\"><h3>{}</h3>\n<h4>{}</h4></div>\n<div class=\"content-container\"><fieldset><h4>Detailed Error Information:</h4>\n<table>\n{rows}</table></fieldset></div>\n</div></body></html>\n",
            self.status,
            self.substatus,
            reason(self.status),
            escape(&self.title()),
            escape(&self.message),
        )
    }

    pub fn response(&self, url: &str, physical: &str) -> Response<Body> {
        let mut response = Response::new(Body::full(self.page(url, physical)));
        *response.status_mut() =
            http::StatusCode::from_u16(self.status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, header::HeaderValue::from_static("text/html; charset=utf-8"));
        response.extensions_mut().insert(Substatus(self.substatus));
        response
    }
}

/// The substatus of a response, for the access log.
#[derive(Debug, Clone, Copy)]
pub struct Substatus(pub u32);

fn reason(status: u16) -> &'static str {
    http::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Error")
}

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_carries_status_message_and_escaped_details() {
        let error =
            IisError::fastcgi("Python <FastCGI>", "/usr/bin/python - The FastCGI process exited unexpectedly", 1);
        let page = error.page("http://localhost:8080/?a=<b>", "/srv/site");
        assert!(page.contains("<h3>HTTP Error 500.0 - Internal Server Error</h3>"));
        assert!(page.contains("The FastCGI process exited unexpectedly"));
        assert!(page.contains("<td>Python &lt;FastCGI&gt;</td>"));
        assert!(page.contains("<td>0x00000001</td>"));
        assert!(!page.contains("<b>"));
    }
}
