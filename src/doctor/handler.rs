//! The handler mapping IIS picks for a URL (the first whose path, verb and
//! resource type match, every level merged: [`Site::resolve`]), the module
//! it names, and the `<fastCgi>` application its scriptProcessor must
//! equal. Sources: iis-fastcgi-facts.md (500.21 "bad module", "could not
//! be found in <fastCGI> application configuration").

use super::Finding;
use iiswsgi_emulator::site::{expand, Site};
use iiswsgi_emulator::Source;
use iiswsgi_proto::iis::{Document, FastCgiApplication, Handler, ModuleKind};

/// The program a handler starts, for the program checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// Expanded.
    pub full_path: String,
    pub arguments: String,
}

const INSTALL_CGI: &str = "install IIS's CGI feature, which brings FastCgiModule: Install-WindowsFeature Web-CGI (Windows Server), or Enable-WindowsOptionalFeature -Online -FeatureName IIS-CGI (Windows 10/11)";

/// Checks the handler for `GET url`; gives the program it runs, if any.
pub fn check(site: &Site, source: &Source, url: &str) -> (Vec<Finding>, Option<Program>) {
    let resolved = match site.resolve(url) {
        Ok(resolved) => resolved,
        Err(failure) => {
            let found = format!("{url}: IIS answers HTTP 500.19: {}", failure.0);
            return (vec![Finding::error("handler", found, "correct the configuration named above")], None);
        }
    };
    let on_disk = |u: &str| site.on_disk(u);
    let Some(handler) = resolved.handlers.iter().find(|h| h.matches(url, "GET", &on_disk)) else {
        let found = format!("no handler mapping matches GET {url}: IIS answers 404 or 405");
        let fix = "add one in the site's web.config: <handlers><add name=\"Python FastCGI\" path=\"*\" verb=\"*\" modules=\"FastCgiModule\" scriptProcessor=\"C:\\path\\to\\.venv\\Scripts\\python.exe|-m iiswsgi serve\" resourceType=\"Unspecified\" /></handlers>";
        return (vec![Finding::error("handler", found, fix)], None);
    };
    let module = handler.module_names().next().unwrap_or("").to_string();
    let mut findings = Vec::new();
    let installed = resolved.modules.as_ref().is_none_or(|m| m.iter().any(|m| m.0.eq_ignore_ascii_case(&module)))
        && global_module_installed(source, &module);
    if !installed {
        let found = format!(
            "GET {url} → handler \"{}\": IIS answers HTTP 500.21: Handler \"{}\" has a bad module \"{module}\" in its module list",
            handler.name, handler.name
        );
        let fix = if module.eq_ignore_ascii_case("FastCgiModule") {
            INSTALL_CGI.to_string()
        } else {
            format!("install the IIS module {module}")
        };
        findings.push(Finding::error("handler", found, fix));
        return (findings, None);
    }
    if let Some(kind) = [ModuleKind::HttpPlatform, ModuleKind::AspNetCore]
        .into_iter()
        .find(|k| k.module_name().eq_ignore_ascii_case(&module))
    {
        findings.push(Finding::ok("handler", format!("GET {url} → handler \"{}\" ({module})", handler.name)));
        let program = resolved
            .http_platform
            .iter()
            .find(|p| p.kind == kind)
            .map(|p| Program { full_path: expand(&p.process_path), arguments: p.arguments.clone() });
        if program.is_none() {
            let fix = format!("add <{}> with processPath and arguments to the web.config", kind.section());
            findings.push(Finding::error(
                "handler",
                format!("no <{}> section names the process to start", kind.section()),
                fix,
            ));
        }
        return (findings, program);
    }
    if !module.eq_ignore_ascii_case("FastCgiModule") {
        let found = format!("GET {url} → handler \"{}\" ({module}): the app is not what answers it", handler.name);
        let fix = "put the Python handler before this one in <handlers> (a <clear/> first keeps only yours), or give it path=\"*\"";
        findings.push(Finding::warning("handler", found, fix));
        return (findings, None);
    }
    findings.push(Finding::ok("handler", format!("GET {url} → handler \"{}\" (FastCgiModule)", handler.name)));
    let (found, program) = registration(site, source, handler);
    findings.push(found);
    (findings, program)
}

