#![no_main]
//! The emulated WebPI's readers: feeds, Parameters.xml (with resolution).
use iiswsgi_emulator::webpi::{feed, parameters};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = feed::entries(text);
    if let Ok(parsed) = parameters::parse(text) {
        let _ = parameters::resolve(&parsed, &[]);
    }
});
