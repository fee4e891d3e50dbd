#![no_main]
//! A downloaded package as the emulated WebPI opens it: the zip reader with
//! its entry-name, symlink, duplicate and bomb checks, then the manifest.
use iiswsgi_emulator::webpi::deploy::{plan, Package};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(package) = Package::open(data) {
        if let Ok(manifest) = package.manifest() {
            let _ = plan(&manifest);
        }
        let _ = package.parameters();
    }
});
