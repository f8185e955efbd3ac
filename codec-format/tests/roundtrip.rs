//! Property tests: valid containers round-trip byte-exactly; damaged or
//! random inputs give errors, never panics.

mod common;

use codec_format::{Container, Error, Limits, VERSION};
use common::{arb_container, no_crc};
use proptest::prelude::*;
use proptest::sample::Index;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// write → read → same struct → write → same bytes; the streaming reader
    /// and `inspect` agree with `from_bytes`.
    #[test]
    fn round_trips_byte_exactly(c in arb_container()) {
        let bytes = c.to_bytes().unwrap();
        prop_assert_eq!(bytes.len() as u64, c.encoded_len());

        let read = Container::from_bytes(&bytes, &Limits::default()).unwrap();
        prop_assert_eq!(&read, &c);
        prop_assert_eq!(read.header.quality.to_bits(), c.header.quality.to_bits());
        prop_assert_eq!(&read.to_bytes().unwrap(), &bytes);

        let mut via_writer = Vec::new();
        c.write_to(&mut via_writer).unwrap();
        prop_assert_eq!(&via_writer, &bytes);
        prop_assert_eq!(&Container::read_from(&bytes[..], &Limits::default()).unwrap(), &c);

        let info = Container::inspect(&bytes, &Limits::default()).unwrap();
        let metadata = c.metadata();
        let minor = if metadata.is_empty() { 0 } else { VERSION.minor };
        prop_assert_eq!(info.version.minor, minor);
        prop_assert_eq!(read.metadata(), metadata);
        prop_assert_eq!(info.file_len, bytes.len() as u64);
        prop_assert_eq!(info.header, c.header);
        prop_assert_eq!(info.tiles.len(), c.tiles.len());
        for (ti, tile) in info.tiles.iter().zip(&c.tiles) {
            prop_assert_eq!(ti.index_check, tile.index_check);
            prop_assert_eq!(ti.sections.len(), tile.sections.len());
            for (si, s) in ti.sections.iter().zip(&tile.sections) {
                prop_assert_eq!(si.kind, s.kind);
                let start = si.offset as usize;
                prop_assert_eq!(&bytes[start..start + si.len as usize], &s.data[..]);
            }
        }
    }

    /// Any strict prefix is an error, from memory and from a stream.
    #[test]
    fn prefixes_are_errors(c in arb_container(), cut in any::<Index>()) {
        let bytes = c.to_bytes().unwrap();
        let n = cut.index(bytes.len());
        prop_assert!(Container::from_bytes(&bytes[..n], &Limits::default()).is_err());
        prop_assert!(Container::from_bytes(&bytes[..n], &no_crc()).is_err());
        prop_assert!(Container::read_from(&bytes[..n], &Limits::default()).is_err());
    }

    /// Any single-bit flip is an error; without the checksum it may parse,
    /// but never panics, and what parses re-encodes to the same bytes
    /// (apart from the checksum): the encoding is canonical.
    #[test]
    fn bit_flips_are_errors(c in arb_container(), at in any::<Index>(), bit in 0..8u8) {
        let mut bytes = c.to_bytes().unwrap();
        let i = at.index(bytes.len());
        bytes[i] ^= 1 << bit;
        prop_assert!(Container::from_bytes(&bytes, &Limits::default()).is_err());
        if let Ok(parsed) = Container::from_bytes(&bytes, &no_crc()) {
            let again = parsed.to_bytes().unwrap();
            let body = bytes.len() - 4;
            // Canonical when the file declares the version the writer picks for it.
            if bytes[9] == again[9] {
                prop_assert_eq!(&again[..body], &bytes[..body]);
            }
        }
    }

    /// Random bytes never panic, with or without checksum.
    #[test]
    fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = Container::from_bytes(&bytes, &Limits::default());
        let _ = Container::from_bytes(&bytes, &no_crc());
        let _ = Container::read_from(&bytes[..], &no_crc());
    }

    /// Random bytes behind a valid preamble reach the header and table
    /// parsers (checksum off) and never panic.
    #[test]
    fn garbage_after_preamble_never_panics(
        tail in prop::collection::vec(any::<u8>(), 39..200),
        header_len in prop_oneof![Just(59u16), any::<u16>()],
        minor in 0u8..3,
    ) {
        let mut bytes = codec_format::MAGIC.to_vec();
        bytes.extend_from_slice(&[VERSION.major, minor]);
        bytes.extend_from_slice(&header_len.to_le_bytes());
        bytes.extend_from_slice(&(20 + tail.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&tail);
        match Container::from_bytes(&bytes, &no_crc()) {
            Ok(parsed) => prop_assert!(parsed.validate(&Limits::default()).is_ok()),
            Err(Error::Io(_)) => prop_assert!(false, "no I/O when reading from memory"),
            Err(_) => {}
        }
    }
}
