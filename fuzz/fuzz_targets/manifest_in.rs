#![no_main]
//! MANIFEST.in parsing and file selection.
use iiswsgi::msdeploy::manifest_in::{defaults, ManifestIn};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let files: Vec<String> =
        ["setup.py", "a/__init__.py", "a/b.txt", "docs/x.rst", "README"].iter().map(|s| s.to_string()).collect();
    if let Ok(template) = ManifestIn::parse(text, std::path::Path::new("MANIFEST.in")) {
        let _ = template.select(&files, &defaults(&files));
    }
});
