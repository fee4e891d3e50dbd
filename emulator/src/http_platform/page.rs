//! The ASP.NET Core Module's own error page (dotnet/aspnetcore
//! `AspNetCoreModuleV2/AspNetCore/ancm_error_page.htm`, filled by
//! `FILE_UTILITY::GetHtml` in `forwardinghandler.cpp`): the status line, a
//! list of common solutions and ANCM's troubleshooting steps.

use crate::body::Body;
use crate::error_page::{escape, Substatus};
use http::{header, Response};

/// 502.5: the process did not start or did not listen.
pub const STARTUP_FAILURE: &str = "ANCM Out-Of-Process Startup Failure";
pub const STARTUP_SOLUTIONS: &[&str] = &[
    "The application process failed to start",
    "The application process started but then stopped",
    "The application process started but failed to listen on the configured port",
];
/// 500.0 for `hostingModel="InProcess"`, which loads a .NET app.
pub const IN_PROCESS_FAILURE: &str = "ANCM In-Process Handler Load Failure";

/// The page's HTML.
fn html(status: u16, substatus: u32, error_type: &str, solutions: &[&str], detail: &str) -> String {
    let items: String = solutions.iter().map(|s| format!("<li> {} </li>", escape(s))).collect();
    let detail = if detail.is_empty() {
        String::new()
    } else {
        format!("<h2> Specific error detected by ANCM: </h2><p>{}</p>\n", escape(detail))
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\" /><title> HTTP Error {status}.{substatus} - {error_type} </title></head>\n\
         <body><h1> HTTP Error {status}.{substatus} - {error_type} </h1>\n\
         <h2> Common solutions to this issue: </h2><ul>{items}</ul>\n{detail}\
         <h2> Troubleshooting steps: </h2><ul><li> Check the system event log for error messages </li>\
         <li> Enable logging the application process' stdout messages </li>\
         <li> Attach a debugger to the application process and inspect </li></ul>\n\
         <h2> For more information visit: <a href=\"https://go.microsoft.com/fwlink/?LinkID=2028526\">https://go.microsoft.com/fwlink/?LinkID=2028526</a></h2>\n\
         </body></html>\n",
        error_type = escape(error_type),
    )
}

pub fn response(status: u16, substatus: u32, error_type: &str, solutions: &[&str], detail: &str) -> Response<Body> {
    let page = html(status, substatus, error_type, solutions, detail);
    let mut response = Response::new(Body::full(page));
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_GATEWAY);
    response.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("text/html"));
    response.extensions_mut().insert(Substatus(substatus));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_startup_failure_page_names_the_cause() {
        let page = html(502, 5, STARTUP_FAILURE, STARTUP_SOLUTIONS, "exited with <code> 3");
        assert!(page.contains("<title> HTTP Error 502.5 - ANCM Out-Of-Process Startup Failure </title>"));
        assert!(page.contains("<li> The application process failed to start </li>"));
        assert!(page.contains("exited with &lt;code&gt; 3"));
        assert_eq!(response(502, 5, STARTUP_FAILURE, STARTUP_SOLUTIONS, "").status(), 502);
    }
}
