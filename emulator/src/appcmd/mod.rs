//! A mock `appcmd.exe` for the subset of appcmd that iiswsgi's install
//! tools use, working on the applicationHost.config named by
//! `/apphostconfig:PATH` (IIS Express's appcmd has that flag). Output,
//! `ERROR ( message:... )` texts and exit codes follow real appcmd (see
//! the emulator's docs for the sources). Changes are written atomically:
//! a temporary file beside the config, then a rename.

mod args;
mod config_section;
mod objects;

use iiswsgi_proto::iis::Document;
use std::io::Write;
use std::path::{Path, PathBuf};

/// ERROR_INVALID_DATA: bad arguments and malformed configuration.
pub const INVALID_DATA: i32 = 13;
/// ERROR_ALREADY_EXISTS: a duplicate collection element.
pub const ALREADY_EXISTS: i32 = 183;
/// ERROR_NOT_FOUND: no such object or collection element.
pub const NOT_FOUND: i32 = 1168;

/// A failed command: what appcmd prints and the exit code it returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: i32,
    pub hresult: Option<u32>,
    pub message: String,
}

impl Failure {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Self { code, hresult: None, message: message.into() }
    }

    fn render(&self) -> String {
        match self.hresult {
            Some(hresult) => format!("ERROR ( hresult:{hresult:08x}, message:{} )", self.message),
            None => format!("ERROR ( message:{} )", self.message),
        }
    }
}

const USAGE: &str = "iiswsgi-appcmd: a mock of IIS's appcmd.exe for testing

APPCMD (command) (object-type) <identifier> </parameter1:value1 ...> /apphostconfig:PATH

Supported:
  list config [URL] /section:NAME [/xml]
  set config [URL] /section:NAME /+[attr='value',...] | /-[...] | /[key='v'].attr:value | /attr:value [/commit:apphost]
  add site /name:NAME [/id:N] /bindings:http/*:80: [/physicalPath:DIR]
  add app /site.name:NAME /path:/APP [/physicalPath:DIR] [/applicationPool:POOL]
  add vdir /app.name:SITE/APP /path:/VDIR /physicalPath:DIR
  list site|app|vdir [NAME] [/xml] [/site.name:NAME] [/app.name:NAME]
";

/// Runs appcmd with `raw` arguments (without the program name); returns
/// the exit code after printing to `out` as appcmd does (errors too go to
/// stdout).
pub fn run(raw: &[String], out: &mut dyn Write) -> i32 {
    match execute(raw) {
        Ok(text) => {
            let _ = out.write_all(text.as_bytes());
            0
        }
        Err(failure) => {
            let _ = writeln!(out, "{}", failure.render());
            failure.code
        }
    }
}

fn execute(raw: &[String]) -> Result<String, Failure> {
    let args = args::parse(raw).map_err(|m| Failure::new(INVALID_DATA, m))?;
    if args.flag("?") || args.positional.is_empty() {
        return Ok(USAGE.to_string());
    }
    let path = PathBuf::from(args.named("apphostconfig").ok_or_else(|| {
        Failure::new(INVALID_DATA, "/apphostconfig:PATH is required: this appcmd only edits the file it is given")
    })?);
    let command = args.positional.first().map(|c| c.to_ascii_lowercase()).unwrap_or_default();
    let object = args.positional.get(1).map(|o| o.to_ascii_lowercase()).unwrap_or_default();
    let mut document = load(&path)?;
    let (output, changed) = match (command.as_str(), object.as_str()) {
        ("list", "config") => (config_section::list(&document, &args)?, false),
        ("set", "config") => (config_section::set(&mut document, &args)?, true),
        ("list", "site" | "app" | "vdir") => (objects::list(&document, &object, &args)?, false),
        ("add", "site" | "app" | "vdir") => (objects::add(&mut document, &object, &args)?, true),
        (_, "config" | "site" | "app" | "vdir") => {
            return Err(Failure::new(
                INVALID_DATA,
                format!("Command '{command}' is not supported on object '{object}'."),
            ))
        }
        _ => {
            return Err(Failure::new(
                INVALID_DATA,
                format!(
                    "Object '{}' is not supported.  Run 'appcmd.exe /?' to display supported objects.",
                    object.to_uppercase()
                ),
            ))
        }
    };
    if changed {
        save(&path, &document)?;
    }
    Ok(output)
}

fn load(path: &Path) -> Result<Document, Failure> {
    let text = std::fs::read_to_string(path).map_err(|err| Failure {
        code: 2,
        hresult: Some(0x8007_0002),
        message: format!("Cannot read configuration file\nFilename: {}\nError: {err}\n", path.display()),
    })?;
    Document::parse(&text).map_err(|err| Failure {
        code: INVALID_DATA,
        hresult: Some(0x8007_000d),
        message: format!(
            "Configuration error\nFilename: {}\nLine number: {}\nError: {}\n",
            path.display(),
            err.line,
            err.message
        ),
    })
}

/// Writes the whole file to a temporary file beside it, then renames it
/// over the original, so a crash never leaves it half-written.
fn save(path: &Path, document: &Document) -> Result<(), Failure> {
    let fail =
        |err: std::io::Error| Failure::new(5, format!("Cannot write configuration file {}: {err}", path.display()));
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    temp.write_all(document.to_xml().as_bytes()).map_err(fail)?;
    temp.as_file().sync_all().map_err(fail)?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(temp.path(), meta.permissions());
    }
    temp.persist(path).map_err(|err| fail(err.error))?;
    Ok(())
}
