//! `iiswsgi build-msdeploy`: Manifest.xml and iis_install.stamp from their templates.

use super::project_args::ProjectArgs;
use anyhow::Context as _;

pub fn run(args: ProjectArgs) -> anyhow::Result<()> {
    let project = args.load()?;
    let built = crate::msdeploy::build::build(&project).context("build-msdeploy failed")?;
    if let Some(stamp) = &built.stamp {
        println!("wrote {}", stamp.display());
    }
    println!("wrote {} ({} runCommand provider(s) compiled)", built.manifest.display(), built.run_commands);
    Ok(())
}
