//! Model packages: everything the codec needs to code with one trained network, in one file.
//!
//! A package holds the network weights (burnpack), the integer entropy-coding tables built at
//! export, the quantisation offsets of z, and metadata. Its identity, the first 16 bytes of
//! SHA-256 over weights and tables, is written into every stream, so a stream is never decoded
//! by the wrong model.
//!
//! Layout (little-endian):
//! ```text
//! magic      8 bytes  "ANSELPKG"
//! version    u32      1
//! count      u32      number of parts
//! per part:  tag [u8; 4], length u64, bytes
//! digest     32 bytes SHA-256 of everything above
//! ```
//! Parts: `META` (JSON [`ModelMetadata`]), `WGTS` (burnpack weights), `ZTAB` (tables of z; their
//! keys are the channel medians), `YTAB` (tables of y; their keys are the scale ladder).
//! Unknown parts are ignored.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::model::NetworkConfig;

pub(crate) const MAGIC: &[u8; 8] = b"ANSELPKG";
const VERSION: u32 = 1;

/// Architecture id of the mean-scale hyperprior with gain units, as written in streams.
pub const ARCH_MEAN_SCALE_GAIN: u16 = 1;

/// Errors reading a model package.
#[derive(Debug, Error)]
pub enum PackageError {
    /// Not a model package.
    #[error("not an ansel model package (bad magic)")]
    BadMagic,
    /// Made by a newer ansel.
    #[error("model package version {0} is not supported (this build reads version {VERSION})")]
    UnsupportedVersion(u32),
    /// Cut short.
    #[error("model package is truncated")]
    Truncated,
    /// Damaged.
    #[error("model package digest mismatch: the file is corrupt")]
    DigestMismatch,
    /// A required part is absent.
    #[error("model package lacks its {0} part")]
    MissingPart(&'static str),
    /// A part could not be parsed.
    #[error("model package part {0} is malformed: {1}")]
    Malformed(&'static str, String),
}

/// Descriptive metadata of a trained model.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModelMetadata {
    /// Architecture id written into streams.
    pub arch: u16,
    /// Network shape.
    pub network: NetworkConfig,
    /// λ of each quality rung.
    pub lambdas: Vec<f64>,
    /// Training steps.
    pub steps: u64,
    /// Training wall time, seconds.
    pub train_seconds: f64,
    /// SHA-256 (hex) of the training set's file list and contents, or empty if unknown.
    pub dataset_hash: String,
    /// Free-form note (machine, command).
    pub note: String,
}

/// The raw parts of a model package.
#[derive(Debug, Clone, PartialEq)]
pub struct Package {
    /// Metadata.
    pub metadata: ModelMetadata,
    /// Network weights (burnpack bytes).
    pub weights: Vec<u8>,
    /// Serialized entropy tables of z.
    pub z_tables: Vec<u8>,
    /// Serialized entropy tables of y.
    pub y_tables: Vec<u8>,
}

impl Package {
    /// The model id written into streams: SHA-256 of weights and tables, first 16 bytes.
    pub fn id(&self) -> [u8; 16] {
        let mut h = Sha256::new();
        for part in [&self.weights, &self.z_tables, &self.y_tables] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part);
        }
        let d = h.finalize();
        let mut id = [0u8; 16];
        id.copy_from_slice(&d[..16]);
        id
    }

    /// Serializes the package.
    pub fn to_bytes(&self) -> Vec<u8> {
        let meta = serde_json::to_vec_pretty(&self.metadata).expect("metadata serializes");
        let parts: [(&[u8; 4], &[u8]); 4] = [
            (b"META", &meta),
            (b"WGTS", &self.weights),
            (b"ZTAB", &self.z_tables),
            (b"YTAB", &self.y_tables),
        ];
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&(parts.len() as u32).to_le_bytes());
        for (tag, bytes) in parts {
            out.extend_from_slice(tag);
            out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
            out.extend_from_slice(bytes);
        }
        let digest = Sha256::digest(&out);
        out.extend_from_slice(&digest);
        out
    }

    /// Parses and verifies a package.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PackageError> {
        if bytes.len() < 8 || &bytes[..8] != MAGIC {
            return Err(PackageError::BadMagic);
        }
        if bytes.len() < 16 + 32 {
            return Err(PackageError::Truncated);
        }
        let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
        if version != VERSION {
            return Err(PackageError::UnsupportedVersion(version));
        }
        let (body, digest) = bytes.split_at(bytes.len() - 32);
        if Sha256::digest(body).as_slice() != digest {
            return Err(PackageError::DigestMismatch);
        }
        let count = u32::from_le_bytes(body[12..16].try_into().expect("4 bytes"));
        let mut parts: Vec<([u8; 4], &[u8])> = Vec::new();
        let mut pos = 16usize;
        for _ in 0..count {
            let head = body.get(pos..pos + 12).ok_or(PackageError::Truncated)?;
            let tag: [u8; 4] = head[..4].try_into().expect("4 bytes");
            let len = u64::from_le_bytes(head[4..12].try_into().expect("8 bytes"));
            let len = usize::try_from(len).map_err(|_| PackageError::Truncated)?;
            let end = pos.checked_add(12 + len).ok_or(PackageError::Truncated)?;
            let data = body.get(pos + 12..end).ok_or(PackageError::Truncated)?;
            parts.push((tag, data));
            pos = end;
        }
        let part = |tag: &[u8; 4], name: &'static str| {
            parts
                .iter()
                .find(|(t, _)| t == tag)
                .map(|(_, d)| *d)
                .ok_or(PackageError::MissingPart(name))
        };
        let metadata: ModelMetadata = serde_json::from_slice(part(b"META", "META")?)
            .map_err(|e| PackageError::Malformed("META", e.to_string()))?;
        Ok(Self {
            metadata,
            weights: part(b"WGTS", "WGTS")?.to_vec(),
            z_tables: part(b"ZTAB", "ZTAB")?.to_vec(),
            y_tables: part(b"YTAB", "YTAB")?.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Package {
        Package {
            metadata: ModelMetadata {
                arch: ARCH_MEAN_SCALE_GAIN,
                network: NetworkConfig::new(8, 8),
                lambdas: vec![0.1, 0.2],
                steps: 3,
                train_seconds: 1.5,
                dataset_hash: "abc".into(),
                note: String::new(),
            },
            weights: vec![1, 2, 3],
            z_tables: vec![4, 5],
            y_tables: vec![6],
        }
    }

    #[test]
    fn round_trips_and_rejects_damage() {
        let p = sample();
        let bytes = p.to_bytes();
        assert_eq!(Package::from_bytes(&bytes).unwrap(), p);
        for cut in 0..bytes.len() {
            assert!(Package::from_bytes(&bytes[..cut]).is_err());
        }
        let mut bad = bytes.clone();
        bad[20] ^= 1;
        assert!(matches!(
            Package::from_bytes(&bad),
            Err(PackageError::DigestMismatch)
        ));
    }

    #[test]
    fn id_depends_on_weights() {
        let a = sample();
        let mut b = sample();
        b.weights[0] ^= 1;
        assert_ne!(a.id(), b.id());
        assert_eq!(a.id(), sample().id());
    }
}
