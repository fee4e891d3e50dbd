//! Registering FastCGI applications in IIS's global configuration through
//! appcmd, because IIS ignores `<fastCgi>` in a web.config. An existing
//! application with the same fullPath and arguments is removed first, so
//! installing twice leaves one registration.

use super::appcmd::Appcmd;
use super::Error;
use iiswsgi_proto::iis::Document;
use std::path::Path;

const SECTION: &str = "-section:system.webServer/fastCgi";
const COMMIT: &str = "/commit:apphost";

/// One `<application>` as written: its attributes and environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub attributes: Vec<(String, String)>,
    pub environment: Vec<(String, String)>,
}

impl Registration {
    pub fn new(full_path: &str, arguments: &str) -> Self {
        Self {
            attributes: vec![("fullPath".into(), full_path.into()), ("arguments".into(), arguments.into())],
            environment: Vec::new(),
        }
    }

    fn attr(&self, name: &str) -> &str {
        self.attributes.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }

    /// `[fullPath='…',arguments='…']`, the key appcmd finds it by.
    fn key(&self) -> String {
        format!("[fullPath='{}',arguments='{}']", self.attr("fullPath"), self.attr("arguments"))
    }

    /// The `scriptProcessor` a handler uses to name this application.
    pub fn script_processor(&self) -> String {
        iiswsgi_proto::iis::script_processor_key(self.attr("fullPath"), self.attr("arguments"))
    }
}

/// The `<system.webServer><fastCgi><application>` elements of a web.config.
pub fn from_web_config(text: &str, path: &Path) -> Result<Vec<Registration>, Error> {
    let invalid = |line: usize, message: String| Error::Invalid { path: path.to_path_buf(), line, message };
    let document = Document::parse(text).map_err(|e| invalid(e.line, e.message))?;
    let Some(section) = document.root().and_then(|r| r.descendant(&["system.webServer", "fastCgi"])) else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    for app in section.elements().filter(|e| e.name == "application") {
        if app.attr("fullPath").is_none_or(|p| p.trim().is_empty()) {
            return Err(invalid(app.line, "<application> has no `fullPath`".into()));
        }
        let environment = app
            .child("environmentVariables")
            .map(|vars| {
                vars.elements()
                    .filter(|v| v.name == "environmentVariable")
                    .map(|v| (v.attr("name").unwrap_or("").to_string(), v.attr("value").unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default();
        found.push(Registration { attributes: app.attributes.clone(), environment });
    }
    Ok(found)
}

/// appcmd's indexer syntax has no escape for a single quote.
fn quoted(registration: &Registration) -> Result<(), Error> {
    let all = registration.attributes.iter().chain(&registration.environment);
    match all.into_iter().find(|(_, v)| v.contains('\'')) {
        Some((name, _)) => Err(Error::Invalid {
            path: "web.config".into(),
            line: 0,
            message: format!("`{name}` contains a single quote, which appcmd cannot be given"),
        }),
        None => Ok(()),
    }
}

/// Removes any application with the same key, then adds this one and its
/// environment variables.
pub fn register(appcmd: &Appcmd, registration: &Registration) -> Result<(), Error> {
    quoted(registration)?;
    unregister(appcmd, registration)?;
    let pairs: Vec<String> = registration.attributes.iter().map(|(k, v)| format!("{k}='{v}'")).collect();
    let add = vec!["set".into(), "config".into(), SECTION.into(), format!("/+[{}]", pairs.join(",")), COMMIT.into()];
    appcmd.run(&add)?;
    for (name, value) in &registration.environment {
        let item = format!("/+{}.environmentVariables.[name='{name}',value='{value}']", registration.key());
        appcmd.run(&["set".into(), "config".into(), SECTION.into(), item, COMMIT.into()])?;
    }
    Ok(())
}

/// Removes the application; false when there was none.
pub fn unregister(appcmd: &Appcmd, registration: &Registration) -> Result<bool, Error> {
    let remove =
        vec!["set".into(), "config".into(), SECTION.into(), format!("/-{}", registration.key()), COMMIT.into()];
    Ok(appcmd.run_allowing_missing(&remove)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applications_are_read_with_their_environment() {
        let apps = from_web_config(
            r#"<configuration><system.webServer><fastCgi>
<application fullPath="%IISWSGI_EXE%" arguments="serve --config x.ini" maxInstances="1">
  <environmentVariables><environmentVariable name="VIRTUAL_ENV" value="/srv/app/.venv" /></environmentVariables>
</application></fastCgi></system.webServer></configuration>"#,
            Path::new("web.config"),
        )
        .unwrap();
        assert_eq!(apps[0].key(), "[fullPath='%IISWSGI_EXE%',arguments='serve --config x.ini']");
        assert_eq!(apps[0].script_processor(), "%IISWSGI_EXE%|serve --config x.ini");
        assert_eq!(apps[0].environment, [("VIRTUAL_ENV".to_string(), "/srv/app/.venv".to_string())]);
        let err = from_web_config(
            "<configuration><system.webServer><fastCgi>\n<application /></fastCgi></system.webServer></configuration>",
            Path::new("web.config"),
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "web.config:2: <application> has no `fullPath`");
    }
}
