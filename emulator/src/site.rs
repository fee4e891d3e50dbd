//! The site being served: its applications and virtual directories, the
//! handler list that applies at each URL (applicationHost.config levels,
//! then every web.config on the way down) and the FastCGI applications its
//! handlers may name.

use crate::web_configs::WebConfigs;
use crate::{Error, Gateway};
use iiswsgi_proto::iis::collection::{apply, Level};
use iiswsgi_proto::iis::{
    expand_percent_vars, from_env, handlers, ApplicationHost, CollectionOp, FastCgiApplication, Handler, Module, OnDisk,
};
use std::path::{Path, PathBuf};

/// Where the configuration comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A folder with a web.config; the rest is synthesized.
    Site(PathBuf),
    /// An applicationHost.config and the site to serve (default: the first).
    AppHost { path: PathBuf, site_name: Option<String> },
}

pub struct Site {
    pub name: String,
    pub id: u32,
    /// Longest URL first, so the first prefix match is the right one.
    applications: Vec<AppMapping>,
    host: ApplicationHost,
    pub registry: Registry,
    pub web_configs: WebConfigs,
}

struct AppMapping {
    url: String,
    /// (absolute URL, folder), longest URL first.
    directories: Vec<(String, PathBuf)>,
}

/// The FastCGI applications handlers can name.
pub struct Registry {
    pub applications: Vec<FastCgiApplication>,
}

impl Registry {
    /// The application whose `fullPath|arguments` (both expanded) equals
    /// `script_processor` (expanded), compared without regard to case as
    /// Windows paths are.
    pub fn find(&self, script_processor: &str) -> Option<&FastCgiApplication> {
        let wanted = expand(script_processor);
        self.applications.iter().find(|app| expand(&app.key()).eq_ignore_ascii_case(&wanted))
    }
}

/// Where a URL leads.
pub struct Resolved {
    pub app_url: String,
    /// The application's folder, ending in a separator as IIS sends it.
    pub app_physical: String,
    pub physical: PathBuf,
    /// The virtual directory's folder: static files never leave it.
    pub root: PathBuf,
    pub on_disk: OnDisk,
    pub handlers: Vec<Handler>,
    /// The modules in effect; `None` when no level declares `<modules>`
    /// (the synthesized `--site` configuration), meaning all of them.
    pub modules: Option<Vec<Module>>,
    /// The `<httpPlatform>` and `<aspNetCore>` sections in effect: each
    /// from the nearest level that has it.
    pub http_platform: Vec<iiswsgi_proto::iis::HttpPlatform>,
}

/// A configuration problem found while serving (IIS's 500.19).
#[derive(Debug)]
pub struct ConfigFailure(pub String);

/// `%VAR%` from the environment; unknown names stay as written.
pub fn expand(text: &str) -> String {
    expand_percent_vars(text, from_env)
}

/// An expanded configuration path. Backslashes become slashes on Unix so
/// that `%ROOT%\site` works in configuration written for Windows.
pub fn expand_path(text: &str) -> PathBuf {
    let expanded = expand(text);
    PathBuf::from(if cfg!(windows) { expanded } else { expanded.replace('\\', "/") })
}

fn static_file_handler() -> Handler {
    Handler {
        name: "StaticFile".to_string(),
        path: "*".to_string(),
        verb: "*".to_string(),
        modules: "StaticFileModule,DefaultDocumentModule,DirectoryListingModule".to_string(),
        script_processor: String::new(),
        resource_type: iiswsgi_proto::iis::handlers::ResourceType::Either,
        response_buffer_limit: handlers::DEFAULT_RESPONSE_BUFFER_LIMIT,
        pre_condition: String::new(),
    }
}

impl Site {
    pub fn load(source: &Source, gateway: &Gateway) -> Result<Self, Error> {
        let site = match source {
            Source::Site(dir) => Self::synthesize(dir, gateway)?,
            Source::AppHost { path, site_name } => Self::from_app_host(path, site_name.as_deref())?,
        };
        let app_host = match source {
            Source::AppHost { path, .. } => Some(path.as_path()),
            Source::Site(_) => None,
        };
        site.check_web_configs(app_host)?;
        Ok(site)
    }

