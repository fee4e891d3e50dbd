//! install-msdeploy (set an application up in its folder) and install
//! (find that folder first, as Web Deploy's runCommand gives no hint).

use super::appcmd::Appcmd;
use super::build::{expand_template, STAMP};
use super::files::{read_to_string, write_atomically};
use super::{discover, register, Error};
use crate::project::Project;
use crate::self_command::SelfCommand;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const WEB_CONFIG_TEMPLATE: &str = "web.config.in";
pub const WEB_CONFIG: &str = "web.config";

/// What install-msdeploy needs besides the project.
pub struct InstallMsdeploy<'a> {
    /// Python for pip (the app's venv, or the one given).
    pub python: PathBuf,
    /// None: `--skip-fcgi-app-install`.
    pub appcmd: Option<&'a Appcmd>,
    /// This iiswsgi, to run test-msdeploy; None skips the test.
    pub tester: Option<SelfCommand>,
}

/// Runs `command` in `dir`; a non-zero exit is an error naming it.
pub fn run(command: &mut Command, dir: &Path) -> Result<(), Error> {
    let text = format!("{command:?}");
    tracing::info!("running {text}");
    let status = command.current_dir(dir).status().map_err(|source| Error::Spawn { command: text.clone(), source })?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::Command { command: text, code: status.code() })
    }
}

/// A shell command line, as `post-install` entries are written.
fn shell(line: &str) -> Command {
    let mut command = if cfg!(windows) { Command::new("cmd") } else { Command::new("sh") };
    command.arg(if cfg!(windows) { "/C" } else { "-c" }).arg(line);
    command
}

/// The steps, in the original's order: dependencies, web.config,
/// FastCGI registration, post-install commands, then the test.
pub fn install_msdeploy(project: &Project, options: &InstallMsdeploy<'_>) -> Result<(), Error> {
    let dir = &project.dir;
    let requirements = project.install_requirements();
    if !requirements.is_empty() {
        let mut pip = Command::new(&options.python);
        pip.args(["-m", "pip", "install", "--disable-pip-version-check"]).args(&requirements);
        run(&mut pip, dir)?;
    }
    let template = dir.join(WEB_CONFIG_TEMPLATE);
    let registrations = if template.is_file() {
        // Templates may name the folder (`%APPL_PHYSICAL_PATH%\app.ini`).
        let folder = [("APPL_PHYSICAL_PATH", dir.to_string_lossy().into_owned())];
        let text = expand_template(&read_to_string(&template)?, project, &folder);
        let web_config = dir.join(WEB_CONFIG);
        let registrations = register::from_web_config(&text, &template)?;
        write_atomically(&web_config, text.as_bytes())?;
        println!("wrote {}", web_config.display());
        registrations
    } else {
        tracing::warn!("{} is missing: no web.config written, no FastCGI application registered", template.display());
        Vec::new()
    };
    match options.appcmd {
        Some(appcmd) => {
            for registration in &registrations {
                register::register(appcmd, registration)?;
                println!("registered the FastCGI application {}", registration.script_processor());
            }
        }
        None if !registrations.is_empty() => {
            println!("skipped registering {} FastCGI application(s)", registrations.len())
        }
        None => {}
    }
    for line in &project.metadata.tool.post_install {
        run(&mut shell(line), dir)?;
    }
    if let Some(tester) = &options.tester {
        let mut test = tester.command();
        test.arg("test-msdeploy").arg("--project").arg(dir).env("APPL_PHYSICAL_PATH", dir);
        if let Some(venv) = venv_of(&options.python) {
            test.env("VIRTUAL_ENV", venv);
        }
        run(&mut test, dir)?;
    }
    Ok(())
}

/// The venv a venv's python belongs to.
fn venv_of(python: &Path) -> Option<PathBuf> {
    let venv = python.parent()?.parent()?;
    venv.join("pyvenv.cfg").is_file().then(|| venv.to_path_buf())
}

/// The python inside a venv folder.
pub fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

