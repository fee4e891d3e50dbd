//! Which application is being installed? Web Deploy runs the install
//! command with no hint, so, as the original did, look for the virtual
//! directory that still holds the `iis_install.stamp` this package put
//! there: from `APPL_PHYSICAL_PATH` when set, else through appcmd.

use super::appcmd::Appcmd;
use super::build::STAMP;
use super::Error;
use iiswsgi_proto::iis::Document;
use std::path::PathBuf;

/// A virtual directory that could be the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// `Site/app` as appcmd names it.
    pub name: String,
    pub dir: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error("APPL_PHYSICAL_PATH is {} but that folder does not exist", .0.display())]
    MissingFolder(PathBuf),
    #[error("no virtual directory{} holds {STAMP}; looked in:\n{}", app_name.as_deref().map(|n| format!(" of `{n}`")).unwrap_or_default(), looked.join("\n"))]
    NotFound { app_name: Option<String>, looked: Vec<String> },
    #[error(transparent)]
    Appcmd(#[from] super::appcmd::Error),
}

/// The application folder to install into. With `ignore_stamp`, a
/// virtual directory of the named application is taken even without a
/// stamp when none has one (installing again).
pub fn find(
    appcmd: impl FnOnce() -> Result<Appcmd, super::appcmd::Error>,
    app_name: Option<&str>,
    ignore_stamp: bool,
    python: &std::path::Path,
) -> Result<Candidate, Error> {
    if let Some(path) = std::env::var_os("APPL_PHYSICAL_PATH").filter(|p| !p.is_empty()) {
        let dir = PathBuf::from(path);
        if !dir.is_dir() {
            return Err(discovery(DiscoveryError::MissingFolder(dir)));
        }
        return Ok(Candidate { name: "APPL_PHYSICAL_PATH".into(), dir });
    }
    let appcmd = appcmd().map_err(|e| discovery(e.into()))?;
    let args: Vec<String> =
        ["list", "config", "/section:system.applicationHost/sites", "/xml"].map(String::from).to_vec();
    let output = appcmd.run(&args)?;
    let candidates = candidates(&output).map_err(|message| Error::Appcmd(appcmd.unexpected(&args, message)))?;
    let mut looked = Vec::new();
    let mut found: Vec<Candidate> = Vec::new();
    let mut unstamped: Vec<Candidate> = Vec::new();
    for candidate in candidates {
        let has_stamp = candidate.dir.join(STAMP).is_file();
        let named = app_name.is_none_or(|wanted| matches_name(&candidate, wanted, python));
        looked.push(format!(
            "  {} ({}){}",
            candidate.name,
            candidate.dir.display(),
            match (named, has_stamp) {
                (false, _) => " — another application",
                (true, false) => " — no stamp",
                (true, true) => "",
            }
        ));
        if named && has_stamp {
            found.push(candidate);
        } else if named && app_name.is_some() {
            unstamped.push(candidate);
        }
    }
    if found.is_empty() && ignore_stamp {
        found = unstamped;
    }
    let Some(chosen) = found.first().cloned() else {
        return Err(discovery(DiscoveryError::NotFound { app_name: app_name.map(str::to_string), looked }));
    };
    for other in &found[1..] {
        tracing::warn!(
            "{} ({}) also holds {STAMP}; installing the newest, {}",
            other.name,
            other.dir.display(),
            chosen.name
        );
    }
    Ok(chosen)
}

fn discovery(error: DiscoveryError) -> Error {
    Error::Discovery(Box::new(error))
}

/// The folder holds the project called `wanted`, or, failing that, the
/// application's last path segment or the folder's name is `wanted` (the
/// original matched the IIS application name).
fn matches_name(candidate: &Candidate, wanted: &str, python: &std::path::Path) -> bool {
    let last_segment = candidate.name.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    let folder = candidate.dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if last_segment.eq_ignore_ascii_case(wanted) || folder.eq_ignore_ascii_case(wanted) {
        return true;
    }
    let is_project = candidate.dir.join("pyproject.toml").is_file() || candidate.dir.join("setup.py").is_file();
    is_project
        && crate::project::Project::load(&candidate.dir, python)
            .is_ok_and(|p| p.metadata.name.eq_ignore_ascii_case(wanted))
}

/// Every virtual directory in `list config /section:sites /xml` output,
/// newest first: sites by descending id, applications and directories in
/// reverse order (appcmd appends new ones).
pub fn candidates(xml: &str) -> Result<Vec<Candidate>, String> {
    let document = Document::parse(xml).map_err(|e| format!("line {}: {}", e.line, e.message))?;
    let root = document.root().filter(|r| r.name == "appcmd").ok_or("the output is not <appcmd> XML")?;
    let sites = root
        .elements()
        .filter(|e| e.name == "CONFIG")
        .find_map(|c| c.child("system.applicationHost-sites"))
        .ok_or("the output has no <system.applicationHost-sites>")?;
    let mut sites: Vec<_> = sites.elements().filter(|e| e.name == "site").collect();
    sites.sort_by_key(|s| std::cmp::Reverse(s.attr("id").and_then(|id| id.parse::<u64>().ok()).unwrap_or(0)));
    let mut found = Vec::new();
    for site in sites {
        let site_name = site.attr("name").unwrap_or("");
        let apps: Vec<_> = site.elements().filter(|e| e.name == "application").collect();
        for app in apps.into_iter().rev() {
            let app_path = app.attr("path").unwrap_or("/");
            let vdirs: Vec<_> = app.elements().filter(|e| e.name == "virtualDirectory").collect();
            for vdir in vdirs.into_iter().rev() {
                let vdir_path = vdir.attr("path").unwrap_or("/");
                let app_name = if app_path == "/" { "/" } else { app_path.trim_end_matches('/') };
                let name = format!("{site_name}{app_name}{}", if vdir_path == "/" { "" } else { vdir_path });
                let physical = vdir.attr("physicalPath").unwrap_or("");
                let expanded = iiswsgi_proto::iis::expand_percent_vars(physical, iiswsgi_proto::iis::from_env);
                let dir = PathBuf::from(if cfg!(windows) { expanded } else { expanded.replace('\\', "/") });
                if dir.components().any(|c| c == std::path::Component::ParentDir) {
                    tracing::warn!("skipping {name}: its physicalPath {} climbs with `..`", dir.display());
                    continue;
                }
                found.push(Candidate { name, dir });
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_virtual_directories_come_first() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<appcmd>
    <CONFIG CONFIG.SECTION="system.applicationHost/sites" path="MACHINE/WEBROOT/APPHOST" overrideMode="Inherit" locked="false">
        <system.applicationHost-sites>
            <site name="Default Web Site" id="1">
                <application path="/"><virtualDirectory path="/" physicalPath="C:\inetpub\wwwroot" /></application>
                <application path="/Sample"><virtualDirectory path="/" physicalPath="/srv/sample" /></application>
            </site>
            <site name="Other" id="2">
                <application path="/"><virtualDirectory path="/" physicalPath="/srv/other" /></application>
            </site>
        </system.applicationHost-sites>
    </CONFIG>
</appcmd>"#;
        let names: Vec<String> = candidates(xml).unwrap().into_iter().map(|c| c.name).collect();
        assert_eq!(names, ["Other/", "Default Web Site/Sample", "Default Web Site/"]);
        let climbing = xml.replace("/srv/sample", "/srv/sample/../../etc");
        let names: Vec<String> = candidates(&climbing).unwrap().into_iter().map(|c| c.name).collect();
        assert_eq!(names, ["Other/", "Default Web Site/"], "a path with `..` is not followed");
        assert!(candidates("<nope/>").is_err());
    }
}
