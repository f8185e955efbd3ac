//! `SPEC.md` stays true: its example hex dump is what this crate writes, and
//! the field offsets it documents are where the writer puts the fields.

mod common;

use codec_format::{Container, Limits, MAGIC};
use common::{hexdump, metadata_example, newer_minor_example, off, spec_example};

const SPEC: &str = include_str!("../SPEC.md");

#[test]
fn spec_hexdump_matches_the_writer() {
    let dump = hexdump(&spec_example().to_bytes().unwrap());
    assert!(
        SPEC.contains(&dump),
        "SPEC.md's example dump is stale; the writer now produces:\n{dump}"
    );
    let dump = hexdump(&metadata_example().to_bytes().unwrap());
    assert!(
        SPEC.contains(&dump),
        "SPEC.md's metadata (version 1.1) dump is stale; the writer now produces:\n{dump}"
    );
    let dump = hexdump(&newer_minor_example());
    assert!(
        SPEC.contains(&dump),
        "SPEC.md's version 1.2 dump is stale; it now is:\n{dump}"
    );
}

#[test]
fn documented_offsets_hold_in_the_example() {
    let bytes = spec_example().to_bytes().unwrap();
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    assert_eq!(bytes[..8], MAGIC);
    assert_eq!((bytes[off::MAJOR], bytes[off::MINOR]), (1, 0));
    assert_eq!(
        u16::from_le_bytes([bytes[off::HEADER_LEN], bytes[off::HEADER_LEN + 1]]),
        59
    );
    assert_eq!(
        u64::from_le_bytes(bytes[off::FILE_LEN..off::FILE_LEN + 8].try_into().unwrap()),
        bytes.len() as u64
    );
    assert_eq!((u32_at(off::WIDTH), u32_at(off::HEIGHT)), (100, 40));
    assert_eq!(
        (u32_at(off::TILE_WIDTH), u32_at(off::TILE_HEIGHT)),
        (64, 64)
    );
    assert_eq!(u32_at(off::QUALITY), 0.5f32.to_bits());
    assert_eq!(bytes[off::ARCH..off::ARCH + 2], [1, 0]);
    assert_eq!(bytes[off::HASH], 0);
    assert_eq!(bytes[off::HASH + 15], 15);
    assert_eq!(bytes[off::COLOR], 1);
    assert_eq!(u32_at(off::TABLE), 0x1122_3344);

    let info = Container::inspect(&bytes, &Limits::default()).unwrap();
    let offsets: Vec<_> = info
        .tiles
        .iter()
        .flat_map(|t| &t.sections)
        .map(|s| s.offset)
        .collect();
    assert_eq!(offsets, [91, 94, 99, 101]);
}

#[test]
fn crc32c_is_the_castagnoli_crc() {
    // The check value quoted in SPEC.md.
    assert_eq!(crc32c::crc32c(b"123456789"), 0xe306_9283);
}

#[test]
fn documented_offsets_hold_in_the_metadata_example() {
    let bytes = metadata_example().to_bytes().unwrap();
    assert_eq!((bytes[off::MAJOR], bytes[off::MINOR]), (1, 1));
    let info = Container::inspect(&bytes, &Limits::default()).unwrap();
    let layout: Vec<_> = info.tiles[0]
        .sections
        .iter()
        .map(|s| (s.kind, s.offset, s.len))
        .collect();
    use codec_format::SectionKind::*;
    assert_eq!(
        layout,
        [
            (Icc, 90, 132),
            (Exif, 222, 26),
            (Xmp, 248, 37),
            (HyperLatent, 285, 3),
            (Latent, 288, 5)
        ]
    );
    assert_eq!(bytes.len(), 297);
}
