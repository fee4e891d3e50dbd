#![no_main]
//! build-msdeploy's manifest compiler on any template.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = iiswsgi::msdeploy::build::compile_manifest(text, std::path::Path::new("Manifest.xml.in"));
});
