//! The FastCGI applications a `--site` folder implies when its web.config
//! has no `<fastCgi>` section: one per distinct scriptProcessor its
//! handlers name (nested web.configs too), registered exactly as written,
//! as `iiswsgi install-msdeploy` or `wfastcgi-enable` would have
//! registered it. So a wfastcgi site runs wfastcgi. A scriptProcessor that
//! runs iiswsgi itself (`...\iiswsgi.exe|serve`, `...\python.exe|-m iiswsgi
//! serve`) from a path that does not exist here runs the iiswsgi that runs
//! the emulator ([`Gateway`], see [`iiswsgi_itself`]); a site whose
//! handlers name no program but that has a `WSGI_HANDLER` gets an
//! `iiswsgi serve` handler for every URL.

use crate::web_configs::WebConfigs;
use crate::{Error, Gateway};
use iiswsgi_proto::iis::{CollectionOp, FastCgiApplication, Handler};
use std::path::Path;

fn names_a_process(handler: &Handler) -> bool {
    handler.module_names().any(|m| {
        ["FastCgiModule", "httpPlatformHandler", "AspNetCoreModuleV2"].iter().any(|n| m.eq_ignore_ascii_case(n))
    })
}

/// `fullPath|arguments` split as IIS splits a scriptProcessor.
fn application(script_processor: &str) -> FastCgiApplication {
    let (full_path, arguments) = script_processor.split_once('|').unwrap_or((script_processor, ""));
    FastCgiApplication::new(full_path, arguments)
}

/// The applications, and the handler to add at server level (for a
/// `WSGI_HANDLER` site without one).
pub fn applications(
    root: &Path,
    web_configs: &WebConfigs,
    gateway: &Gateway,
) -> Result<(Vec<FastCgiApplication>, Option<Handler>), Error> {
    let mut applications: Vec<FastCgiApplication> = Vec::new();
    let mut any_process = false;
    let mut wsgi_handler = false;
    for dir in crate::web_configs::find_all(root) {
        let Some(config) = web_configs.get(&dir)? else { continue };
        wsgi_handler |= dir == root && config.app_settings.iter().any(|(k, _)| k == "WSGI_HANDLER");
        for op in &config.level.handlers {
            let CollectionOp::Add(handler) = op else { continue };
            any_process |= names_a_process(handler);
            let fastcgi = handler.module_names().any(|m| m.eq_ignore_ascii_case("FastCgiModule"));
            if !fastcgi || handler.script_processor.trim().is_empty() {
                continue;
            }
            let app = application(&handler.script_processor);
            if !applications.iter().any(|known| known.key().eq_ignore_ascii_case(&app.key())) {
                tracing::info!("handler \"{}\" runs the FastCGI application {}", handler.name, app.key());
                applications.push(app);
            }
        }
    }
    if any_process || !wsgi_handler {
        return Ok((applications, None));
    }
    let app = FastCgiApplication::new(&gateway.full_path.to_string_lossy(), &gateway.arguments("serve"));
    tracing::info!("WSGI_HANDLER without a handler: every URL runs {}", app.key());
    let handler = crate::site::iiswsgi_handler(&app.key());
    applications.push(app);
    Ok((applications, Some(handler)))
}

/// When `program args` runs iiswsgi itself, the arguments after it (`serve
/// ...`): `iiswsgi[.exe] ARGS`, or a Python with `[-u] -m iiswsgi ARGS`.
pub fn iiswsgi_itself(program: &Path, args: &[String]) -> Option<Vec<String>> {
    // The last segment, whichever separator the configuration used.
    let text = program.to_string_lossy();
    let file = text.rsplit(['\\', '/']).next()?.to_ascii_lowercase();
    let stem = file.strip_suffix(".exe").unwrap_or(&file).to_string();
    if stem == "iiswsgi" {
        return Some(args.to_vec());
    }
    if !matches!(stem.as_str(), "python" | "python3" | "pythonw") {
        return None;
    }
    let start = args.iter().position(|a| a == "-m")?;
    let options_only = args[..start].iter().all(|a| a.starts_with('-'));
    (options_only && args.get(start + 1).is_some_and(|m| m == "iiswsgi")).then(|| args[start + 2..].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn iiswsgi_in_either_form_is_recognised() {
        let exe = Path::new(r"C:\Program Files\iiswsgi\iiswsgi.exe");
        assert_eq!(iiswsgi_itself(exe, &args(&["serve", "app:x"])), Some(args(&["serve", "app:x"])));
        let python = Path::new(r"C:\sites\hello\.venv\Scripts\python.exe");
        assert_eq!(iiswsgi_itself(python, &args(&["-u", "-m", "iiswsgi", "serve"])), Some(args(&["serve"])));
        assert_eq!(iiswsgi_itself(python, &args(&[r"C:\Python34\Lib\site-packages\wfastcgi.py"])), None);
        assert_eq!(iiswsgi_itself(python, &args(&["-m", "waitress"])), None);
        assert_eq!(iiswsgi_itself(python, &args(&["script.py", "-m", "iiswsgi"])), None);
        assert_eq!(iiswsgi_itself(Path::new("/usr/bin/php-cgi"), &args(&[])), None);
    }
}
