//! IIS URL Rewrite 2.1's inbound rules, run before handler mapping as the
//! module runs them (the configuration model is in
//! `iiswsgi_proto::iis::rewrite`; emulator/README.md lists what is
//! emulated, the sources followed and the decisions taken where they are
//! silent).
//!
//! - `config`: which rules apply to a URL, level by level.
//! - `compiled`, `pattern`, `template`: a rule made ready to run.
//! - `variables`, `engine`: the request as rules see it, and the run.
//! - `respond`: the outcome applied to the HTTP request, or answered.

mod compiled;
mod config;
mod engine;
mod pattern;
mod respond;
mod template;
mod variables;

pub use respond::{Aborted, Peer, Rewriter};

use crate::error_page::IisError;
use iiswsgi_proto::iis::collection::CollectionOp;
use iiswsgi_proto::iis::rewrite::RewriteLevel;
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use std::path::Path;

/// What may not stand in a URL path as it is.
const PATH_UNSAFE: &AsciiSet =
    &CONTROLS.add(b' ').add(b'"').add(b'#').add(b'%').add(b'<').add(b'>').add(b'?').add(b'`').add(b'{').add(b'}');

/// A decoded URL path in its %-encoded form.
pub fn encode_path(url: &str) -> String {
    utf8_percent_encode(url, PATH_UNSAFE).to_string()
}

/// An error URL Rewrite raises, on IIS's page with the module's name.
pub(crate) fn module_error(status: u16, substatus: u32, message: String) -> IisError {
    IisError::new(status, substatus, message).with_module(config::MODULE, "").in_notification("BeginRequest")
}

/// One line per rule the module could not run, naming the file and line
/// it is written at and why: `levels` are (file, its `<rewrite>`).
pub fn unusable_rules(levels: &[(&Path, &RewriteLevel)]) -> Vec<String> {
    let patterns = pattern::Patterns::default();
    let is_map =
        |name: &str| levels.iter().any(|(_, level)| level.maps.iter().any(|m| m.name.eq_ignore_ascii_case(name)));
    let mut problems = Vec::new();
    for (file, level) in levels {
        for op in level.global_rules.iter().chain(&level.rules) {
            let CollectionOp::Add(rule) = op else { continue };
            if let Err(reason) = compiled::compile(rule, &patterns, &is_map) {
                problems.push(format!(
                    "{}:{}: the rewrite rule \"{}\" cannot run (requests it applies to get 500.52): {reason}",
                    file.display(),
                    rule.line,
                    rule.name
                ));
            }
        }
    }
    problems
}