    fn synthesize(dir: &Path, gateway: &Gateway) -> Result<Self, Error> {
        if !dir.is_dir() {
            return Err(Error::NotADirectory { path: dir.to_path_buf() });
        }
        let root = std::path::absolute(dir).map_err(|source| Error::Read { path: dir.to_path_buf(), source })?;
        let web_configs = WebConfigs::default();
        let config = web_configs.get(&root)?.unwrap_or_default();
        let server = Level { handlers: vec![CollectionOp::Add(static_file_handler())], ..Level::default() };
        let mut host = ApplicationHost { server, ..Default::default() };
        let applications = match &config.fastcgi {
            Some(applications) => applications.clone(),
            None => {
                let (applications, handler) = crate::synthesized::applications(&root, &web_configs, gateway)?;
                if let Some(handler) = handler {
                    host.server.handlers.insert(0, CollectionOp::Add(handler));
                }
                applications
            }
        };
        let name =
            root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "Default Web Site".into());
        Ok(Site {
            name,
            id: 1,
            applications: vec![AppMapping { url: "/".into(), directories: vec![("/".into(), root)] }],
            host,
            registry: Registry { applications },
            web_configs,
        })
    }

    fn from_app_host(path: &Path, site_name: Option<&str>) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read { path: path.to_path_buf(), source })?;
        let host =
            ApplicationHost::parse(&text).map_err(|source| Error::Config { path: path.to_path_buf(), source })?;
        let site = match site_name {
            Some(name) => host.site(name),
            None => host.sites.first(),
        }
        .ok_or_else(|| Error::NoSite { path: path.to_path_buf(), name: site_name.map(str::to_string) })?
        .clone();
        let mut applications: Vec<AppMapping> = site
            .applications
            .iter()
            .map(|app| {
                let app_url = normalize_url(&app.path);
                let mut directories: Vec<(String, PathBuf)> = app
                    .virtual_directories
                    .iter()
                    .map(|v| (join_url(&app_url, &v.path), expand_path(&v.physical_path)))
                    .collect();
                directories.sort_by_key(|(url, _)| std::cmp::Reverse(url.len()));
                AppMapping { url: app_url, directories }
            })
            .collect();
        applications.sort_by_key(|a| std::cmp::Reverse(a.url.len()));
        let has_root = applications.iter().any(|a| a.url == "/" && a.directories.iter().any(|(u, _)| u == "/"));
        if !has_root {
            return Err(Error::NoRoot { site: site.name });
        }
        let registry = Registry { applications: host.fastcgi.clone() };
        Ok(Site { name: site.name, id: site.id, applications, host, registry, web_configs: WebConfigs::default() })
    }

    /// Parses every web.config under the site's folders so that a malformed
    /// one stops the emulator at start with its file and line, and names
    /// the rewrite rules that cannot run (IIS serves the rest of the site).
    fn check_web_configs(&self, app_host: Option<&Path>) -> Result<(), Error> {
        let mut configs = Vec::new();
        for found in self.config_folders() {
            if let Some(config) = self.web_configs.get(&found)? {
                let file = found.join("web.config");
                if app_host.is_some() && config.fastcgi.is_some() {
                    tracing::warn!(
                        "{}: <fastCgi> is an applicationHost.config-only section; IIS ignores it in web.config, and so does the emulator",
                        file.display()
                    );
                }
                configs.push((file, config));
            }
        }
        let host_file = app_host.unwrap_or(Path::new("applicationHost.config"));
        let host_levels = std::iter::once(&self.host.server).chain(self.host.locations.iter().map(|l| &l.level));
        let mut rewrites: Vec<(&Path, &iiswsgi_proto::iis::rewrite::RewriteLevel)> =
            host_levels.filter_map(|level| Some((host_file, level.rewrite.as_ref()?))).collect();
        rewrites
            .extend(configs.iter().filter_map(|(file, config)| Some((file.as_path(), config.level.rewrite.as_ref()?))));
        for problem in crate::rewrite::unusable_rules(&rewrites) {
            tracing::warn!("{problem}");
        }
        Ok(())
    }

    /// Every folder of the site with a web.config, each application's
    /// virtual directories walked top down.
    pub fn config_folders(&self) -> Vec<PathBuf> {
        let dirs = self.applications.iter().flat_map(|app| app.directories.iter().map(|(_, dir)| dir));
        dirs.flat_map(|dir| crate::web_configs::find_all(dir)).collect()
    }

    /// The applications' URLs with their root folders, longest URL first.
    pub fn applications(&self) -> Vec<(String, PathBuf)> {
        let root =
            |app: &AppMapping| app.directories.iter().find(|(url, _)| *url == app.url).map(|(_, dir)| dir.clone());
        self.applications.iter().filter_map(|app| Some((app.url.clone(), root(app)?))).collect()
    }

    /// The folder an absolute URL path maps to, with the application and
    /// the virtual directory's folder it is in.
    fn map(&self, url: &str) -> Option<(&AppMapping, PathBuf, &PathBuf)> {
        let app = self.applications.iter().find(|a| is_under(url, &a.url))?;
        let (dir_url, dir) = app.directories.iter().find(|(u, _)| is_under(url, u))?;
        let rest = url[dir_url.len().min(url.len())..].trim_start_matches('/');
        Some((app, if rest.is_empty() { dir.clone() } else { dir.join(rest) }, dir))
    }

    /// The folder an absolute URL path maps to, if a virtual directory
    /// serves it (URL Rewrite's `{REQUEST_FILENAME}`).
    pub fn physical(&self, url: &str) -> Option<PathBuf> {
        self.map(url).map(|(_, physical, _)| physical)
    }

    /// What the folder or file a URL path maps to is.
    pub fn on_disk(&self, url: &str) -> OnDisk {
        self.physical(url).map_or(OnDisk::Missing, |physical| on_disk(&physical))
    }

    /// The configuration levels that apply to `url`, parent first, each
    /// with the URL path it is written for: applicationHost.config's
    /// server levels (`/`), then per URL level its `<location>` blocks and
    /// its folder's web.config.
    pub fn levels(&self, url: &str, is_dir: bool) -> Result<Vec<(String, LevelRef<'_>)>, ConfigFailure> {
        let mut levels: Vec<_> =
            self.host.server_levels().into_iter().map(|l| ("/".to_string(), LevelRef::Host(l))).collect();
        for prefix in config_prefixes(url, is_dir) {
            for level in self.host.location_levels(&self.name, &prefix) {
                levels.push((prefix.clone(), LevelRef::Host(level)));
            }
            let Some((_, dir, _)) = self.map(&prefix) else { continue };
            if let Some(config) = self.web_configs.get(&dir).map_err(|err| ConfigFailure(err.to_string()))? {
                levels.push((prefix, LevelRef::WebConfig(config)));
            }
        }
        Ok(levels)
    }

    /// applicationHost.config's server levels: where `<globalRules>` live.
    pub fn server_levels(&self) -> Vec<&Level> {
        self.host.server_levels()
    }

    pub fn resolve(&self, url: &str) -> Result<Resolved, ConfigFailure> {
        let (app, physical, root) =
            self.map(url).ok_or_else(|| ConfigFailure(format!("no virtual directory serves {url}")))?;
        let on_disk = on_disk(&physical);
        let mut merged = Merged::default();
        for (_, level) in self.levels(url, on_disk == OnDisk::Directory)? {
            merged.apply(level.get())?;
        }
        let (_, app_dir, _) = self.map(&app.url).ok_or_else(|| ConfigFailure(format!("no folder for {}", app.url)))?;
        let mut app_physical = app_dir.to_string_lossy().into_owned();
        if !app_physical.ends_with(std::path::MAIN_SEPARATOR) {
            app_physical.push(std::path::MAIN_SEPARATOR);
        }
        Ok(Resolved {
            app_url: app.url.clone(),
            app_physical,
            physical,
            root: root.clone(),
            on_disk,
            handlers: merged.handlers,
            modules: merged.modules,
            http_platform: merged.http_platform,
        })
    }
}

