#![no_main]
//! The NRBF decoder; whatever decodes re-encodes to something that decodes
//! to the same options.
use iiswsgi_proto::msdeploy::ProviderOptions;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(options) = ProviderOptions::decode(data) {
        assert_eq!(ProviderOptions::decode(&options.encode()).as_ref(), Ok(&options));
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = iiswsgi_proto::msdeploy::decode_blob(text);
    }
});
