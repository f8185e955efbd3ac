//! The error type of the crate.

use crate::header::Version;
use crate::SectionKind;

/// Everything that can go wrong while reading, validating or writing an
/// `.ansel` container.
///
/// Every variant's message says what is wrong in words a user can act on;
/// variants carry the numbers involved so that tools can report them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input does not start with [`MAGIC`](crate::MAGIC): it is not an
    /// `.ansel` file.
    #[error("not an .ansel file: the first bytes are {found:02x?}, expected {expected:02x?}")]
    BadMagic {
        /// The first bytes of the input (at most 8).
        found: Vec<u8>,
        /// The magic number this reader expects.
        expected: [u8; 8],
    },

    /// The file's major version is not the one this reader implements.
    #[error(
        "unsupported .ansel format version {found}: this reader implements version {supported} \
         and can read files of major version {}", supported.major
    )]
    UnsupportedVersion {
        /// The version written in the file.
        found: Version,
        /// The version this reader implements ([`VERSION`](crate::VERSION)).
        supported: Version,
    },

    /// The input ends before the structure being read is complete.
    #[error("truncated .ansel data while reading the {what}: {needed} bytes needed, only {available} available")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// How many bytes, counted from the start of the file, the input
        /// must hold for that structure to be complete.
        needed: u64,
        /// How many bytes the input holds (for structures inside the file:
        /// up to the checksum).
        available: u64,
    },

    /// The input is longer than the file length recorded in its header.
    #[error(
        "trailing data after the end of the .ansel file: the header says the file is \
         {expected} bytes long but the input is {found} bytes"
    )]
    TrailingBytes {
        /// The file length recorded in the header.
        expected: u64,
        /// The length of the input.
        found: u64,
    },

    /// The file is larger than [`Limits::max_file_bytes`](crate::Limits::max_file_bytes).
    #[error("the .ansel file is {size} bytes long, more than the limit of {limit} bytes")]
    FileTooLarge {
        /// The file length (as recorded in the header, or as written).
        size: u64,
        /// The configured limit.
        limit: u64,
    },

    /// The CRC-32C stored at the end of the file does not match the bytes:
    /// the file is corrupt.
    #[error(
        "the .ansel file is corrupt: stored checksum {stored:#010x}, computed {computed:#010x}"
    )]
    ChecksumMismatch {
        /// The checksum stored in the file.
        stored: u32,
        /// The checksum of the bytes actually present.
        computed: u32,
    },

    /// A width or height (of the image or of a tile) is zero.
    #[error("the {field} is zero; it must be at least 1 pixel")]
    ZeroDimension {
        /// Which dimension: `"image width"`, `"image height"`, `"tile width"`
        /// or `"tile height"`.
        field: &'static str,
    },

    /// The image is larger than the configured [`Limits`](crate::Limits).
    #[error(
        "image of {width}x{height} pixels exceeds the limits \
         (at most {max_width}x{max_height} and {max_pixels} pixels in total)"
    )]
    DimensionsTooLarge {
        /// Image width in pixels.
        width: u32,
        /// Image height in pixels.
        height: u32,
        /// Configured maximum width.
        max_width: u32,
        /// Configured maximum height.
        max_height: u32,
        /// Configured maximum number of pixels.
        max_pixels: u64,
    },

    /// The colour layout code is not one this reader knows.
    #[error("unknown colour layout code {0} (known: 1 = RGB 8-bit, 2 = grey 8-bit, 3 = RGBA 8-bit, 4 = RGB 16-bit)")]
    UnknownColorLayout(u8),

    /// The quality is NaN or infinite.
    #[error("the quality is not a finite number (IEEE-754 bits {0:#010x})")]
    NonFiniteQuality(u32),

    /// The number of tiles does not match the tiling layout of the header
    /// (only when writing: a reader derives the count from the header).
    #[error("the tiling layout needs {expected} tiles but the container has {found}")]
    TileCountMismatch {
        /// `tiles_x * tiles_y` from the header.
        expected: u64,
        /// Number of tiles present.
        found: u64,
    },

    /// A tile's section table is inconsistent (duplicate section, too many
    /// sections, lengths that do not add up, ...).
    #[error("malformed section table: {0}")]
    MalformedSectionTable(String),

    /// A metadata section is larger than its kind allows
    /// ([`SectionKind::max_len`](crate::SectionKind::max_len)).
    #[error("the {kind} section is {size} bytes long, more than the limit of {limit} bytes")]
    MetadataTooLarge {
        /// The section's kind.
        kind: SectionKind,
        /// Its length in bytes.
        size: u64,
        /// The limit for that kind.
        limit: u32,
    },

    /// A metadata section does not hold what its kind says (an ICC profile
    /// whose header is wrong, EXIF without a TIFF header, XMP that is not
    /// UTF-8).
    #[error("malformed {kind} section: {reason}")]
    MalformedMetadata {
        /// The section's kind.
        kind: SectionKind,
        /// What is wrong.
        reason: &'static str,
    },

    /// Some other structural inconsistency, described by the message.
    #[error("malformed .ansel file: {0}")]
    Malformed(String),

    /// An I/O error from the underlying reader or writer.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}
