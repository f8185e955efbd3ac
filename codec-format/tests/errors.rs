//! One test per error: the right variant, with the right numbers, and a
//! message that says what is wrong.

mod common;

use std::io;

use codec_format::{
    ColorLayout, Container, Error, Limits, Section, SectionKind, Tile, Version, MAGIC,
};
use common::{off, put_u16, put_u32, reseal, spec_example};

fn example_bytes() -> Vec<u8> {
    spec_example().to_bytes().unwrap()
}

/// Applies `patch` to the example file, fixes length and checksum, reads it.
fn read_patched(patch: impl FnOnce(&mut Vec<u8>)) -> Error {
    let mut bytes = example_bytes();
    patch(&mut bytes);
    reseal(&mut bytes);
    Container::from_bytes(&bytes, &Limits::default()).unwrap_err()
}

// Offsets inside the example's tile table (see SPEC.md).
const TILE0_SECTION_COUNT: usize = off::TABLE + 4;
const TILE0_ENTRY0_KIND: usize = off::TABLE + 6;
const TILE0_ENTRY0_LEN: usize = off::TABLE + 7;

#[test]
fn bad_magic() {
    let mut bytes = example_bytes();
    bytes[..8].copy_from_slice(b"\x89PNG\r\n\x1a\n");
    let err = Container::from_bytes(&bytes, &Limits::default()).unwrap_err();
    assert!(matches!(&err, Error::BadMagic { found, .. } if found[..] == bytes[..8]));
    assert_eq!(
        err.to_string(),
        "not an .ansel file: the first bytes are [89, 50, 4e, 47, 0d, 0a, 1a, 0a], \
         expected [89, 41, 4e, 53, 45, 4c, 0d, 0a]"
    );
    // Short inputs: bad magic if what is there differs, truncated otherwise.
    let err = Container::from_bytes(b"GIF", &Limits::default()).unwrap_err();
    assert!(matches!(err, Error::BadMagic { .. }));
    let err = Container::from_bytes(&MAGIC[..3], &Limits::default()).unwrap_err();
    assert!(matches!(
        err,
        Error::Truncated {
            what: "magic number",
            needed: 8,
            available: 3
        }
    ));
    let err = Container::from_bytes(b"", &Limits::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "truncated .ansel data while reading the magic number: 8 bytes needed, only 0 available"
    );
}

#[test]
fn unsupported_major_version_names_both_versions() {
    for major in [0u8, 2, 255] {
        let mut bytes = example_bytes();
        bytes[off::MAJOR] = major;
        bytes[off::MINOR] = 3;
        let err = Container::from_bytes(&bytes, &Limits::default()).unwrap_err();
        assert!(matches!(
            err,
            Error::UnsupportedVersion {
                found: Version { major: m, minor: 3 },
                supported: Version { major: 1, minor: 1 },
            } if m == major
        ));
        assert_eq!(
            err.to_string(),
            format!(
                "unsupported .ansel format version {major}.3: this reader implements version 1.1 \
                 and can read files of major version 1"
            )
        );
        // Even a 10-byte stub is enough to say so, and the stream reader agrees.
        let stub = &bytes[..10];
        assert!(matches!(
            Container::from_bytes(stub, &Limits::default()),
            Err(Error::UnsupportedVersion { .. })
        ));
        assert!(matches!(
            Container::read_from(&bytes[..], &Limits::default()),
            Err(Error::UnsupportedVersion { .. })
        ));
    }
}