/// Whether applicationHost.config's `<globalModules>` has `module` (no
/// such section, as in a synthesized configuration: assumed).
fn global_module_installed(source: &Source, module: &str) -> bool {
    let Source::AppHost { path, .. } = source else { return true };
    let Some(root) = std::fs::read_to_string(path).ok().and_then(|t| Document::parse(&t).ok()?.root().cloned()) else {
        return true;
    };
    let Some(global) = root.descendant(&["system.webServer", "globalModules"]) else { return true };
    let installed =
        global.elements().any(|e| e.name == "add" && e.attr("name").is_some_and(|n| n.eq_ignore_ascii_case(module)));
    installed
}

/// The `<fastCgi>` application the handler's scriptProcessor names.
fn registration(site: &Site, source: &Source, handler: &Handler) -> (Finding, Option<Program>) {
    let wanted = &handler.script_processor;
    let program_of =
        |app: &FastCgiApplication| Program { full_path: expand(&app.full_path), arguments: app.arguments.clone() };
    let (full, args) = wanted.split_once('|').unwrap_or((wanted, ""));
    let register = format!(
        "%windir%\\system32\\inetsrv\\appcmd.exe set config /section:system.webServer/fastCgi /+[fullPath='{}',arguments='{}'] /commit:apphost",
        full.trim(),
        args.trim()
    );
    if let Source::Site(_) = source {
        let program = site.registry.find(wanted).map(program_of);
        let found = format!("scriptProcessor \"{wanted}\": with --site the emulator registers it itself; IIS needs it in applicationHost.config's <fastCgi>");
        return (
            Finding::warning("fastcgi", found, format!("on the server, unless already done: {register}")),
            program,
        );
    }
    let applications = &site.registry.applications;
    if let Some(app) = applications.iter().find(|app| expand(&app.key()) == expand(wanted)) {
        return (
            Finding::ok("fastcgi", format!("scriptProcessor \"{wanted}\" is a registered <fastCgi> application")),
            Some(program_of(app)),
        );
    }
    if let Some(app) = site.registry.find(wanted) {
        let found = format!("scriptProcessor \"{wanted}\" equals the registered \"{}\" only without regard to case (whether IIS compares so is not documented)", app.key());
        return (
            Finding::warning(
                "fastcgi",
                found,
                "write the scriptProcessor exactly as fullPath|arguments are registered",
            ),
            Some(program_of(app)),
        );
    }
    let near = applications.iter().find(|app| loosely(&expand(&app.key())) == loosely(&expand(wanted)));
    let found = match near {
        Some(app) => format!(
            "scriptProcessor \"{wanted}\" differs from the registered \"{}\" ({}): IIS answers HTTP 500.0: \"{}\" scriptProcessor could not be found in <fastCGI> application configuration",
            app.key(),
            difference(wanted, &app.key()),
            handler.name
        ),
        None => format!(
            "scriptProcessor \"{wanted}\" is not a registered <fastCgi> application: IIS answers HTTP 500.0: \"{}\" scriptProcessor could not be found in <fastCGI> application configuration",
            handler.name
        ),
    };
    let fix = match near {
        Some(app) => format!("make the handler's scriptProcessor exactly \"{}\"", app.key()),
        None => register,
    };
    (Finding::error("fastcgi", found, fix), None)
}

/// A scriptProcessor without what users get wrong without seeing it:
/// quotes, spaces around the parts, case.
fn loosely(text: &str) -> String {
    let unquoted: String = text.chars().filter(|c| *c != '"').collect();
    unquoted
        .split('|')
        .map(|part| part.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("|")
        .to_lowercase()
}

/// What sets two loosely equal scriptProcessors apart, in words.
fn difference(given: &str, registered: &str) -> &'static str {
    if given.contains('"') != registered.contains('"') {
        "quoting"
    } else if given.trim() != given
        || given.split('|').any(|p| p.trim() != p)
        || registered.split('|').any(|p| p.trim() != p)
    {
        "spaces around fullPath or arguments"
    } else if given.eq_ignore_ascii_case(registered) {
        "case"
    } else {
        "spacing"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_misses_are_named() {
        let registered = r"C:\Python\python.exe|-m iiswsgi serve";
        assert_eq!(loosely(r#""C:\Python\python.exe"|-m iiswsgi serve"#), loosely(registered));
        assert_eq!(difference(r#""C:\Python\python.exe"|-m iiswsgi serve"#, registered), "quoting");
        assert_eq!(
            difference(r"C:\Python\python.exe|-m iiswsgi serve ", registered),
            "spaces around fullPath or arguments"
        );
        assert_eq!(loosely(r"C:\Python\python.exe|-m  iiswsgi serve"), loosely(registered));
        assert_ne!(loosely(r"C:\Python\python.exe|wfastcgi.py"), loosely(registered));
    }
}
