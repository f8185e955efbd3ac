//! Parsing. See `SPEC.md` for the layout and the order of the checks.
//!
//! Allocation rule: nothing is allocated with a size taken from the file
//! before checking that the bytes it describes are present.

use std::io::Read;

use crate::container::check_section_table;
use crate::layout::{CHECKSUM_LEN, HEADER_LEN, PREAMBLE_LEN, SECTION_ENTRY_LEN, TILE_RECORD_LEN};
use crate::{
    ColorLayout, Container, Error, Header, Info, Limits, ModelId, Section, SectionInfo,
    SectionKind, Tile, TileInfo, Version, MAGIC, VERSION,
};

/// The fixed first 20 bytes, common to every 1.x file.
struct Preamble {
    version: Version,
    header_len: u16,
    file_len: u64,
}

/// A little-endian reader over a byte slice that never reads past its end:
/// every read names what it reads, and a short slice gives
/// [`Error::Truncated`] with the offsets counted from the start of the slice.
/// The container's parser uses it, and so can other binary structures that
/// travel with streams (model packages, entropy tables).
///
/// ```
/// let mut r = codec_format::Reader::new(&[1, 0, 2, 0, 0, 0]);
/// assert_eq!(r.u16("a")?, 1);
/// assert_eq!(r.u32("b")?, 2);
/// assert!(r.is_empty());
/// assert!(r.u8("c").is_err());
/// # Ok::<(), codec_format::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    /// Bytes read so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// Whether every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], Error> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len());
        let Some(end) = end else {
            return Err(Error::Truncated {
                what,
                needed: self.pos as u64 + n as u64,
                available: self.bytes.len() as u64,
            });
        };
        let slice = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    /// The next `N` bytes.
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], Error> {
        let slice = self.take(N, what)?;
        Ok(slice.try_into().expect("take returned N bytes"))
    }

    /// The next value, little-endian.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, Error> {
        Ok(self.array::<1>(what)?[0])
    }
    /// The next value, little-endian.
    pub fn u16(&mut self, what: &'static str) -> Result<u16, Error> {
        self.array(what).map(u16::from_le_bytes)
    }
    /// The next value, little-endian.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, Error> {
        self.array(what).map(u32::from_le_bytes)
    }
    /// The next value, little-endian.
    pub fn u64(&mut self, what: &'static str) -> Result<u64, Error> {
        self.array(what).map(u64::from_le_bytes)
    }
}

/// Checks magic, version, header length and file length; only looks at the
/// first [`PREAMBLE_LEN`] bytes of `bytes`, which may be shorter.
fn preamble(bytes: &[u8], limits: &Limits) -> Result<Preamble, Error> {
    let n = bytes.len().min(MAGIC.len());
    if bytes[..n] != MAGIC[..n] {
        return Err(Error::BadMagic {
            found: bytes[..n].to_vec(),
            expected: MAGIC,
        });
    }
    let mut cur = Reader::new(bytes);
    cur.take(MAGIC.len(), "magic number")?;
    let version = Version {
        major: cur.u8("version")?,
        minor: cur.u8("version")?,
    };
    if version.major != VERSION.major {
        return Err(Error::UnsupportedVersion {
            found: version,
            supported: VERSION,
        });
    }
    let header_len = cur.u16("header")?;
    let file_len = cur.u64("header")?;
    if file_len > limits.max_file_bytes {
        return Err(Error::FileTooLarge {
            size: file_len,
            limit: limits.max_file_bytes,
        });
    }
    let newer_minor = version.minor > VERSION.minor;
    if usize::from(header_len) < HEADER_LEN
        || (!newer_minor && usize::from(header_len) != HEADER_LEN)
    {
        return Err(Error::Malformed(format!(
            "header length {header_len} is invalid for version {version} (expected {HEADER_LEN}{})",
            if newer_minor { " or more" } else { "" }
        )));
    }
    let min_file_len = u64::from(header_len) + (TILE_RECORD_LEN + CHECKSUM_LEN) as u64;
    if file_len < min_file_len {
        return Err(Error::Malformed(format!(
            "file length {file_len} is less than the {min_file_len} bytes of the header, \
             one tile record and the checksum"
        )));
    }
    Ok(Preamble {
        version,
        header_len,
        file_len,
    })
}

/// Parses and checks a whole file; the payloads are located, not copied.
pub(crate) fn parse(bytes: &[u8], limits: &Limits) -> Result<Info, Error> {
    let pre = preamble(bytes, limits)?;
    let len = bytes.len() as u64;
    if len < pre.file_len {
        return Err(Error::Truncated {
            what: "file",
            needed: pre.file_len,
            available: len,
        });
    }
    if len > pre.file_len {
        return Err(Error::TrailingBytes {
            expected: pre.file_len,
            found: len,
        });
    }

    // Checksum first: nothing past the preamble is interpreted before it.
    let (body, stored) = bytes.split_at(bytes.len() - CHECKSUM_LEN);
    let checksum = u32::from_le_bytes(stored.try_into().expect("4 bytes"));
    if limits.verify_checksum {
        let computed = crc32c::crc32c(body);
        if computed != checksum {
            return Err(Error::ChecksumMismatch {
                stored: checksum,
                computed,
            });
        }
    }

    let header = header(body)?;
    header.validate(limits)?;
    let tiles = tile_table(&header, body, usize::from(pre.header_len))?;
    Ok(Info {
        version: pre.version,
        header_len: pre.header_len,
        file_len: pre.file_len,
        checksum,
        header,
        tiles,
    })
}

