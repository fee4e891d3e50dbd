//! The emulated Web Platform Installer: install one product of a WebPI
//! feed into the emulated IIS as WebPI and Web Deploy would — download,
//! verify, parameters, application, content, runCommands — with the mock
//! appcmd standing in for IIS's.

pub mod deploy;
pub mod feed;
mod fetch;
pub mod parameters;

use sha1::Digest as _;
use std::path::PathBuf;
use std::process::Command;

/// Products the emulation provides itself, so dependencies on them are met.
const PROVIDED: [&str; 2] = ["WDeploy", "iiswsgi"];

#[derive(Debug, Clone)]
pub struct Options {
    pub feed: String,
    pub product: String,
    pub params: Vec<(String, String)>,
    /// The emulated IIS.
    pub apphost: PathBuf,
    /// The mock appcmd executable; `IISWSGI_APPCMD` for runCommands is it
    /// plus `/apphostconfig:<apphost>`.
    pub appcmd: PathBuf,
    /// Where a runCommand's Windows Python paths point (see
    /// [`crate::old_python`]).
    pub python_home: Option<crate::old_python::PythonHome>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Fetch(#[from] fetch::FetchError),
    #[error("the feed {url} is not a WebPI feed: {message}")]
    Feed { url: String, message: String },
    #[error("the feed has no product `{product}` (it has: {available})")]
    NoProduct { product: String, available: String },
    #[error("`{0}` is not a Web Deploy application (no <msDeploy> installer)")]
    NotAnApplication(String),
    #[error("the download is {actual} KB but the feed says {expected} KB: refused, nothing installed")]
    Size { expected: u64, actual: u64 },
    #[error("the download's SHA-1 is {actual} but the feed says {expected}: refused, nothing installed")]
    Sha1 { expected: String, actual: String },
    #[error("the package: {0}")]
    Package(String),
    #[error("appcmd: {0}")]
    Appcmd(String),
    #[error("runCommand `{command}` {outcome}")]
    RunCommand { command: String, outcome: String },
}

/// What was installed where.
#[derive(Debug, Clone)]
pub struct Installed {
    pub site: String,
    pub app_path: String,
    pub physical: PathBuf,
}

pub async fn install(options: &Options) -> Result<Installed, Error> {
    println!("reading feed {}", options.feed);
    let feed_bytes = fetch::fetch(&options.feed).await?;
    let text = String::from_utf8_lossy(&feed_bytes);
    let entries = feed::entries(&text).map_err(|message| Error::Feed { url: options.feed.clone(), message })?;
    let Some(entry) = entries.iter().find(|e| e.product_id.eq_ignore_ascii_case(&options.product)) else {
        let available = entries.iter().map(|e| e.product_id.as_str()).collect::<Vec<_>>().join(", ");
        return Err(Error::NoProduct { product: options.product.clone(), available });
    };
    let installer = entry
        .installer
        .as_ref()
        .filter(|i| i.is_msdeploy)
        .ok_or_else(|| Error::NotAnApplication(entry.product_id.clone()))?;
    for dependency in &entry.dependencies {
        let known = entries.iter().any(|e| e.product_id.eq_ignore_ascii_case(dependency));
        let provided = PROVIDED.iter().any(|p| p.eq_ignore_ascii_case(dependency)) || dependency.starts_with("Python");
        if !provided && !known {
            println!("cannot satisfy dependency {dependency}: not in the feed and not emulated; continuing");
        }
    }
    println!("downloading {}", installer.url);
    let package_bytes = fetch::fetch(&installer.url).await?;
    let actual_kb = (package_bytes.len() as u64).div_ceil(1024);
    if let Some(expected) = installer.file_size_kb.filter(|&expected| expected != actual_kb) {
        return Err(Error::Size { expected, actual: actual_kb });
    }
    let actual = hex(&sha1::Sha1::digest(&package_bytes));
    if let Some(expected) = installer.sha1.as_ref().filter(|e| !e.eq_ignore_ascii_case(&actual)) {
        return Err(Error::Sha1 { expected: expected.clone(), actual });
    }
    println!("verified {} bytes, SHA-1 {actual}", package_bytes.len());
    let package = deploy::Package::open(&package_bytes).map_err(Error::Package)?;
    let plan = deploy::plan(&package.manifest().map_err(Error::Package)?).map_err(Error::Package)?;
    let parameters = match package.parameters().map_err(Error::Package)? {
        Some(text) => parameters::parse(&text).map_err(Error::Package)?,
        None => Vec::new(),
    };
    let values = parameters::resolve(&parameters, &options.params).map_err(Error::Package)?;
    let target = deploy::iis_app_target(&plan, &parameters, &values).map_err(Error::Package)?;
    let (site, app_path, physical) = deploy::destination(&options.apphost, &target).map_err(Error::Package)?;
    create_application(options, &site, &app_path, &physical)?;
    let copied = deploy::copy_content(&package, &plan, &parameters, &values, &physical).map_err(Error::Package)?;
    println!("copied {copied} files to {}", physical.display());
    for run in &plan.run_commands {
        run_command(options, run)?;
    }
    println!("installed {} {} at {site}{app_path}", entry.product_id, entry.version);
    Ok(Installed { site, app_path, physical })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `appcmd add app` through the mock appcmd; an application that exists
/// already (a reinstall) is fine.
fn create_application(options: &Options, site: &str, app_path: &str, physical: &std::path::Path) -> Result<(), Error> {
    std::fs::create_dir_all(physical)
        .map_err(|e| Error::Package(format!("cannot create {}: {e}", physical.display())))?;
    if app_path == "/" {
        return Ok(());
    }
    let args = vec![
        format!("/apphostconfig:{}", options.apphost.display()),
        "add".into(),
        "app".into(),
        format!("/site.name:{site}"),
        format!("/path:{app_path}"),
        format!("/physicalPath:{}", physical.display()),
    ];
    let mut out = Vec::new();
    let code = crate::appcmd::run(&args, &mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    match code {
        0 => {
            print!("{text}");
            Ok(())
        }
        _ if text.contains("Failed to add duplicate collection element") => {
            println!("application {site}{app_path} exists already");
            Ok(())
        }
        _ => Err(Error::Appcmd(text.trim().to_string())),
    }
}

/// A runCommand naming an old Windows Python path (`%SystemDrive%\Python27\
/// Scripts\iiswsgi_install.exe -vv -a app`) as a command line for this
/// machine's shell: its words mapped, each quoted for `sh`. Other command
/// lines are left as written.
fn map_old_python(home: Option<&crate::old_python::PythonHome>, command: &str) -> String {
    let words = iiswsgi_proto::iis::split_arguments(command);
    let mapped: Vec<String> = words.iter().map(|word| crate::old_python::map_word(home, word)).collect();
    if cfg!(windows) || mapped == words {
        return command.to_string();
    }
    mapped.iter().map(|word| format!("'{}'", word.replace('\'', r"'\''"))).collect::<Vec<_>>().join(" ")
}

/// Runs a runCommand the way Web Deploy does: through the shell, with no
/// hint of the application (no APPL_PHYSICAL_PATH, a neutral working
/// folder), within waitAttempts × waitInterval, checked against
/// successReturnCodes.
fn run_command(options: &Options, run: &deploy::RunCommand) -> Result<(), Error> {
    let command = iiswsgi_proto::iis::expand_percent_vars(&run.path, iiswsgi_proto::iis::from_env);
    let command = map_old_python(options.python_home.as_ref(), &command);
    println!("running {command}");
    let mut shell = if cfg!(windows) { Command::new("cmd") } else { Command::new("sh") };
    shell
        .arg(if cfg!(windows) { "/C" } else { "-c" })
        .arg(&command)
        .current_dir(std::env::temp_dir())
        .env_remove("APPL_PHYSICAL_PATH")
        .env("IISWSGI_APPCMD", format!("{} /apphostconfig:{}", options.appcmd.display(), options.apphost.display()));
    let failure = |outcome: String| Error::RunCommand { command: command.clone(), outcome };
    let mut child = shell.spawn().map_err(|e| failure(format!("could not start: {e}")))?;
    let deadline = std::time::Instant::now() + run.timeout();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| failure(e.to_string()))? {
            break status;
        }
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(failure(format!(
                "did not finish within {} s (waitAttempts × waitInterval)",
                run.timeout().as_secs()
            )));
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let code = i64::from(status.code().unwrap_or(-1));
    match run.success_codes() {
        Some(codes) if !codes.contains(&code) => {
            Err(failure(format!("exited with {code}, not one of its successReturnCodes")))
        }
        None if code != 0 => {
            println!("runCommand exited with {code}; without successReturnCodes that is not a failure");
            Ok(())
        }
        _ => Ok(()),
    }
}
