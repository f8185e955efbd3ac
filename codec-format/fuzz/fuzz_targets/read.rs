//! Arbitrary bytes into the reader, checksum verified (as in production).
#![no_main]

mod common;

use codec_format::Limits;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::check(data, &Limits::default()));