/// Decodes the 1.0 header fields (offsets 20..59). Extra fields of a newer
/// minor, between offset 59 and `header_len`, are skipped by the caller.
fn header(body: &[u8]) -> Result<Header, Error> {
    let mut cur = Reader {
        bytes: &body[..HEADER_LEN],
        pos: PREAMBLE_LEN,
    };
    const WHAT: &str = "header";
    let width = cur.u32(WHAT)?;
    let height = cur.u32(WHAT)?;
    let tile_width = cur.u32(WHAT)?;
    let tile_height = cur.u32(WHAT)?;
    let quality = f32::from_bits(cur.u32(WHAT)?);
    let model = ModelId {
        arch: cur.u16(WHAT)?,
        hash: cur.array(WHAT)?,
    };
    let color = ColorLayout::from_code(cur.u8(WHAT)?)?;
    Ok(Header {
        width,
        height,
        color,
        model,
        quality,
        tile_width,
        tile_height,
    })
}

/// Parses the tile table starting at `start`; `body` is the file without its
/// checksum. Checks that the section lengths exactly cover the rest of `body`.
fn tile_table(header: &Header, body: &[u8], start: usize) -> Result<Vec<TileInfo>, Error> {
    let count = header.tile_count_u64();
    // Every tile record takes at least TILE_RECORD_LEN bytes: check that they
    // are there before allocating `count` entries.
    let min_table_len = count.saturating_mul(TILE_RECORD_LEN as u64);
    if min_table_len > (body.len() - start) as u64 {
        return Err(Error::Truncated {
            what: "tile table",
            needed: (start as u64).saturating_add(min_table_len),
            available: body.len() as u64,
        });
    }
    let mut cur = Reader {
        bytes: body,
        pos: start,
    };
    let mut tiles = Vec::with_capacity(count as usize);
    let mut payload_len: u64 = 0; // running total, offsets relative to the payload area
    for t in 0..count as usize {
        let index_check = cur.u32("tile table")?;
        let n = usize::from(cur.u16("tile table")?);
        let entries = cur.take(n * SECTION_ENTRY_LEN, "section table")?;
        let sections: Vec<SectionInfo> = entries
            .chunks_exact(SECTION_ENTRY_LEN)
            .map(|entry| {
                let len = u32::from_le_bytes(entry[1..5].try_into().expect("4 bytes"));
                let kind = SectionKind::from_code(entry[0]);
                let section = SectionInfo {
                    kind,
                    offset: payload_len,
                    len,
                };
                payload_len = payload_len.saturating_add(u64::from(len));
                section
            })
            .collect();
        check_section_table(t, sections.iter().map(|s| (s.kind, u64::from(s.len))))?;
        tiles.push(TileInfo {
            index_check,
            sections,
        });
    }

    let table_end = cur.pos as u64;
    let payload_area = body.len() as u64 - table_end;
    if payload_len > payload_area {
        return Err(Error::Truncated {
            what: "section payloads",
            needed: table_end.saturating_add(payload_len),
            available: body.len() as u64,
        });
    }
    if payload_len < payload_area {
        return Err(Error::MalformedSectionTable(format!(
            "the section lengths add up to {payload_len} bytes but the payload area holds \
             {payload_area} bytes"
        )));
    }
    for section in tiles.iter_mut().flat_map(|t| &mut t.sections) {
        section.offset += table_end;
        let start = section.offset as usize;
        crate::metadata::check_content(section.kind, &body[start..start + section.len as usize])?;
    }
    Ok(tiles)
}

/// Copies the payloads located by `info` out of `bytes` (which `parse`
/// checked).
pub(crate) fn container(bytes: &[u8], info: Info) -> Container {
    let tiles = info
        .tiles
        .into_iter()
        .map(|tile| Tile {
            index_check: tile.index_check,
            sections: tile
                .sections
                .into_iter()
                .map(|s| {
                    let start = s.offset as usize;
                    Section {
                        kind: s.kind,
                        data: bytes[start..start + s.len as usize].to_vec(),
                    }
                })
                .collect(),
        })
        .collect();
    Container {
        header: info.header,
        tiles,
    }
}

/// Reads exactly one file's bytes from `r`: the preamble first, then at most
/// `file_len - 20` more bytes through `take`, so memory only grows with the
/// bytes that actually arrive. A short read is reported by `parse`.
pub(crate) fn read_file_bytes<R: Read>(mut r: R, limits: &Limits) -> Result<Vec<u8>, Error> {
    let mut bytes = Vec::with_capacity(PREAMBLE_LEN);
    (&mut r).take(PREAMBLE_LEN as u64).read_to_end(&mut bytes)?;
    let pre = preamble(&bytes, limits)?;
    (&mut r)
        .take(pre.file_len - PREAMBLE_LEN as u64)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}
