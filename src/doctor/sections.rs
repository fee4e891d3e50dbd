//! The sections IIS refuses in a web.config: those only
//! applicationHost.config may hold (`allowDefinition="AppHostOnly"`: IIS
//! ignores them in a web.config), and locked ones (`overrideModeDefault=
//! "Deny"` unless a `<location overrideMode="Allow">` unlocks them: HTTP
//! 500.19, error 0x80070021, for every request under that web.config).
//! Sources: iis-fastcgi-facts.md §1 and "Locking" (IIS's schema and IIS
//! Express's applicationHost.config).

use super::Finding;
use iiswsgi_emulator::site::Site;
use iiswsgi_proto::iis::{Document, Element};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Sections IIS's own schema declares AppHostOnly, used when the
/// applicationHost.config at hand does not declare its sections.
const APP_HOST_ONLY: [&str; 3] =
    ["system.webServer/fastCgi", "system.webServer/globalModules", "system.webServer/httpCompression"];

/// IIS's 500.19 text for a locked section.
const LOCKED_TEXT: &str = "This configuration section cannot be used at this path. This happens when the section is locked at a parent level.";

#[derive(Default)]
struct Rule {
    app_host_only: bool,
    denied: bool,
}

/// What applicationHost.config says about sections: by lower-case path
/// (`system.webserver/handlers`).
#[derive(Default)]
struct Rules {
    sections: HashMap<String, Rule>,
    /// `<location path overrideMode="Allow">`: (location path, section).
    unlocked: Vec<(String, String)>,
    /// Whether the file declares its sections (`<configSections>`).
    declared: bool,
}

impl Rules {
    fn from_app_host(text: Option<&str>) -> Self {
        let mut rules = Rules::default();
        for name in APP_HOST_ONLY {
            rules.sections.insert(name.to_ascii_lowercase(), Rule { app_host_only: true, denied: true });
        }
        let Some(root) = text.and_then(|t| Document::parse(t).ok()).and_then(|d| d.root().cloned()) else {
            return rules;
        };
        if let Some(declared) = root.child("configSections") {
            rules.declared = true;
            declare(&mut rules, declared, "");
        }
        for location in root.elements().filter(|e| e.name == "location") {
            if location.attr("overrideMode").is_some_and(|m| m.eq_ignore_ascii_case("Allow")) {
                let path = location.attr("path").unwrap_or("").trim_matches('.').to_ascii_lowercase();
                for section in used_sections(&rules, location) {
                    rules.unlocked.push((path.clone(), section.0));
                }
            }
        }
        rules
    }

    /// True when a `<location>` unlocks `section` for `config_path`
    /// (`Site Name/url`).
    fn is_unlocked(&self, section: &str, config_path: &str) -> bool {
        let config_path = config_path.to_ascii_lowercase();
        self.unlocked.iter().any(|(path, unlocked)| {
            unlocked == section
                && (path.is_empty()
                    || config_path == *path
                    || config_path.strip_prefix(path.as_str()).is_some_and(|rest| rest.starts_with('/')))
        })
    }
}

fn declare(rules: &mut Rules, group: &Element, prefix: &str) {
    for element in group.elements() {
        let Some(name) = element.attr("name") else { continue };
        let path = if prefix.is_empty() { name.to_string() } else { format!("{prefix}/{name}") };
        match element.name.as_str() {
            "sectionGroup" => declare(rules, element, &path),
            "section" => {
                let rule = Rule {
                    app_host_only: element
                        .attr("allowDefinition")
                        .is_some_and(|d| d.eq_ignore_ascii_case("AppHostOnly")),
                    denied: element.attr("overrideModeDefault").is_some_and(|m| m.eq_ignore_ascii_case("Deny")),
                };
                rules.sections.insert(path.to_ascii_lowercase(), rule);
            }
            _ => {}
        }
    }
}

/// The sections used under `parent` (a `<configuration>` or a
/// `<location>`), with their lines: every element whose path is a
/// declared section, looked for down the section groups.
fn used_sections(rules: &Rules, parent: &Element) -> Vec<(String, usize)> {
    fn walk(rules: &Rules, element: &Element, path: String, out: &mut Vec<(String, usize)>) {
        let key = path.to_ascii_lowercase();
        if rules.sections.contains_key(&key) {
            out.push((key, element.line));
            return;
        }
        let group = format!("{key}/");
        if rules.sections.keys().any(|k| k.starts_with(&group)) {
            for child in element.elements() {
                walk(rules, child, format!("{path}/{}", child.name), out);
            }
        }
    }
    let mut out = Vec::new();
    for child in parent.elements().filter(|e| e.name != "location" && e.name != "configSections") {
        walk(rules, child, child.name.clone(), &mut out);
    }
    out
}

