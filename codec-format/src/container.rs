//! The container: header, tiles, section tables; validation and the public
//! read/write entry points.

use std::fmt;
use std::io::{Read, Write};

use crate::{read, write, Error, Header, Limits, Version};

/// What a section holds.
///
/// Codes 1 and 2 (the entropy-coded streams) are defined by version 1.0,
/// codes 3 to 5 (the image's metadata, in tile 0 only) by version 1.1; every
/// other code is carried as [`SectionKind::Unknown`]: readers keep such
/// sections (so tools can show and re-write them) and the decoder ignores
/// them. This is how a newer minor version adds data that older readers skip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SectionKind {
    /// The hyper-latent stream `z` (code 1).
    HyperLatent,
    /// The latent stream `y` (code 2).
    Latent,
    /// An ICC colour profile, as in an ICC.1 file (code 3, version 1.1).
    Icc,
    /// EXIF metadata: a TIFF structure starting with `II*\0` or `MM\0*`, as
    /// in a PNG `eXIf` chunk (code 4, version 1.1).
    Exif,
    /// An XMP packet, UTF-8 XML (code 5, version 1.1).
    Xmp,
    /// Any other code. Must not be a known code (write those as the named
    /// variants); the writer rejects `Unknown(1)` to `Unknown(5)`.
    Unknown(u8),
}

impl SectionKind {
    /// The byte that encodes this kind in a file.
    pub const fn code(self) -> u8 {
        match self {
            SectionKind::HyperLatent => 1,
            SectionKind::Latent => 2,
            SectionKind::Icc => 3,
            SectionKind::Exif => 4,
            SectionKind::Xmp => 5,
            SectionKind::Unknown(code) => code,
        }
    }

    /// Whether this kind is image metadata (ICC, EXIF, XMP) rather than coded pixels.
    pub const fn is_metadata(self) -> bool {
        matches!(
            self,
            SectionKind::Icc | SectionKind::Exif | SectionKind::Xmp
        )
    }

    /// The largest payload a section of this kind may have, for the metadata
    /// kinds (ICC profile 4 MiB, EXIF 1 MiB, XMP 4 MiB); `None` for the
    /// others, which only the file size limits.
    pub const fn max_len(self) -> Option<u32> {
        match self {
            SectionKind::Icc | SectionKind::Xmp => Some(4 << 20),
            SectionKind::Exif => Some(1 << 20),
            _ => None,
        }
    }

    /// The kind a code stands for (never fails: unknown codes are kept).
    pub const fn from_code(code: u8) -> Self {
        match code {
            1 => SectionKind::HyperLatent,
            2 => SectionKind::Latent,
            3 => SectionKind::Icc,
            4 => SectionKind::Exif,
            5 => SectionKind::Xmp,
            other => SectionKind::Unknown(other),
        }
    }
}

impl fmt::Display for SectionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SectionKind::HyperLatent => f.write_str("hyper-latent (z)"),
            SectionKind::Latent => f.write_str("latent (y)"),
            SectionKind::Icc => f.write_str("ICC profile"),
            SectionKind::Exif => f.write_str("EXIF"),
            SectionKind::Xmp => f.write_str("XMP"),
            SectionKind::Unknown(code) => write!(f, "unknown kind {code}"),
        }
    }
}

/// One entropy-coded stream: its kind and its bytes, opaque to this crate.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Section {
    /// What the bytes are.
    pub kind: SectionKind,
    /// The payload (at most `u32::MAX` bytes).
    pub data: Vec<u8>,
}

/// The coded data of one tile.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tile {
    /// CRC-32C the encoder computed over the entropy-model scale indices it
    /// used for this tile. A decoder recomputes it from the indices *it*
    /// derived and fails clearly on a mismatch (e.g. a backend computing the
    /// hyper-synthesis slightly differently) instead of decoding garbage.
    /// Opaque to this crate.
    pub index_check: u32,
    /// The tile's sections, in file order (at most 65 535). At most one
    /// [`SectionKind::HyperLatent`] and one [`SectionKind::Latent`]; any
    /// number of unknown kinds.
    pub sections: Vec<Section>,
}

impl Tile {
    /// The payload of the first section of `kind`, if any.
    ///
    /// ```
    /// use codec_format::{Section, SectionKind, Tile};
    ///
    /// let tile = Tile { index_check: 0, sections: vec![
    ///     Section { kind: SectionKind::Latent, data: vec![1, 2, 3] },
    /// ] };
    /// assert_eq!(tile.section(SectionKind::Latent), Some(&[1, 2, 3][..]));
    /// assert_eq!(tile.section(SectionKind::HyperLatent), None);
    /// ```
    pub fn section(&self, kind: SectionKind) -> Option<&[u8]> {
        self.sections
            .iter()
            .find(|s| s.kind == kind)
            .map(|s| s.data.as_slice())
    }
}

