//! `<system.webServer><fastCgi><application>`: one FastCGI process pool.
//! Defaults are IIS 10's schema (see the emulator's docs for sources).

use super::xml::{Element, XmlError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StderrMode {
    ReturnStdErrIn500,
    ReturnGeneric500,
    IgnoreAndReturn200,
    TerminateProcess,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FastCgiApplication {
    /// Still `%VAR%`-unexpanded, as written.
    pub full_path: String,
    pub arguments: String,
    /// 0: the server sizes the pool itself.
    pub max_instances: u32,
    pub idle_timeout: u32,
    pub activity_timeout: u32,
    pub request_timeout: u32,
    pub instance_max_requests: u32,
    pub queue_length: u32,
    pub rapid_fails_per_minute: u32,
    pub monitor_changes_to: String,
    pub stderr_mode: StderrMode,
    pub signal_before_terminate_seconds: u32,
    pub environment_variables: Vec<(String, String)>,
}

impl FastCgiApplication {
    pub fn new(full_path: &str, arguments: &str) -> Self {
        Self {
            full_path: full_path.to_string(),
            arguments: arguments.to_string(),
            max_instances: 0,
            idle_timeout: 300,
            activity_timeout: 70,
            request_timeout: 90,
            instance_max_requests: 200,
            queue_length: 1000,
            rapid_fails_per_minute: 10,
            monitor_changes_to: String::new(),
            stderr_mode: StderrMode::ReturnStdErrIn500,
            signal_before_terminate_seconds: 0,
            environment_variables: Vec::new(),
        }
    }

    /// The handler `scriptProcessor` value that selects this pool:
    /// `fullPath|arguments`, or the bare fullPath without arguments.
    pub fn key(&self) -> String {
        script_processor_key(&self.full_path, &self.arguments)
    }

    pub fn from_element(element: &Element) -> Result<Self, XmlError> {
        let full_path = element.attr("fullPath").filter(|p| !p.trim().is_empty()).ok_or_else(|| {
            XmlError::new(element.line, "<fastCgi><application> lacks the required attribute `fullPath`")
        })?;
        let mut app = Self::new(full_path, element.attr("arguments").unwrap_or(""));
        let number = |name: &str, default: u32, range: std::ops::RangeInclusive<u32>| -> Result<u32, XmlError> {
            let Some(text) = element.attr(name) else { return Ok(default) };
            match text.trim().parse::<u32>() {
                Ok(value) if range.contains(&value) => Ok(value),
                _ => Err(XmlError::new(
                    element.line,
                    format!("{name} `{text}` must be a whole number from {} to {}", range.start(), range.end()),
                )),
            }
        };
        app.max_instances = number("maxInstances", app.max_instances, 0..=10_000)?;
        app.idle_timeout = number("idleTimeout", app.idle_timeout, 10..=2_592_000)?;
        app.activity_timeout = number("activityTimeout", app.activity_timeout, 10..=2_592_000)?;
        app.request_timeout = number("requestTimeout", app.request_timeout, 10..=2_592_000)?;
        app.instance_max_requests = number("instanceMaxRequests", app.instance_max_requests, 1..=10_000_000)?;
        app.queue_length = number("queueLength", app.queue_length, 1..=100_000_000)?;
        app.rapid_fails_per_minute = number("rapidFailsPerMinute", app.rapid_fails_per_minute, 0..=1000)?;
        app.signal_before_terminate_seconds =
            number("signalBeforeTerminateSeconds", app.signal_before_terminate_seconds, 0..=60)?;
        app.monitor_changes_to = element.attr("monitorChangesTo").unwrap_or("").to_string();
        app.stderr_mode = match element.attr("stderrMode").unwrap_or("ReturnStdErrIn500") {
            "ReturnStdErrIn500" => StderrMode::ReturnStdErrIn500,
            "ReturnGeneric500" => StderrMode::ReturnGeneric500,
            "IgnoreAndReturn200" => StderrMode::IgnoreAndReturn200,
            "TerminateProcess" => StderrMode::TerminateProcess,
            other => {
                return Err(XmlError::new(
                    element.line,
                    format!("stderrMode `{other}` is not ReturnStdErrIn500, ReturnGeneric500, IgnoreAndReturn200 or TerminateProcess"),
                ))
            }
        };
        if let Some(variables) = element.child("environmentVariables") {
            for variable in variables.elements() {
                match variable.name.as_str() {
                    "environmentVariable" | "add" => {
                        let name = variable.attr("name").ok_or_else(|| {
                            XmlError::new(variable.line, "<environmentVariable> lacks the required attribute `name`")
                        })?;
                        app.environment_variables.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
                        app.environment_variables
                            .push((name.to_string(), variable.attr("value").unwrap_or("").to_string()));
                    }
                    "remove" => {
                        let name = variable.attr("name").unwrap_or("");
                        app.environment_variables.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
                    }
                    "clear" => app.environment_variables.clear(),
                    _ => {}
                }
            }
        }
        Ok(app)
    }
}

/// `fullPath|arguments`, the form handlers use to name a pool.
pub fn script_processor_key(full_path: &str, arguments: &str) -> String {
    if arguments.is_empty() {
        full_path.to_string()
    } else {
        format!("{full_path}|{arguments}")
    }
}

/// The `<application>` entries of a `<fastCgi>` element.
pub fn applications(section: &Element) -> Result<Vec<FastCgiApplication>, XmlError> {
    let mut apps: Vec<FastCgiApplication> = Vec::new();
    for element in section.elements().filter(|e| e.name == "application") {
        let app = FastCgiApplication::from_element(element)?;
        if apps.iter().any(|a| a.key().eq_ignore_ascii_case(&app.key())) {
            return Err(XmlError::new(
                element.line,
                format!(
                    "Cannot add duplicate collection entry of type 'application' with combined key attributes 'fullPath, arguments' respectively set to '{}, {}'",
                    app.full_path, app.arguments
                ),
            ));
        }
        apps.push(app);
    }
    Ok(apps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iis::xml::Document;

    fn parse(xml: &str) -> Result<Vec<FastCgiApplication>, XmlError> {
        applications(Document::parse(xml).unwrap().root().unwrap())
    }

    #[test]
    fn attributes_and_environment_are_read_with_defaults() {
        let apps = parse(
            r#"<fastCgi>
  <application fullPath="C:\Python\python.exe" arguments="&quot;C:\w.py&quot;" maxInstances="2"
      instanceMaxRequests="5" stderrMode="IgnoreAndReturn200" signalBeforeTerminateSeconds="30">
    <environmentVariables>
      <environmentVariable name="WSGI_HANDLER" value="app.application" />
    </environmentVariables>
  </application>
</fastCgi>"#,
        )
        .unwrap();
        let app = &apps[0];
        assert_eq!(app.key(), r#"C:\Python\python.exe|"C:\w.py""#);
        assert_eq!((app.max_instances, app.instance_max_requests, app.idle_timeout), (2, 5, 300));
        assert_eq!(app.stderr_mode, StderrMode::IgnoreAndReturn200);
        assert_eq!(app.signal_before_terminate_seconds, 30);
        assert_eq!(app.environment_variables, [("WSGI_HANDLER".to_string(), "app.application".to_string())]);
    }

    #[test]
    fn out_of_range_values_and_duplicates_name_the_line() {
        let err = parse("<fastCgi>\n<application fullPath=\"x\" idleTimeout=\"5\"/></fastCgi>").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("idleTimeout"), "{err}");
        let err = parse("<fastCgi><application fullPath=\"x\"/>\n<application fullPath=\"X\"/></fastCgi>").unwrap_err();
        assert!(err.message.contains("duplicate"), "{err}");
        assert!(parse("<fastCgi><application arguments=\"x\"/></fastCgi>").is_err());
    }
}