/// One configuration level: in applicationHost.config, or a web.config.
pub enum LevelRef<'a> {
    Host(&'a Level),
    WebConfig(std::sync::Arc<iiswsgi_proto::iis::WebConfig>),
}

impl LevelRef<'_> {
    pub fn get(&self) -> &Level {
        match self {
            LevelRef::Host(level) => level,
            LevelRef::WebConfig(config) => &config.level,
        }
    }
}

/// Handlers and modules merged down the configuration levels.
#[derive(Default)]
struct Merged {
    handlers: Vec<Handler>,
    modules: Option<Vec<Module>>,
    http_platform: Vec<iiswsgi_proto::iis::HttpPlatform>,
}

impl Merged {
    fn apply(&mut self, level: &Level) -> Result<(), ConfigFailure> {
        self.handlers = apply(&self.handlers, &level.handlers).map_err(ConfigFailure)?;
        for section in &level.http_platform {
            self.http_platform.retain(|s| s.kind != section.kind);
            self.http_platform.push(section.clone());
        }
        if let Some(ops) = &level.modules {
            let inherited = self.modules.take().unwrap_or_default();
            self.modules = Some(apply(&inherited, ops).map_err(ConfigFailure)?);
        }
        Ok(())
    }
}

fn on_disk(physical: &Path) -> OnDisk {
    match std::fs::metadata(physical) {
        Ok(meta) if meta.is_dir() => OnDisk::Directory,
        Ok(_) => OnDisk::File,
        Err(_) => OnDisk::Missing,
    }
}

