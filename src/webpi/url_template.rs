//! The original's `msdeploy_url_template`: Python `str.format` with named
//! fields (`{name}`, `{msdeploy_file}`, ...), `{{` and `}}` for braces.
//! Only plain names are supported; a format spec or an unknown field is an
//! error naming it.

pub fn format(template: &str, fields: &[(&str, String)]) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) => name.push(c),
                        None => return Err(format!("`{{{name}` in the URL template is never closed")),
                    }
                }
                match fields.iter().find(|(k, _)| *k == name) {
                    Some((_, value)) => out.push_str(value),
                    None => {
                        let known: Vec<&str> = fields.iter().map(|(k, _)| *k).collect();
                        return Err(format!("the URL template names `{{{name}}}`; known fields: {}", known.join(", ")));
                    }
                }
            }
            '}' => return Err("a single `}` in the URL template (write `}}`)".to_string()),
            c => out.push(c),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::format;

    #[test]
    fn named_fields_and_escaped_braces() {
        let fields = [
            ("name", "Sample".to_string()),
            ("msdeploy_file", "Sample-1.0.zip".to_string()),
            ("letter", "S".to_string()),
        ];
        assert_eq!(
            format("https://pypi.example/{letter}/{name}/{msdeploy_file}?x={{1}}", &fields).unwrap(),
            "https://pypi.example/S/Sample/Sample-1.0.zip?x={1}"
        );
        assert!(format("{nope}", &fields).unwrap_err().contains("known fields: name, msdeploy_file, letter"));
        assert!(format("{name", &fields).is_err());
        assert!(format("a}b", &fields).is_err());
    }
}
