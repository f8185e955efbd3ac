//! Arbitrary bytes decoded as a whole stream by the embedded model, the checksum off so that
//! mutations reach the entropy decoder and the networks; images of at most 256 × 256 pixels so
//! each input runs fast. An error or an image of the size the header claims with the stream's
//! metadata, never a panic.
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
    match decoder().decode_with_metadata(data) {
        Ok((image, metadata)) => {
            let container = parsed.expect("a decoded stream parses");
            assert_eq!(
                image.dimensions(),
                (container.header.width, container.header.height)
            );
            assert_eq!(metadata, container.metadata());
            // What `ansel info` shows of it: never a panic.
            if let Some(icc) = &metadata.icc {
                let _ = ansel::metadata::icc_description(icc);
            }
            if let Some(exif) = &metadata.exif {
                let _ = ansel::metadata::exif_summary(exif);
            }
        }
        Err(_) => {}
    }
});
