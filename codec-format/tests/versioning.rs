//! The versioning policy: newer minors of major 1 are read (unknown header
//! fields and section kinds skipped), other majors are refused.

mod common;

use codec_format::{Container, Error, Limits, SectionKind, Version, VERSION};
use common::{
    as_newer_minor, metadata_example, newer_minor_example, off, put_u16, reseal, spec_example,
};

#[test]
fn newer_minor_with_extra_header_bytes_and_unknown_section_reads_fine() {
    let bytes = newer_minor_example();
    assert_eq!(bytes[off::MINOR], 2);
    assert_eq!(bytes[off::HEADER_LEN], 70);

    let info = Container::inspect(&bytes, &Limits::default()).unwrap();
    assert_eq!(info.version, Version { major: 1, minor: 2 });
    assert_eq!(info.header_len, 70);

    let c = Container::from_bytes(&bytes, &Limits::default()).unwrap();
    let expected = spec_example();
    assert_eq!(c.header, expected.header);
    // The decoder's sections are where they were; the unknown one is kept.
    for (tile, exp) in c.tiles.iter().zip(&expected.tiles) {
        assert_eq!(tile.index_check, exp.index_check);
        for kind in [SectionKind::HyperLatent, SectionKind::Latent] {
            assert_eq!(tile.section(kind), exp.section(kind));
        }
    }
    assert_eq!(
        c.tiles[1].section(SectionKind::Unknown(9)),
        Some(&b"future"[..])
    );

    // The stream reader agrees.
    assert_eq!(
        Container::read_from(&bytes[..], &Limits::default()).unwrap(),
        c
    );

    // Re-writing produces a 1.0 file (extra header fields dropped, unknown
    // sections kept; no metadata, so no 1.1 feature) that reads back to the
    // same container.
    let rewritten = c.to_bytes().unwrap();
    assert_eq!(rewritten[off::MINOR], 0);
    assert_eq!(rewritten.len(), bytes.len() - 11);
    assert_eq!(
        Container::from_bytes(&rewritten, &Limits::default()).unwrap(),
        c
    );
}

#[test]
fn newer_minor_without_extra_fields_reads_fine() {
    let bytes = as_newer_minor(&spec_example().to_bytes().unwrap(), 255, &[]);
    let c = Container::from_bytes(&bytes, &Limits::default()).unwrap();
    assert_eq!(c, spec_example());
}

#[test]
fn newer_minor_still_needs_the_known_fields() {
    let mut bytes = as_newer_minor(&spec_example().to_bytes().unwrap(), 2, &[]);
    put_u16(&mut bytes, off::HEADER_LEN, 58);
    reseal(&mut bytes);
    let err = Container::from_bytes(&bytes, &Limits::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "malformed .ansel file: header length 58 is invalid for version 1.2 (expected 59 or more)"
    );
}

#[test]
fn known_minor_must_not_have_extra_header_bytes() {
    for minor in [0, 1] {
        let mut bytes = as_newer_minor(&spec_example().to_bytes().unwrap(), 2, &[0; 4]);
        bytes[off::MINOR] = minor;
        reseal(&mut bytes);
        let err = Container::from_bytes(&bytes, &Limits::default()).unwrap_err();
        assert!(matches!(err, Error::Malformed(_)), "{err}");
    }
}

#[test]
fn files_are_written_as_the_lowest_version_that_describes_them() {
    // No metadata: a 1.0 file, byte for byte what a 1.0 writer wrote.
    assert_eq!(spec_example().to_bytes().unwrap()[off::MINOR], 0);
    // Metadata: 1.1.
    let bytes = metadata_example().to_bytes().unwrap();
    assert_eq!(bytes[off::MINOR], VERSION.minor);
    assert_eq!(VERSION, Version { major: 1, minor: 1 });
    assert_eq!(
        Container::from_bytes(&bytes, &Limits::default())
            .unwrap()
            .metadata(),
        metadata_example().metadata()
    );
}

/// What a 1.0 reader sees in a 1.1 file, and what a 1.1 reader makes of a
/// file a 1.0 writer re-wrote: the metadata sections are sections of unknown
/// kinds 3 to 5 to the former, carried unchanged, and metadata again to the
/// latter whatever minor the file declares.
#[test]
fn metadata_survives_a_1_0_rewrite() {
    let c = metadata_example();
    let as_1_0 = Container {
        header: c.header,
        tiles: c
            .tiles
            .iter()
            .map(|t| codec_format::Tile {
                index_check: t.index_check,
                sections: t.sections.clone(),
            })
            .collect(),
    };
    let mut bytes = as_1_0.to_bytes().unwrap();
    bytes[off::MINOR] = 0;
    reseal(&mut bytes);
    let read = Container::from_bytes(&bytes, &Limits::default()).unwrap();
    assert_eq!(read.metadata(), c.metadata());
    assert_eq!(
        read.tiles[0].section(SectionKind::Icc),
        c.tiles[0].section(SectionKind::Icc)
    );
}

#[test]
fn other_majors_are_refused_naming_both_versions() {
    let mut bytes = spec_example().to_bytes().unwrap();
    bytes[off::MAJOR] = 2;
    bytes[off::MINOR] = 0;
    // Whatever follows: a 2.0 file may have a different layout and checksum.
    let err = Container::from_bytes(&bytes, &Limits::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unsupported .ansel format version 2.0: this reader implements version 1.1 and can read \
         files of major version 1"
    );
}
