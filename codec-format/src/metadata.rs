//! The image's metadata (ICC profile, EXIF, XMP): sections of tile 0 since
//! version 1.1, and the checks a reader and a writer apply to their content.

use crate::{Container, Error, Section, SectionKind};

/// The metadata an image carries besides its pixels, each part stored as
/// given (not compressed) in a section of tile 0.
///
/// ```
/// use codec_format::*;
///
/// let mut container = Container {
///     header: Header {
///         width: 8, height: 8, color: ColorLayout::Rgb8,
///         model: ModelId { arch: 1, hash: [0; 16] }, quality: 1.0,
///         tile_width: 8, tile_height: 8,
///     },
///     tiles: vec![Tile { index_check: 0, sections: vec![] }],
/// };
/// let metadata = Metadata {
///     exif: Some(b"II*\0\x08\0\0\0\0\0\0\0\0\0".to_vec()),
///     xmp: Some(b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>".to_vec()),
///     ..Metadata::default()
/// };
/// container.set_metadata(metadata.clone())?;
/// let bytes = container.to_bytes()?;
/// assert_eq!(Container::inspect(&bytes, &Limits::default())?.version, VERSION); // 1.1
/// assert_eq!(Container::from_bytes(&bytes, &Limits::default())?.metadata(), metadata);
/// # Ok::<(), codec_format::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Metadata {
    /// The ICC colour profile ([`SectionKind::Icc`]).
    pub icc: Option<Vec<u8>>,
    /// EXIF, from its TIFF header on ([`SectionKind::Exif`]).
    pub exif: Option<Vec<u8>>,
    /// The XMP packet ([`SectionKind::Xmp`]).
    pub xmp: Option<Vec<u8>>,
}

impl Metadata {
    /// Whether there is no metadata at all.
    pub fn is_empty(&self) -> bool {
        self.icc.is_none() && self.exif.is_none() && self.xmp.is_none()
    }

    /// The parts present, as `(kind, bytes)`, in file order (ICC, EXIF, XMP).
    pub fn parts(&self) -> impl Iterator<Item = (SectionKind, &[u8])> {
        [
            (SectionKind::Icc, &self.icc),
            (SectionKind::Exif, &self.exif),
            (SectionKind::Xmp, &self.xmp),
        ]
        .into_iter()
        .filter_map(|(kind, data)| data.as_deref().map(|d| (kind, d)))
    }

    /// The part of `kind`, if present (`None` for a non-metadata kind).
    pub fn get(&self, kind: SectionKind) -> Option<&[u8]> {
        match kind {
            SectionKind::Icc => self.icc.as_deref(),
            SectionKind::Exif => self.exif.as_deref(),
            SectionKind::Xmp => self.xmp.as_deref(),
            _ => None,
        }
    }

    /// Bytes the metadata adds to a file: the payloads and their section
    /// entries (5 bytes each).
    pub fn encoded_len(&self) -> u64 {
        self.parts()
            .map(|(_, d)| d.len() as u64 + crate::layout::SECTION_ENTRY_LEN as u64)
            .sum()
    }

    /// Checks each part as a reader would: its size limit
    /// ([`SectionKind::max_len`]) and its content (see [`check_content`]).
    /// Encoders can call it to drop a malformed part instead of failing.
    pub fn validate(&self) -> Result<(), Error> {
        self.parts()
            .try_for_each(|(kind, data)| check_part(kind, data))
    }
}

/// Checks one metadata part: size limit, then content.
pub fn check_part(kind: SectionKind, data: &[u8]) -> Result<(), Error> {
    if let Some(limit) = kind.max_len() {
        if data.len() as u64 > u64::from(limit) {
            return Err(Error::MetadataTooLarge {
                kind,
                size: data.len() as u64,
                limit,
            });
        }
    }
    check_content(kind, data)
}

