//! build-msdeploy: `iis_install.stamp` and `Manifest.xml` from their
//! templates, with every `<runCommand>`'s provider settings turned into the
//! `MSDeploy.MSDeployProviderOptions` blob msdeploy.exe would have written.

use super::files::{read_to_string, write_atomically};
use super::Error;
use crate::project::Project;
use iiswsgi_proto::iis::{Document, Element, Node};
use iiswsgi_proto::msdeploy::{encode_blob, expandvars, ProviderOptions};
use std::path::{Path, PathBuf};

pub const MANIFEST_TEMPLATE: &str = "Manifest.xml.in";
pub const MANIFEST: &str = "Manifest.xml";
pub const STAMP_TEMPLATE: &str = "iis_install.stamp.in";
pub const STAMP: &str = "iis_install.stamp";
const OPTIONS_ATTRIBUTE: &str = "MSDeploy.MSDeployProviderOptions";

/// What build-msdeploy wrote.
#[derive(Debug)]
pub struct Built {
    pub manifest: PathBuf,
    pub stamp: Option<PathBuf>,
    pub run_commands: usize,
}

/// Expands a template the way the original did: `ntpath.expandvars` with
/// the environment, plus `DIST_NAME` = the project's name and `extra`.
pub fn expand_template(text: &str, project: &Project, extra: &[(&str, String)]) -> String {
    expandvars(text, |name| {
        if name == "DIST_NAME" {
            return Some(project.metadata.name.clone());
        }
        match extra.iter().find(|(k, _)| *k == name) {
            Some((_, value)) => Some(value.clone()),
            None => iiswsgi_proto::iis::from_env(name),
        }
    })
}

pub fn build(project: &Project) -> Result<Built, Error> {
    let dir = &project.dir;
    let stamp_template = dir.join(STAMP_TEMPLATE);
    let stamp = if stamp_template.is_file() {
        let text =
            std::fs::read(&stamp_template).map_err(|source| Error::Read { path: stamp_template.clone(), source })?;
        let stamp = dir.join(STAMP);
        write_atomically(&stamp, &text)?;
        Some(stamp)
    } else {
        None
    };
    let template = dir.join(MANIFEST_TEMPLATE);
    if !template.is_file() {
        return Err(Error::MissingTemplate { path: template });
    }
    let expanded = expand_template(&read_to_string(&template)?, project, &[]);
    let (manifest_text, run_commands) = compile_manifest(&expanded, &template)?;
    let manifest = dir.join(MANIFEST);
    write_atomically(&manifest, manifest_text.as_bytes())?;
    Ok(Built { manifest, stamp, run_commands })
}

/// The manifest with its runCommands' settings moved into the blob.
/// `source` names the template in errors.
pub fn compile_manifest(text: &str, source: &Path) -> Result<(String, usize), Error> {
    let invalid = |line: usize, message: String| Error::Invalid { path: source.to_path_buf(), line, message };
    let mut document = Document::parse(text).map_err(|e| invalid(e.line, e.message))?;
    let root = document.root_mut().ok_or_else(|| invalid(1, "no root element".into()))?;
    let mut count = 0;
    let mut failure = None;
    visit(root, &mut |element| {
        if failure.is_some() || !element.name.eq_ignore_ascii_case("runCommand") {
            return;
        }
        match compile_run_command(element) {
            Ok(()) => count += 1,
            Err(message) => failure = Some(invalid(element.line, message)),
        }
    });
    match failure {
        Some(error) => Err(error),
        None => Ok((document.to_xml(), count)),
    }
}

fn visit(element: &mut Element, f: &mut impl FnMut(&mut Element)) {
    f(element);
    for child in &mut element.children {
        if let Node::Element(child) = child {
            visit(child, f);
        }
    }
}

fn compile_run_command(element: &mut Element) -> Result<(), String> {
    let path = element.attr("path").filter(|p| !p.trim().is_empty()).ok_or("<runCommand> has no `path`")?.to_string();
    let settings: Vec<(String, String)> = element
        .attributes
        .iter()
        .filter(|(name, _)| name != "path" && !name.starts_with("MSDeploy."))
        .cloned()
        .collect();
    element
        .attributes
        .retain(|(name, _)| name == "path" || (name.starts_with("MSDeploy.") && name != OPTIONS_ATTRIBUTE));
    let options = ProviderOptions { provider_name: "runCommand".to_string(), path, settings };
    element.set_attr(OPTIONS_ATTRIBUTE, &encode_blob(&options));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use iiswsgi_proto::msdeploy::decode_blob;

    const TEMPLATE: &str = r#"<?xml version="1.0" encoding="utf-8" ?>
<!-- the sample's manifest -->
<msDeploy.iisApp>
  <iisApp path="Sample" />
  <runCommand path="%SystemDrive%\Python27\Scripts\iiswsgi_install.exe -e -a Sample"
      successReturnCodes="0x0" waitAttempts="10"
      MSDeploy.MSDeployKeyAttributeName="path" />
</msDeploy.iisApp>
"#;

    #[test]
    fn run_command_settings_become_the_blob() {
        let (manifest, count) = compile_manifest(TEMPLATE, Path::new("Manifest.xml.in")).unwrap();
        assert_eq!(count, 1);
        assert!(manifest.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<!-- the sample's manifest -->\n"));
        assert!(manifest.contains("<iisApp path=\"Sample\" />"));
        let document = Document::parse(&manifest).unwrap();
        let run = document.root().unwrap().child("runCommand").unwrap();
        let names: Vec<&str> = run.attributes.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["path", "MSDeploy.MSDeployKeyAttributeName", "MSDeploy.MSDeployProviderOptions"]);
        let options = decode_blob(run.attr("MSDeploy.MSDeployProviderOptions").unwrap()).unwrap();
        assert_eq!(options.provider_name, "runCommand");
        assert_eq!(options.path, r"%SystemDrive%\Python27\Scripts\iiswsgi_install.exe -e -a Sample");
        assert_eq!(
            options.settings,
            [("successReturnCodes".to_string(), "0x0".to_string()), ("waitAttempts".to_string(), "10".to_string())]
        );
    }

    #[test]
    fn a_run_command_without_path_names_its_line() {
        let err = compile_manifest(
            "<m>\n  <iisApp path=\"x\"/>\n  <runCommand successReturnCodes=\"0x0\"/>\n</m>",
            Path::new("M.in"),
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "M.in:3: <runCommand> has no `path`");
        let err = compile_manifest("<m>\n<runCommand path='x'>\n</m>", Path::new("M.in")).unwrap_err();
        assert!(err.to_string().starts_with("M.in:3:"), "{err}");
    }
}
