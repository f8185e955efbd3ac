//! Shared by the integration tests and `examples/dump.rs`: sample files,
//! byte patching helpers and proptest strategies.
#![allow(dead_code)]

use codec_format::{
    ColorLayout, Container, Header, Limits, Metadata, ModelId, Section, SectionKind, Tile,
};
use proptest::prelude::*;

/// The example file of `SPEC.md`: a 100×40 image in 64×64 tiles (2 tiles).
pub fn spec_example() -> Container {
    let section = |kind, data: &[u8]| Section {
        kind,
        data: data.to_vec(),
    };
    Container {
        header: Header {
            width: 100,
            height: 40,
            color: ColorLayout::Rgb8,
            model: ModelId {
                arch: 1,
                hash: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
            },
            quality: 0.5,
            tile_width: 64,
            tile_height: 64,
        },
        tiles: vec![
            Tile {
                index_check: 0x1122_3344,
                sections: vec![
                    section(SectionKind::HyperLatent, &[0xa0, 0xa1, 0xa2]),
                    section(SectionKind::Latent, &[0xb0, 0xb1, 0xb2, 0xb3, 0xb4]),
                ],
            },
            Tile {
                index_check: 0x5566_7788,
                sections: vec![
                    section(SectionKind::HyperLatent, &[0xc0, 0xc1]),
                    section(SectionKind::Latent, &[0xd0, 0xd1, 0xd2, 0xd3]),
                ],
            },
        ],
    }
}

/// The smallest valid file: a 1×1 image, one tile, no sections (69 bytes).
pub fn minimal() -> Container {
    Container {
        header: Header {
            width: 1,
            height: 1,
            color: ColorLayout::Rgb8,
            model: ModelId {
                arch: 0,
                hash: [0; 16],
            },
            quality: 0.0,
            tile_width: 1,
            tile_height: 1,
        },
        tiles: vec![Tile {
            index_check: 0,
            sections: vec![],
        }],
    }
}

/// Offsets of version 1.0 fields, as in `SPEC.md`.
pub mod off {
    pub const MAJOR: usize = 8;
    pub const MINOR: usize = 9;
    pub const HEADER_LEN: usize = 10;
    pub const FILE_LEN: usize = 12;
    pub const WIDTH: usize = 20;
    pub const HEIGHT: usize = 24;
    pub const TILE_WIDTH: usize = 28;
    pub const TILE_HEIGHT: usize = 32;
    pub const QUALITY: usize = 36;
    pub const ARCH: usize = 40;
    pub const HASH: usize = 42;
    pub const COLOR: usize = 58;
    /// Start of the tile table in a 1.0 file.
    pub const TABLE: usize = 59;
}

