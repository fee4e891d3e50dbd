//! Which rules apply to a URL: `<globalRules>` from applicationHost.config,
//! then the distributed `<rules>` of every level on the way down, parent
//! first (iis-docs `url-rewrite-module-configuration-reference.md`, "Rules
//! Inheritance"), `<clear/>` and `<remove name>` applied level by level as
//! in every IIS collection (`rewrite_schema.xml`: `clearElement="clear"`,
//! `removeElement="remove"`, keyed on `name`).

use crate::error_page::IisError;
use crate::site::Site;
use iiswsgi_proto::iis::collection::{apply, apply_merging, Merge, Named};
use iiswsgi_proto::iis::rewrite::{RewriteLevel, RewriteMap, Rule};
use iiswsgi_proto::iis::{CollectionOp, Module};

/// A rule and the URL path of the level it is written at: distributed
/// rules match the URL relative to it.
#[derive(Debug, Clone)]
pub struct Scoped {
    pub base: String,
    pub rule: Rule,
}

impl Named for Scoped {
    const ITEM: &'static str = "rule";

    fn name(&self) -> &str {
        &self.rule.name
    }
}

/// Which of the two rule sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// `<globalRules>`, applicationHost.config's, on the requested URL
    /// (PreBeginRequest).
    Global,
    /// `<rules>` of every level, on the URL the global rules left
    /// (BeginRequest).
    Distributed,
}

/// One stage's rules and what they may use.
#[derive(Debug)]
pub struct RuleSet {
    pub stage: Stage,
    pub rules: Vec<Scoped>,
    /// Later levels' maps shadow earlier ones of the same name.
    pub maps: Vec<RewriteMap>,
    /// Upper-case names distributed rules may set.
    pub allowed: Vec<String>,
}

impl RuleSet {
    pub fn map(&self, name: &str) -> Option<&RewriteMap> {
        self.maps.iter().rev().find(|m| m.name.eq_ignore_ascii_case(name))
    }
}

fn scoped(base: &str, ops: &[CollectionOp<Rule>]) -> Vec<CollectionOp<Scoped>> {
    ops.iter()
        .map(|op| match op {
            CollectionOp::Add(rule) => CollectionOp::Add(Scoped { base: base.to_string(), rule: rule.clone() }),
            CollectionOp::Remove(name) => CollectionOp::Remove(name.clone()),
            CollectionOp::Clear => CollectionOp::Clear,
        })
        .collect()
}

/// The `stage` rules in effect for `url` (decoded, absolute). A
/// configuration file that cannot be read is IIS's 500.19; a rule name
/// added twice is URL Rewrite's 500.52, as IIS reports it.
pub fn for_url(site: &Site, url: &str, stage: Stage) -> Result<RuleSet, IisError> {
    let duplicate = |message: String| super::module_error(500, 52, message);
    let is_dir = site.physical(url).is_some_and(|p| p.is_dir());
    let levels = site.levels(url, is_dir).map_err(|failure| IisError::new(500, 19, failure.0))?;
    let mut set = RuleSet { stage, rules: Vec::new(), maps: Vec::new(), allowed: Vec::new() };
    let mut modules: Option<Vec<Module>> = None;
    for (_, level) in &levels {
        if let Some(ops) = &level.get().modules {
            let inherited = modules.take().unwrap_or_default();
            modules = Some(apply(&inherited, ops).map_err(|message| IisError::new(500, 19, message))?);
        }
    }
    // Rules run only where the module runs: a `<modules>` list without
    // RewriteModule (URL Rewrite not installed, or removed) leaves them be.
    if modules.is_some_and(|modules| !modules.iter().any(|m| m.0.eq_ignore_ascii_case(MODULE))) {
        return Ok(set);
    }
    let sections: Vec<(String, &RewriteLevel)> = match stage {
        Stage::Global => {
            site.server_levels().into_iter().filter_map(|l| Some(("/".into(), l.rewrite.as_ref()?))).collect()
        }
        Stage::Distributed => {
            levels.iter().filter_map(|(base, l)| Some((base.clone(), l.get().rewrite.as_ref()?))).collect()
        }
    };
    for (base, rewrite) in sections {
        set.maps.extend(rewrite.maps.iter().cloned());
        set.allowed.extend(rewrite.allowed_server_variables.iter().map(|n| n.trim().to_ascii_uppercase()));
        let ops = match stage {
            Stage::Global => &rewrite.global_rules,
            Stage::Distributed => &rewrite.rules,
        };
        set.rules = apply_merging(&set.rules, &scoped(&base, ops), Merge::Append).map_err(duplicate)?;
    }
    Ok(set)
}

/// URL Rewrite's module name in `<modules>` and `<globalModules>`.
pub const MODULE: &str = "RewriteModule";

/// `url` relative to `base` without its leading slash, as a rule at
/// `base` matches it; `None` when `url` is not under `base`.
pub fn relative<'u>(url: &'u str, base: &str) -> Option<&'u str> {
    let base = base.trim_end_matches('/');
    let rest = if base.is_empty() {
        url
    } else {
        let head = url.get(..base.len())?;
        let rest = &url[base.len()..];
        if !head.eq_ignore_ascii_case(base) || !(rest.is_empty() || rest.starts_with('/')) {
            return None;
        }
        rest
    };
    Some(rest.trim_start_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::relative;

    #[test]
    fn urls_relative_to_their_level() {
        assert_eq!(relative("/content/default.aspx", "/"), Some("content/default.aspx"));
        assert_eq!(relative("/Content/default.aspx", "/content"), Some("default.aspx"));
        assert_eq!(relative("/content", "/content"), Some(""));
        assert_eq!(relative("/contents/x", "/content"), None);
        assert_eq!(relative("/", "/"), Some(""));
    }
}
