//! The image header: version, size, colour layout, model identity, quality
//! and tiling layout.

use std::fmt;

use crate::{Error, Limits};

/// The 8 bytes every `.ansel` file starts with: `0x89 "ANSEL" "\r\n"`.
///
/// The high-bit first byte and the CR LF pair detect 7-bit transports and
/// text-mode line-ending conversion, as in PNG.
pub const MAGIC: [u8; 8] = *b"\x89ANSEL\r\n";

/// The newest format version this crate writes and fully understands.
///
/// A file holding metadata sections is written as this version (1.1); any
/// other file as version 1.0, byte for byte what a 1.0 writer produces.
pub const VERSION: Version = Version { major: 1, minor: 1 };

/// A format version, `major.minor`.
///
/// A reader accepts any minor of its own major (skipping fields it does not
/// know) and refuses every other major with [`Error::UnsupportedVersion`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// Incompatible layout changes bump the major version.
    pub major: u8,
    /// Backwards-compatible additions (header fields, section kinds) bump the
    /// minor version.
    pub minor: u8,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// How the pixels of the original image are laid out.
///
/// Only [`ColorLayout::Rgb8`] is produced by the codec today; the other codes
/// are reserved so that files using them can be recognised and reported.
/// Codes not listed here are rejected with [`Error::UnknownColorLayout`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColorLayout {
    /// Red, green, blue, 8 bits each (code 1).
    Rgb8,
    /// Reserved: one grey channel, 8 bits (code 2).
    Gray8,
    /// Reserved: red, green, blue, alpha, 8 bits each (code 3).
    Rgba8,
    /// Reserved: red, green, blue, 16 bits each (code 4).
    Rgb16,
}

impl ColorLayout {
    /// The byte that encodes this layout in a file.
    pub const fn code(self) -> u8 {
        match self {
            ColorLayout::Rgb8 => 1,
            ColorLayout::Gray8 => 2,
            ColorLayout::Rgba8 => 3,
            ColorLayout::Rgb16 => 4,
        }
    }

    /// The layout a code stands for, or [`Error::UnknownColorLayout`].
    ///
    /// ```
    /// use codec_format::ColorLayout;
    /// assert_eq!(ColorLayout::from_code(1).unwrap(), ColorLayout::Rgb8);
    /// assert!(ColorLayout::from_code(0).is_err());
    /// ```
    pub fn from_code(code: u8) -> Result<Self, Error> {
        match code {
            1 => Ok(ColorLayout::Rgb8),
            2 => Ok(ColorLayout::Gray8),
            3 => Ok(ColorLayout::Rgba8),
            4 => Ok(ColorLayout::Rgb16),
            other => Err(Error::UnknownColorLayout(other)),
        }
    }

    /// Number of channels per pixel.
    pub const fn channels(self) -> u8 {
        match self {
            ColorLayout::Gray8 => 1,
            ColorLayout::Rgb8 | ColorLayout::Rgb16 => 3,
            ColorLayout::Rgba8 => 4,
        }
    }

    /// Bits per channel sample.
    pub const fn bits_per_sample(self) -> u8 {
        match self {
            ColorLayout::Rgb16 => 16,
            _ => 8,
        }
    }
}

impl fmt::Display for ColorLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ColorLayout::Rgb8 => "RGB 8-bit",
            ColorLayout::Gray8 => "grey 8-bit",
            ColorLayout::Rgba8 => "RGBA 8-bit",
            ColorLayout::Rgb16 => "RGB 16-bit",
        })
    }
}

/// Which trained model produced the stream.
///
/// The codec refuses to decode a stream whose `hash` differs from the hash of
/// the model it has loaded; this crate only carries the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ModelId {
    /// Architecture identifier (network layout, as numbered by the codec).
    pub arch: u16,
    /// 16-byte hash of the model weights and entropy-model tables.
    pub hash: [u8; 16],
}

impl fmt::Display for ModelId {
    /// `arch <n>, hash <32 hex digits>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "arch {}, hash ", self.arch)?;
        self.hash.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// The pixel rectangle of one tile, clipped to the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileRect {
    /// Left column, in pixels.
    pub x: u32,
    /// Top row, in pixels.
    pub y: u32,
    /// Width in pixels (the tile width, or less in the last column).
    pub width: u32,
    /// Height in pixels (the tile height, or less in the last row).
    pub height: u32,
}

