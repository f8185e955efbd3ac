//! Decompression bombs. A stream may claim at most the codec's `LIMITS` (16,384 pixels a side,
//! 40 million in all; `docs/limits.md` gives the memory that takes); one that claims more, or
//! more than a decoder's own tighter limits (`Decoder::with_limits`), is refused before any
//! large allocation. One that claims a large size its payload cannot fill fails with an error
//! after allocating no more than that size justifies.
//!
//! A counting global allocator (shared with `codec-format/tests/allocation.rs`) records the
//! largest single allocation; the whole check is one test so that nothing else runs in this
//! binary meanwhile.

#[path = "../codec-format/tests/support/counting_alloc.rs"]
mod counting_alloc;

use ansel::codec_format::{Container, Limits};
use ansel::{Codec, Decoder, Error, LIMITS};
use counting_alloc::largest_allocation;

/// `stream` claiming `width × height` pixels in one tile, its payload unchanged.
fn claiming(stream: &[u8], width: u32, height: u32) -> Vec<u8> {
    let unlimited = Limits {
        max_width: u32::MAX,
        max_height: u32::MAX,
        max_pixels: u64::MAX,
        max_file_bytes: u64::MAX,
        verify_checksum: true,
    };
    let mut container = Container::from_bytes(stream, &unlimited).unwrap();
    let h = &mut container.header;
    (h.width, h.height, h.tile_width, h.tile_height) = (width, height, width, height);
    container.to_bytes().unwrap()
}

#[test]
fn streams_claiming_too_much_are_refused_before_allocating() {
    let codec = Codec::embedded().unwrap();
    let image = image::RgbImage::from_fn(96, 64, |x, y| image::Rgb([x as u8 * 2, y as u8 * 3, 70]));
    let stream = codec.encode(&image, 3.0).unwrap().bytes;
    let decoder = Decoder::embedded().unwrap();
    assert_eq!(decoder.limits(), &LIMITS);

    // Beyond the codec's limits: refused by the header check, nothing sized by the claim.
    for (w, h) in [(16_385, 64), (64, 16_385), (8_000, 5_001), (16_384, 16_384)] {
        let bomb = claiming(&stream, w, h);
        let (result, largest) = largest_allocation(|| decoder.decode(&bomb));
        assert!(
            matches!(result, Err(Error::Format(_))),
            "{w}×{h}: {result:?}"
        );
        assert!(largest < 64 * 1024, "{w}×{h}: allocated {largest} bytes");
    }

    // Beyond a decoder's tighter limits: the same, for a stream that is otherwise valid.
    let small = decoder.clone().with_limits(Limits {
        max_pixels: 4096,
        ..LIMITS
    });
    let (result, largest) = largest_allocation(|| small.decode(&stream));
    assert!(matches!(result, Err(Error::Format(_))), "{result:?}");
    assert!(largest < 64 * 1024, "allocated {largest} bytes");
    // Limits looser than the codec's are tightened to them.
    let loose = decoder.clone().with_limits(Limits {
        max_pixels: u64::MAX,
        ..LIMITS
    });
    assert_eq!(loose.limits().max_pixels, LIMITS.max_pixels);

    // Within the limits, a size the payload cannot fill: an error, and no allocation beyond
    // a few times the latent of that size (2048² pixels: 192 × 128 × 128 f32 = 12.6 MB).
    let bomb = claiming(&stream, 2048, 2048);
    let (result, largest) = largest_allocation(|| decoder.decode(&bomb));
    assert!(result.is_err(), "a 96×64 payload cannot fill 2048×2048");
    assert!(largest < 64 << 20, "allocated {largest} bytes");
}
