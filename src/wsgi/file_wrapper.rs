//! `wsgi.file_wrapper` (PEP 3333's optional platform-specific file
//! handling): iterates a file-like object in blocks and closes it.

use pyo3::prelude::*;

#[pyclass(name = "FileWrapper", module = "iiswsgi")]
pub struct FileWrapper {
    filelike: Py<PyAny>,
    block_size: usize,
}

#[pymethods]
impl FileWrapper {
    #[new]
    #[pyo3(signature = (filelike, block_size = 64 * 1024))]
    fn new(filelike: Py<PyAny>, block_size: usize) -> Self {
        Self { filelike, block_size: block_size.max(1) }
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let data = self.filelike.bind(py).call_method1("read", (self.block_size,))?;
        Ok((data.len()? > 0).then_some(data))
    }

    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let filelike = self.filelike.bind(py);
        if filelike.hasattr("close")? {
            filelike.call_method0("close")?;
        }
        Ok(())
    }
}