/// What the decoder needs to know before it touches the entropy-coded data.
///
/// `width` and `height` are the size of the *original* image: the codec pads
/// internally (to a multiple of 64) and crops back to this size after
/// decoding; padding is never recorded in the file.
///
/// The image is cut into a grid of `tile_width × tile_height` tiles, numbered
/// in row-major order; the last column and row may be narrower. A single tile
/// covering the image (`tile_width = width`, `tile_height = height`) is the
/// usual case.
///
/// ```
/// use codec_format::{ColorLayout, Header, ModelId};
///
/// let header = Header {
///     width: 100, height: 40, color: ColorLayout::Rgb8,
///     model: ModelId { arch: 1, hash: [0; 16] }, quality: 0.5,
///     tile_width: 64, tile_height: 64,
/// };
/// assert_eq!((header.tiles_x(), header.tiles_y(), header.tile_count()), (2, 1, 2));
/// assert_eq!(header.tile_rect(1).unwrap().width, 36);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Header {
    /// Original image width in pixels (1 ..= [`Limits::max_width`]).
    pub width: u32,
    /// Original image height in pixels (1 ..= [`Limits::max_height`]).
    pub height: u32,
    /// Pixel layout of the original image.
    pub color: ColorLayout,
    /// The model the stream was encoded with.
    pub model: ModelId,
    /// The rate setting the encoder used. Stored bit-exactly so the decoder
    /// derives the same gain; must be finite.
    pub quality: f32,
    /// Tile width in pixels (at least 1; may exceed the image width).
    pub tile_width: u32,
    /// Tile height in pixels (at least 1; may exceed the image height).
    pub tile_height: u32,
}

impl Header {
    /// Number of tile columns: `ceil(width / tile_width)`. Zero if a
    /// dimension is zero (such a header is invalid).
    pub fn tiles_x(&self) -> u32 {
        if self.tile_width == 0 {
            0
        } else {
            self.width.div_ceil(self.tile_width)
        }
    }

    /// Number of tile rows: `ceil(height / tile_height)`. Zero if a dimension
    /// is zero (such a header is invalid).
    pub fn tiles_y(&self) -> u32 {
        if self.tile_height == 0 {
            0
        } else {
            self.height.div_ceil(self.tile_height)
        }
    }

    /// Number of tiles, `tiles_x * tiles_y` (saturating at `usize::MAX` on
    /// targets where it does not fit, which a valid header never reaches).
    pub fn tile_count(&self) -> usize {
        usize::try_from(self.tile_count_u64()).unwrap_or(usize::MAX)
    }

    pub(crate) fn tile_count_u64(&self) -> u64 {
        u64::from(self.tiles_x()) * u64::from(self.tiles_y())
    }

    /// `width * height`.
    pub fn pixel_count(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }

    /// The pixel rectangle of tile `index` (row-major), or `None` if there is
    /// no such tile.
    pub fn tile_rect(&self, index: usize) -> Option<TileRect> {
        let tiles_x = self.tiles_x() as usize;
        if index >= self.tile_count() {
            return None;
        }
        // Both fit in u32: index / tiles_x < tiles_y and index % tiles_x < tiles_x.
        let (col, row) = ((index % tiles_x) as u32, (index / tiles_x) as u32);
        let (x, y) = (col * self.tile_width, row * self.tile_height);
        Some(TileRect {
            x,
            y,
            width: self.tile_width.min(self.width - x),
            height: self.tile_height.min(self.height - y),
        })
    }

