//! IIS configuration files, read from text (the caller reads the file).

mod web_config;

pub use web_config::{app_settings, XmlError};
