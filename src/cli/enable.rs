//! `iiswsgi enable` / `disable`: register or remove this iiswsgi as a
//! FastCGI application in IIS, as `wfastcgi-enable` does for wfastcgi: the
//! form that runs (the binary, or the venv's `python -m iiswsgi`).

use super::project_args::AppcmdArgs;
use super::Host;
use crate::msdeploy::register::{self, Registration};
use anyhow::Context as _;
use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct EnableArgs {
    #[command(flatten)]
    pub appcmd: AppcmdArgs,
    /// The `arguments` IIS starts iiswsgi with (after `-m iiswsgi` when
    /// a Python runs it).
    #[arg(long, value_name = "ARGS", default_value = "serve")]
    pub arguments: String,
    /// Extra appcmd arguments (e.g. `/apphostconfig:PATH`), after `--`.
    #[arg(last = true, value_name = "APPCMD_ARGS")]
    pub appcmd_args: Vec<String>,
}

fn registration(args: &EnableArgs, host: &Host) -> Registration {
    let full_path = host.this.program.to_string_lossy();
    let mut registration = Registration::new(&full_path, &host.this.fastcgi_arguments(&args.arguments));
    registration.attributes.push(("signalBeforeTerminateSeconds".into(), "30".into()));
    registration
}

pub fn enable(args: EnableArgs, host: &Host) -> anyhow::Result<()> {
    let appcmd = args.appcmd.locate()?.with_args(&args.appcmd_args);
    let registration = registration(&args, host);
    register::register(&appcmd, &registration).context("Cannot register iiswsgi with IIS")?;
    println!("Applied configuration changes: iiswsgi is a FastCGI application.");
    println!("Use this scriptProcessor in a web.config handler:");
    println!("\"{}\"", registration.script_processor());
    Ok(())
}

pub fn disable(args: EnableArgs, host: &Host) -> anyhow::Result<()> {
    let appcmd = args.appcmd.locate()?.with_args(&args.appcmd_args);
    let registration = registration(&args, host);
    if register::unregister(&appcmd, &registration).context("Cannot remove iiswsgi from IIS")? {
        println!("Removed the FastCGI application \"{}\".", registration.script_processor());
    } else {
        println!("\"{}\" was not registered.", registration.script_processor());
    }
    Ok(())
}
