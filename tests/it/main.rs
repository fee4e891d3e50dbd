//! Integration tests: the real `iiswsgi` binary against real clients
//! (nginx, Apache, lighttpd, libfcgi's cgi-fcgi, an IIS-like client over a
//! socketpair).

mod support;

mod bind_threads;
mod cgi_fcgi;
mod debugger;
mod doctor;
mod emulate;
mod expandvars;
mod frameworks;
mod front_ends;
mod hostile_xml;
pub mod http_mode;
mod http_robustness;
mod iis_mode;
mod kept;
pub mod msdeploy;
pub mod robustness;
mod venv;
pub mod webpi;
mod wheel;
mod wine;
pub mod wsgi_apps;
