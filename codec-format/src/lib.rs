//! The `.ansel` bitstream container.
//!
//! An `.ansel` file holds one image compressed by the ansel learned codec:
//! a versioned header (image size, colour layout, model identity, quality,
//! tiling layout), then per tile a table of sections (the entropy-coded
//! hyper-latent `z` stream and latent `y` stream; in tile 0, the image's ICC
//! profile, EXIF and XMP since version 1.1), their payloads, and a CRC-32C
//! over everything. The byte layout is specified in `SPEC.md` next to
//! this crate's `Cargo.toml`.
//!
//! This crate only reads, validates and writes that container; section
//! payloads are opaque bytes. It depends on neither the neural network nor an
//! image library, so tools can inspect `.ansel` files cheaply.
//!
//! ```
//! use codec_format::{ColorLayout, Container, Header, Limits, ModelId, Section, SectionKind, Tile};
//!
//! let container = Container {
//!     header: Header {
//!         width: 1920, height: 1080, color: ColorLayout::Rgb8,
//!         model: ModelId { arch: 1, hash: *b"0123456789abcdef" },
//!         quality: 0.25,
//!         tile_width: 1920, tile_height: 1080, // one tile covering the image
//!     },
//!     tiles: vec![Tile {
//!         index_check: 0xdead_beef,
//!         sections: vec![
//!             Section { kind: SectionKind::HyperLatent, data: vec![0x12, 0x34] },
//!             Section { kind: SectionKind::Latent, data: vec![0x56; 100] },
//!         ],
//!     }],
//! };
//!
//! let bytes = container.to_bytes()?;
//! let decoded = Container::from_bytes(&bytes, &Limits::default())?;
//! assert_eq!(decoded, container);
//! assert_eq!(decoded.tiles[0].section(SectionKind::Latent).unwrap().len(), 100);
//!
//! // Readers fail with a clear error instead of panicking or over-allocating.
//! let err = Container::from_bytes(&bytes[..50], &Limits::default()).unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     format!("truncated .ansel data while reading the file: {} bytes needed, only 50 available",
//!             bytes.len()),
//! );
//! # Ok::<(), codec_format::Error>(())
//! ```
#![deny(missing_docs)]

mod container;
mod error;
mod header;
mod limits;
mod metadata;
mod read;
mod write;

pub use container::{Container, Info, Section, SectionInfo, SectionKind, Tile, TileInfo};
pub use error::Error;
pub use header::{ColorLayout, Header, ModelId, TileRect, Version, MAGIC, VERSION};
pub use limits::Limits;
pub use metadata::{check_content, check_part, Metadata};
pub use read::Reader;

/// Sizes of the fixed parts of a version 1.0 file (see `SPEC.md`).
mod layout {
    /// Magic, version, header length, file length.
    pub const PREAMBLE_LEN: usize = 20;
    /// The whole 1.0 header, preamble included.
    pub const HEADER_LEN: usize = 59;
    /// A tile record without its section entries: index check, section count.
    pub const TILE_RECORD_LEN: usize = 6;
    /// One section entry: kind, length.
    pub const SECTION_ENTRY_LEN: usize = 5;
    /// The trailing CRC-32C.
    pub const CHECKSUM_LEN: usize = 4;
}