/// What install was asked to do.
pub struct Install<'a> {
    pub app_name: Option<&'a str>,
    pub ignore_stamp: bool,
    /// Create `.venv` in the app folder and install the app into it.
    pub virtualenv: bool,
    pub python: PathBuf,
    pub appcmd: Option<String>,
    /// Run this instead of install-msdeploy (the arguments after `--`).
    pub command: Vec<String>,
    /// This iiswsgi, to run install-msdeploy.
    pub gateway: SelfCommand,
}

/// Finds the application folder, removes its stamp, optionally builds its
/// venv, then runs install-msdeploy (or the given command) there.
pub fn install(options: &Install<'_>) -> Result<PathBuf, Error> {
    let candidate = discover::find(
        || Appcmd::locate(options.appcmd.as_deref()),
        options.app_name,
        options.ignore_stamp,
        &options.python,
    )?;
    let dir = candidate.dir;
    println!("installing into {} ({})", dir.display(), candidate.name);
    let stamp = dir.join(STAMP);
    match std::fs::remove_file(&stamp) {
        Ok(()) => println!("removed {}", stamp.display()),
        Err(_) if options.ignore_stamp => {}
        Err(source) => return Err(Error::Read { path: stamp, source }),
    }
    let mut python = options.python.clone();
    let mut gateway = options.gateway.clone();
    if options.virtualenv {
        let venv = dir.join(".venv");
        run(Command::new(&options.python).args(["-m", "venv"]).arg(&venv), &dir)?;
        python = venv_python(&venv);
        // The original's projects ask for iiswsgi itself (`webpi_eggs`,
        // `setup_requires`): the venv gets this very version, and the rest
        // of the install runs in it, so the app's FastCGI process, the
        // registration and the test all use the venv's own Python.
        if asks_for_iiswsgi(&dir, &options.python) {
            let mut pip = Command::new(&python);
            pip.args(["-m", "pip", "install", "--disable-pip-version-check"])
                .arg(format!("iiswsgi=={}", env!("CARGO_PKG_VERSION")));
            run(&mut pip, &dir)?;
            gateway = SelfCommand::hosted(python.clone());
        }
        let mut pip = Command::new(&python);
        pip.args(["-m", "pip", "install", "--disable-pip-version-check", "."]);
        run(&mut pip, &dir)?;
    }
    if let Some((program, args)) = options.command.split_first() {
        run(Command::new(program).args(args).env("APPL_PHYSICAL_PATH", &dir), &dir)?;
        return Ok(dir);
    }
    let mut install_msdeploy = gateway.command();
    install_msdeploy.env("APPL_PHYSICAL_PATH", &dir);
    install_msdeploy.arg("install-msdeploy").arg("--project").arg(&dir).arg("--python").arg(&python);
    if let Some(appcmd) = &options.appcmd {
        install_msdeploy.arg("--appcmd").arg(appcmd);
    }
    run(&mut install_msdeploy, &dir)?;
    Ok(dir)
}

/// Whether the project in `dir` names iiswsgi among its requirements, its
/// install-msdeploy extras or its WebPI eggs.
fn asks_for_iiswsgi(dir: &Path, python: &Path) -> bool {
    let Ok(project) = Project::load(dir, python) else { return false };
    let tool = &project.metadata.tool;
    let mut wanted = project.metadata.dependencies.iter().chain(&tool.install_msdeploy).chain(&tool.webpi_eggs);
    wanted.any(|requirement| {
        let name: String =
            requirement.chars().take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')).collect();
        name.eq_ignore_ascii_case("iiswsgi")
    })
}

/// `X.Y` of a Python, for package names.
pub fn python_version(python: &Path) -> Result<String, Error> {
    let command = format!("{} -c <print version>", python.display());
    let output = Command::new(python)
        .args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
        .output()
        .map_err(|source| Error::Spawn { command: command.clone(), source })?;
    if !output.status.success() {
        return Err(Error::Command { command, code: output.status.code() });
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}
