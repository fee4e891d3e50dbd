//! `<system.webServer><httpPlatform>` (HttpPlatformHandler v1.2) and
//! `<aspNetCore>` (the ASP.NET Core Module V2): the process such a module
//! starts and proxies HTTP to. Attribute names, defaults and ranges: iis-docs
//! `iis/extensions/httpplatformhandler/httpplatformhandler-configuration-reference.md`
//! and dotnet/AspNetCore.Docs `aspnetcore/host-and-deploy/iis/web-config.md`
//! (ANCM's `aspnetcore_schema_v2.xml`). Both sections may stand at any
//! level; the nearest level that has one decides (its attributes are not
//! merged with a farther level's: a simplification, see emulator/README.md).

use super::xml::{Element, XmlError};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleKind {
    /// `modules="httpPlatformHandler"`, section `<httpPlatform>`.
    HttpPlatform,
    /// `modules="AspNetCoreModuleV2"`, section `<aspNetCore>`.
    AspNetCore,
}

impl ModuleKind {
    pub fn module_name(self) -> &'static str {
        match self {
            ModuleKind::HttpPlatform => "httpPlatformHandler",
            ModuleKind::AspNetCore => "AspNetCoreModuleV2",
        }
    }

    pub fn section(self) -> &'static str {
        match self {
            ModuleKind::HttpPlatform => "httpPlatform",
            ModuleKind::AspNetCore => "aspNetCore",
        }
    }
}

/// One section, with every attribute the emulator honours, defaults filled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpPlatform {
    pub kind: ModuleKind,
    pub process_path: String,
    pub arguments: String,
    /// How long the process may take to listen on its port.
    pub startup_time_limit: Duration,
    /// Start attempts per request (HttpPlatformHandler's
    /// `startupRetryCount`; ANCM tries twice, a fixed count).
    pub startup_attempts: u32,
    pub rapid_fails_per_minute: u32,
    /// Per read from the process, as WinHTTP's receive timeout is.
    pub request_timeout: Duration,
    pub stdout_log_enabled: bool,
    pub stdout_log_file: String,
    pub processes_per_application: u32,
    pub forward_windows_auth_token: bool,
    /// ANCM: how long a graceful shutdown may take before the kill.
    pub shutdown_time_limit: Duration,
    /// ANCM: `hostingModel` as written, lower-cased; empty is out of
    /// process (the shim's reading, `ShimOptions.cpp`).
    pub hosting_model: String,
    pub disable_startup_error_page: bool,
    pub environment_variables: Vec<(String, String)>,
    /// HttpPlatformHandler: `<recycleOnFileChange><file path>`.
    pub recycle_on_file_change: Vec<String>,
}

fn number(element: &Element, name: &str, default: u32, range: std::ops::RangeInclusive<u32>) -> Result<u32, XmlError> {
    let Some(text) = element.attr(name) else { return Ok(default) };
    match text.trim().parse::<u32>() {
        Ok(value) if range.contains(&value) => Ok(value),
        _ => Err(XmlError::new(
            element.line,
            format!("{name}=\"{text}\" must be a whole number from {} to {}", range.start(), range.end()),
        )),
    }
}

fn boolean(element: &Element, name: &str, default: bool) -> Result<bool, XmlError> {
    match element.attr(name).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if v == "true" => Ok(true),
        Some(v) if v == "false" => Ok(false),
        Some(v) => Err(XmlError::new(element.line, format!("{name}=\"{v}\" must be true or false"))),
    }
}

