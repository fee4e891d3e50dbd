//! Parameters.xml: the values WebPI asks the user for, and where Web
//! Deploy puts them (the `iisApp` provider's path, text in files).

use iiswsgi_proto::iis::Document;
use regex::Regex;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    pub name: String,
    pub default: Option<String>,
    /// Lower-cased kinds (`boolean`, `enumeration`, `regularexpression`,
    /// `allowempty`) and the validation string.
    pub validation: Option<(Vec<String>, String)>,
    pub entries: Vec<ParameterEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterEntry {
    /// Lower-cased: `providerpath`, `textfile`, ...
    pub kind: String,
    pub scope: String,
    pub matches: String,
}

/// `kind=` and `type=` are both seen in Microsoft's own samples.
fn kind_of(element: &iiswsgi_proto::iis::Element) -> String {
    element.attr("kind").or_else(|| element.attr("type")).unwrap_or("").trim().to_ascii_lowercase()
}

pub fn parse(text: &str) -> Result<Vec<Parameter>, String> {
    let document = Document::parse(text).map_err(|e| format!("Parameters.xml line {}: {}", e.line, e.message))?;
    let root = document.root().filter(|r| r.name == "parameters").ok_or("Parameters.xml has no <parameters> root")?;
    let mut parameters = Vec::new();
    for element in root.elements().filter(|e| e.name == "parameter") {
        let name =
            element.attr("name").ok_or(format!("Parameters.xml line {}: <parameter> has no name", element.line))?;
        let validation = element.child("parameterValidation").map(|v| {
            let kinds = kind_of(v).split(',').map(|k| k.trim().to_string()).filter(|k| !k.is_empty()).collect();
            (kinds, v.attr("validationString").unwrap_or("").to_string())
        });
        let entries = element
            .elements()
            .filter(|e| e.name == "parameterEntry")
            .map(|e| ParameterEntry {
                kind: kind_of(e),
                scope: e.attr("scope").unwrap_or("").to_string(),
                matches: e.attr("match").unwrap_or("").to_string(),
            })
            .collect();
        parameters.push(Parameter {
            name: name.to_string(),
            default: element.attr("defaultValue").map(str::to_string),
            validation,
            entries,
        });
    }
    Ok(parameters)
}

/// Every parameter's value: `--param` overrides, else the default with
/// `{Other Parameter}` references filled in; then validated.
pub fn resolve(parameters: &[Parameter], overrides: &[(String, String)]) -> Result<Vec<(String, String)>, String> {
    for (name, _) in overrides {
        if !parameters.iter().any(|p| p.name.eq_ignore_ascii_case(name)) {
            let known: Vec<&str> = parameters.iter().map(|p| p.name.as_str()).collect();
            return Err(format!("the package has no parameter `{name}` (it has: {})", known.join(", ")));
        }
    }
    let mut values: Vec<(String, String)> = Vec::new();
    for parameter in parameters {
        let given =
            overrides.iter().rev().find(|(n, _)| n.eq_ignore_ascii_case(&parameter.name)).map(|(_, v)| v.clone());
        let value = match given.or_else(|| parameter.default.clone()) {
            Some(value) => value,
            None => {
                return Err(format!(
                    "parameter `{}` has no default; give --param \"{}=VALUE\"",
                    parameter.name, parameter.name
                ))
            }
        };
        values.push((parameter.name.clone(), value));
    }
    // Defaults may refer to other parameters: `{Application Path}/App_Data`.
    for _ in 0..parameters.len() {
        let snapshot = values.clone();
        for (_, value) in &mut values {
            for (name, other) in &snapshot {
                *value = value.replace(&format!("{{{name}}}"), other);
            }
        }
    }
    for (parameter, (_, value)) in parameters.iter().zip(&mut values) {
        validate(parameter, value)?;
    }
    Ok(values)
}

fn validate(parameter: &Parameter, value: &mut String) -> Result<(), String> {
    let Some((kinds, rule)) = &parameter.validation else { return Ok(()) };
    let allow_empty = kinds.iter().any(|k| k == "allowempty");
    if value.is_empty() {
        return if allow_empty { Ok(()) } else { Err(format!("parameter `{}` may not be empty", parameter.name)) };
    }
    for kind in kinds {
        match kind.as_str() {
            "boolean" => {
                *value = match value.to_ascii_lowercase().as_str() {
                    "true" => "True".to_string(),
                    "false" => "False".to_string(),
                    _ => return Err(format!("parameter `{}` must be True or False, not `{value}`", parameter.name)),
                }
            }
            "enumeration" if !rule.split(',').any(|choice| choice == value) => {
                return Err(format!("parameter `{}` must be one of {rule}, not `{value}`", parameter.name));
            }
            "regularexpression" => {
                let regex = Regex::new(rule)
                    .map_err(|e| format!("parameter `{}` has an invalid validationString: {e}", parameter.name))?;
                if !regex.is_match(value) {
                    return Err(format!("parameter `{}` must match {rule}, not `{value}`", parameter.name));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const XML: &str = r#"<parameters>
  <parameter name="Application Path" defaultValue="Default Web Site/Sample" tags="iisApp">
    <parameterEntry kind="ProviderPath" scope="iisApp" match="Sample" />
  </parameter>
  <parameter name="Data" defaultValue="{Application Path}/App_Data" tags="Hidden" />
  <parameter name="DevelMode" defaultValue="True">
    <parameterValidation type="Boolean" />
    <parameterEntry type="TextFile" scope="\\app\.ini$" match="__devel__" />
  </parameter>
  <parameter name="DB" defaultValue="SQLite"><parameterValidation kind="Enumeration" validationString="SQLite,MySQL" /></parameter>
  <parameter name="Port" defaultValue="80"><parameterValidation type="RegularExpression,allowEmpty" validationString="^[0-9]+$" /></parameter>
</parameters>"#;

    #[test]
    fn defaults_overrides_references_and_validation() {
        let parameters = parse(XML).unwrap();
        assert_eq!(parameters[2].entries[0].kind, "textfile");
        let values = resolve(&parameters, &[("develmode".into(), "false".into())]).unwrap();
        assert_eq!(values[1], ("Data".to_string(), "Default Web Site/Sample/App_Data".to_string()));
        assert_eq!(values[2].1, "False");
        assert!(resolve(&parameters, &[("DB".into(), "Oracle".into())])
            .unwrap_err()
            .contains("must be one of SQLite,MySQL"));
        assert!(resolve(&parameters, &[("Port".into(), "http".into())]).unwrap_err().contains("must match"));
        assert!(resolve(&parameters, &[("Port".into(), String::new())]).is_ok());
        assert!(resolve(&parameters, &[("Nope".into(), "1".into())]).unwrap_err().contains("has no parameter `Nope`"));
    }
}
