//! Exhaustive damage to the `SPEC.md` example file: every prefix, every
//! single-bit flip and every byte substitution gives an error or (checksum
//! off) a valid container, never a panic.

mod common;

use codec_format::{Container, Error, Limits};
use common::{minimal, no_crc, spec_example};

/// Every position (and byte value) natively; a sample under miri, which interprets each parse
/// thousands of times more slowly.
const STEP: usize = if cfg!(miri) { 13 } else { 1 };

fn samples() -> Vec<Vec<u8>> {
    vec![
        spec_example().to_bytes().unwrap(),
        minimal().to_bytes().unwrap(),
        common::newer_minor_example(),
        common::metadata_example().to_bytes().unwrap(),
    ]
}

#[test]
fn every_prefix_is_an_error() {
    for bytes in samples() {
        for n in (0..bytes.len()).step_by(STEP) {
            let prefix = &bytes[..n];
            for limits in [Limits::default(), no_crc()] {
                let err = Container::from_bytes(prefix, &limits).unwrap_err();
                if n >= 20 {
                    // Past the preamble the file length says what is missing.
                    assert!(
                        matches!(err, Error::Truncated { what: "file", needed, available }
                            if needed == bytes.len() as u64 && available == n as u64),
                        "prefix {n}: {err}"
                    );
                } else {
                    assert!(matches!(err, Error::Truncated { .. }), "prefix {n}: {err}");
                }
                let err = Container::read_from(prefix, &limits).unwrap_err();
                assert!(
                    matches!(err, Error::Truncated { .. }),
                    "stream prefix {n}: {err}"
                );
            }
        }
    }
}

#[test]
fn every_bit_flip_is_an_error() {
    for bytes in samples() {
        for i in (0..bytes.len()).step_by(STEP) {
            for bit in 0..8 {
                let mut flipped = bytes.clone();
                flipped[i] ^= 1 << bit;
                let result = Container::from_bytes(&flipped, &Limits::default());
                assert!(
                    result.is_err(),
                    "flip of bit {bit} of byte {i} was not detected"
                );
                assert!(Container::read_from(&flipped[..], &Limits::default()).is_err());
            }
        }
    }
}

/// With the checksum off, every byte value at every position either fails
/// cleanly or parses into a container that validates and re-encodes to the
/// same bytes (except the checksum) when it declares the version the writer
/// picks for it (1.1 with metadata, 1.0 without).
#[test]
fn every_byte_substitution_without_checksum_is_handled() {
    let mut parsed_ok = 0;
    for bytes in samples() {
        for i in (0..bytes.len()).step_by(STEP) {
            for value in (0..=255u8).step_by(STEP) {
                let mut patched = bytes.clone();
                patched[i] = value;
                let Ok(c) = Container::from_bytes(&patched, &no_crc()) else {
                    continue;
                };
                parsed_ok += 1;
                let again = c.to_bytes().expect("a parsed container is valid");
                let body = patched.len() - 4;
                if patched[9] == again[9] {
                    assert_eq!(again[..body], patched[..body], "byte {i} = {value:#04x}");
                }
            }
        }
    }
    // Payload bytes, index checks, quality, model id ... are free-form.
    assert!(
        parsed_ok > 1000 / (STEP * STEP),
        "only {parsed_ok} substitutions parsed"
    );
}
