//! `iiswsgi enable` / `disable`: register or remove this iiswsgi as a
//! FastCGI application in IIS, as `wfastcgi-enable` does for wfastcgi.

use super::project_args::AppcmdArgs;
use crate::msdeploy::register::{self, Registration};
use anyhow::Context as _;
use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct EnableArgs {
    #[command(flatten)]
    pub appcmd: AppcmdArgs,
    /// The `arguments` IIS starts iiswsgi with.
    #[arg(long, value_name = "ARGS", default_value = "serve")]
    pub arguments: String,
    /// Extra appcmd arguments (e.g. `/apphostconfig:PATH`), after `--`.
    #[arg(last = true, value_name = "APPCMD_ARGS")]
    pub appcmd_args: Vec<String>,
}

fn registration(args: &EnableArgs) -> anyhow::Result<Registration> {
    let exe = std::env::current_exe().context("Cannot find the iiswsgi executable")?;
    let mut registration = Registration::new(&exe.to_string_lossy(), &args.arguments);
    registration.attributes.push(("signalBeforeTerminateSeconds".into(), "30".into()));
    Ok(registration)
}

pub fn enable(args: EnableArgs) -> anyhow::Result<()> {
    let appcmd = args.appcmd.locate()?.with_args(&args.appcmd_args);
    let registration = registration(&args)?;
    register::register(&appcmd, &registration).context("Cannot register iiswsgi with IIS")?;
    println!("Applied configuration changes: iiswsgi is a FastCGI application.");
    println!("Use this scriptProcessor in a web.config handler:");
    println!("\"{}\"", registration.script_processor());
    Ok(())
}

pub fn disable(args: EnableArgs) -> anyhow::Result<()> {
    let appcmd = args.appcmd.locate()?.with_args(&args.appcmd_args);
    let registration = registration(&args)?;
    if register::unregister(&appcmd, &registration).context("Cannot remove iiswsgi from IIS")? {
        println!("Removed the FastCGI application \"{}\".", registration.script_processor());
    } else {
        println!("\"{}\" was not registered.", registration.script_processor());
    }
    Ok(())
}