/// The configuration path IIS gives the web.config in `folder`.
fn config_path(site: &Site, folder: &Path) -> String {
    for (url, root) in site.applications() {
        if let Ok(rest) = folder.strip_prefix(&root) {
            let rest = rest.to_string_lossy().replace('\\', "/");
            let url = format!("{}/{rest}", url.trim_end_matches('/'));
            return format!("{}{}", site.name, url.trim_end_matches('/'));
        }
    }
    site.name.clone()
}

/// Checks every web.config of `site` against `app_host` (`None` with
/// `--site`: only IIS's own rules are known).
pub fn check(site: &Site, app_host: Option<&Path>) -> Vec<Finding> {
    let text = app_host.and_then(|path| std::fs::read_to_string(path).ok());
    let rules = Rules::from_app_host(text.as_deref());
    let mut findings = Vec::new();
    for folder in site.config_folders() {
        let file: PathBuf = folder.join("web.config");
        let Some(root) = std::fs::read_to_string(&file).ok().and_then(|t| Document::parse(&t).ok()?.root().cloned())
        else {
            continue;
        };
        let place = config_path(site, &folder);
        for (section, line) in used_sections(&rules, &root) {
            let Some(rule) = rules.sections.get(&section) else { continue };
            let shown = section.replace("system.webserver", "system.webServer").replace("fastcgi", "fastCgi");
            if rule.app_host_only {
                findings.push(Finding::error(
                    "sections",
                    format!("{}:{line}: <{shown}> is an applicationHost.config-only section: IIS ignores it in a web.config", file.display()),
                    match app_host {
                        Some(_) => format!("move it to applicationHost.config (appcmd set config /section:{shown} ...) and delete it here"),
                        None => format!("register it in applicationHost.config (appcmd set config /section:{shown} /+[fullPath='...',arguments='...']); the emulator's --site mode uses it, IIS does not"),
                    },
                ));
            } else if rule.denied && !rules.is_unlocked(&section, &place) {
                findings.push(Finding::error(
                    "sections",
                    format!("{}:{line}: <{shown}> is locked for \"{place}\" (overrideModeDefault=\"Deny\"): IIS answers HTTP 500.19, error 0x80070021: {LOCKED_TEXT}", file.display()),
                    format!("%windir%\\system32\\inetsrv\\appcmd.exe unlock config \"{place}\" -section:{shown} -commit:apphost"),
                ));
            }
        }
    }
    if findings.is_empty() {
        let known = if rules.declared || app_host.is_none() {
            ""
        } else {
            " (applicationHost.config declares no sections: only IIS's AppHostOnly ones were checked)"
        };
        findings.push(Finding::ok("sections", format!("no web.config uses a section IIS refuses there{known}")));
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = r#"<configuration>
  <configSections>
    <sectionGroup name="system.webServer">
      <section name="handlers" overrideModeDefault="Deny" />
      <section name="modules" allowDefinition="MachineToApplication" overrideModeDefault="Deny" />
      <section name="defaultDocument" overrideModeDefault="Allow" />
      <section name="fastCgi" allowDefinition="AppHostOnly" overrideModeDefault="Deny" />
    </sectionGroup>
  </configSections>
  <location path="Unlocked Site" overrideMode="Allow"><system.webServer><handlers /></system.webServer></location>
</configuration>"#;

    #[test]
    fn sections_are_declared_locked_and_unlocked_by_location() {
        let rules = Rules::from_app_host(Some(HOST));
        assert!(rules.sections["system.webserver/handlers"].denied);
        assert!(rules.sections["system.webserver/fastcgi"].app_host_only);
        assert!(!rules.sections["system.webserver/defaultdocument"].denied);
        assert!(rules.is_unlocked("system.webserver/handlers", "Unlocked Site/app"));
        assert!(!rules.is_unlocked("system.webserver/handlers", "Unlocked Site Two"));
        assert!(!rules.is_unlocked("system.webserver/modules", "Unlocked Site"));
    }

    #[test]
    fn used_sections_are_found_with_their_lines() {
        let rules = Rules::from_app_host(Some(HOST));
        let config = "<configuration>\n<system.webServer>\n<handlers/>\n<defaultDocument/>\n</system.webServer>\n</configuration>";
        let root = Document::parse(config).unwrap().root().cloned().unwrap();
        let used = used_sections(&rules, &root);
        assert_eq!(
            used,
            [("system.webserver/handlers".to_string(), 3), ("system.webserver/defaultdocument".to_string(), 4)]
        );
    }
}
