//! The gateway behind the web servers people put in front of it outside
//! IIS, configured as their users configure them: the real nginx, Apache
//! 2.4 (mod_proxy_fcgi) and lighttpd (mod_fastcgi) from Debian, each
//! running the README's config from examples/ with only its ports and
//! paths replaced.

mod apache;
mod lighttpd;
pub mod nginx;

use crate::support::repo;
use std::process::Child;

/// examples/NAME, as the README shows it.
fn example(name: &str) -> String {
    std::fs::read_to_string(repo().join("examples").join(name)).unwrap()
}

/// `text` with each `(from, to)` replaced, every `from` required to be
/// there: a change to the example that a test no longer matches fails.
fn replaced(text: &str, replacements: &[(&str, &str)]) -> String {
    replacements.iter().fold(text.to_string(), |text, (from, to)| {
        assert!(text.contains(from), "the example no longer contains {from:?}:\n{text}");
        text.replace(from, to)
    })
}

/// A server stopped with SIGTERM (so it stops its own children), killed
/// if it has not exited within 10 s.
pub struct Terminated(pub Child);

impl Drop for Terminated {
    fn drop(&mut self) {
        // SAFETY: kill(2) on the pid of a child this guard owns.
        unsafe { libc::kill(self.0.id() as i32, libc::SIGTERM) };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The README shows each example as it is, so the docs cannot drift from
/// what these tests run.
#[test]
fn the_readme_shows_every_front_end_example_verbatim() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    for name in ["nginx/iiswsgi.conf", "apache/iiswsgi.conf", "lighttpd/iiswsgi.conf"] {
        let text = example(name);
        assert!(readme.contains(&format!("\n{text}```\n")), "README.md lacks examples/{name} as it is:\n{text}");
    }
}
