//! ansel: a learned image codec.
//!
//! [`Codec`] compresses an [`image::RgbImage`] into an `.ansel` stream and back, with the
//! model embedded in the library ([`Codec::embedded`]) or a model [`Package`]; the rate is a
//! quality from 1 to 8, fractions allowed, or a target size, and refinement trades encode
//! time for smaller files ([`EncodeOptions`]). [`Decoder`] decodes alone, without burn.
//! [`AnselDecoder`] and [`AnselEncoder`] plug ansel into the `image` crate, and
//! [`register_image_hook`] lets `image::open` read `.ansel` files. Streams carry the image's
//! ICC profile, EXIF and XMP ([`Metadata`], see [`metadata`]). Errors are [`Error`].
//!
//! ```
//! let codec = ansel::Codec::embedded()?;
//! let image = image::RgbImage::from_fn(48, 32, |x, y| image::Rgb([x as u8 * 5, y as u8 * 7, 60]));
//! let stream = codec.encode(&image, 4.0)?.bytes;
//! let decoded = codec.decode(&stream)?;
//! assert_eq!(decoded.dimensions(), (48, 32));
//! # Ok::<(), ansel::Error>(())
//! ```
//!
//! # Features
//! - `encode` (default): the encoder, its transforms on the host kernels. Neither it nor the
//!   decoder needs burn; without it (`default-features = false`) the crate decodes only and
//!   builds for `wasm32-unknown-unknown`.
//! - `burn`: the burn network, for refinement ([`Refinement`]), encoding on a GPU and training.
//! - `formats`: the `image` crate's PNG, JPEG, PNM, BMP, TIFF and WebP readers.
//! - `train`, `eval`: the [`train`] and [`eval`] modules (training, model export, and
//!   rate-distortion evaluation in CompressAI's formats).
//! - `cli`: the `ansel` program.
//! - `import`: the [`import`] module (CompressAI checkpoints into packages).
//! - `wgpu`, `vulkan`: the encoder on a GPU (with `burn`); `tch`: training on libtorch.
#![warn(missing_docs)]

mod architecture;
mod decode;
#[cfg(feature = "encode")]
mod encode;
mod error;
mod image_codec;
mod latent;
mod limits;
mod package;
mod pixels;
mod portable;

#[cfg(feature = "burn")]
pub mod backend;
pub mod entropy;
#[cfg(feature = "eval")]
pub mod eval;
pub mod image_io;
#[cfg(feature = "import")]
pub mod import;
pub mod metadata;
#[cfg(all(feature = "burn", not(feature = "train")))]
mod model;
#[cfg(feature = "train")]
pub mod model;
#[cfg(any(feature = "train", feature = "eval"))]
pub mod output;
pub mod quality;
#[cfg(feature = "bench")]
#[doc(hidden)]
pub mod stages;
#[cfg(feature = "train")]
pub mod train;

pub use codec_format;
pub use codec_format::ModelId;
pub use decode::Decoder;
#[cfg(feature = "encode")]
pub use encode::{Codec, EncodeOptions, Encoded, Rate, Refinement};
pub use error::Error;
#[cfg(feature = "encode")]
pub use image_codec::AnselEncoder;
pub use image_codec::{register_image_hook, AnselDecoder};
pub use limits::{check_dimensions, LIMITS};
pub use metadata::Metadata;
pub use package::{
    Hyperprior, ModelMetadata, NetworkConfig, Package, PackageError, PackageNetwork,
};

/// The README's Rust examples, compiled as doctests.
#[doc = include_str!("../README.md")]
#[cfg(all(doctest, feature = "encode"))]
pub struct ReadmeDoctests;
