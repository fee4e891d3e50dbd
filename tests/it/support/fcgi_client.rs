//! A FastCGI client that plays the web server, built on the crate's codec.

use iiswsgi::fastcgi::{name_value, Decoder, ProtocolStatus, Record, Role, KEEP_CONN};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

/// What came back for one request.
#[derive(Debug, Default)]
pub struct Reply {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub end: Option<(u32, ProtocolStatus)>,
}

impl Reply {
    fn split(&self) -> (&[u8], &[u8]) {
        let at = self.stdout.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4).unwrap_or(self.stdout.len());
        self.stdout.split_at(at)
    }

    pub fn head(&self) -> String {
        String::from_utf8_lossy(self.split().0).into_owned()
    }

    pub fn body(&self) -> &[u8] {
        self.split().1
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(self.body()).into_owned()
    }

    pub fn status(&self) -> String {
        let head = self.head();
        head.lines().find_map(|l| l.strip_prefix("Status: ")).unwrap_or("").to_string()
    }

    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

pub fn encode_request(id: u16, keep_conn: bool, params: &[(String, String)], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let flags = if keep_conn { KEEP_CONN } else { 0 };
    Record::BeginRequest { request_id: id, role: Role::Responder, flags }.encode(&mut out);
    let block = name_value::encode(params.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())));
    for chunk in block.chunks(65535) {
        Record::Params { request_id: id, content: chunk.to_vec() }.encode(&mut out);
    }
    Record::Params { request_id: id, content: Vec::new() }.encode(&mut out);
    for chunk in body.chunks(65535) {
        Record::Stdin { request_id: id, content: chunk.to_vec() }.encode(&mut out);
    }
    Record::Stdin { request_id: id, content: Vec::new() }.encode(&mut out);
    out
}

/// Reads records until END_REQUEST for `id` (or EOF).
pub fn read_reply(stream: &mut impl Read, id: u16) -> Reply {
    let mut decoder = Decoder::new();
    let mut reply = Reply::default();
    let mut buf = vec![0u8; 65536];
    loop {
        while let Some(record) = decoder.decode().expect("valid records from iiswsgi") {
            match record {
                Record::Stdout { request_id, content } if request_id == id => reply.stdout.extend(content),
                Record::Stderr { request_id, content } if request_id == id => reply.stderr.extend(content),
                Record::EndRequest { request_id, app_status, protocol_status } if request_id == id => {
                    reply.end = Some((app_status, protocol_status));
                    return reply;
                }
                other => panic!("unexpected record {other:?}"),
            }
        }
        let n = stream.read(&mut buf).expect("read from iiswsgi");
        if n == 0 {
            return reply;
        }
        decoder.feed(&buf[..n]);
    }
}

/// Owned name/value pairs for [`encode_request`].
pub fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
}

/// The server variables IIS sends for a request (see the emulator's docs).
pub fn iis_params(method: &str, path: &str, query: &str, site: &Path, body_len: usize) -> Vec<(String, String)> {
    let site = site.display().to_string();
    owned(&[
        ("REQUEST_METHOD", method),
        ("SCRIPT_NAME", path),
        ("PATH_INFO", path),
        ("URL", path),
        ("QUERY_STRING", query),
        ("SERVER_SOFTWARE", "Microsoft-IIS/10.0"),
        ("SERVER_NAME", "localhost"),
        ("SERVER_PORT", "80"),
        ("SERVER_PORT_SECURE", "0"),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("HTTPS", "off"),
        ("GATEWAY_INTERFACE", "CGI/1.1"),
        ("REMOTE_ADDR", "127.0.0.1"),
        ("REMOTE_PORT", "50000"),
        ("APPL_MD_PATH", "/LM/W3SVC/1/ROOT"),
        ("APPL_PHYSICAL_PATH", &format!("{site}/")),
        ("INSTANCE_ID", "1"),
        ("CONTENT_TYPE", ""),
        ("CONTENT_LENGTH", &body_len.to_string()),
        ("HTTP_HOST", "localhost"),
    ])
}

/// `iiswsgi serve` started as IIS starts it on Unix: stdin is one end of a
/// socketpair, stdout and stderr lead nowhere.
pub struct IisProcess {
    pub child: Child,
    pub conn: std::os::unix::net::UnixStream,
    next_id: u16,
}

impl IisProcess {
    pub fn start(args: &[&str], env: &[(&str, &str)], cwd: &Path, log: &Path) -> Self {
        Self::start_program(&super::gateway(), args, env, cwd, log)
    }

    /// [`IisProcess::start`] with `program` (and its leading arguments) as iiswsgi.
    pub fn start_program(program: &[String], args: &[&str], env: &[(&str, &str)], cwd: &Path, log: &Path) -> Self {
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().expect("socketpair");
        let mut command = std::process::Command::new(&program[0]);
        command.args(&program[1..]);
        command.arg("serve").args(args).arg("--log-file").arg(log).current_dir(cwd);
        for (name, value) in env {
            command.env(name, value);
        }
        let child = command
            .stdin(Stdio::from(std::os::fd::OwnedFd::from(theirs)))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn iiswsgi");
        ours.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        Self { child, conn: ours, next_id: 1 }
    }

    pub fn request(&mut self, params: &[(String, String)], body: &[u8]) -> Reply {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        self.conn.write_all(&encode_request(id, true, params, body)).expect("write request");
        read_reply(&mut self.conn, id)
    }
}

impl Drop for IisProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