/// A .NET TimeSpan as IIS writes one: `[d.]hh:mm:ss[.fraction]`.
pub fn parse_timespan(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (days, rest) = match text.split_once('.') {
        Some((days, rest)) if rest.contains(':') && !days.contains(':') => (days.parse::<u64>().ok()?, rest),
        _ => (0, text),
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let [hours, minutes, seconds] = parts.as_slice() else { return None };
    let (hours, minutes): (u64, u64) = (hours.parse().ok()?, minutes.parse().ok()?);
    let seconds: f64 = seconds.parse().ok().filter(|s: &f64| s.is_finite() && *s >= 0.0 && *s < 60.0)?;
    if minutes >= 60 || hours >= 24 && days > 0 {
        return None;
    }
    Some(Duration::from_secs((days * 24 + hours) * 3600 + minutes * 60) + Duration::from_secs_f64(seconds))
}

impl HttpPlatform {
    /// Reads a section element of either module.
    pub fn parse(kind: ModuleKind, element: &Element) -> Result<Self, XmlError> {
        let http_platform = kind == ModuleKind::HttpPlatform;
        let process_path = element.attr("processPath").unwrap_or("").trim().to_string();
        if process_path.is_empty() {
            return Err(XmlError::new(element.line, format!("<{}> needs a processPath", kind.section())));
        }
        let request_timeout = match element.attr("requestTimeout") {
            None => Duration::from_secs(120),
            Some(text) => parse_timespan(text).ok_or_else(|| {
                XmlError::new(element.line, format!("requestTimeout=\"{text}\" is not a time span like 00:02:00"))
            })?,
        };
        let seconds =
            |name, default, max| number(element, name, default, 0..=max).map(|s| Duration::from_secs(s.into()));
        let environment_variables = element
            .child("environmentVariables")
            .map(|vars| {
                vars.elements()
                    .filter(|e| e.name == "environmentVariable")
                    .filter_map(|e| Some((e.attr("name")?.to_string(), e.attr("value").unwrap_or("").to_string())))
                    .collect()
            })
            .unwrap_or_default();
        let recycle_on_file_change = element
            .child("recycleOnFileChange")
            .map(|files| files.elements().filter_map(|e| e.attr("path").map(str::to_string)).collect())
            .unwrap_or_default();
        Ok(Self {
            kind,
            process_path,
            arguments: element.attr("arguments").unwrap_or("").to_string(),
            startup_time_limit: seconds("startupTimeLimit", if http_platform { 10 } else { 120 }, 3600)?,
            startup_attempts: if http_platform { number(element, "startupRetryCount", 10, 0..=100)?.max(1) } else { 2 },
            rapid_fails_per_minute: number(element, "rapidFailsPerMinute", 10, 0..=100)?,
            request_timeout,
            stdout_log_enabled: boolean(element, "stdoutLogEnabled", false)?,
            stdout_log_file: element
                .attr("stdoutLogFile")
                .map(str::to_string)
                .unwrap_or_else(|| if http_platform { "httpplatform-stdout" } else { r".\aspnetcore-stdout" }.into()),
            processes_per_application: number(element, "processesPerApplication", 1, 1..=100)?,
            forward_windows_auth_token: boolean(element, "forwardWindowsAuthToken", !http_platform)?,
            shutdown_time_limit: seconds("shutdownTimeLimit", 10, 600)?,
            hosting_model: element.attr("hostingModel").unwrap_or("").trim().to_ascii_lowercase(),
            disable_startup_error_page: boolean(element, "disableStartUpErrorPage", false)?,
            environment_variables,
            recycle_on_file_change,
        })
    }

    /// Whether ANCM would run the app inside the worker process, a mode
    /// only .NET has.
    pub fn in_process(&self) -> bool {
        self.kind == ModuleKind::AspNetCore && self.hosting_model == "inprocess"
    }
}

/// Both sections of a `<system.webServer>` element, where present.
pub fn sections(element: Option<&Element>) -> Result<Vec<HttpPlatform>, XmlError> {
    let Some(element) = element else { return Ok(Vec::new()) };
    let mut found = Vec::new();
    for kind in [ModuleKind::HttpPlatform, ModuleKind::AspNetCore] {
        if let Some(section) = element.child(kind.section()) {
            found.push(HttpPlatform::parse(kind, section)?);
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iis::xml::Document;

    fn parse(xml: &str) -> Result<Vec<HttpPlatform>, XmlError> {
        let doc = Document::parse(xml).unwrap();
        sections(doc.root())
    }

    #[test]
    fn defaults_are_each_modules() {
        let found = parse(
            r#"<system.webServer><httpPlatform processPath="python.exe"/><aspNetCore processPath="python.exe"/></system.webServer>"#,
        )
        .unwrap();
        let (hph, ancm) = (&found[0], &found[1]);
        assert_eq!(
            (hph.startup_time_limit, ancm.startup_time_limit),
            (Duration::from_secs(10), Duration::from_secs(120))
        );
        assert_eq!((hph.startup_attempts, ancm.startup_attempts), (10, 2));
        assert_eq!((hph.forward_windows_auth_token, ancm.forward_windows_auth_token), (false, true));
        assert_eq!(hph.stdout_log_file, "httpplatform-stdout");
        assert_eq!(ancm.stdout_log_file, r".\aspnetcore-stdout");
        assert_eq!(ancm.request_timeout, Duration::from_secs(120));
        assert!(!ancm.in_process(), "no hostingModel: out of process, as the shim reads it");
    }

    #[test]
    fn attributes_children_and_bad_values() {
        let found = parse(
            r#"<system.webServer><httpPlatform processPath="C:\py\python.exe" arguments="run.py --port %HTTP_PLATFORM_PORT%"
                 startupTimeLimit="20" startupRetryCount="3" requestTimeout="00:00:05" stdoutLogEnabled="true"
                 stdoutLogFile=".\logs\py" processesPerApplication="2">
                 <environmentVariables><environmentVariable name="A" value="1"/></environmentVariables>
                 <recycleOnFileChange><file path="touch.txt"/></recycleOnFileChange></httpPlatform></system.webServer>"#,
        )
        .unwrap();
        let hph = &found[0];
        assert_eq!(hph.arguments, "run.py --port %HTTP_PLATFORM_PORT%");
        assert_eq!((hph.startup_attempts, hph.processes_per_application), (3, 2));
        assert_eq!(hph.request_timeout, Duration::from_secs(5));
        assert!(hph.stdout_log_enabled);
        assert_eq!(hph.environment_variables, [("A".to_string(), "1".to_string())]);
        assert_eq!(hph.recycle_on_file_change, ["touch.txt"]);
        for bad in [
            r#"<s><httpPlatform processPath="p" startupTimeLimit="soon"/></s>"#,
            r#"<s><aspNetCore processPath="p" requestTimeout="2 minutes"/></s>"#,
            r#"<s><aspNetCore processPath="p" stdoutLogEnabled="yes"/></s>"#,
            r#"<s><aspNetCore processPath="p" processesPerApplication="0"/></s>"#,
            r#"<s><aspNetCore arguments="no path"/></s>"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn timespans() {
        assert_eq!(parse_timespan("00:02:00"), Some(Duration::from_secs(120)));
        assert_eq!(parse_timespan("1.00:00:01"), Some(Duration::from_secs(86_401)));
        assert_eq!(parse_timespan("00:00:00.5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_timespan("360:00:00"), Some(Duration::from_secs(360 * 3600)));
        for bad in ["", "5", "00:60:00", "a:b:c", "00:00:61"] {
            assert_eq!(parse_timespan(bad), None, "{bad}");
        }
    }
}