    /// Checks the header against the format's rules and `limits`: non-zero
    /// image and tile dimensions, image within the limits, finite quality.
    ///
    /// ```
    /// use codec_format::{ColorLayout, Error, Header, Limits, ModelId};
    ///
    /// let mut header = Header {
    ///     width: 0, height: 40, color: ColorLayout::Rgb8,
    ///     model: ModelId { arch: 1, hash: [0; 16] }, quality: 0.5,
    ///     tile_width: 64, tile_height: 64,
    /// };
    /// assert!(matches!(header.validate(&Limits::default()), Err(Error::ZeroDimension { .. })));
    /// header.width = 100;
    /// assert!(header.validate(&Limits::default()).is_ok());
    /// ```
    pub fn validate(&self, limits: &Limits) -> Result<(), Error> {
        limits.check_dimensions(self.width, self.height)?;
        for (value, field) in [
            (self.tile_width, "tile width"),
            (self.tile_height, "tile height"),
        ] {
            if value == 0 {
                return Err(Error::ZeroDimension { field });
            }
        }
        if !self.quality.is_finite() {
            return Err(Error::NonFiniteQuality(self.quality.to_bits()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(width: u32, height: u32, tile_width: u32, tile_height: u32) -> Header {
        Header {
            width,
            height,
            color: ColorLayout::Rgb8,
            model: ModelId {
                arch: 7,
                hash: [0xab; 16],
            },
            quality: 1.0,
            tile_width,
            tile_height,
        }
    }

    #[test]
    fn tile_grid_is_ceil_division() {
        let h = header(100, 40, 64, 64);
        assert_eq!((h.tiles_x(), h.tiles_y(), h.tile_count()), (2, 1, 2));
        let h = header(128, 128, 64, 64);
        assert_eq!(h.tile_count(), 4);
        let h = header(5, 5, u32::MAX, u32::MAX);
        assert_eq!(h.tile_count(), 1);
        let h = header(u32::MAX, u32::MAX, 1, 1);
        assert_eq!(
            h.tile_count_u64(),
            u64::from(u32::MAX) * u64::from(u32::MAX)
        );
        assert_eq!(header(0, 5, 1, 1).tile_count(), 0);
        assert_eq!(header(5, 5, 0, 1).tile_count(), 0);
    }

    #[test]
    fn tile_rects_cover_the_image_row_major() {
        let h = header(100, 70, 64, 64);
        let rects: Vec<_> = (0..h.tile_count())
            .map(|i| h.tile_rect(i).unwrap())
            .collect();
        assert_eq!(
            rects,
            [
                TileRect {
                    x: 0,
                    y: 0,
                    width: 64,
                    height: 64
                },
                TileRect {
                    x: 64,
                    y: 0,
                    width: 36,
                    height: 64
                },
                TileRect {
                    x: 0,
                    y: 64,
                    width: 64,
                    height: 6
                },
                TileRect {
                    x: 64,
                    y: 64,
                    width: 36,
                    height: 6
                },
            ]
        );
        assert_eq!(h.tile_rect(4), None);
        assert_eq!(header(0, 0, 0, 0).tile_rect(0), None);
    }

    #[test]
    fn color_codes_round_trip() {
        for c in [
            ColorLayout::Rgb8,
            ColorLayout::Gray8,
            ColorLayout::Rgba8,
            ColorLayout::Rgb16,
        ] {
            assert_eq!(ColorLayout::from_code(c.code()).unwrap(), c);
        }
        for code in [0, 5, 255] {
            assert!(
                matches!(ColorLayout::from_code(code), Err(Error::UnknownColorLayout(c)) if c == code)
            );
        }
    }

    #[test]
    fn displays() {
        assert_eq!(
            Version {
                major: 1,
                minor: 12
            }
            .to_string(),
            "1.12"
        );
        let id = ModelId {
            arch: 3,
            hash: [0x0f; 16],
        };
        assert_eq!(id.to_string(), format!("arch 3, hash {}", "0f".repeat(16)));
        assert_eq!(ColorLayout::Rgba8.to_string(), "RGBA 8-bit");
    }

    #[test]
    fn validate_checks_limits_and_quality() {
        let limits = Limits::default();
        assert!(header(65_535, 4096, 64, 64).validate(&limits).is_ok());
        assert!(matches!(
            header(65_536, 1, 64, 64).validate(&limits),
            Err(Error::DimensionsTooLarge { width: 65_536, .. })
        ));
        assert!(matches!(
            header(65_535, 65_535, 64, 64).validate(&limits),
            Err(Error::DimensionsTooLarge { .. })
        ));
        assert!(matches!(
            header(5, 5, 5, 0).validate(&limits),
            Err(Error::ZeroDimension {
                field: "tile height"
            })
        ));
        let mut h = header(5, 5, 5, 5);
        h.quality = f32::NAN;
        assert!(matches!(
            h.validate(&limits),
            Err(Error::NonFiniteQuality(_))
        ));
        h.quality = f32::NEG_INFINITY;
        assert!(matches!(
            h.validate(&limits),
            Err(Error::NonFiniteQuality(0xff80_0000))
        ));
    }
}
