//! A file-like object whose lines go to the iiswsgi log: `wsgi.errors`, and
//! under IIS also `sys.stdout` and `sys.stderr`, because IIS gives the
//! process invalid standard handles and treats anything on FCGI_STDERR as a
//! failed request.

use pyo3::prelude::*;
use std::sync::Mutex;

#[pyclass(name = "LogWriter", module = "iiswsgi")]
pub struct LogWriter {
    name: &'static str,
    partial: Mutex<String>,
}

impl LogWriter {
    pub fn new(name: &'static str) -> Self {
        Self { name, partial: Mutex::new(String::new()) }
    }

    fn emit(&self, line: &str) {
        tracing::warn!(target: "app", "[{}] {}", self.name, line.trim_end_matches('\r'));
    }
}

#[pymethods]
impl LogWriter {
    fn write(&self, text: &str) -> usize {
        let mut partial = self.partial.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        partial.push_str(text);
        while let Some(newline) = partial.find('\n') {
            let line: String = partial.drain(..=newline).collect();
            self.emit(&line[..line.len() - 1]);
        }
        text.chars().count()
    }

    fn writelines(&self, lines: &Bound<'_, PyAny>) -> PyResult<()> {
        for line in lines.try_iter()? {
            self.write(&line?.extract::<String>()?);
        }
        Ok(())
    }

    fn flush(&self) {
        let mut partial = self.partial.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if !partial.is_empty() {
            let line = std::mem::take(&mut *partial);
            self.emit(&line);
        }
    }

    fn isatty(&self) -> bool {
        false
    }

    fn writable(&self) -> bool {
        true
    }
}
