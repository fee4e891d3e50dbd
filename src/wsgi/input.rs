//! `wsgi.input`: the request body, streamed. Every read releases the GIL
//! while it waits for the web server, and holds at most what was asked for.

use crate::request::Body;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::io::Read;

#[pyclass(name = "Input", module = "iiswsgi")]
pub struct Input {
    body: Body,
}

impl Input {
    pub fn new(body: Body) -> Self {
        Self { body }
    }

    /// Runs a blocking read with the GIL released and returns its bytes.
    fn read_with<'py>(
        &mut self,
        py: Python<'py>,
        read: impl FnOnce(&mut Body, &mut Vec<u8>) -> std::io::Result<()> + Send,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let body = &mut self.body;
        let data = py.detach(|| {
            let mut out = Vec::new();
            read(body, &mut out).map(|()| out)
        })?;
        Ok(PyBytes::new(py, &data))
    }
}

fn limit(size: Option<isize>) -> usize {
    match size {
        Some(n) if n >= 0 => n as usize,
        _ => usize::MAX,
    }
}

#[pymethods]
impl Input {
    #[pyo3(signature = (size = None))]
    fn read<'py>(&mut self, py: Python<'py>, size: Option<isize>) -> PyResult<Bound<'py, PyBytes>> {
        let limit = limit(size) as u64;
        self.read_with(py, |body, out| body.take(limit).read_to_end(out).map(drop))
    }

    #[pyo3(signature = (size = None))]
    fn readline<'py>(&mut self, py: Python<'py>, size: Option<isize>) -> PyResult<Bound<'py, PyBytes>> {
        let limit = limit(size);
        self.read_with(py, |body, out| body.read_line_limited(limit, out))
    }

    #[pyo3(signature = (hint = None))]
    fn readlines<'py>(&mut self, py: Python<'py>, hint: Option<isize>) -> PyResult<Vec<Bound<'py, PyBytes>>> {
        let hint = limit(hint.filter(|&h| h > 0));
        let mut lines = Vec::new();
        let mut total = 0usize;
        while total < hint {
            let line = self.readline(py, None)?;
            if line.as_bytes().is_empty() {
                break;
            }
            total += line.as_bytes().len();
            lines.push(line);
        }
        Ok(lines)
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let line = self.readline(py, None)?;
        Ok((!line.as_bytes().is_empty()).then_some(line))
    }
}
