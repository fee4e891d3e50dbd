//! `<system.webServer><rewrite>`: IIS URL Rewrite 2.x's inbound rules, as
//! a configuration level declares them (iis-docs
//! `iis/extensions/url-rewrite-module/url-rewrite-module-configuration-reference.md`).
//! Rules are kept as written; a rule the module could not run (an unknown
//! action, patternSyntax or matchType) keeps the reason in `broken`, so the
//! emulator answers 500.52 for it and names it at start-up, as IIS does
//! when a rule is malformed. Patterns are compiled by the emulator.

use super::collection::{CollectionOp, Named};
use super::xml::{Element, XmlError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PatternSyntax {
    /// The default: a regular expression (ECMAScript flavour).
    EcmaScript,
    /// `*` matches anything (a capture each), `?` one character.
    Wildcard,
    ExactMatch,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchType {
    Pattern,
    IsFile,
    IsDirectory,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub input: String,
    pub pattern: String,
    pub negate: bool,
    pub ignore_case: bool,
    pub match_type: MatchType,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetVariable {
    pub name: String,
    pub value: String,
    pub replace: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `log_rewritten_url`: the access log shows the rewritten URL.
    Rewrite {
        url: String,
        append_query_string: bool,
        log_rewritten_url: bool,
    },
    /// `status` from redirectType: 301 Permanent (the default), 302 Found,
    /// 303 SeeOther, 307 Temporary.
    Redirect {
        url: String,
        status: u16,
        append_query_string: bool,
    },
    CustomResponse {
        status: u16,
        substatus: u32,
        reason: String,
        description: String,
    },
    AbortRequest,
    None,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub name: String,
    pub enabled: bool,
    pub syntax: PatternSyntax,
    pub stop_processing: bool,
    pub url: String,
    pub ignore_case: bool,
    pub negate: bool,
    pub match_all: bool,
    pub track_all_captures: bool,
    pub conditions: Vec<Condition>,
    pub server_variables: Vec<SetVariable>,
    pub action: Action,
    /// Why the module cannot run this rule (answered 500.52).
    pub broken: Option<String>,
    /// Where it is written, for messages.
    pub line: usize,
}

impl Named for Rule {
    const ITEM: &'static str = "rule";

    fn name(&self) -> &str {
        &self.name
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewriteMap {
    pub name: String,
    /// The value of a key the map lacks (the empty string by default).
    pub default_value: String,
    /// Keys compared without regard to case (the default).
    pub ignore_case: bool,
    pub entries: Vec<(String, String)>,
}

impl RewriteMap {
    /// The value for `key`, or the map's default.
    pub fn lookup(&self, key: &str) -> &str {
        let same = |k: &str| if self.ignore_case { k.to_lowercase() == key.to_lowercase() } else { k == key };
        self.entries.iter().find(|(k, _)| same(k)).map_or(&self.default_value, |(_, v)| v)
    }
}

/// What one level's `<rewrite>` section contributes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RewriteLevel {
    /// `<rules>`: distributed rules, merged down the levels.
    pub rules: Vec<CollectionOp<Rule>>,
    /// `<globalRules>`: applicationHost.config only.
    pub global_rules: Vec<CollectionOp<Rule>>,
    pub maps: Vec<RewriteMap>,
    /// `<allowedServerVariables>`: the variables rules may set.
    pub allowed_server_variables: Vec<String>,
}

fn flag(element: &Element, name: &str, default: bool) -> Result<bool, XmlError> {
    match element.attr(name).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if v == "true" => Ok(true),
        Some(v) if v == "false" => Ok(false),
        Some(v) => Err(XmlError::new(element.line, format!("{name}=\"{v}\" must be true or false"))),
    }
}

fn number<T: std::str::FromStr>(element: &Element, name: &str, default: T) -> Result<T, XmlError> {
    match element.attr(name) {
        None => Ok(default),
        Some(text) => {
            text.trim().parse().map_err(|_| XmlError::new(element.line, format!("{name}=\"{text}\" must be a number")))
        }
    }
}

fn text(element: &Element, name: &str) -> String {
    element.attr(name).unwrap_or("").to_string()
}

fn action(element: Option<&Element>) -> Result<Result<Action, String>, XmlError> {
    let Some(element) = element else { return Ok(Ok(Action::None)) };
    let kind = element.attr("type").unwrap_or("None").trim().to_ascii_lowercase();
    let append = flag(element, "appendQueryString", true)?;
    Ok(Ok(match kind.as_str() {
        "rewrite" => Action::Rewrite {
            url: text(element, "url"),
            append_query_string: append,
            log_rewritten_url: flag(element, "logRewrittenUrl", false)?,
        },
        "redirect" => {
            let redirect = element.attr("redirectType").unwrap_or("Permanent").trim().to_ascii_lowercase();
            let status = match redirect.as_str() {
                "permanent" => 301,
                "found" => 302,
                "seeother" => 303,
                "temporary" => 307,
                other => {
                    return Ok(Err(format!("redirectType \"{other}\" is not Permanent, Found, SeeOther or Temporary")))
                }
            };
            Action::Redirect { url: text(element, "url"), status, append_query_string: append }
        }
        "customresponse" => Action::CustomResponse {
            status: number(element, "statusCode", 200)?,
            substatus: number(element, "subStatusCode", 0)?,
            reason: text(element, "statusReason"),
            description: text(element, "statusDescription"),
        },
        "abortrequest" => Action::AbortRequest,
        "none" => Action::None,
        other => return Ok(Err(format!("unknown action type \"{other}\""))),
    }))
}

fn condition(element: &Element, inherited_case: bool) -> Result<Result<Condition, String>, XmlError> {
    let match_type = match element.attr("matchType").unwrap_or("Pattern").trim().to_ascii_lowercase().as_str() {
        "pattern" => MatchType::Pattern,
        "isfile" => MatchType::IsFile,
        "isdirectory" => MatchType::IsDirectory,
        other => return Ok(Err(format!("unknown matchType \"{other}\""))),
    };
    Ok(Ok(Condition {
        input: text(element, "input"),
        pattern: text(element, "pattern"),
        negate: flag(element, "negate", false)?,
        ignore_case: flag(element, "ignoreCase", inherited_case)?,
        match_type,
    }))
}

fn rule(element: &Element) -> Result<Rule, XmlError> {
    let name = element.attr("name").unwrap_or("").trim().to_string();
    if name.is_empty() {
        return Err(XmlError::new(element.line, "a rewrite rule needs a name"));
    }
    let mut broken = None;
    let syntax = match element.attr("patternSyntax").unwrap_or("ECMAScript").trim().to_ascii_lowercase().as_str() {
        "ecmascript" => PatternSyntax::EcmaScript,
        "wildcard" => PatternSyntax::Wildcard,
        "exactmatch" => PatternSyntax::ExactMatch,
        other => {
            broken = Some(format!("unknown patternSyntax \"{other}\""));
            PatternSyntax::EcmaScript
        }
    };
    let matching = element.child("match");
    let (url, ignore_case, negate) = match matching {
        Some(m) => (text(m, "url"), flag(m, "ignoreCase", true)?, flag(m, "negate", false)?),
        None => (String::new(), true, false),
    };
    if matching.is_none() {
        broken.get_or_insert_with(|| "the rule has no <match url>".into());
    }
    let conditions_element = element.child("conditions");
    let mut conditions = Vec::new();
    for add in conditions_element.into_iter().flat_map(|c| c.elements()).filter(|e| e.name == "add") {
        match condition(add, true)? {
            Ok(found) => conditions.push(found),
            Err(reason) => drop(broken.get_or_insert(reason)),
        }
    }
    let (match_all, track_all_captures) = match conditions_element {
        Some(c) => {
            let grouping = c.attr("logicalGrouping").unwrap_or("MatchAll").trim().to_ascii_lowercase();
            if grouping != "matchall" && grouping != "matchany" {
                broken.get_or_insert_with(|| format!("logicalGrouping \"{grouping}\" is not MatchAll or MatchAny"));
            }
            (grouping != "matchany", flag(c, "trackAllCaptures", false)?)
        }
        None => (true, false),
    };
    let server_variables = element
        .child("serverVariables")
        .into_iter()
        .flat_map(|s| s.elements())
        .filter(|e| e.name == "set")
        .map(|set| {
            Ok(SetVariable { name: text(set, "name"), value: text(set, "value"), replace: flag(set, "replace", true)? })
        })
        .collect::<Result<_, XmlError>>()?;
    let action = match action(element.child("action"))? {
        Ok(action) => action,
        Err(reason) => {
            broken.get_or_insert(reason);
            Action::None
        }
    };
    Ok(Rule {
        name,
        enabled: flag(element, "enabled", true)?,
        syntax,
        stop_processing: flag(element, "stopProcessing", false)?,
        url,
        ignore_case,
        negate,
        match_all,
        track_all_captures,
        conditions,
        server_variables,
        action,
        broken,
        line: element.line,
    })
}

fn rule_ops(element: Option<&Element>) -> Result<Vec<CollectionOp<Rule>>, XmlError> {
    let mut ops = Vec::new();
    for child in element.into_iter().flat_map(|e| e.elements()) {
        match child.name.as_str() {
            "rule" => ops.push(CollectionOp::Add(rule(child)?)),
            "remove" => ops.push(CollectionOp::Remove(child.attr("name").unwrap_or("").to_string())),
            "clear" => ops.push(CollectionOp::Clear),
            _ => {}
        }
    }
    Ok(ops)
}

fn maps(element: Option<&Element>) -> Result<Vec<RewriteMap>, XmlError> {
    element
        .into_iter()
        .flat_map(|e| e.elements())
        .filter(|e| e.name == "rewriteMap")
        .map(|map| {
            Ok(RewriteMap {
                name: text(map, "name"),
                default_value: text(map, "defaultValue"),
                ignore_case: flag(map, "ignoreCase", true)?,
                entries: map
                    .elements()
                    .filter(|e| e.name == "add")
                    .map(|e| (text(e, "key"), text(e, "value")))
                    .collect(),
            })
        })
        .collect()
}

/// The `<rewrite>` child of a `<system.webServer>` element, if any.
pub fn level(system_web_server: Option<&Element>) -> Result<Option<RewriteLevel>, XmlError> {
    let Some(rewrite) = system_web_server.and_then(|e| e.child("rewrite")) else { return Ok(None) };
    let allowed = rewrite
        .child("allowedServerVariables")
        .into_iter()
        .flat_map(|e| e.elements())
        .filter(|e| e.name == "add")
        .map(|e| text(e, "name"))
        .collect();
    Ok(Some(RewriteLevel {
        rules: rule_ops(rewrite.child("rules"))?,
        global_rules: rule_ops(rewrite.child("globalRules"))?,
        maps: maps(rewrite.child("rewriteMaps"))?,
        allowed_server_variables: allowed,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iis::xml::Document;

    fn parse(xml: &str) -> RewriteLevel {
        let doc = Document::parse(xml).unwrap();
        level(doc.root()).unwrap().unwrap()
    }

    #[test]
    fn rules_with_their_defaults() {
        let level = parse(
            r#"<system.webServer><rewrite><rules>
  <clear />
  <rule name="static" stopProcessing="true"><match url="^static/(.*)" /><action type="None" /></rule>
  <rule name="app" patternSyntax="Wildcard">
    <match url="*" />
    <conditions logicalGrouping="MatchAny" trackAllCaptures="true">
      <add input="{REQUEST_FILENAME}" matchType="IsFile" negate="true" />
      <add input="{HTTP_HOST}" pattern="^www\.(.+)$" ignoreCase="false" />
    </conditions>
    <serverVariables><set name="HTTP_X_APP" value="{R:1}" replace="false" /></serverVariables>
    <action type="Rewrite" url="handler.fcgi/{R:1}" appendQueryString="false" />
  </rule>
  <rule name="moved"><match url="^old$" /><action type="Redirect" url="/new" redirectType="Found" /></rule>
  <rule name="deny"><match url="secret" /><action type="CustomResponse" statusCode="403" subStatusCode="2" statusReason="Forbidden" statusDescription="no" /></rule>
  <remove name="gone" />
</rules>
<rewriteMaps><rewriteMap name="moves"><add key="/Old" value="/new" /></rewriteMap></rewriteMaps>
</rewrite></system.webServer>"#,
        );
        assert_eq!(level.rules.len(), 6);
        let CollectionOp::Add(app) = &level.rules[2] else { panic!() };
        assert_eq!(
            (app.syntax, app.match_all, app.track_all_captures, app.ignore_case),
            (PatternSyntax::Wildcard, false, true, true)
        );
        assert_eq!(app.conditions[0].match_type, MatchType::IsFile);
        assert!(app.conditions[0].negate && !app.conditions[1].ignore_case);
        assert!(!app.server_variables[0].replace);
        let rewrite =
            Action::Rewrite { url: "handler.fcgi/{R:1}".into(), append_query_string: false, log_rewritten_url: false };
        assert_eq!(app.action, rewrite);
        let CollectionOp::Add(moved) = &level.rules[3] else { panic!() };
        assert_eq!(moved.action, Action::Redirect { url: "/new".into(), status: 302, append_query_string: true });
        assert_eq!(level.maps[0].lookup("/old"), "/new", "keys without regard to case");
        assert_eq!(level.maps[0].lookup("/other"), "", "the default defaultValue");
    }

    #[test]
    fn a_rule_the_module_cannot_run_says_why() {
        let level = parse(
            r#"<system.webServer><rewrite><rules>
  <rule name="odd"><match url="x" /><action type="Teleport" /></rule>
  <rule name="syntax" patternSyntax="Glob"><match url="x" /></rule>
</rules></rewrite></system.webServer>"#,
        );
        let broken: Vec<_> = level
            .rules
            .iter()
            .filter_map(|op| match op {
                CollectionOp::Add(r) => r.broken.clone(),
                _ => None,
            })
            .collect();
        assert_eq!(broken, ["unknown action type \"teleport\"", "unknown patternSyntax \"glob\""]);
        assert!(Document::parse(r#"<s><rewrite><rules><rule><match url="x"/></rule></rules></rewrite></s>"#)
            .map(|d| level_of(&d).is_err())
            .unwrap());
    }

    fn level_of(doc: &Document) -> Result<Option<RewriteLevel>, XmlError> {
        level(doc.root())
    }
}
