use quick_xml::events::Event;
use quick_xml::Reader;

/// Malformed XML, with the 1-based line it was found on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct XmlError {
    pub line: usize,
    pub message: String,
}

fn line_of(text: &str, offset: u64) -> usize {
    let end = usize::try_from(offset).unwrap_or(usize::MAX).min(text.len());
    text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
}

/// The `<configuration><appSettings><add key value/>` entries of a
/// web.config, in file order, as wfastcgi reads them: keys trimmed, entries
/// without a key skipped, `<remove key>` and `<clear/>` applied. A DTD is
/// rejected rather than expanded.
pub fn app_settings(text: &str) -> Result<Vec<(String, String)>, XmlError> {
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut path: Vec<Vec<u8>> = Vec::new();
    let mut settings: Vec<(String, String)> = Vec::new();
    loop {
        let position = reader.buffer_position();
        let error = |message: String| XmlError { line: line_of(text, position), message };
        let event = reader.read_event().map_err(|e| error(e.to_string()))?;
        let (element, is_empty) = match &event {
            Event::Start(e) => (Some(e), false),
            Event::Empty(e) => (Some(e), true),
            Event::End(_) => {
                path.pop();
                continue;
            }
            Event::DocType(_) => return Err(error("a DTD is not allowed in web.config".to_string())),
            Event::Eof => break,
            _ => continue,
        };
        let Some(element) = element else { continue };
        let name = element.name().as_ref().to_vec();
        let in_app_settings = path.len() == 2 && path[0] == b"configuration" && path[1] == b"appSettings";
        if in_app_settings {
            let attr = |wanted: &[u8]| -> Result<Option<String>, XmlError> {
                for attr in element.attributes() {
                    let attr = attr.map_err(|e| error(e.to_string()))?;
                    if attr.key.as_ref() == wanted {
                        let value = attr.unescape_value().map_err(|e| error(e.to_string()))?;
                        return Ok(Some(value.into_owned()));
                    }
                }
                Ok(None)
            };
            match name.as_slice() {
                b"add" => {
                    if let Some(key) = attr(b"key")?.map(|k| k.trim().to_string()).filter(|k| !k.is_empty()) {
                        let value = attr(b"value")?.unwrap_or_default();
                        settings.retain(|(k, _)| *k != key);
                        settings.push((key, value));
                    }
                }
                b"remove" => {
                    if let Some(key) = attr(b"key")? {
                        settings.retain(|(k, _)| *k != key.trim());
                    }
                }
                b"clear" => settings.clear(),
                _ => {}
            }
        }
        if !is_empty {
            path.push(name);
        }
    }
    Ok(settings)
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
}
