//! One line per request in the W3C extended format IIS logs in, with the
//! fields that matter when debugging a site locally.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

pub const FIELDS: &str =
    "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port c-ip sc-status sc-substatus sc-bytes time-taken";

/// Where log lines go (stdout, or a file).
#[derive(Clone)]
pub struct AccessLog(Arc<Mutex<Box<dyn Write + Send>>>);

impl AccessLog {
    pub fn new(mut out: Box<dyn Write + Send>) -> std::io::Result<Self> {
        writeln!(out, "#Software: iiswsgi emulate {}\n#Version: 1.0\n{FIELDS}", env!("CARGO_PKG_VERSION"))?;
        out.flush()?;
        Ok(Self(Arc::new(Mutex::new(out))))
    }
}

/// A request being served; written out when its body is done.
pub struct Entry {
    pub log: AccessLog,
    pub started: Instant,
    pub local: std::net::SocketAddr,
    pub remote: std::net::SocketAddr,
    pub method: String,
    pub stem: String,
    pub query: String,
    pub status: u16,
    pub substatus: u32,
    pub bytes: u64,
    /// The response ended early (the application failed mid-body).
    pub aborted: bool,
}

impl Entry {
    pub fn write(self) {
        let now = w3c_date_time(std::time::SystemTime::now());
        let taken = self.started.elapsed().as_millis();
        let dash = |s: &str| if s.is_empty() { "-".to_string() } else { s.replace(' ', "+") };
        let line = format!(
            "{now} {} {} {} {} {} {} {} {} {} {taken}{}",
            self.local.ip(),
            self.method,
            dash(&self.stem),
            dash(&self.query),
            self.local.port(),
            self.remote.ip(),
            self.status,
            self.substatus,
            self.bytes,
            if self.aborted { " aborted" } else { "" },
        );
        if let Ok(mut out) = self.log.0.lock() {
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
    }
}

/// `YYYY-MM-DD hh:mm:ss` in UTC, as W3C logs write it.
fn w3c_date_time(time: std::time::SystemTime) -> String {
    let secs = time.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (year, month, day, hour, minute, second) = iiswsgi_proto::civil_time::utc(secs);
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn w3c_dates_are_utc_civil_dates() {
        let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_795_467_600);
        assert_eq!(super::w3c_date_time(time), "2026-11-23 21:00:00");
        assert_eq!(super::w3c_date_time(std::time::UNIX_EPOCH), "1970-01-01 00:00:00");
    }
}