pub fn is_fastcgi(handler: &Handler) -> bool {
    handler.module_names().any(|m| m.eq_ignore_ascii_case("FastCgiModule"))
}

pub(crate) fn iiswsgi_handler(script_processor: &str) -> Handler {
    Handler {
        name: "iiswsgi".to_string(),
        modules: "FastCgiModule".to_string(),
        script_processor: script_processor.to_string(),
        resource_type: iiswsgi_proto::iis::handlers::ResourceType::Unspecified,
        ..static_file_handler()
    }
}

/// The URL prefixes whose folders may hold a web.config that applies:
/// `/`, `/a`, `/a/b` for `/a/b/file`, and the path itself for a folder.
fn config_prefixes(url: &str, is_dir: bool) -> Vec<String> {
    let segments: Vec<&str> = url.split('/').filter(|s| !s.is_empty()).collect();
    let depth = if is_dir { segments.len() } else { segments.len().saturating_sub(1) };
    (0..=depth).map(|n| format!("/{}", segments[..n].join("/"))).collect()
}

fn is_under(url: &str, prefix: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    prefix.is_empty()
        || url.eq_ignore_ascii_case(prefix)
        || (url.len() > prefix.len()
            && url[..prefix.len()].eq_ignore_ascii_case(prefix)
            && url.as_bytes()[prefix.len()] == b'/')
}

fn normalize_url(path: &str) -> String {
    let trimmed = path.trim().trim_matches('/');
    format!("/{trimmed}")
}

fn join_url(app: &str, vdir: &str) -> String {
    let vdir = vdir.trim().trim_matches('/');
    match (app.trim_end_matches('/'), vdir) {
        ("", "") => "/".to_string(),
        (app, "") => app.to_string(),
        (app, vdir) => format!("{app}/{vdir}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_and_url_joins() {
        assert_eq!(config_prefixes("/a/b/c.txt", false), ["/", "/a", "/a/b"]);
        assert_eq!(config_prefixes("/a/b", true), ["/", "/a", "/a/b"]);
        assert_eq!(config_prefixes("/", true), ["/"]);
        assert_eq!(join_url("/", "/"), "/");
        assert_eq!(join_url("/app", "/static"), "/app/static");
        assert!(is_under("/App/x", "/app"));
        assert!(!is_under("/apple", "/app"));
        assert!(is_under("/anything", "/"));
    }
}
