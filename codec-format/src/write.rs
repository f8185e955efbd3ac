//! Serialisation. See `SPEC.md` for the layout.

use crate::layout::{CHECKSUM_LEN, HEADER_LEN, SECTION_ENTRY_LEN, TILE_RECORD_LEN};
use crate::{Container, Version, MAGIC, VERSION};

/// Size of the encoded file. Meaningful for any container; `encode` relies on
/// it only for validated ones.
pub(crate) fn encoded_len(c: &Container) -> u64 {
    let tables: u64 = c
        .tiles
        .iter()
        .map(|t| TILE_RECORD_LEN as u64 + (SECTION_ENTRY_LEN * t.sections.len()) as u64)
        .sum();
    let payloads: u64 = c
        .tiles
        .iter()
        .flat_map(|t| &t.sections)
        .map(|s| s.data.len() as u64)
        .sum();
    HEADER_LEN as u64 + tables + payloads + CHECKSUM_LEN as u64
}

/// Encodes a container that passed [`Container::validate`].
pub(crate) fn encode(c: &Container) -> Vec<u8> {
    let file_len = encoded_len(c);
    let h = &c.header;
    let mut out = Vec::with_capacity(file_len as usize);

    // Preamble (offsets 0..20).
    out.extend_from_slice(&MAGIC);
    // The lowest version that describes the file: 1.0 unless it holds metadata.
    let version = if c.has_metadata() {
        VERSION
    } else {
        Version { major: 1, minor: 0 }
    };
    out.extend_from_slice(&[version.major, version.minor]);
    out.extend_from_slice(&(HEADER_LEN as u16).to_le_bytes());
    out.extend_from_slice(&file_len.to_le_bytes());
    // Header fields (offsets 20..59).
    for v in [
        h.width,
        h.height,
        h.tile_width,
        h.tile_height,
        h.quality.to_bits(),
    ] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&h.model.arch.to_le_bytes());
    out.extend_from_slice(&h.model.hash);
    out.push(h.color.code());
    debug_assert_eq!(out.len(), HEADER_LEN);

    // Tile table. Validation guarantees the casts are lossless.
    for tile in &c.tiles {
        out.extend_from_slice(&tile.index_check.to_le_bytes());
        out.extend_from_slice(&(tile.sections.len() as u16).to_le_bytes());
        for s in &tile.sections {
            out.push(s.kind.code());
            out.extend_from_slice(&(s.data.len() as u32).to_le_bytes());
        }
    }
    // Payloads, in table order.
    for s in c.tiles.iter().flat_map(|t| &t.sections) {
        out.extend_from_slice(&s.data);
    }
    // Checksum of everything before it.
    let crc = crc32c::crc32c(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    debug_assert_eq!(out.len() as u64, file_len);
    out
}
