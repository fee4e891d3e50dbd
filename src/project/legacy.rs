//! A project in the original iiswsgi's layout: its metadata is whatever its
//! `setup.py` passes to `setup()`. The script is run with the project's
//! Python and a stand-in `setup()` that prints the keywords as JSON, so
//! nothing is built or downloaded (`setup_requires` included).

use super::{Error, Metadata, Person, Tool};
use std::path::Path;

const CAPTURE: &str = r#"
import configparser, json, os, sys
captured = {}
def setup(**kwargs):
    captured.update(kwargs)
import setuptools
setuptools.setup = setup
try:
    import distutils.core
    distutils.core.setup = setup
except ImportError:
    pass
sys.argv = ['setup.py', '--name']
sys.path.insert(0, os.getcwd())
with open('setup.py') as f:
    code = compile(f.read(), 'setup.py', 'exec')
exec(code, {'__name__': '__main__', '__file__': 'setup.py'})
cfg = configparser.ConfigParser()
cfg.read('setup.cfg')
for section in cfg.sections():
    captured.setdefault('setup_cfg', {})[section] = dict(cfg[section])
def plain(value):
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
json.dump(plain(captured), sys.stdout)
"#;

pub fn read(dir: &Path, python: &Path) -> Result<Metadata, Error> {
    let command = format!("{} setup.py (metadata only)", python.display());
    let output = std::process::Command::new(python)
        .arg("-c")
        .arg(CAPTURE)
        .current_dir(dir)
        .output()
        .map_err(|err| Error::Python { command: command.clone(), output: err.to_string() })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(6).collect();
        return Err(Error::Python { command, output: tail.into_iter().rev().collect::<Vec<_>>().join("\n") });
    }
    let setup_py = dir.join("setup.py");
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).map_err(|err| Error::Invalid {
        path: setup_py.clone(),
        message: format!("unreadable setup() keywords: {err}"),
    })?;
    from_keywords(&value).map_err(|message| Error::Invalid { path: setup_py, message })
}

fn from_keywords(kw: &serde_json::Value) -> Result<Metadata, String> {
    let text = |key: &str| kw.get(key).and_then(|v| v.as_str()).map(str::to_string);
    let list = |value: Option<&serde_json::Value>| -> Vec<String> {
        match value {
            Some(serde_json::Value::String(s)) => {
                s.split([',', ' ', '\n']).filter(|p| !p.is_empty()).map(str::to_string).collect()
            }
            Some(serde_json::Value::Array(items)) => {
                items.iter().filter_map(|i| i.as_str().map(str::to_string)).collect()
            }
            _ => Vec::new(),
        }
    };
    let name = text("name").filter(|n| !n.is_empty()).ok_or("setup() is not given a `name`")?;
    let version = text("version").filter(|v| !v.is_empty()).ok_or("setup() is not given a `version`")?;
    let extras = kw.get("extras_require").and_then(|e| e.as_object());
    let extra = |name: &str| list(extras.and_then(|e| e.get(name)));
    let optional_dependencies =
        extras.map(|e| e.iter().map(|(k, v)| (k.clone(), list(Some(v)))).collect()).unwrap_or_default();
    let cfg = |section: &str, key: &str| {
        kw.get("setup_cfg")
            .and_then(|c| c.get(section))
            .and_then(|s| s.get(key))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let mut urls = std::collections::BTreeMap::new();
    if let Some(url) = text("url") {
        urls.insert("Homepage".to_string(), url);
    }
    let author = text("author").unwrap_or_default();
    let authors = if author.is_empty() {
        Vec::new()
    } else {
        vec![Person { name: author, email: text("author_email").unwrap_or_default() }]
    };
    Ok(Metadata {
        name,
        version,
        description: text("description").unwrap_or_default(),
        readme: text("long_description"),
        authors,
        urls,
        keywords: list(kw.get("keywords")),
        license: text("license"),
        dependencies: list(kw.get("install_requires")),
        optional_dependencies,
        tool: Tool {
            title: text("title"),
            author_url: text("author_url"),
            license_url: text("license_url"),
            icon_url: text("icon_url"),
            screenshot_url: text("screenshot_url"),
            display_url: text("display_url"),
            help_url: text("help_url"),
            published: text("published"),
            msdeploy_url_template: text("msdeploy_url_template"),
            install_msdeploy: extra("install_msdeploy"),
            webpi_dependencies: list(kw.get("webpi_dependencies")),
            webpi_eggs: extra("webpi_eggs"),
            post_install: Vec::new(),
            app: None,
            config: cfg("test_msdeploy", "config_file"),
        },
    })
}
