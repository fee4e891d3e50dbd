//! IIS configuration: applicationHost.config, web.config and the rules IIS
//! applies to them (handler matching, `%VAR%` expansion, command lines).
//! Everything here reads text the caller has read; nothing touches files.

mod app_host;
pub mod collection;
mod command_line;
mod expand;
mod fastcgi_application;
pub mod handlers;
pub mod http_platform;
pub mod rewrite;
mod web_config;
pub mod xml;

pub use app_host::{Application, ApplicationHost, Binding, Location, Site, VirtualDirectory};
pub use collection::{CollectionOp, Level, Module};
pub use command_line::split_arguments;
pub use expand::{expand_percent_vars, from_env};
pub use fastcgi_application::{applications, script_processor_key, FastCgiApplication, StderrMode};
pub use handlers::{Handler, HandlerOp, OnDisk};
pub use http_platform::{HttpPlatform, ModuleKind};
pub use web_config::{app_settings, WebConfig};
pub use xml::{Document, Element, Node, XmlError};
