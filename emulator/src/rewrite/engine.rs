//! Running the rules (iis-docs `url-rewrite-module-configuration-reference.md`,
//! "Rules Evaluation", "Rule conditions", "Rule action", "Using
//! back-references"; the 2.0 reference for `trackAllCaptures` and
//! `<serverVariables>`): one stage's rules in order, each rule's output
//! the next one's input, until a rule with `stopProcessing` matches or an
//! action answers the request.

use super::compiled::{compile, Compiled, CompiledAction};
use super::config::{relative, RuleSet, Scoped, Stage};
use super::pattern::Patterns;
use super::template::Scope;
use super::variables::{Current, Request};
use iiswsgi_proto::iis::rewrite::MatchType;

/// How rules answer a request themselves.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    Redirect {
        status: u16,
        location: String,
    },
    CustomResponse {
        status: u16,
        substatus: u32,
        reason: String,
        description: String,
    },
    AbortRequest,
    /// A rule that cannot run or did what it may not (500.50, 500.52).
    Failed {
        status: u16,
        substatus: u32,
        message: String,
    },
}

enum Step {
    NoMatch,
    Matched { stop: bool },
}

/// Runs one stage's rules: the request as they leave it, or their answer.
/// Every enabled rule is made ready first: one that cannot run fails every
/// request it applies to, as a rule set IIS cannot load does, whether or
/// not an earlier rule would have stopped before it.
pub fn evaluate(
    set: &RuleSet,
    patterns: &Patterns,
    request: &Request<'_>,
    mut current: Current,
) -> Result<Current, Answer> {
    let is_map = |name: &str| set.map(name).is_some();
    let mut ready = Vec::with_capacity(set.rules.len());
    for scoped in set.rules.iter().filter(|scoped| scoped.rule.enabled) {
        match compile(&scoped.rule, patterns, &is_map) {
            Ok(compiled) => ready.push((scoped, compiled)),
            Err(reason) => return Err(broken(&scoped.rule.name, reason)),
        }
    }
    for (scoped, compiled) in &ready {
        match run(scoped, compiled, set, request, &mut current) {
            Ok(Step::Matched { stop: true }) => break,
            Ok(_) => {}
            Err(answer) => return Err(answer),
        }
    }
    Ok(current)
}

fn broken(rule: &str, reason: String) -> Answer {
    Answer::Failed { status: 500, substatus: 52, message: format!("The rewrite rule \"{rule}\" cannot run: {reason}") }
}

fn run(
    scoped: &Scoped,
    compiled: &Compiled<'_>,
    sets: &RuleSet,
    request: &Request<'_>,
    current: &mut Current,
) -> Result<Step, Answer> {
    let rule = &scoped.rule;
    let Some(input) = relative(&current.url, &scoped.base) else { return Ok(Step::NoMatch) };
    let found = compiled.url.captures(input).map_err(|r| broken(&rule.name, r))?;
    let rule_captures = match (found, rule.negate) {
        (Some(captures), false) => captures,
        (None, true) => Vec::new(),
        _ => return Ok(Step::NoMatch),
    };
    let Some(condition_captures) = conditions(compiled, &rule_captures, sets, request, current)? else {
        return Ok(Step::NoMatch);
    };
    let variable = |name: &str| request.variable(current, name);
    let map = |name: &str, key: &str| sets.map(name).map(|m| m.lookup(key).to_string()).unwrap_or_default();
    let scope = Scope { rule: &rule_captures, condition: &condition_captures, variable: &variable, map: &map };
    let mut sets_made = Vec::with_capacity(compiled.sets.len());
    for (name, value, replace) in &compiled.sets {
        if sets.stage == Stage::Distributed && !sets.allowed.iter().any(|allowed| allowed == name) {
            return Err(Answer::Failed {
                status: 500,
                substatus: 50,
                message: format!("The server variable \"{name}\" is not allowed to be set. Add the server variable name to the allowed server variable list."),
            });
        }
        sets_made.push((name.clone(), value.expand(&scope), *replace));
    }
    let action = act(&compiled.action, &scope, scoped, request, current);
    for (name, value, replace) in sets_made {
        if replace || request.variable(current, &name).is_empty() {
            current.set(&name, value);
        }
    }
    match action {
        Acted::Answer(answer) => Err(answer),
        Acted::Rewrite { url, query, log } => {
            if !current.rewritten {
                current.set("HTTP_X_ORIGINAL_URL", request.unencoded_url.to_string());
            }
            current.url = url;
            current.query = query;
            current.rewritten = true;
            current.log_rewritten |= log;
            Ok(Step::Matched { stop: rule.stop_processing })
        }
        Acted::Nothing => Ok(Step::Matched { stop: rule.stop_processing }),
    }
}

