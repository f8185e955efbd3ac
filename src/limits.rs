//! The largest images ansel codes, in one place for the encoder, the decoder and the
//! container reader.

use codec_format::Limits;

use crate::Error;

/// Largest image the codec accepts: 16,384 pixels on a side, 40 million pixels in all. The
/// stream is one tile; the transforms run on horizontal bands of it, so memory follows the
/// band, not the image.
pub const LIMITS: Limits = Limits {
    max_width: 16_384,
    max_height: 16_384,
    max_pixels: 40_000_000,
    ..Limits::DEFAULT
};

/// Checks that an image of `width × height` pixels is within the codec's [`LIMITS`]. Encoding
/// makes the same check; this lets a program refuse an image before decoding it in full (the
/// `image` crate reads the dimensions from the file header).
///
/// ```
/// assert!(ansel::check_dimensions(1, 1).is_ok());
/// assert!(ansel::check_dimensions(16_385, 1).is_err());
/// ```
pub fn check_dimensions(width: u32, height: u32) -> Result<(), Error> {
    Ok(LIMITS.check_dimensions(width, height)?)
}