pub fn put_u16(bytes: &mut [u8], at: usize, v: u16) {
    bytes[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
pub fn put_u32(bytes: &mut [u8], at: usize, v: u32) {
    bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Makes patched bytes self-consistent again: sets the file length field to
/// the actual length and recomputes the trailing checksum.
pub fn reseal(bytes: &mut [u8]) {
    let len = bytes.len();
    bytes[off::FILE_LEN..off::FILE_LEN + 8].copy_from_slice(&(len as u64).to_le_bytes());
    let crc = crc32c::crc32c(&bytes[..len - 4]);
    put_u32(bytes, len - 4, crc);
}

/// Turns a 1.0 file into a version `1.minor` file carrying `extra` unknown
/// header bytes after the 1.0 header fields.
pub fn as_newer_minor(bytes: &[u8], minor: u8, extra: &[u8]) -> Vec<u8> {
    let mut out = bytes[..off::TABLE].to_vec();
    out.extend_from_slice(extra);
    out.extend_from_slice(&bytes[off::TABLE..]);
    out[off::MINOR] = minor;
    put_u16(&mut out, off::HEADER_LEN, (off::TABLE + extra.len()) as u16);
    reseal(&mut out);
    out
}

/// A hypothetical version 1.2 file: 11 extra header bytes and a section of
/// unknown kind 9.
pub fn newer_minor_example() -> Vec<u8> {
    let mut c = spec_example();
    c.tiles[1].sections.insert(
        1,
        Section {
            kind: SectionKind::Unknown(9),
            data: b"future".to_vec(),
        },
    );
    as_newer_minor(&c.to_bytes().unwrap(), 2, b"hello 1.2!\0")
}

/// The smallest well-formed ICC profile: a 128-byte header (`size`,
/// version 4.3, display class, RGB data, XYZ connection space, `acsp`) and
/// an empty tag table, padded with `extra` bytes.
pub fn tiny_icc(extra: &[u8]) -> Vec<u8> {
    let mut icc = vec![0u8; 128];
    icc[8..12].copy_from_slice(&[4, 0x30, 0, 0]);
    icc[12..16].copy_from_slice(b"mntr");
    icc[16..20].copy_from_slice(b"RGB ");
    icc[20..24].copy_from_slice(b"XYZ ");
    icc[36..40].copy_from_slice(b"acsp");
    icc.extend_from_slice(&[0; 4]); // tag count
    icc.extend_from_slice(extra);
    let len = icc.len() as u32;
    icc[..4].copy_from_slice(&len.to_be_bytes());
    icc
}

/// Little-endian EXIF holding one IFD0 entry: orientation 6 (rotate 90°
/// clockwise to display), 26 bytes.
pub fn tiny_exif() -> Vec<u8> {
    let mut exif = b"II*\0\x08\0\0\0".to_vec();
    exif.extend_from_slice(&1u16.to_le_bytes()); // one entry
    exif.extend_from_slice(&[0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0]); // 0x0112 SHORT 1 = 6
    exif.extend_from_slice(&[0; 4]); // no next IFD
    exif
}

/// The XMP packet of the SPEC example.
pub const TINY_XMP: &[u8] = b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>";

/// The version 1.1 example of `SPEC.md`: a 64×48 image in one tile with an
/// ICC profile, EXIF (orientation 6) and XMP before its two streams.
pub fn metadata_example() -> Container {
    let mut c = spec_example();
    c.header.width = 64;
    c.header.height = 48;
    c.tiles.truncate(1);
    c.set_metadata(Metadata {
        icc: Some(tiny_icc(&[])),
        exif: Some(tiny_exif()),
        xmp: Some(TINY_XMP.to_vec()),
    })
    .unwrap();
    c
}

/// `hexdump -C` style dump, as pasted in `SPEC.md`.
pub fn hexdump(bytes: &[u8]) -> String {
    let mut out = String::new();
    for (i, line) in bytes.chunks(16).enumerate() {
        let mut hex = String::new();
        for (j, b) in line.iter().enumerate() {
            hex.push_str(if j == 8 { "  " } else { " " });
            hex.push_str(&format!("{b:02x}"));
        }
        let ascii: String = line
            .iter()
            .map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        out.push_str(&format!("{:08x} {hex:<49}  |{ascii}|\n", i * 16));
    }
    out.push_str(&format!("{:08x}\n", bytes.len()));
    out
}

/// Limits with the checksum check switched off.
pub fn no_crc() -> Limits {
    Limits {
        verify_checksum: false,
        ..Limits::default()
    }
}

// ---- proptest strategies -------------------------------------------------

/// A tile side giving at most 4 tiles along an image side of `len` pixels
/// (or exactly one, with a tile larger than the image).
fn tile_side(len: u32) -> impl Strategy<Value = u32> {
    prop_oneof![len.div_ceil(4)..=len, Just(len), len..=u32::MAX]
}

fn image_side() -> impl Strategy<Value = u32> {
    prop_oneof![1u32..=16, 1u32..=65_535]
}

fn color() -> impl Strategy<Value = ColorLayout> {
    prop_oneof![
        Just(ColorLayout::Rgb8),
        Just(ColorLayout::Gray8),
        Just(ColorLayout::Rgba8),
        Just(ColorLayout::Rgb16),
    ]
}

/// Any header valid under the default limits.
pub fn arb_header() -> impl Strategy<Value = Header> {
    image_side()
        .prop_flat_map(|w| {
            let max_h = 65_535u64.min((1u64 << 28) / u64::from(w)) as u32;
            (Just(w), prop_oneof![1u32..=16.min(max_h), 1..=max_h])
        })
        .prop_flat_map(|(w, h)| {
            (
                (Just(w), Just(h), tile_side(w), tile_side(h)),
                color(),
                (any::<u16>(), any::<[u8; 16]>()),
                any::<f32>().prop_filter("finite", |q| q.is_finite()),
            )
        })
        .prop_map(
            |((width, height, tile_width, tile_height), color, (arch, hash), quality)| Header {
                width,
                height,
                color,
                model: ModelId { arch, hash },
                quality,
                tile_width,
                tile_height,
            },
        )
}

fn data() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..48)
}

/// A tile with an optional z and y section and up to 2 unknown ones, in any
/// order.
pub fn arb_tile() -> impl Strategy<Value = Tile> {
    let unknown_kind = prop_oneof![Just(0u8), 6u8..=255];
    (
        any::<u32>(),
        prop::option::of(data()),
        prop::option::of(data()),
        prop::collection::vec((unknown_kind, data()), 0..3),
    )
        .prop_flat_map(|(index_check, z, y, unknown)| {
            let mut sections = Vec::new();
            if let Some(data) = z {
                sections.push(Section {
                    kind: SectionKind::HyperLatent,
                    data,
                });
            }
            if let Some(data) = y {
                sections.push(Section {
                    kind: SectionKind::Latent,
                    data,
                });
            }
            for (code, data) in unknown {
                sections.push(Section {
                    kind: SectionKind::Unknown(code),
                    data,
                });
            }
            (Just(index_check), Just(sections).prop_shuffle())
        })
        .prop_map(|(index_check, sections)| Tile {
            index_check,
            sections,
        })
}

/// Any well-formed metadata, each part present or not.
pub fn arb_metadata() -> impl Strategy<Value = Metadata> {
    let icc = data().prop_map(|extra| tiny_icc(&extra));
    let exif = (any::<bool>(), data()).prop_map(|(big, tail)| {
        let mut exif = if big {
            b"MM\0*\0\0\0\x08".to_vec()
        } else {
            b"II*\0\x08\0\0\0".to_vec()
        };
        exif.push(0);
        exif.extend_from_slice(&tail);
        exif
    });
    let xmp = "[^\\x00]{1,40}".prop_map(String::into_bytes);
    (
        prop::option::of(icc),
        prop::option::of(exif),
        prop::option::of(xmp),
    )
        .prop_map(|(icc, exif, xmp)| Metadata { icc, exif, xmp })
}

/// Any container valid under the default limits (at most 16 tiles), with
/// or without metadata in tile 0.
pub fn arb_container() -> impl Strategy<Value = Container> {
    arb_header().prop_flat_map(|header| {
        let n = header.tile_count();
        (prop::collection::vec(arb_tile(), n), arb_metadata()).prop_map(move |(tiles, metadata)| {
            let mut c = Container { header, tiles };
            c.set_metadata(metadata).unwrap();
            c
        })
    })
}
