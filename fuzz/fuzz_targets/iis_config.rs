#![no_main]
//! web.config and applicationHost.config readers; a parsed tree writes back
//! to XML that parses again.
use iiswsgi_proto::iis::{ApplicationHost, Document, WebConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = WebConfig::parse(text);
    let _ = ApplicationHost::parse(text);
    if let Ok(document) = Document::parse(text) {
        let written = document.to_xml();
        assert!(Document::parse(&written).is_ok(), "re-parse failed: {written}");
    }
});
