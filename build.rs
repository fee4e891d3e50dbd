//! Links the binary with an rpath to the libpython it was built against, so
//! the loader cannot pick another install's libpython3.11.so at run time
//! (it did on this project's machines: see embedding-python-facts.md).

fn main() {
    #[cfg(feature = "embed")]
    {
        let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
        let config = pyo3_build_config::get();
        if target_os != "windows" {
            if let Some(lib_dir) = config.lib_dir() {
                println!("cargo:rustc-link-arg=-Wl,-rpath,{lib_dir}");
            }
        }
    }
}