/// Checks that a section's payload holds what its kind says; only metadata
/// kinds are examined (the entropy-coded streams are opaque).
///
/// * ICC profile: at least the 128-byte header and the tag count, the size
///   in its header (big-endian `u32` at 0) equal to the payload's length, and
///   the signature `acsp` at offset 36.
/// * EXIF: a TIFF header (`II*\0` or `MM\0*`) whose first IFD offset lies
///   inside the payload, after the header.
/// * XMP: non-empty UTF-8.
///
/// ```
/// use codec_format::{check_content, SectionKind};
/// assert!(check_content(SectionKind::Xmp, b"<x:xmpmeta/>").is_ok());
/// let err = check_content(SectionKind::Exif, b"Exif\0\0II*\0").unwrap_err();
/// assert_eq!(err.to_string(), "malformed EXIF section: it does not start with a TIFF header \
///                              (II*\\0 or MM\\0*)");
/// ```
pub fn check_content(kind: SectionKind, data: &[u8]) -> Result<(), Error> {
    let fail = |reason| Err(Error::MalformedMetadata { kind, reason });
    match kind {
        SectionKind::Icc => {
            if data.len() < 132 {
                return fail("shorter than the 128-byte profile header and tag count");
            }
            let declared = u32::from_be_bytes(data[..4].try_into().expect("4 bytes"));
            if declared as usize != data.len() {
                return fail("the profile size in its header differs from the section length");
            }
            if &data[36..40] != b"acsp" {
                return fail("no 'acsp' profile signature at offset 36");
            }
        }
        SectionKind::Exif => {
            let offset = match data.get(..8) {
                Some(&[b'I', b'I', 42, 0, a, b, c, d]) => u32::from_le_bytes([a, b, c, d]),
                Some(&[b'M', b'M', 0, 42, a, b, c, d]) => u32::from_be_bytes([a, b, c, d]),
                _ => return fail("it does not start with a TIFF header (II*\\0 or MM\\0*)"),
            };
            if offset < 8 || offset as usize >= data.len() {
                return fail("the offset of its first IFD lies outside the section");
            }
        }
        SectionKind::Xmp => {
            if data.is_empty() {
                return fail("the packet is empty");
            }
            if std::str::from_utf8(data).is_err() {
                return fail("the packet is not UTF-8");
            }
        }
        _ => {}
    }
    Ok(())
}

impl Container {
    /// The metadata in tile 0's sections (empty if there is none).
    pub fn metadata(&self) -> Metadata {
        let mut metadata = Metadata::default();
        for s in self.tiles.iter().take(1).flat_map(|t| &t.sections) {
            let slot = match s.kind {
                SectionKind::Icc => &mut metadata.icc,
                SectionKind::Exif => &mut metadata.exif,
                SectionKind::Xmp => &mut metadata.xmp,
                _ => continue,
            };
            slot.get_or_insert_with(|| s.data.clone());
        }
        metadata
    }

    /// Replaces the metadata sections of tile 0 by `metadata`'s parts, placed
    /// first in the tile (ICC, EXIF, XMP) so that a reader meets them before
    /// the pixels. Fails on a container without tiles (which is invalid).
    /// The parts are checked when the container is written.
    pub fn set_metadata(&mut self, metadata: Metadata) -> Result<(), Error> {
        let Some(tile) = self.tiles.first_mut() else {
            return Err(Error::Malformed(
                "a container without tiles cannot hold metadata".into(),
            ));
        };
        tile.sections.retain(|s| !s.kind.is_metadata());
        let Metadata { icc, exif, xmp } = metadata;
        let parts = [
            (SectionKind::Icc, icc),
            (SectionKind::Exif, exif),
            (SectionKind::Xmp, xmp),
        ];
        let new: Vec<Section> = parts
            .into_iter()
            .filter_map(|(kind, data)| data.map(|data| Section { kind, data }))
            .collect();
        tile.sections.splice(0..0, new);
        Ok(())
    }

    /// Whether any section is metadata: such a file is written as version
    /// 1.1, any other as 1.0.
    pub(crate) fn has_metadata(&self) -> bool {
        self.tiles
            .iter()
            .flat_map(|t| &t.sections)
            .any(|s| s.kind.is_metadata())
    }
}
