//! Applying a Web Deploy package as `msdeploy -verb:sync
//! -source:package=… -dest:auto -setParam:…` would, for the providers a
//! Gallery package uses: `iisApp` (create the application through appcmd,
//! copy the content) and `runCommand` (run it, with its settings), plus
//! ProviderPath and TextFile parameters.

use super::parameters::Parameter;
use iiswsgi_proto::iis::{ApplicationHost, Document};
use iiswsgi_proto::msdeploy::{decode_blob, ProviderOptions};
use regex::Regex;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The most a package may unpack to, and the largest ratio an entry may
/// claim: beyond either it is treated as a zip bomb.
const MAX_UNPACKED: u64 = 1024 * 1024 * 1024;
const MAX_RATIO: u64 = 1000;

/// An opened package: its files by entry name, read into memory.
#[derive(Debug)]
pub struct Package {
    files: Vec<(String, Vec<u8>)>,
}

impl Package {
    /// Reads every entry, refusing unsafe names, symbolic links, duplicates
    /// and bombs.
    pub fn open(bytes: &[u8]) -> Result<Self, String> {
        let mut archive =
            zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| format!("not a zip file: {e}"))?;
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        let mut total = 0u64;
        for index in 0..archive.len() {
            let mut entry = archive.by_index(index).map_err(|e| format!("entry {index}: {e}"))?;
            let name = entry.name().map_err(|e| format!("entry {index}: {e}"))?.into_owned();
            check_name(&name)?;
            // A link's target would be written as the file's content, or,
            // by a less careful unpacker, followed out of the application.
            if entry.is_symlink() {
                return Err(format!("the package entry `{name}` is a symbolic link: refused"));
            }
            if entry.is_dir() {
                continue;
            }
            if files.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name)) {
                return Err(format!("the package holds `{name}` twice"));
            }
            let declared = entry.size();
            if declared > entry.compressed_size().max(1).saturating_mul(MAX_RATIO) {
                return Err(format!(
                    "`{name}` claims to expand {declared} bytes from {}: refused as a zip bomb",
                    entry.compressed_size()
                ));
            }
            let mut data = Vec::new();
            let room = MAX_UNPACKED.saturating_sub(total);
            entry.by_ref().take(room + 1).read_to_end(&mut data).map_err(|e| format!("`{name}`: {e}"))?;
            total += data.len() as u64;
            if total > MAX_UNPACKED {
                return Err(format!("the package unpacks to more than {MAX_UNPACKED} bytes: refused as a zip bomb"));
            }
            files.push((name, data));
        }
        Ok(Self { files })
    }

    fn find(&self, name: &str) -> Option<&[u8]> {
        self.files.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, d)| d.as_slice())
    }

    pub fn manifest(&self) -> Result<String, String> {
        let bytes = self.find("Manifest.xml").ok_or("the package has no Manifest.xml")?;
        String::from_utf8(bytes.to_vec()).map_err(|_| "Manifest.xml is not UTF-8".to_string())
    }

    pub fn parameters(&self) -> Result<Option<String>, String> {
        self.find("Parameters.xml")
            .map(|b| String::from_utf8(b.to_vec()).map_err(|_| "Parameters.xml is not UTF-8".to_string()))
            .transpose()
    }
}

/// An entry name must stay inside the destination.
fn check_name(name: &str) -> Result<(), String> {
    if iiswsgi_proto::msdeploy::is_safe_entry_name(name) {
        Ok(())
    } else {
        Err(format!("the package entry `{name}` would be written outside the application: refused"))
    }
}

/// A runCommand with its provider settings.
#[derive(Debug, Clone)]
pub struct RunCommand {
    pub path: String,
    pub options: ProviderOptions,
}

