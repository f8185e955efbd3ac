//! Arbitrary bytes through the `image` crate's decoder interface (what `image::open` runs once
//! the hook is registered): metadata and dimensions, then the pixels into a buffer of the size
//! it reports.
#![no_main]

use std::io::Cursor;

use ansel::AnselDecoder;
use image::ImageDecoder;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut decoder) = AnselDecoder::new(Cursor::new(data)) else {
        return;
    };
    // The metadata methods answer before the pixels are decoded.
    let _ = decoder.icc_profile().expect("the container was read");
    let _ = decoder.xmp_metadata().expect("the container was read");
    let _ = decoder.orientation().expect("the container was read");
    let (w, h) = decoder.dimensions();
    // The checksum is on here: what gets this far is a well-formed file; keep to small ones.
    if u64::from(w) * u64::from(h) > 256 * 256 {
        return;
    }
    let mut buf = vec![0; decoder.total_bytes() as usize];
    let _ = decoder.read_image(&mut buf);
});
