//! Hostile length fields must fail fast without large allocations.
//!
//! A counting global allocator records the largest single allocation; the
//! whole check is one test so nothing else runs in this binary meanwhile.

mod common;
#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use std::io;

use codec_format::{Container, Error, Limits};
use common::{off, put_u16, put_u32, reseal, spec_example};
use counting_alloc::largest_allocation;

fn patched(patch: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut bytes = spec_example().to_bytes().unwrap();
    patch(&mut bytes);
    reseal(&mut bytes);
    bytes
}

#[test]
fn hostile_lengths_do_not_allocate() {
    const BUDGET: usize = 64 * 1024;
    let unlimited = Limits {
        max_width: u32::MAX,
        max_height: u32::MAX,
        max_pixels: u64::MAX,
        max_file_bytes: u64::MAX,
        verify_checksum: true,
    };
    let cases: Vec<(&str, Vec<u8>, Limits)> = vec![
        (
            "2^28 one-pixel tiles",
            patched(|b| {
                put_u32(b, off::WIDTH, 16_384);
                put_u32(b, off::HEIGHT, 16_384);
                put_u32(b, off::TILE_WIDTH, 1);
                put_u32(b, off::TILE_HEIGHT, 1);
            }),
            Limits::default(),
        ),
        (
            "(2^32-1)^2 one-pixel tiles, no limits",
            patched(|b| {
                put_u32(b, off::WIDTH, u32::MAX);
                put_u32(b, off::HEIGHT, u32::MAX);
                put_u32(b, off::TILE_WIDTH, 1);
                put_u32(b, off::TILE_HEIGHT, 1);
            }),
            unlimited,
        ),
        (
            "65535 sections",
            patched(|b| put_u16(b, off::TABLE + 4, u16::MAX)),
            unlimited,
        ),
        (
            "4 GiB section",
            patched(|b| put_u32(b, off::TABLE + 7, u32::MAX)),
            unlimited,
        ),
    ];
    for (name, bytes, limits) in &cases {
        let (result, largest) = largest_allocation(|| Container::from_bytes(bytes, limits));
        assert!(result.is_err(), "{name}: accepted");
        assert!(
            largest < BUDGET,
            "{name}: allocated {largest} bytes at once"
        );

        let (result, largest) = largest_allocation(|| Container::read_from(&bytes[..], limits));
        assert!(result.is_err(), "{name}: accepted from a stream");
        assert!(
            largest < BUDGET,
            "{name}: allocated {largest} bytes at once from a stream"
        );
    }

    // A stream whose header claims a 1 GiB file (the default limit) but ends
    // after 200 bytes: memory follows the bytes that arrive, not the claim.
    let mut lying = spec_example().to_bytes().unwrap();
    lying[off::FILE_LEN..off::FILE_LEN + 8].copy_from_slice(&(1u64 << 30).to_le_bytes());
    lying.resize(200, 0);
    let (result, largest) =
        largest_allocation(|| Container::read_from(&lying[..], &Limits::default()));
    assert!(matches!(
        result,
        Err(Error::Truncated {
            what: "file",
            needed: 1_073_741_824,
            available: 200
        })
    ));
    assert!(
        largest < BUDGET,
        "lying stream: allocated {largest} bytes at once"
    );

    // ... and one claiming more than the limit is refused after 20 bytes.
    let mut bytes = lying.clone();
    bytes[off::FILE_LEN..off::FILE_LEN + 8].copy_from_slice(&u64::MAX.to_le_bytes());
    let endless = io::Read::chain(&bytes[..], io::repeat(0));
    assert!(matches!(
        Container::read_from(endless, &Limits::default()),
        Err(Error::FileTooLarge { .. })
    ));
}
