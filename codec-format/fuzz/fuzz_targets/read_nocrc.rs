//! Arbitrary bytes into the reader with the checksum check off, so that
//! mutations reach the header and section-table parsers.
#![no_main]

mod common;

use codec_format::Limits;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::check(
        data,
        &Limits {
            verify_checksum: false,
            ..Limits::default()
        },
    )
});
