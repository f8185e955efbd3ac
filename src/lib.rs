//! ansel: a learned image codec.
//!
//! [`Codec`] compresses an [`image::RgbImage`] into an `.ansel` stream and back, with the
//! model embedded in the library ([`Codec::embedded`]) or a model package
//! ([`Codec::from_package_file`]); quality is a number from 1 to 8, fractions allowed, or a
//! target size ([`Codec::encode_to_bpp`]); [`Codec::encode_with`] trades encode time for
//! smaller files ([`refine`]). [`register_image_hook`] lets the `image` crate open
//! `.ansel` files. Errors are [`Error`].
//!
//! ```
//! let codec = ansel::Codec::embedded()?;
//! let image = image::RgbImage::from_fn(48, 32, |x, y| image::Rgb([x as u8 * 5, y as u8 * 7, 60]));
//! let stream = codec.encode(&image, 4.0)?;
//! let decoded = codec.decode(&stream)?;
//! assert_eq!(decoded.dimensions(), (48, 32));
//! # Ok::<(), ansel::Error>(())
//! ```
#![warn(missing_docs)]

pub mod backend;
pub mod codec;
pub mod entropy;
mod error;
pub mod eval;
mod hook;
pub mod image_io;
pub mod model;
pub mod output;
pub mod package;
pub mod refine;
pub mod train;

pub use codec::Codec;
pub use codec_format;
pub use error::Error;
pub use hook::register_image_hook;

/// The README's Rust examples, compiled as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
