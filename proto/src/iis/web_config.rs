//! A site's web.config: the parts IIS's FastCGI path uses.

use super::collection::{Level, Slots};
use super::fastcgi_application::{applications, FastCgiApplication};
use super::xml::{Document, Element, XmlError};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebConfig {
    /// `<system.webServer>` handlers and modules.
    pub level: Level,
    pub app_settings: Vec<(String, String)>,
    /// `<system.webServer><fastCgi>`, which IIS does not honour here
    /// (the section is AppHostOnly); `None` when absent.
    pub fastcgi: Option<Vec<FastCgiApplication>>,
}

impl WebConfig {
    pub fn parse(text: &str) -> Result<Self, XmlError> {
        let document = Document::parse(text)?;
        let root = configuration(&document)?;
        let level = Level::from_system_web_server(root.child("system.webServer"))?;
        let fastcgi = root.descendant(&["system.webServer", "fastCgi"]).map(applications).transpose()?;
        Ok(Self { level, app_settings: settings(root), fastcgi })
    }
}

fn configuration(document: &Document) -> Result<&Element, XmlError> {
    match document.root() {
        Some(root) if root.name == "configuration" => Ok(root),
        Some(root) => {
            Err(XmlError::new(root.line, format!("the root element is <{}>, not <configuration>", root.name)))
        }
        None => Err(XmlError::new(1, "no root element")),
    }
}

/// The `<configuration><appSettings><add key value/>` entries of a
/// web.config, in file order, as wfastcgi reads them: keys trimmed, entries
/// without a key skipped, `<remove key>` and `<clear/>` applied. A DTD is
/// rejected rather than expanded.
pub fn app_settings(text: &str) -> Result<Vec<(String, String)>, XmlError> {
    let document = Document::parse(text)?;
    Ok(configuration(&document).map(settings).unwrap_or_default())
}

fn settings(root: &Element) -> Vec<(String, String)> {
    let Some(section) = root.child("appSettings") else { return Vec::new() };
    let mut settings = Slots::default();
    for element in section.elements() {
        let key = element.attr("key").map(str::trim).unwrap_or("");
        match element.name.as_str() {
            "add" if !key.is_empty() => {
                settings.remove(key);
                settings.push(key, (key.to_string(), element.attr("value").unwrap_or("").to_string()));
            }
            "remove" => settings.remove(key),
            "clear" => settings.clear(),
            _ => {}
        }
    }
    settings.into_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_app_settings() {
        let xml = r#"<?xml version="1.0"?>
<configuration>
  <appSettings>
    <add key="WSGI_HANDLER" value="app.application" />
    <add key=" PYTHONPATH " value="%SystemDrive%\lib;C:\x" />
    <add key="DROPPED" value="1" />
    <remove key="DROPPED" />
    <add value="no key" />
  </appSettings>
  <system.webServer><appSettings><add key="NOT" value="here"/></appSettings></system.webServer>
</configuration>"#;
        assert_eq!(
            app_settings(xml).unwrap(),
            [
                ("WSGI_HANDLER".to_string(), "app.application".to_string()),
                ("PYTHONPATH".to_string(), r"%SystemDrive%\lib;C:\x".to_string()),
            ]
        );
    }

    #[test]
    fn malformed_xml_names_the_line() {
        let err = app_settings("<configuration>\n<appSettings>\n</configuration>").unwrap_err();
        assert_eq!(err.line, 3, "{err}");
    }

    #[test]
    fn dtd_is_rejected() {
        let xml = "<!DOCTYPE x [<!ENTITY e \"boom\">]>\n<configuration/>";
        assert!(app_settings(xml).unwrap_err().message.contains("DTD"));
    }

    #[test]
    fn handlers_and_fastcgi_are_read() {
        let config = WebConfig::parse(
            r#"<configuration><system.webServer>
<handlers><remove name="Py"/><add name="Py" path="*" verb="*" modules="FastCgiModule" scriptProcessor="c:\p.exe|x"/></handlers>
<fastCgi><application fullPath="c:\p.exe" arguments="x"/></fastCgi>
</system.webServer></configuration>"#,
        )
        .unwrap();
        assert_eq!(config.level.handlers.len(), 2);
        assert_eq!(config.fastcgi.unwrap()[0].key(), r"c:\p.exe|x");
        assert!(WebConfig::parse("<other/>").is_err());
    }

    #[test]
    fn a_hundred_thousand_settings_keep_their_order() {
        let mut xml = String::from("<configuration><appSettings>\n");
        for i in 0..100_000 {
            xml.push_str(&format!("<add key=\"K{i}\" value=\"{i}\" />\n"));
        }
        for i in (0..100_000).step_by(2) {
            xml.push_str(&format!("<remove key=\"K{i}\" />\n"));
        }
        xml.push_str("<add key=\"K1\" value=\"again\" />\n</appSettings></configuration>");
        let settings = app_settings(&xml).unwrap();
        assert_eq!(settings.len(), 50_000);
        assert_eq!(settings[0], ("K3".to_string(), "3".to_string()));
        assert_eq!(settings.last(), Some(&("K1".to_string(), "again".to_string())));
    }
}
