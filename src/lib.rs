//! ansel: a learned image codec.
#![warn(missing_docs)]

pub mod backend;
pub mod codec;
pub mod entropy;
mod error;
pub mod eval;
pub mod image_io;
pub mod model;
pub mod package;
pub mod train;

pub use codec::Codec;
pub use codec_format;
pub use error::Error;

/// The README's Rust examples, compiled as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