impl RunCommand {
    fn setting(&self, name: &str) -> Option<&str> {
        self.options.settings.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// waitAttempts × waitInterval (defaults 5 × 1000 ms, which Web Deploy
    /// documents nowhere; see the emulator's README).
    pub fn timeout(&self) -> Duration {
        let attempts: u64 = self.setting("waitAttempts").and_then(|v| v.parse().ok()).unwrap_or(5);
        let interval: u64 = self.setting("waitInterval").and_then(|v| v.parse().ok()).unwrap_or(1000);
        Duration::from_millis(attempts.saturating_mul(interval).max(1000))
    }

    /// `successReturnCodes` (`0x0;0x2`), or `None` when any code is success.
    pub fn success_codes(&self) -> Option<Vec<i64>> {
        self.setting("successReturnCodes").map(|codes| {
            codes
                .split(';')
                .filter_map(|c| {
                    let c = c.trim();
                    c.strip_prefix("0x")
                        .or_else(|| c.strip_prefix("0X"))
                        .map_or_else(|| c.parse().ok(), |hex| i64::from_str_radix(hex, 16).ok())
                })
                .collect()
        })
    }
}

/// What the manifest asks for.
pub struct Plan {
    pub iis_app: String,
    pub run_commands: Vec<RunCommand>,
}

pub fn plan(manifest: &str) -> Result<Plan, String> {
    let document = Document::parse(manifest).map_err(|e| format!("Manifest.xml line {}: {}", e.line, e.message))?;
    let root = document.root().ok_or("Manifest.xml has no root element")?;
    let mut iis_app = None;
    let mut run_commands = Vec::new();
    for element in root.elements() {
        match element.name.to_ascii_lowercase().as_str() {
            "iisapp" => iis_app = element.attr("path").map(str::to_string),
            "runcommand" => {
                let path = element
                    .attr("path")
                    .ok_or(format!("Manifest.xml line {}: <runCommand> has no path", element.line))?;
                let options = match element.attr("MSDeploy.MSDeployProviderOptions") {
                    Some(blob) => decode_blob(blob).map_err(|e| format!("Manifest.xml line {}: {e}", element.line))?,
                    None => ProviderOptions {
                        provider_name: "runCommand".into(),
                        path: path.to_string(),
                        settings: element
                            .attributes
                            .iter()
                            .filter(|(n, _)| n != "path" && !n.starts_with("MSDeploy."))
                            .cloned()
                            .collect(),
                    },
                };
                run_commands.push(RunCommand { path: path.to_string(), options });
            }
            _ => {}
        }
    }
    let iis_app = iis_app.ok_or("Manifest.xml has no <iisApp path>")?;
    check_name(&iis_app)?;
    Ok(Plan { iis_app, run_commands })
}

/// Where `Site/app` (the iisApp destination) is on disk, from the
/// emulated IIS's applicationHost.config.
pub fn destination(apphost: &Path, target: &str) -> Result<(String, String, PathBuf), String> {
    let text = std::fs::read_to_string(apphost).map_err(|e| format!("cannot read {}: {e}", apphost.display()))?;
    let host = ApplicationHost::parse(&text).map_err(|e| format!("{}:{}: {}", apphost.display(), e.line, e.message))?;
    let (site_name, app) = target.split_once('/').unwrap_or((target, ""));
    let site =
        host.site(site_name).ok_or_else(|| format!("the emulated IIS has no site `{site_name}` (for `{target}`)"))?;
    let root = site
        .applications
        .iter()
        .find(|a| a.path == "/")
        .and_then(|a| a.virtual_directories.iter().find(|v| v.path == "/"))
        .ok_or_else(|| format!("site `{}` has no root virtual directory", site.name))?;
    let expanded = iiswsgi_proto::iis::expand_percent_vars(&root.physical_path, iiswsgi_proto::iis::from_env);
    let root_dir = PathBuf::from(if cfg!(windows) { expanded } else { expanded.replace('\\', "/") });
    let app = app.trim_matches('/');
    if app.split('/').any(|p| p == ".." || p == ".") {
        return Err(format!("the application path `{target}` leaves the site"));
    }
    let physical = if app.is_empty() { root_dir } else { root_dir.join(app) };
    Ok((site.name.clone(), format!("/{app}"), physical))
}

/// The iisApp destination: a ProviderPath parameter whose `match` fits the
/// manifest's iisApp path, else the path itself (a site of that name).
pub fn iis_app_target(plan: &Plan, parameters: &[Parameter], values: &[(String, String)]) -> Result<String, String> {
    for (parameter, (_, value)) in parameters.iter().zip(values) {
        for entry in &parameter.entries {
            if entry.kind == "providerpath" && entry.scope.eq_ignore_ascii_case("iisApp") {
                let regex = Regex::new(&entry.matches)
                    .map_err(|e| format!("parameter `{}`: bad match: {e}", parameter.name))?;
                if regex.is_match(&plan.iis_app) {
                    return Ok(value.clone());
                }
            }
        }
    }
    Ok(plan.iis_app.clone())
}

/// Copies the iisApp folder's files to `dest`, applying TextFile
/// parameters; returns how many files were written.
pub fn copy_content(
    package: &Package,
    plan: &Plan,
    parameters: &[Parameter],
    values: &[(String, String)],
    dest: &Path,
) -> Result<usize, String> {
    let mut replacements: Vec<(Regex, Regex, String)> = Vec::new();
    for (parameter, (_, value)) in parameters.iter().zip(values) {
        for entry in parameter.entries.iter().filter(|e| e.kind == "textfile") {
            let scope =
                Regex::new(&entry.scope).map_err(|e| format!("parameter `{}`: bad scope: {e}", parameter.name))?;
            let matches =
                Regex::new(&entry.matches).map_err(|e| format!("parameter `{}`: bad match: {e}", parameter.name))?;
            replacements.push((scope, matches, value.clone()));
        }
    }
    let prefix = format!("{}/", plan.iis_app);
    let mut written = 0;
    for (name, data) in &package.files {
        let Some(relative) = name.strip_prefix(&prefix) else { continue };
        let target = dest.join(relative);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        // Web Deploy matches scopes against Windows-style package paths.
        let windows_name = name.replace('/', "\\");
        let mut content = data.clone();
        for (scope, matches, value) in &replacements {
            if scope.is_match(&windows_name) {
                let text = String::from_utf8_lossy(&content).into_owned();
                content = matches.replace_all(&text, regex::NoExpand(value)).into_owned().into_bytes();
            }
        }
        std::fs::write(&target, content).map_err(|e| format!("cannot write {}: {e}", target.display()))?;
        written += 1;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_entry_names_are_refused() {
        for name in ["../evil", "/etc/passwd", "a/../../b", "a\\b", "C:/x"] {
            assert!(check_name(name).is_err(), "{name}");
        }
        assert!(check_name("Sample/web.config").is_ok());
    }

    fn zip(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, data) in files {
            writer.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
            std::io::Write::write_all(&mut writer, data).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    #[test]
    fn provider_path_and_text_file_parameters_apply() {
        let bytes = zip(&[
            ("Manifest.xml", b"<m><iisApp path=\"Sample\" /></m>"),
            ("Sample/app.ini", b"devel = __devel__\n"),
            ("Sample/other.txt", b"__devel__"),
        ]);
        let package = Package::open(&bytes).unwrap();
        let plan = plan(&package.manifest().unwrap()).unwrap();
        let parameters = super::super::parameters::parse(
            r#"<parameters>
  <parameter name="Path" defaultValue="Default Web Site/Sample"><parameterEntry kind="ProviderPath" scope="iisApp" match="^Sample$" /></parameter>
  <parameter name="Devel" defaultValue="True"><parameterValidation type="Boolean" /><parameterEntry type="TextFile" scope="\\app\.ini$" match="__devel__" /></parameter>
</parameters>"#,
        )
        .unwrap();
        let values = super::super::parameters::resolve(
            &parameters,
            &[("Path".into(), "Site/shop".into()), ("Devel".into(), "false".into())],
        )
        .unwrap();
        assert_eq!(iis_app_target(&plan, &parameters, &values).unwrap(), "Site/shop");
        let dest = tempfile::tempdir().unwrap();
        assert_eq!(copy_content(&package, &plan, &parameters, &values, dest.path()).unwrap(), 2);
        assert_eq!(std::fs::read_to_string(dest.path().join("app.ini")).unwrap(), "devel = False\n");
        assert_eq!(std::fs::read_to_string(dest.path().join("other.txt")).unwrap(), "__devel__", "out of scope");
    }

    #[test]
    fn bombs_duplicates_and_escapes_are_refused() {
        assert!(Package::open(&zip(&[("../evil", b"x")])).unwrap_err().contains("outside the application"));
        assert!(Package::open(&zip(&[("a/x", b"1"), ("a/X", b"2")])).unwrap_err().contains("twice"));
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        writer.add_symlink("a/link", "/etc", zip::write::SimpleFileOptions::default()).unwrap();
        let link = writer.finish().unwrap().into_inner();
        assert!(Package::open(&link).unwrap_err().contains("symbolic link"));
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        writer
            .start_file(
                "bomb",
                zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated),
            )
            .unwrap();
        let zeros = vec![0u8; 8 * 1024 * 1024];
        std::io::Write::write_all(&mut writer, &zeros).unwrap();
        let bomb = writer.finish().unwrap().into_inner();
        assert!(Package::open(&bomb).unwrap_err().contains("zip bomb"));
    }

    #[test]
    fn run_command_settings() {
        let run = RunCommand {
            path: "x".into(),
            options: ProviderOptions {
                provider_name: "runCommand".into(),
                path: "x".into(),
                settings: vec![
                    ("waitAttempts".into(), "3".into()),
                    ("waitInterval".into(), "2000".into()),
                    ("successReturnCodes".into(), "0x0;0x2;7".into()),
                ],
            },
        };
        assert_eq!(run.timeout(), Duration::from_secs(6));
        assert_eq!(run.success_codes(), Some(vec![0, 2, 7]));
    }
}
