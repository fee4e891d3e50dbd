#![no_main]
//! The emulated WebPI's readers: feeds, Parameters.xml (with resolution)
//! and Manifest.xml (with its runCommand provider options).
use iiswsgi_emulator::webpi::{deploy, feed, parameters};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = feed::entries(text);
    let _ = deploy::plan(text);
    if let Ok(parsed) = parameters::parse(text) {
        let _ = parameters::resolve(&parsed, &[]);
    }
});
