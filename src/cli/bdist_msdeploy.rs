//! `iiswsgi bdist-msdeploy`: build, check the install in a scratch copy,
//! then write the package zip.

use super::project_args::ProjectArgs;
use crate::msdeploy::build::{self, MANIFEST};
use crate::msdeploy::install::{self, InstallMsdeploy};
use crate::msdeploy::package;
use anyhow::Context as _;
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Args)]
pub struct BdistMsdeployArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Where the zip goes (default: `dist` in the project).
    #[arg(short = 'd', long, value_name = "DIR")]
    pub dist_dir: Option<PathBuf>,
    /// Skip the install check in a scratch copy.
    #[arg(long)]
    pub skip_install_check: bool,
}

/// The iisApp provider's path: the folder the application's files go in.
fn iis_app_folder(manifest: &Path) -> anyhow::Result<Option<String>> {
    let text = std::fs::read_to_string(manifest).with_context(|| format!("Cannot read {}", manifest.display()))?;
    let document = iiswsgi_proto::iis::Document::parse(&text)
        .map_err(|e| anyhow::anyhow!("{}:{}: {}", manifest.display(), e.line, e.message))?;
    Ok(document
        .root()
        .and_then(|r| r.elements().find(|e| e.name.eq_ignore_ascii_case("iisApp")))
        .and_then(|e| e.attr("path"))
        .map(str::to_string))
}

fn copy_into(root: &Path, files: &[String], dest: &Path) -> anyhow::Result<()> {
    for file in files {
        let target = dest.join(file);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("Cannot create {}", parent.display()))?;
        }
        std::fs::copy(root.join(file), &target).with_context(|| format!("Cannot copy {file}"))?;
    }
    Ok(())
}

pub fn run(args: BdistMsdeployArgs, host: &super::Host) -> anyhow::Result<()> {
    let project = args.project.load()?;
    let built = build::build(&project).context("build-msdeploy failed")?;
    println!("wrote {}", built.manifest.display());
    let files = package::select_files(&project.dir).context("Cannot choose the package's files")?;
    let folder = iis_app_folder(&built.manifest)?.unwrap_or_else(|| project.metadata.name.clone());
    if !args.skip_install_check {
        let scratch = tempfile::tempdir().context("Cannot make a scratch folder")?;
        let copy = scratch.path().join(&folder);
        copy_into(&project.dir, &files, &copy)?;
        let scratch_project = crate::project::Project { dir: copy, metadata: project.metadata.clone() };
        let tester = Some(host.this.clone());
        let options = InstallMsdeploy { python: args.project.python.clone(), appcmd: None, tester };
        install::install_msdeploy(&scratch_project, &options).context("The install check in a scratch copy failed")?;
        println!("install check passed in a scratch copy");
    }
    let python_version = install::python_version(&args.project.python)?;
    let dist = args.dist_dir.clone().unwrap_or_else(|| project.dir.join("dist"));
    let file_name = format!(
        "{}-{}-py{python_version}.msdeploy.zip",
        project.metadata.name.replace('-', "_"),
        project.metadata.version
    );
    let dest = dist.join(file_name);
    let mut root_files = vec![(MANIFEST.to_string(), built.manifest.clone())];
    let parameters = project.dir.join("Parameters.xml");
    if parameters.is_file() {
        root_files.push(("Parameters.xml".to_string(), parameters));
    } else {
        tracing::warn!("{} is missing: WebPI will ask for no parameters", parameters.display());
    }
    package::write_zip(&dest, &root_files, &folder, &project.dir, &files).context("Cannot write the package")?;
    println!("wrote {} ({} files under {folder}/)", dest.display(), files.len());
    Ok(())
}
