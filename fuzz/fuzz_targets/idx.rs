//! The MNIST IDX parser on arbitrary bytes: raw, gzip-compressed, and as an
//! image/label pair split where the input says. It must return, never
//! panic, and never allocate without bound.
//!
//!     cargo +nightly fuzz run idx fuzz/seeds/idx -- -runs=10000000
#![no_main]

use chainrule::data::mnist;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = mnist::parse_images(data);
    let _ = mnist::parse_labels(data);
    if let Ok(decoded) = mnist::decode(data) {
        let _ = mnist::parse_images(&decoded);
        let _ = mnist::parse_labels(&decoded);
    }
    if let Some((&split, rest)) = data.split_first() {
        let at = usize::from(split) * rest.len() / 255;
        let (images, labels) = rest.split_at(at);
        if let Ok(digits) = mnist::Digits::from_idx(images, labels) {
            assert_eq!(digits.images().len(), digits.len() * mnist::PIXELS);
            assert!(digits.labels().iter().all(|&l| l <= 9));
        }
    }
});
