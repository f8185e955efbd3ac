//! Arbitrary bytes decoded as a whole stream by the embedded model, the checksum off so that
//! mutations reach the entropy decoder and the networks; images of at most 256 × 256 pixels so
//! each input runs fast. An error or an image of the size the header claims, never a panic.
#![no_main]

use std::sync::OnceLock;

use ansel::codec_format::Limits;
use ansel::Decoder;
use libfuzzer_sys::fuzz_target;

fn decoder() -> &'static Decoder {
    static DECODER: OnceLock<Decoder> = OnceLock::new();
    DECODER.get_or_init(|| {
        Decoder::embedded().unwrap().with_limits(Limits {
            max_width: 256,
            max_height: 256,
            max_pixels: 256 * 256,
            max_file_bytes: 1 << 20,
            verify_checksum: false,
        })
    })
}

fuzz_target!(|data: &[u8]| {
    let parsed = ansel::codec_format::Container::from_bytes(data, decoder().limits());
    match decoder().decode(data) {
        Ok(image) => {
            let header = parsed.expect("a decoded stream parses").header;
            assert_eq!(image.dimensions(), (header.width, header.height));
        }
        Err(_) => {}
    }
});
