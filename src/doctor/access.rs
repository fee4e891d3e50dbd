//! `--as-user NAME` (Linux): whether the identity the web server runs the
//! app as reaches what the app needs — read and execute on the program,
//! its venv and Python home, and the site folder; write where WSGI_LOG
//! points — the Unix side of IIS's application-pool identity check. The
//! kernel is asked as that user: a child process takes the user's uid,
//! gid and groups and runs `test`, so groups and ACLs count as they will
//! for the app. It needs root, as switching users does.

use super::{Finding, Need};
use std::ffi::CString;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A user's identity, looked up once.
struct User {
    name: String,
    uid: libc::uid_t,
    gid: libc::gid_t,
    groups: Vec<libc::gid_t>,
}

impl User {
    fn lookup(name: &str) -> Result<Self, String> {
        let c_name = CString::new(name).map_err(|_| format!("the user name {name:?} has a NUL byte"))?;
        // SAFETY: getpwnam returns a pointer to static storage or null;
        // the fields are copied out before anything else calls it.
        let (uid, gid) = unsafe {
            let entry = libc::getpwnam(c_name.as_ptr());
            if entry.is_null() {
                return Err(format!("there is no user {name:?} on this machine"));
            }
            ((*entry).pw_uid, (*entry).pw_gid)
        };
        let mut count: libc::c_int = 64;
        let mut groups: Vec<libc::gid_t> = vec![0; count as usize];
        // SAFETY: `groups` has room for `count` entries; on -1 `count`
        // says how many are needed and the call is repeated.
        unsafe {
            while libc::getgrouplist(c_name.as_ptr(), gid, groups.as_mut_ptr(), &mut count) < 0 {
                groups.resize(count as usize + 1, 0);
                count = groups.len() as libc::c_int;
            }
        }
        groups.truncate(count as usize);
        Ok(Self { name: name.to_string(), uid, gid, groups })
    }

    /// Whether `test ARGS` succeeds as this user.
    fn test(&self, args: &[&std::ffi::OsStr]) -> io::Result<bool> {
        let (uid, gid, groups) = (self.uid, self.gid, self.groups.clone());
        let mut command = Command::new("test");
        command.args(args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        // SAFETY: only async-signal-safe system calls run between fork and exec.
        unsafe {
            command.pre_exec(move || {
                if libc::setgroups(groups.len(), groups.as_ptr()) != 0
                    || libc::setgid(gid) != 0
                    || libc::setuid(uid) != 0
                {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        Ok(command.status()?.success())
    }

    /// The first of `path` and its ancestors (from the root down) that
    /// this user cannot search, if any.
    fn blocked_ancestor(&self, path: &Path) -> io::Result<Option<PathBuf>> {
        let ancestors: Vec<&Path> = path.ancestors().skip(1).collect();
        for dir in ancestors.into_iter().rev() {
            if !self.test(&["-x".as_ref(), dir.as_os_str()])? {
                return Ok(Some(dir.to_path_buf()));
            }
        }
        Ok(None)
    }
}

/// One finding per need.
pub fn check(name: &str, needs: &[Need]) -> Vec<Finding> {
    // SAFETY: a plain query.
    if unsafe { libc::geteuid() } != 0 {
        return vec![Finding::error(
            "access",
            format!("--as-user {name}: checking as another user needs root"),
            format!("run the doctor with sudo, or as {name} without --as-user"),
        )];
    }
    let user = match User::lookup(name) {
        Ok(user) => user,
        Err(why) => {
            return vec![Finding::error(
                "access",
                why,
                "give the user the app runs as (the web server's, or the pool's)",
            )]
        }
    };
    needs.iter().map(|need| check_one(&user, need)).collect()
}

fn check_one(user: &User, need: &Need) -> Finding {
    let path = need.path.as_os_str();
    let (wanted, checks): (&str, Vec<&str>) =
        if need.write { ("write", vec!["-w", "-x"]) } else { ("read and execute", vec!["-r", "-x"]) };
    let outcome = checks.iter().try_fold(true, |ok, flag| Ok::<_, io::Error>(ok && user.test(&[flag.as_ref(), path])?));
    match outcome {
        Ok(true) => {
            Finding::ok("access", format!("{} can {wanted} {} ({})", user.name, need.path.display(), need.what))
        }
        Ok(false) => {
            let blocked = user.blocked_ancestor(&need.path).ok().flatten();
            let (place, rights) = match &blocked {
                Some(dir) => (dir.clone(), "x"),
                None => (need.path.clone(), if need.write { "rwx" } else { "rX" }),
            };
            let why = match &blocked {
                Some(dir) => format!(" (it cannot enter {})", dir.display()),
                None => String::new(),
            };
            Finding::error(
                "access",
                format!("{} cannot {wanted} {} ({}){why}", user.name, need.path.display(), need.what),
                format!("setfacl -m u:{}:{rights} {}", user.name, place.display()),
            )
        }
        Err(err) => Finding::error(
            "access",
            format!("cannot check {} as {}: {err}", need.path.display(), user.name),
            "retry as root",
        ),
    }
}
