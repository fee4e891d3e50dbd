//! A rule made ready to run: its patterns compiled and its templates
//! parsed. A rule that cannot be made ready is what IIS answers 500.52
//! for; the same check names it at start-up.

use super::pattern::{Pattern, Patterns};
use super::template::Template;
use iiswsgi_proto::iis::rewrite::{Action, MatchType, Rule};
use std::sync::Arc;

pub struct Compiled<'r> {
    pub rule: &'r Rule,
    pub url: Arc<Pattern>,
    pub conditions: Vec<CompiledCondition>,
    /// (upper-case name, value, replace).
    pub sets: Vec<(String, Template, bool)>,
    pub action: CompiledAction,
}

pub struct CompiledCondition {
    pub input: Template,
    pub match_type: MatchType,
    /// `None` for IsFile and IsDirectory.
    pub pattern: Option<Arc<Pattern>>,
    pub negate: bool,
}

pub enum CompiledAction {
    Rewrite { url: Template, append_query_string: bool, log_rewritten_url: bool },
    Redirect { url: Template, status: u16, append_query_string: bool },
    CustomResponse { status: u16, substatus: u32, reason: Template, description: Template },
    AbortRequest,
    None,
}

/// Makes `rule` ready, or says why it cannot run; `is_map` says which
/// rewrite maps exist where it is written.
pub fn compile<'r>(rule: &'r Rule, patterns: &Patterns, is_map: &dyn Fn(&str) -> bool) -> Result<Compiled<'r>, String> {
    if let Some(reason) = &rule.broken {
        return Err(reason.clone());
    }
    let template = |text: &str| Template::parse(text, is_map);
    let url = patterns.get(rule.syntax, &rule.url, rule.ignore_case)?;
    let mut conditions = Vec::with_capacity(rule.conditions.len());
    for condition in &rule.conditions {
        let pattern = match condition.match_type {
            MatchType::Pattern => Some(patterns.get(rule.syntax, &condition.pattern, condition.ignore_case)?),
            MatchType::IsFile | MatchType::IsDirectory => None,
        };
        conditions.push(CompiledCondition {
            input: template(&condition.input)?,
            match_type: condition.match_type,
            pattern,
            negate: condition.negate,
        });
    }
    let mut sets = Vec::with_capacity(rule.server_variables.len());
    for set in &rule.server_variables {
        if set.name.trim().is_empty() {
            return Err("a <serverVariables><set> has no name".into());
        }
        sets.push((set.name.trim().to_ascii_uppercase(), template(&set.value)?, set.replace));
    }
    let action = match &rule.action {
        Action::Rewrite { url, append_query_string, log_rewritten_url } => CompiledAction::Rewrite {
            url: template(url)?,
            append_query_string: *append_query_string,
            log_rewritten_url: *log_rewritten_url,
        },
        Action::Redirect { url, status, append_query_string } => {
            CompiledAction::Redirect { url: template(url)?, status: *status, append_query_string: *append_query_string }
        }
        Action::CustomResponse { status, substatus, reason, description } => {
            if !(200..=999).contains(status) {
                return Err(format!("statusCode {status} is not an HTTP status"));
            }
            CompiledAction::CustomResponse {
                status: *status,
                substatus: *substatus,
                reason: template(reason)?,
                description: template(description)?,
            }
        }
        Action::AbortRequest => CompiledAction::AbortRequest,
        Action::None => CompiledAction::None,
    };
    Ok(Compiled { rule, url, conditions, sets, action })
}