#[test]
fn truncated() {
    let bytes = example_bytes();
    let err = Container::from_bytes(&bytes[..100], &Limits::default()).unwrap_err();
    assert!(matches!(
        err,
        Error::Truncated {
            what: "file",
            needed: 109,
            available: 100
        }
    ));
    assert_eq!(
        err.to_string(),
        "truncated .ansel data while reading the file: 109 bytes needed, only 100 available"
    );
    let err = Container::from_bytes(&bytes[..9], &Limits::default()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Truncated {
                what: "version",
                ..
            }
        ),
        "{err}"
    );
    let err = Container::from_bytes(&bytes[..15], &Limits::default()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Truncated {
                what: "header",
                needed: 20,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn trailing_bytes() {
    let mut bytes = example_bytes();
    bytes.push(0);
    let err = Container::from_bytes(&bytes, &Limits::default()).unwrap_err();
    assert!(matches!(
        err,
        Error::TrailingBytes {
            expected: 109,
            found: 110
        }
    ));
    assert_eq!(
        err.to_string(),
        "trailing data after the end of the .ansel file: the header says the file is 109 bytes \
         long but the input is 110 bytes"
    );
    // The stream reader stops at the end of the file instead.
    let mut reader = &bytes[..];
    Container::read_from(&mut reader, &Limits::default()).unwrap();
    assert_eq!(reader, [0]);
}

#[test]
fn file_too_large() {
    let limits = Limits {
        max_file_bytes: 100,
        ..Limits::default()
    };
    let bytes = example_bytes();
    let err = Container::from_bytes(&bytes, &limits).unwrap_err();
    assert!(matches!(
        err,
        Error::FileTooLarge {
            size: 109,
            limit: 100
        }
    ));
    assert_eq!(
        err.to_string(),
        "the .ansel file is 109 bytes long, more than the limit of 100 bytes"
    );
    assert!(matches!(
        spec_example().validate(&limits),
        Err(Error::FileTooLarge { .. })
    ));

    // A header claiming an 8 EiB file fails before anything else is read.
    let mut huge = bytes[..20].to_vec();
    huge[off::FILE_LEN..off::FILE_LEN + 8].copy_from_slice(&u64::MAX.to_le_bytes());
    let err = Container::from_bytes(&huge, &Limits::default()).unwrap_err();
    assert!(matches!(
        err,
        Error::FileTooLarge {
            size: u64::MAX,
            limit: 1_073_741_824
        }
    ));
    let err = Container::read_from(
        io::Read::chain(&huge[..], io::repeat(0)),
        &Limits::default(),
    );
    assert!(matches!(err, Err(Error::FileTooLarge { .. })));
}

#[test]
fn checksum_mismatch() {
    let mut bytes = example_bytes();
    bytes[100] ^= 0x10; // a payload byte
    let err = Container::from_bytes(&bytes, &Limits::default()).unwrap_err();
    let Error::ChecksumMismatch { stored, computed } = err else {
        panic!("{err}")
    };
    assert_eq!(stored, u32::from_le_bytes(bytes[105..].try_into().unwrap()));
    assert_eq!(computed, crc32c::crc32c(&bytes[..105]));
    assert_eq!(
        err.to_string(),
        format!(
            "the .ansel file is corrupt: stored checksum {stored:#010x}, computed {computed:#010x}"
        )
    );
    // The checksum is verified before the header: a corrupt width is reported
    // as corruption, not as a bad dimension.
    let mut bytes = example_bytes();
    put_u32(&mut bytes, off::WIDTH, 0);
    assert!(matches!(
        Container::from_bytes(&bytes, &Limits::default()),
        Err(Error::ChecksumMismatch { .. })
    ));
    // Switching verification off reaches the header check.
    let limits = Limits {
        verify_checksum: false,
        ..Limits::default()
    };
    assert!(matches!(
        Container::from_bytes(&bytes, &limits),
        Err(Error::ZeroDimension {
            field: "image width"
        })
    ));
}

#[test]
fn zero_dimension() {
    for (at, field) in [
        (off::WIDTH, "image width"),
        (off::HEIGHT, "image height"),
        (off::TILE_WIDTH, "tile width"),
        (off::TILE_HEIGHT, "tile height"),
    ] {
        let err = read_patched(|b| put_u32(b, at, 0));
        assert!(
            matches!(err, Error::ZeroDimension { field: f } if f == field),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            format!("the {field} is zero; it must be at least 1 pixel")
        );
    }
    let mut c = spec_example();
    c.header.width = 0;
    assert!(matches!(
        c.to_bytes(),
        Err(Error::ZeroDimension {
            field: "image width"
        })
    ));
}

#[test]
fn dimensions_too_large() {
    // Over the default per-side limit.
    let err = read_patched(|b| {
        put_u32(b, off::WIDTH, 70_000);
        put_u32(b, off::TILE_WIDTH, 70_000);
    });
    assert!(
        matches!(
            err,
            Error::DimensionsTooLarge {
                width: 70_000,
                height: 40,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "image of 70000x40 pixels exceeds the limits (at most 65535x65535 and 268435456 pixels in total)"
    );
    // Over the total pixel limit, each side within limits.
    let err = read_patched(|b| {
        put_u32(b, off::WIDTH, 65_535);
        put_u32(b, off::HEIGHT, 65_535);
    });
    assert!(matches!(err, Error::DimensionsTooLarge { .. }), "{err}");
    // Over caller-chosen limits.
    let limits = Limits {
        max_width: 99,
        ..Limits::default()
    };
    let err = Container::from_bytes(&example_bytes(), &limits).unwrap_err();
    assert!(matches!(
        err,
        Error::DimensionsTooLarge {
            width: 100,
            max_width: 99,
            ..
        }
    ));
    let limits = Limits {
        max_pixels: 3999,
        ..Limits::default()
    };
    assert!(Container::from_bytes(&example_bytes(), &limits).is_err());
    // The writer refuses too.
    let mut c = spec_example();
    c.header.height = 65_536;
    c.header.tile_height = 65_536;
    assert!(matches!(
        c.to_bytes(),
        Err(Error::DimensionsTooLarge { .. })
    ));
}

#[test]
fn color_layouts() {
    for code in [0u8, 5, 0x80, 255] {
        let err = read_patched(|b| b[off::COLOR] = code);
        assert!(
            matches!(err, Error::UnknownColorLayout(c) if c == code),
            "{err}"
        );
        assert!(err
            .to_string()
            .starts_with(&format!("unknown colour layout code {code} ")));
    }
    // The reserved layouts are carried faithfully.
    for layout in [ColorLayout::Gray8, ColorLayout::Rgba8, ColorLayout::Rgb16] {
        let mut c = spec_example();
        c.header.color = layout;
        let bytes = c.to_bytes().unwrap();
        assert_eq!(bytes[off::COLOR], layout.code());
        assert_eq!(
            Container::from_bytes(&bytes, &Limits::default()).unwrap(),
            c
        );
    }
}

#[test]
fn non_finite_quality() {
    for q in [
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::from_bits(0x7fc0_0001),
    ] {
        let err = read_patched(|b| put_u32(b, off::QUALITY, q.to_bits()));
        assert!(
            matches!(err, Error::NonFiniteQuality(bits) if bits == q.to_bits()),
            "{err}"
        );
        let mut c = spec_example();
        c.header.quality = q;
        assert!(matches!(c.to_bytes(), Err(Error::NonFiniteQuality(_))));
    }
    let err = read_patched(|b| put_u32(b, off::QUALITY, f32::INFINITY.to_bits()));
    assert_eq!(
        err.to_string(),
        "the quality is not a finite number (IEEE-754 bits 0x7f800000)"
    );
    // Every finite value, including -0.0 and subnormals, is stored bit-exactly.
    for q in [-0.0f32, f32::MIN_POSITIVE / 2.0, f32::MAX, 0.1] {
        let mut c = spec_example();
        c.header.quality = q;
        let read = Container::from_bytes(&c.to_bytes().unwrap(), &Limits::default()).unwrap();
        assert_eq!(read.header.quality.to_bits(), q.to_bits());
    }
}

#[test]
fn tile_count_mismatch_on_write() {
    let mut c = spec_example();
    c.tiles.pop();
    let err = c.to_bytes().unwrap_err();
    assert!(matches!(
        err,
        Error::TileCountMismatch {
            expected: 2,
            found: 1
        }
    ));
    assert_eq!(
        err.to_string(),
        "the tiling layout needs 2 tiles but the container has 1"
    );
    // Nothing is written when validation fails.
    let mut out = Vec::new();
    assert!(c.write_to(&mut out).is_err());
    assert!(out.is_empty());
}

#[test]
fn tile_table_claims_more_tiles_than_present() {
    // 1×1 tiles: 4000 tile records claimed, 2 present.
    let err = read_patched(|b| {
        put_u32(b, off::TILE_WIDTH, 1);
        put_u32(b, off::TILE_HEIGHT, 1);
    });
    assert!(
        matches!(
            err,
            Error::Truncated {
                what: "tile table",
                needed: 24_059,
                available: 105
            }
        ),
        "{err}"
    );
}

#[test]
fn section_table_errors() {
    // A section count of 65535 with 2 entries present.
    let err = read_patched(|b| put_u16(b, TILE0_SECTION_COUNT, u16::MAX));
    assert!(
        matches!(
            err,
            Error::Truncated {
                what: "section table",
                ..
            }
        ),
        "{err}"
    );

    // Two latent sections in one tile.
    let err = read_patched(|b| b[TILE0_ENTRY0_KIND] = SectionKind::Latent.code());
    assert!(matches!(err, Error::MalformedSectionTable(_)));
    assert_eq!(
        err.to_string(),
        "malformed section table: tile 0 has more than one latent (y) section"
    );

    // Lengths that leave payload bytes unclaimed.
    let err = read_patched(|b| put_u32(b, TILE0_ENTRY0_LEN, 2));
    assert_eq!(
        err.to_string(),
        "malformed section table: the section lengths add up to 13 bytes but the payload area \
         holds 14 bytes"
    );

    // Writer-side checks.
    let mut c = spec_example();
    c.tiles[1].sections[0].kind = SectionKind::Latent;
    assert!(matches!(c.to_bytes(), Err(Error::MalformedSectionTable(_))));
    let mut c = spec_example();
    c.tiles[0].sections.push(Section {
        kind: SectionKind::Unknown(1),
        data: vec![],
    });
    let err = c.to_bytes().unwrap_err();
    assert_eq!(
        err.to_string(),
        "malformed section table: tile 0 has a section of kind Unknown(1); write it as the \
         hyper-latent (z) kind"
    );
    let mut c = spec_example();
    c.tiles[0].sections = vec![
        Section {
            kind: SectionKind::Unknown(7),
            data: vec![]
        };
        65_536
    ];
    assert!(matches!(c.to_bytes(), Err(Error::MalformedSectionTable(_))));
    c.tiles[0].sections.pop();
    assert!(c.to_bytes().is_ok(), "65535 sections are allowed");
}

#[test]
fn four_gigabyte_section_claim() {
    let err = read_patched(|b| put_u32(b, TILE0_ENTRY0_LEN, u32::MAX));
    assert!(
        matches!(
            err,
            Error::Truncated {
                what: "section payloads",
                needed: 4_294_967_397,
                available: 105
            }
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "truncated .ansel data while reading the section payloads: 4294967397 bytes needed, \
         only 105 available"
    );
}

#[test]
fn malformed_lengths() {
    // A 1.0 file must have a 59-byte header.
    let err = read_patched(|b| put_u16(b, off::HEADER_LEN, 60));
    assert_eq!(
        err.to_string(),
        "malformed .ansel file: header length 60 is invalid for version 1.0 (expected 59)"
    );
    // A file length too small for header, one tile record and checksum.
    let mut bytes = example_bytes();
    bytes[off::FILE_LEN..off::FILE_LEN + 8].copy_from_slice(&64u64.to_le_bytes());
    let err = Container::from_bytes(&bytes, &Limits::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "malformed .ansel file: file length 64 is less than the 69 bytes of the header, one tile \
         record and the checksum"
    );
}

/// A reader that yields `prefix`, then fails.
struct FailingReader<'a> {
    prefix: &'a [u8],
}

impl io::Read for FailingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.prefix.is_empty() {
            return Err(io::Error::other("disk on fire"));
        }
        let n = buf.len().min(self.prefix.len());
        buf[..n].copy_from_slice(&self.prefix[..n]);
        self.prefix = &self.prefix[n..];
        Ok(n)
    }
}

struct FailingWriter;

impl io::Write for FailingWriter {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::other("disk full"))
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn io_errors() {
    let bytes = example_bytes();
    for n in [0, 5, 20, 60] {
        let err = Container::read_from(
            FailingReader {
                prefix: &bytes[..n],
            },
            &Limits::default(),
        )
        .unwrap_err();
        assert!(matches!(err, Error::Io(_)), "{err}");
        assert_eq!(err.to_string(), "I/O error: disk on fire");
    }
    let err = spec_example().write_to(FailingWriter).unwrap_err();
    assert_eq!(err.to_string(), "I/O error: disk full");
}

#[test]
fn empty_tiles_and_sections_are_valid() {
    let c = Container {
        tiles: vec![
            Tile {
                index_check: 1,
                sections: vec![]
            };
            2
        ],
        ..spec_example()
    };
    let bytes = c.to_bytes().unwrap();
    assert_eq!(bytes.len(), 59 + 2 * 6 + 4);
    assert_eq!(
        Container::from_bytes(&bytes, &Limits::default()).unwrap(),
        c
    );
}

/// The metadata example with its `kind` part replaced by `data`, written
/// (the part carried as an unknown kind, which the writer does not examine),
/// patched back to `kind` and resealed, then read.
fn read_with_metadata(kind: SectionKind, data: Vec<u8>) -> Result<Container, Error> {
    let mut c = common::metadata_example();
    let index = c.tiles[0]
        .sections
        .iter()
        .position(|s| s.kind == kind)
        .unwrap();
    c.tiles[0].sections[index] = Section {
        kind: SectionKind::Unknown(200),
        data,
    };
    let mut bytes = c.to_bytes().unwrap();
    let entry = off::TABLE + 6 + 5 * index;
    assert_eq!(bytes[entry], 200);
    bytes[entry] = kind.code();
    bytes[off::MINOR] = 1;
    reseal(&mut bytes);
    Container::from_bytes(&bytes, &Limits::default())
}

#[test]
fn malformed_metadata_is_refused_by_reader_and_writer() {
    let cases: Vec<(SectionKind, Vec<u8>, &str)> = vec![
        (
            SectionKind::Icc,
            vec![0; 100],
            "malformed ICC profile section: shorter than the 128-byte profile header and tag count",
        ),
        (
            SectionKind::Icc,
            {
                let mut icc = common::tiny_icc(&[]);
                icc[3] += 1;
                icc
            },
            "malformed ICC profile section: the profile size in its header differs from the \
             section length",
        ),
        (
            SectionKind::Icc,
            {
                let mut icc = common::tiny_icc(&[]);
                icc[36] = b'x';
                icc
            },
            "malformed ICC profile section: no 'acsp' profile signature at offset 36",
        ),
        (
            SectionKind::Exif,
            b"Exif\0\0II*\0\x08\0\0\0".to_vec(),
            "malformed EXIF section: it does not start with a TIFF header (II*\\0 or MM\\0*)",
        ),
        (
            SectionKind::Exif,
            b"MM\0*\0\0\x01\0".to_vec(),
            "malformed EXIF section: the offset of its first IFD lies outside the section",
        ),
        (
            SectionKind::Xmp,
            vec![],
            "malformed XMP section: the packet is empty",
        ),
        (
            SectionKind::Xmp,
            b"<x:xmpmeta>\xff</x:xmpmeta>".to_vec(),
            "malformed XMP section: the packet is not UTF-8",
        ),
    ];
    for (kind, data, message) in cases {
        let err = read_with_metadata(kind, data.clone()).unwrap_err();
        assert!(matches!(err, Error::MalformedMetadata { kind: k, .. } if k == kind));
        assert_eq!(err.to_string(), message);
        let mut c = common::metadata_example();
        let mut metadata = c.metadata();
        match kind {
            SectionKind::Icc => metadata.icc = Some(data),
            SectionKind::Exif => metadata.exif = Some(data),
            _ => metadata.xmp = Some(data),
        }
        assert_eq!(metadata.validate().unwrap_err().to_string(), message);
        c.set_metadata(metadata).unwrap();
        assert_eq!(c.to_bytes().unwrap_err().to_string(), message);
    }
}

#[test]
#[cfg_attr(miri, ignore = "builds sections of several MiB, too slow to interpret")]
fn oversized_metadata_is_refused() {
    for kind in [SectionKind::Icc, SectionKind::Exif, SectionKind::Xmp] {
        let limit = kind.max_len().unwrap();
        let data = match kind {
            SectionKind::Icc => common::tiny_icc(&vec![0; limit as usize - 131]),
            SectionKind::Exif => {
                let mut exif = common::tiny_exif();
                exif.resize(limit as usize + 1, 0);
                exif
            }
            _ => vec![b' '; limit as usize + 1],
        };
        assert_eq!(data.len() as u64, u64::from(limit) + 1);
        let err = read_with_metadata(kind, data.clone()).unwrap_err();
        assert!(
            matches!(err, Error::MetadataTooLarge { kind: k, size, limit: l }
                if k == kind && size == u64::from(limit) + 1 && l == limit),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "the {kind} section is {} bytes long, more than the limit of {limit} bytes",
                limit + 1
            )
        );
        let mut metadata = common::metadata_example().metadata();
        match kind {
            SectionKind::Icc => metadata.icc = Some(data),
            SectionKind::Exif => metadata.exif = Some(data),
            _ => metadata.xmp = Some(data),
        }
        assert!(matches!(
            metadata.validate(),
            Err(Error::MetadataTooLarge { .. })
        ));
        // At the limit it is fine.
        let mut at_limit = metadata.clone();
        for part in [&mut at_limit.icc, &mut at_limit.exif, &mut at_limit.xmp] {
            if let Some(d) = part.as_mut().filter(|d| d.len() > limit as usize) {
                d.truncate(limit as usize);
                if kind == SectionKind::Icc {
                    d[..4].copy_from_slice(&limit.to_be_bytes());
                }
            }
        }
        assert!(at_limit.validate().is_ok(), "{kind} at its limit");
    }
}

#[test]
fn metadata_belongs_in_tile_0_once() {
    // In tile 1 of the two-tile example.
    let mut c = spec_example();
    c.tiles[1].sections.push(Section {
        kind: SectionKind::Xmp,
        data: b"<x/>".to_vec(),
    });
    let err = c.to_bytes().unwrap_err();
    assert_eq!(
        err.to_string(),
        "malformed section table: tile 1 has an XMP section; metadata sections belong in tile 0"
    );
    // The reader says the same of such a file.
    c.tiles[1].sections.last_mut().unwrap().kind = SectionKind::Unknown(200);
    let mut bytes = c.to_bytes().unwrap();
    let at = bytes.iter().rposition(|&b| b == 200).unwrap();
    bytes[at] = SectionKind::Xmp.code();
    common::reseal(&mut bytes);
    let err = Container::from_bytes(&bytes, &Limits::default()).unwrap_err();
    assert!(matches!(err, Error::MalformedSectionTable(_)), "{err}");
    // Twice in tile 0.
    let mut c = common::metadata_example();
    let exif = c.tiles[0].sections[1].clone();
    assert_eq!(exif.kind, SectionKind::Exif);
    c.tiles[0].sections.push(exif);
    assert_eq!(
        c.to_bytes().unwrap_err().to_string(),
        "malformed section table: tile 0 has more than one EXIF section"
    );
    // Unknown(3..=5) must be written as the named kinds.
    let mut c = spec_example();
    c.tiles[0].sections.push(Section {
        kind: SectionKind::Unknown(4),
        data: common::tiny_exif(),
    });
    assert!(matches!(c.to_bytes(), Err(Error::MalformedSectionTable(_))));
}