/// A whole `.ansel` file: the header and one [`Tile`] per tile of the
/// header's tiling layout, in row-major order.
///
/// ```
/// use codec_format::*;
///
/// let container = Container {
///     header: Header {
///         width: 100, height: 40, color: ColorLayout::Rgb8,
///         model: ModelId { arch: 1, hash: [7; 16] }, quality: 0.5,
///         tile_width: 100, tile_height: 40,
///     },
///     tiles: vec![Tile { index_check: 0x1234_5678, sections: vec![
///         Section { kind: SectionKind::HyperLatent, data: vec![1, 2] },
///         Section { kind: SectionKind::Latent, data: vec![3, 4, 5] },
///     ] }],
/// };
/// let bytes = container.to_bytes()?;
/// assert_eq!(bytes.len() as u64, container.encoded_len());
/// assert_eq!(&bytes[..8], &MAGIC);
///
/// let read = Container::from_bytes(&bytes, &Limits::default())?;
/// assert_eq!(read, container);
///
/// // A corrupted byte is caught by the checksum before anything is decoded.
/// let mut corrupt = bytes.clone();
/// corrupt[30] ^= 1;
/// assert!(matches!(Container::from_bytes(&corrupt, &Limits::default()),
///                  Err(Error::ChecksumMismatch { .. })));
/// # Ok::<(), codec_format::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Container {
    /// The image header.
    pub header: Header,
    /// `header.tile_count()` tiles, row-major.
    pub tiles: Vec<Tile>,
}

impl Container {
    /// Checks everything a writer checks: the header (see
    /// [`Header::validate`]), the tile count against the tiling layout, each
    /// section table (at most 65 535 sections, each at most `u32::MAX`
    /// bytes, no duplicate known kind, no `Unknown` of a known code,
    /// metadata only in tile 0, within its size limit and well formed, see
    /// [`Metadata`](crate::Metadata)), and the encoded size against
    /// `limits.max_file_bytes`.
    pub fn validate(&self, limits: &Limits) -> Result<(), Error> {
        self.header.validate(limits)?;
        let expected = self.header.tile_count_u64();
        let found = self.tiles.len() as u64;
        if expected != found {
            return Err(Error::TileCountMismatch { expected, found });
        }
        for (t, tile) in self.tiles.iter().enumerate() {
            if tile.sections.len() > usize::from(u16::MAX) {
                return Err(Error::MalformedSectionTable(format!(
                    "tile {t} has {} sections; at most 65535 are allowed",
                    tile.sections.len()
                )));
            }
            for section in &tile.sections {
                if let SectionKind::Unknown(code) = section.kind {
                    if SectionKind::from_code(code) != section.kind {
                        return Err(Error::MalformedSectionTable(format!(
                            "tile {t} has a section of kind Unknown({code}); \
                             write it as the {} kind",
                            SectionKind::from_code(code)
                        )));
                    }
                }
                if u32::try_from(section.data.len()).is_err() {
                    return Err(Error::MalformedSectionTable(format!(
                        "tile {t} has a {} section of {} bytes; at most 4294967295 are allowed",
                        section.kind,
                        section.data.len()
                    )));
                }
            }
            check_section_table(
                t,
                tile.sections.iter().map(|s| (s.kind, s.data.len() as u64)),
            )?;
            for s in &tile.sections {
                crate::metadata::check_content(s.kind, &s.data)?;
            }
        }
        let size = self.encoded_len();
        if size > limits.max_file_bytes {
            return Err(Error::FileTooLarge {
                size,
                limit: limits.max_file_bytes,
            });
        }
        Ok(())
    }

    /// Size in bytes of the encoded file, checksum included.
    pub fn encoded_len(&self) -> u64 {
        write::encoded_len(self)
    }

