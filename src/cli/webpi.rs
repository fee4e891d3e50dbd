//! `iiswsgi bdist-webpi`, `clean-webpi` and `webpi` (both, after building
//! the packages: what the original's `iiswsgi_webpi.exe` automated).

use super::project_args::{AppcmdArgs, ProjectArgs};
use crate::msdeploy::install::python_version;
use crate::webpi::{self, cache, BdistWebpi};
use anyhow::Context as _;
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Args)]
pub struct FeedArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Project folders whose `dist/` holds their msdeploy zips (comma
    /// separated or repeated; default: the project itself).
    #[arg(short = 'm', long = "msdeploy-bdists", value_name = "PATHS", value_delimiter = ',')]
    pub msdeploy_bdists: Vec<PathBuf>,
    /// Where the feed goes (default: `dist` in the project).
    #[arg(short = 'd', long, value_name = "DIR")]
    pub dist_dir: Option<PathBuf>,
}

impl FeedArgs {
    fn projects(&self, feed_dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
        let dirs =
            if self.msdeploy_bdists.is_empty() { vec![feed_dir.to_path_buf()] } else { self.msdeploy_bdists.clone() };
        dirs.iter().map(|d| std::path::absolute(d).with_context(|| format!("Cannot resolve {}", d.display()))).collect()
    }

    fn dist(&self, project_dir: &Path) -> PathBuf {
        self.dist_dir.clone().unwrap_or_else(|| project_dir.join("dist"))
    }
}

#[derive(Debug, Clone, Args)]
pub struct BdistWebpiArgs {
    #[command(flatten)]
    pub feed: FeedArgs,
    /// Where WebPI downloads each package from: Python `str.format` fields
    /// `{letter}`, `{name}`, `{version}`, `{msdeploy_file}`,
    /// `{msdeploy_package}`, `{msdeploy_package_url}` (file://),
    /// `{py_version_short}` and metadata fields. Default:
    /// `[tool.iiswsgi] msdeploy_url_template`, else `{msdeploy_package_url}`.
    #[arg(short = 'u', long, value_name = "TEMPLATE")]
    pub msdeploy_url_template: Option<String>,
    /// A feed to extend (its tabs, keywords and other entries are kept).
    #[arg(long, value_name = "FEED.xml")]
    pub template: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct CleanWebpiArgs {
    #[command(flatten)]
    pub feed: FeedArgs,
    /// WebPI's cache (default: `%LOCALAPPDATA%\Microsoft\Web Platform Installer`).
    #[arg(short = 'c', long, value_name = "DIR")]
    pub webpi_cache: Option<PathBuf>,
    #[command(flatten)]
    pub appcmd: AppcmdArgs,
}

#[derive(Debug, Clone, Args)]
pub struct WebpiArgs {
    #[command(flatten)]
    pub bdist: BdistWebpiArgs,
    #[arg(short = 'c', long, value_name = "DIR")]
    pub webpi_cache: Option<PathBuf>,
    #[command(flatten)]
    pub appcmd: AppcmdArgs,
}

pub fn bdist_webpi(args: &BdistWebpiArgs) -> anyhow::Result<webpi::Written> {
    let project = args.feed.project.load()?;
    let projects = args.feed.projects(&project.dir)?;
    let dist = args.feed.dist(&project.dir);
    let written = webpi::bdist_webpi(&BdistWebpi {
        feed_project: &project,
        msdeploy_projects: &projects,
        url_template: args.msdeploy_url_template.as_deref(),
        feed_template: args.template.as_deref(),
        dist: &dist,
        python: &args.feed.project.python,
    })
    .context("bdist-webpi failed")?;
    for package in &written.packages {
        println!("{}: {} ({} bytes, sha1 {})", package.project.metadata.name, package.url, package.size, package.sha1);
    }
    println!("wrote {}", written.feed.display());
    println!("{}", written.url);
    Ok(written)
}

pub fn clean_webpi(args: &CleanWebpiArgs) -> anyhow::Result<()> {
    let Some(cache_dir) = args.webpi_cache.clone().or_else(cache::default_cache) else {
        anyhow::bail!("no WebPI cache: give -c/--webpi-cache (LOCALAPPDATA is not set)")
    };
    let project = args.feed.project.load()?;
    let py_version = python_version(&args.feed.project.python)?;
    let feed_id = webpi::file_url(&webpi::feed_path(&project, &args.feed.dist(&project.dir), &py_version)?);
    let mut apps = Vec::new();
    for dir in args.feed.projects(&project.dir)? {
        let member = if dir == project.dir {
            project.clone()
        } else {
            crate::project::Project::load(&dir, &args.feed.project.python)?
        };
        apps.push(webpi::package_iis_app(&webpi::find_package(&member)?)?);
    }
    let appcmd = match args.appcmd.locate() {
        Ok(appcmd) => Some(appcmd),
        Err(err) => {
            println!("not cleaning iis_install.stamp files: {err}");
            None
        }
    };
    let removed = cache::clean(&cache_dir, &apps, &feed_id, appcmd.as_ref()).context("clean-webpi failed")?;
    if removed.is_empty() {
        println!("nothing cached for {} in {}", apps.join(", "), cache_dir.display());
    }
    for path in removed {
        println!("removed {}", path.display());
    }
    Ok(())
}

/// Builds each package, writes the feed, cleans the caches.
pub fn webpi(args: WebpiArgs, host: &super::Host) -> anyhow::Result<()> {
    let feed = &args.bdist.feed;
    let feed_dir = std::path::absolute(&feed.project.project)?;
    for dir in feed.projects(&feed_dir)? {
        let bdist = super::bdist_msdeploy::BdistMsdeployArgs {
            project: ProjectArgs { project: dir, python: feed.project.python.clone() },
            dist_dir: None,
            skip_install_check: false,
        };
        super::bdist_msdeploy::run(bdist, host)?;
    }
    bdist_webpi(&args.bdist)?;
    if args.webpi_cache.is_some() || cache::default_cache().is_some() {
        clean_webpi(&CleanWebpiArgs { feed: feed.clone(), webpi_cache: args.webpi_cache, appcmd: args.appcmd })?;
    } else {
        println!("no WebPI cache to clean (give -c/--webpi-cache)");
    }
    Ok(())
}