/// The conditions' captures (`{C:n}`) if the conditions hold.
fn conditions(
    compiled: &Compiled<'_>,
    rule_captures: &[String],
    sets: &RuleSet,
    request: &Request<'_>,
    current: &Current,
) -> Result<Option<Vec<String>>, Answer> {
    let rule = compiled.rule;
    let mut captures = Vec::new();
    for condition in &compiled.conditions {
        let variable = |name: &str| request.variable(current, name);
        let map = |name: &str, key: &str| sets.map(name).map(|m| m.lookup(key).to_string()).unwrap_or_default();
        let scope = Scope { rule: rule_captures, condition: &captures, variable: &variable, map: &map };
        let mut input = condition.input.expand(&scope);
        let (held, found) = match (condition.match_type, &condition.pattern) {
            (MatchType::Pattern, Some(pattern)) => {
                let found = pattern.captures(&input).map_err(|r| broken(&rule.name, r))?;
                (found.is_some(), found)
            }
            (match_type, _) => {
                if input.is_empty() {
                    input = request.physical(current);
                }
                let meta = std::fs::metadata(&input);
                let held = meta.is_ok_and(|m| if match_type == MatchType::IsFile { m.is_file() } else { m.is_dir() });
                (held, None)
            }
        };
        let held = held != condition.negate;
        if held {
            if let Some(found) = found.filter(|_| !condition.negate) {
                if rule.track_all_captures && !captures.is_empty() {
                    captures.extend(found.into_iter().skip(1));
                } else {
                    captures = found;
                }
            }
        }
        match (rule.match_all, held) {
            (true, false) => return Ok(None),
            (false, true) => return Ok(Some(captures)),
            _ => {}
        }
    }
    // The end of the list: every condition held (MatchAll), or none did
    // (MatchAny, unless there are none).
    Ok((rule.match_all || compiled.conditions.is_empty()).then_some(captures))
}

enum Acted {
    Answer(Answer),
    Rewrite { url: String, query: String, log: bool },
    Nothing,
}

fn act(action: &CompiledAction, scope: &Scope<'_>, scoped: &Scoped, request: &Request<'_>, current: &Current) -> Acted {
    let base = format!("{}/", scoped.base.trim_end_matches('/'));
    let with_query = |mut url: String, append: bool| {
        if append && !current.query.is_empty() {
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str(&current.query);
        }
        url
    };
    match action {
        CompiledAction::None => Acted::Nothing,
        CompiledAction::AbortRequest => Acted::Answer(Answer::AbortRequest),
        CompiledAction::CustomResponse { status, substatus, reason, description } => {
            Acted::Answer(Answer::CustomResponse {
                status: *status,
                substatus: *substatus,
                reason: reason.expand(scope),
                description: description.expand(scope),
            })
        }
        CompiledAction::Redirect { url, status, append_query_string } => {
            let target = url.expand(scope);
            let location = if has_scheme(&target) {
                target
            } else {
                let host = request.variable(current, "HTTP_HOST");
                let host = if host.is_empty() { request.local.to_string() } else { host };
                let path = if target.starts_with('/') { target } else { format!("{base}{target}") };
                format!("http://{host}{path}")
            };
            Acted::Answer(Answer::Redirect { status: *status, location: with_query(location, *append_query_string) })
        }
        CompiledAction::Rewrite { url, append_query_string, log_rewritten_url } => {
            let target = url.expand(scope);
            if has_scheme(&target) {
                return Acted::Answer(Answer::Failed {
                    status: 502,
                    substatus: 3,
                    message: format!("The rule \"{}\" rewrites to another server ({target}): that is Application Request Routing's reverse proxy, which the emulator does not have.", scoped.rule.name),
                });
            }
            let target = with_query(target, *append_query_string);
            let (path, query) = target.split_once('?').unwrap_or((&target, ""));
            let path = if path.starts_with('/') { path.to_string() } else { format!("{base}{path}") };
            let path = percent_encoding::percent_decode_str(&path).decode_utf8_lossy().into_owned();
            Acted::Rewrite { url: path, query: query.to_string(), log: *log_rewritten_url }
        }
    }
}

fn has_scheme(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}
