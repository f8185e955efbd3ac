//! Arbitrary bytes as a model package: parsed, and when they parse, turned into a decoder (its
//! weights and tables checked against the network the metadata describes). An error or a
//! decoder, never a panic.
#![no_main]

use ansel::{Decoder, Package};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(package) = Package::from_bytes(data) {
        let _ = Decoder::from_package(&package);
    }
});