    /// Encodes the container: as a version [`VERSION`](crate::VERSION) (1.1)
    /// file if it holds metadata sections, as a 1.0 file otherwise.
    ///
    /// Validates first against [`Limits::default`] (see
    /// [`Container::validate`]), so everything written can be read back
    /// with the default limits.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        self.validate(&Limits::default())?;
        Ok(write::encode(self))
    }

    /// Encodes the container (as [`Container::to_bytes`]) and writes it to
    /// `w` in one `write_all` call. Nothing is written if validation fails.
    pub fn write_to<W: Write>(&self, mut w: W) -> Result<(), Error> {
        let bytes = self.to_bytes()?;
        w.write_all(&bytes)?;
        Ok(())
    }

    /// Reads a whole file held in memory.
    ///
    /// In order: magic, version, file length (against `limits` and against
    /// `bytes.len()`: a shorter input is [`Error::Truncated`], a longer one
    /// [`Error::TrailingBytes`]), the checksum (unless
    /// `limits.verify_checksum` is off), and only then the header fields and
    /// the section tables. Nothing is allocated beyond what `bytes` holds.
    pub fn from_bytes(bytes: &[u8], limits: &Limits) -> Result<Self, Error> {
        let info = read::parse(bytes, limits)?;
        Ok(read::container(bytes, info))
    }

    /// Reads one container from a stream, stopping right after its last byte
    /// (the stream may hold more data after it, which is not examined).
    ///
    /// The file length in the header is checked against
    /// `limits.max_file_bytes` before anything else is read, and the rest is
    /// read through [`Read::take`] so memory grows only with the bytes that
    /// actually arrive. Then the same checks as [`Container::from_bytes`]
    /// apply.
    ///
    /// ```
    /// # use codec_format::*;
    /// # let container = Container {
    /// #     header: Header { width: 1, height: 1, color: ColorLayout::Rgb8,
    /// #         model: ModelId { arch: 1, hash: [0; 16] }, quality: 1.0,
    /// #         tile_width: 1, tile_height: 1 },
    /// #     tiles: vec![Tile { index_check: 0, sections: vec![] }],
    /// # };
    /// let mut stream = Vec::new();
    /// container.write_to(&mut stream)?;
    /// container.write_to(&mut stream)?;
    /// let mut reader = &stream[..];
    /// assert_eq!(Container::read_from(&mut reader, &Limits::default())?, container);
    /// assert_eq!(Container::read_from(&mut reader, &Limits::default())?, container);
    /// assert!(reader.is_empty());
    /// # Ok::<(), codec_format::Error>(())
    /// ```
    pub fn read_from<R: Read>(r: R, limits: &Limits) -> Result<Self, Error> {
        let bytes = read::read_file_bytes(r, limits)?;
        Self::from_bytes(&bytes, limits)
    }

    /// Checks a whole file like [`Container::from_bytes`] but returns only
    /// its layout (version, header, section kinds, offsets and lengths)
    /// without copying any payload: what `ansel info` shows.
    ///
    /// With `limits.verify_checksum` off it describes what a corrupt file
    /// claims (all structural checks still apply).
    ///
    /// ```
    /// # use codec_format::*;
    /// # let container = Container {
    /// #     header: Header { width: 1, height: 1, color: ColorLayout::Rgb8,
    /// #         model: ModelId { arch: 1, hash: [0; 16] }, quality: 1.0,
    /// #         tile_width: 1, tile_height: 1 },
    /// #     tiles: vec![Tile { index_check: 0, sections: vec![
    /// #         Section { kind: SectionKind::Latent, data: vec![9; 10] }] }],
    /// # };
    /// let bytes = container.to_bytes()?;
    /// let info = Container::inspect(&bytes, &Limits::default())?;
    /// assert_eq!(info.version, Version { major: 1, minor: 0 }); // no metadata
    /// assert_eq!(info.file_len, bytes.len() as u64);
    /// let section = info.tiles[0].sections[0];
    /// assert_eq!((section.kind, section.len), (SectionKind::Latent, 10));
    /// let start = section.offset as usize;
    /// assert_eq!(&bytes[start..start + 10], &[9; 10]);
    /// # Ok::<(), codec_format::Error>(())
    /// ```
    pub fn inspect(bytes: &[u8], limits: &Limits) -> Result<Info, Error> {
        read::parse(bytes, limits)
    }
}

/// The layout of a file, as returned by [`Container::inspect`].
#[derive(Debug, Clone, PartialEq)]
pub struct Info {
    /// The version written in the file (its minor may be newer than
    /// [`VERSION`](crate::VERSION)'s).
    pub version: Version,
    /// Length of the header in bytes, including header fields this reader
    /// skipped because the file's minor version is newer.
    pub header_len: u16,
    /// Length of the whole file in bytes.
    pub file_len: u64,
    /// The CRC-32C stored at the end of the file.
    pub checksum: u32,
    /// The header.
    pub header: Header,
    /// One entry per tile, row-major.
    pub tiles: Vec<TileInfo>,
}

/// The section table of one tile, as returned by [`Container::inspect`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TileInfo {
    /// See [`Tile::index_check`].
    pub index_check: u32,
    /// The tile's sections in file order.
    pub sections: Vec<SectionInfo>,
}

/// Where one section's payload lies in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SectionInfo {
    /// What the payload is.
    pub kind: SectionKind,
    /// Offset of the payload from the start of the file.
    pub offset: u64,
    /// Length of the payload in bytes.
    pub len: u32,
}

/// Checks one tile's section table: at most one section of each known kind,
/// metadata sections only in tile 0 and within their kind's
/// [`SectionKind::max_len`].
pub(crate) fn check_section_table(
    tile: usize,
    sections: impl IntoIterator<Item = (SectionKind, u64)>,
) -> Result<(), Error> {
    let mut seen = [false; 6];
    for (kind, len) in sections {
        if kind.is_metadata() {
            if tile != 0 {
                return Err(Error::MalformedSectionTable(format!(
                    "tile {tile} has an {kind} section; metadata sections belong in tile 0"
                )));
            }
            let limit = kind.max_len().expect("metadata kinds have a limit");
            if len > u64::from(limit) {
                return Err(Error::MetadataTooLarge {
                    kind,
                    size: len,
                    limit,
                });
            }
        }
        if let SectionKind::Unknown(_) = kind {
            continue;
        }
        if std::mem::replace(&mut seen[usize::from(kind.code())], true) {
            return Err(Error::MalformedSectionTable(format!(
                "tile {tile} has more than one {kind} section"
            )));
        }
    }
    Ok(())
}
