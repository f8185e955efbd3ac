//! The error type of the library.

use std::path::PathBuf;

use codec_format::{ColorLayout, ModelId};
use thiserror::Error;

use crate::entropy::EntropyError;
use crate::package::PackageError;

/// Everything that can go wrong while encoding or decoding.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The container is malformed, truncated, corrupt or from an unsupported version.
    #[error(transparent)]
    Format(#[from] codec_format::Error),
    /// An entropy-coded section could not be decoded.
    #[error(transparent)]
    Entropy(#[from] EntropyError),
    /// The stream was made with another model.
    #[error("the stream was made with model {stream}, but model {loaded} is loaded")]
    WrongModel {
        /// Model named by the stream.
        stream: ModelId,
        /// Model in use.
        loaded: ModelId,
    },
    /// The decoder derived other entropy-coding tables than the encoder used: the stream was
    /// made by an ansel older than 0.2 (whose tables depended on the machine and backend that
    /// ran the network) or its hyper-latent section is corrupt.
    #[error(
        "the decoder derives other entropy-coding tables than the encoder used (index checksum \
         {derived:#010x}, stream says {stream:#010x}): the stream was made by an ansel older \
         than 0.2, or it is corrupt"
    )]
    IndexMismatch {
        /// Checksum stored in the stream.
        stream: u32,
        /// Checksum derived by this decoder.
        derived: u32,
    },
    /// The stream is structurally valid but inconsistent.
    #[error("corrupt stream: {0}")]
    Corrupt(&'static str),
    /// A colour layout this build does not decode.
    #[error("unsupported stream feature: colour layout {0:?}")]
    UnsupportedColor(ColorLayout),
    /// A stream of several tiles (this build codes one tile per image).
    #[error("unsupported stream feature: more than one tile")]
    Tiled,
    /// Quality out of range.
    #[error("quality {0} is out of range: use a number from 1 to 8")]
    Quality(f32),
    /// A quality that names none of the networks of a package holding one per quality.
    #[error(
        "this package holds {networks} networks, one per quality 1 to {networks}: quality \
         {quality} is none of them (fractional qualities need a model with gain units)"
    )]
    NetworkQuality {
        /// The quality asked for or read from a stream.
        quality: f32,
        /// Networks of the package.
        networks: usize,
    },
    /// A target rate that is not a positive number of bits per pixel.
    #[error("target rate {0} bpp is out of range: use a positive number of bits per pixel")]
    TargetRate(f64),
    /// The model package could not be loaded.
    #[error(transparent)]
    Package(#[from] PackageError),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// Refinement or a GPU asked of a build without the burn network (feature `burn`).
    #[error("refinement and GPU encoding need ansel built with the `burn` feature")]
    NeedsBurn,
    /// The requested compute device is not available.
    #[cfg(feature = "burn")]
    #[error("device: {0}")]
    Device(String),
}
