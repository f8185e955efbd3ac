//! Resource limits applied while reading (and writing) a container.

/// Limits a reader enforces before trusting the numbers in a file, plus the
/// checksum switch.
///
/// Readers check these *before* allocating anything sized by the file, so a
/// hostile file cannot make them allocate more than the limits (and the bytes
/// actually present) allow. Writers check against [`Limits::default`], so
/// everything this crate writes is readable with the default limits.
///
/// ```
/// use codec_format::Limits;
///
/// // A reader for a thumbnail service: small images, small files.
/// let limits = Limits { max_width: 4096, max_height: 4096, max_pixels: 1 << 24,
///                       max_file_bytes: 16 << 20, ..Limits::default() };
/// assert!(limits.verify_checksum);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limits {
    /// Largest accepted image width in pixels (default 65 535).
    pub max_width: u32,
    /// Largest accepted image height in pixels (default 65 535).
    pub max_height: u32,
    /// Largest accepted `width * height` (default 2^28 = 268 435 456).
    pub max_pixels: u64,
    /// Largest accepted file, in bytes, checksum included (default 1 GiB).
    pub max_file_bytes: u64,
    /// Verify the CRC-32C of the file before parsing it (default `true`).
    ///
    /// **Leave this on.** Turning it off is only meant for fuzzing the parser
    /// (random mutations almost never carry a valid checksum) and for
    /// recovery or inspection tools that want to show what a corrupt file
    /// claims. Every other check still applies when it is off.
    pub verify_checksum: bool,
}

impl Limits {
    /// The default limits: 65 535 × 65 535 pixels per side, 2^28 pixels,
    /// 1 GiB per file, checksum verified.
    pub const DEFAULT: Limits = Limits {
        max_width: 65_535,
        max_height: 65_535,
        max_pixels: 1 << 28,
        max_file_bytes: 1 << 30,
        verify_checksum: true,
    };
}

impl Limits {
    /// Checks an image size against these limits: at least 1 × 1, at most `max_width` ×
    /// `max_height` and `max_pixels` in all.
    ///
    /// ```
    /// use codec_format::Limits;
    /// assert!(Limits::DEFAULT.check_dimensions(65_535, 4096).is_ok());
    /// assert!(Limits::DEFAULT.check_dimensions(0, 1).is_err());
    /// ```
    pub fn check_dimensions(&self, width: u32, height: u32) -> Result<(), crate::Error> {
        for (value, field) in [(width, "image width"), (height, "image height")] {
            if value == 0 {
                return Err(crate::Error::ZeroDimension { field });
            }
        }
        if width > self.max_width
            || height > self.max_height
            || u64::from(width) * u64::from(height) > self.max_pixels
        {
            return Err(crate::Error::DimensionsTooLarge {
                width,
                height,
                max_width: self.max_width,
                max_height: self.max_height,
                max_pixels: self.max_pixels,
            });
        }
        Ok(())
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}
