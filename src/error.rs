//! The error type of the library.

use codec_format::ModelId;
use thiserror::Error;

/// Everything that can go wrong while encoding or decoding.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The container is malformed, truncated, corrupt or from an unsupported version.
    #[error(transparent)]
    Format(#[from] codec_format::Error),
    /// An entropy-coded section could not be decoded.
    #[error("corrupt entropy-coded data: {0}")]
    Entropy(#[from] crate::entropy::EntropyError),
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
    Corrupt(String),
    /// A feature of the stream this build does not implement.
    #[error("unsupported stream feature: {0}")]
    Unsupported(String),
    /// Quality out of range.
    #[error("quality {0} is out of range: use a number from 1 to 8")]
    Quality(f32),
    /// A target rate that is not a positive number of bits per pixel.
    #[error("target rate {0} bpp is out of range: use a positive number of bits per pixel")]
    TargetRate(f64),
    /// The model package could not be loaded.
    #[error("model package: {0}")]
    Package(#[from] crate::package::PackageError),
    /// A file could not be read or written.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    /// The model weights could not be loaded.
    #[error("model weights: {0}")]
    Model(String),
    /// The requested compute device is not available.
    #[error("device: {0}")]
    Device(String),
}
