#![no_main]
//! Any bytes, split anywhere: the decoder returns records or an error, never panics.
use iiswsgi_proto::fastcgi::Decoder;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(0, |b| *b as usize % (data.len() + 1));
    let mut decoder = Decoder::new();
    for part in [&data[..split], &data[split..]] {
        decoder.feed(part);
        while let Ok(Some(_)) = decoder.decode() {}
    }
});
