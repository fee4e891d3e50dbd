#![no_main]
use iiswsgi_proto::fastcgi::name_value;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for pair in name_value::decode(data) {
        if pair.is_err() {
            break;
        }
    }
});
