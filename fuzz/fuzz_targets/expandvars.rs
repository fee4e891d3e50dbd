#![no_main]
//! ntpath.expandvars and %VAR% expansion never panic, and text without
//! `$` or `%` is returned unchanged.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let lookup = |name: &str| (name.len() % 2 == 0).then(|| name.to_uppercase());
    let expanded = iiswsgi_proto::msdeploy::expandvars(text, lookup);
    if !text.contains(['$', '%']) {
        assert_eq!(expanded, text);
    }
    let _ = iiswsgi_proto::iis::expand_percent_vars(text, lookup);
});
