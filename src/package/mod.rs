//! Model packages: everything the codec needs to code with its trained networks, in one file.
//!
//! A package holds, for each of its networks, the weights (safetensors, convolution kernels in
//! f16), the integer entropy-coding tables built at export, the quantisation offsets of z and
//! metadata, and once the model's identity, which is written into every stream so a stream is
//! never decoded by the wrong model. Reading one needs no burn: the decoder builds its portable
//! networks from the weights directly.
//!
//! Most packages hold one network, which codes every quality through its learned gains. A
//! package may instead hold one network per whole quality, as CompressAI's zoo ships its
//! models (one checkpoint per rate): network k codes quality k.
//!
//! Layout (little-endian):
//! ```text
//! magic      8 bytes  "ANSELPKG"
//! version    u32      2 (one network) or 3 (2 to 8 networks)
//! count      u32      number of parts
//! per part:  tag [u8; 4], length u64, bytes
//! digest     32 bytes SHA-256 of everything above
//! ```
//! Parts: `META` (JSON [`ModelMetadata`]), `IDNT` (the 16-byte model id), `WGTS` (safetensors
//! weights, named as the burn network's parameters), `ZTAB` (tables of z; their keys are the
//! channel medians), `YTAB` (tables of y; their keys are the scale ladder). Unknown parts are
//! ignored. Version 2 holds each part once: `META`, `IDNT`, `WGTS`, `ZTAB`, `YTAB`. Version 3
//! holds `IDNT` once, then `META`, `WGTS`, `ZTAB`, `YTAB` of each network in quality order
//! (networks of one architecture id, possibly of different sizes); readers of version 2 refuse
//! it rather than read its first network alone. The id is the first 16 bytes of SHA-256 over
//! the length and bytes of each network's weights, tables of z and tables of y, in order.
//! Version 1 stored burn's own weight format; `ansel model convert` rewrites such a package as
//! version 2 under the same id.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

pub use crate::architecture::{Hyperprior, NetworkConfig};

// Export is for training; an encoder built without it only loads packages.
#[cfg(feature = "burn")]
#[cfg_attr(not(feature = "train"), allow(dead_code))]
pub(crate) mod export;
pub(crate) mod weights;

/// The first bytes of every model package.
pub const MAGIC: &[u8; 8] = b"ANSELPKG";
/// The version of packages of one network.
pub const VERSION: u32 = 2;
/// The version of packages of several networks, one per quality: the newest this build reads.
pub const MULTI_NETWORK_VERSION: u32 = 3;

/// Errors reading a model package.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PackageError {
    /// Not a model package.
    #[error("not an ansel model package (bad magic)")]
    BadMagic,
    /// Made by a newer ansel.
    #[error(
        "model package version {0} is not supported (this build reads versions {VERSION} and \
         {MULTI_NETWORK_VERSION})"
    )]
    UnsupportedVersion(u32),
    /// A version-1 package, whose weights are in burn's own format.
    #[error(
        "model package version 1 stores its weights in burn's format: convert it with \
         `ansel model convert OLD.anselpkg -o NEW.anselpkg` (the model keeps its id)"
    )]
    NeedsConversion,
    /// `ansel model convert` given a package that is already current.
    #[error(
        "model package version {0} is already current: only version-1 packages need converting"
    )]
    AlreadyCurrent(u32),
    /// Cut short.
    #[error("model package is truncated")]
    Truncated,
    /// Damaged.
    #[error("model package digest mismatch: the file is corrupt")]
    DigestMismatch,
    /// A required part is absent.
    #[error("model package lacks its {0} part")]
    MissingPart(&'static str),
    /// The metadata is not valid JSON of [`ModelMetadata`].
    #[error("model package metadata is malformed: {0}")]
    Metadata(#[source] serde_json::Error),
    /// The id part is not 16 bytes.
    #[error("model package id is {0} bytes, not 16")]
    BadId(usize),
    /// The weights are not a valid safetensors file.
    #[error("model package weights are malformed: {0}")]
    Weights(#[source] safetensors::SafeTensorError),
    /// A tensor the network needs is absent.
    #[error("model package lacks the tensor {0}")]
    MissingTensor(String),
    /// A tensor has another shape than the network of the metadata needs.
    #[error("tensor {name} is {found:?}, but the network of the metadata needs {expected:?}")]
    TensorShape {
        /// Tensor name.
        name: String,
        /// Shape the network needs.
        expected: Box<[usize]>,
        /// Shape in the package.
        found: Box<[usize]>,
    },
    /// A tensor of an element type other than f16, bf16 or f32.
    #[error("tensor {name} has element type {dtype}, not a float type")]
    TensorType {
        /// Tensor name.
        name: String,
        /// Its element type.
        dtype: String,
    },
    /// The weights belong to another network than the metadata describes.
    #[error("the weights do not fit a network of shape {config}: {detail}")]
    WrongNetwork {
        /// The network's shape, from the metadata.
        config: NetworkConfig,
        /// What does not fit.
        detail: String,
    },
    /// An architecture id this build does not run, or one that does not match the network.
    #[error("model architecture {arch} with a network of shape {network} is not one this build runs (1: mean-scale hyperprior, 2: scale-only)")]
    Architecture {
        /// The id in the metadata.
        arch: u16,
        /// The network's shape, from the metadata.
        network: NetworkConfig,
    },
    /// The entropy-coding tables are malformed.
    #[error("model package tables are malformed: {0}")]
    Tables(#[source] crate::entropy::EntropyError),
    /// There is not one table of z per hyper-latent channel, or no table of y.
    #[error("the package has {z} tables of z for {n} channels and {y} tables of y")]
    TableCount {
        /// Tables of z.
        z: usize,
        /// Hyper-latent channels.
        n: usize,
        /// Tables of y.
        y: usize,
    },
    /// burn could not write or read the weights.
    #[cfg(feature = "burn")]
    #[error("model weights: {0}")]
    Store(#[source] burn::store::SafetensorsStoreError),
    /// A package of several networks holds fewer than two or more than one per quality rung.
    #[error(
        "the package holds {0} networks: a package of several networks holds 2 to {n}, one per \
         quality",
        n = crate::quality::RUNGS
    )]
    NetworkCount(usize),
    /// A package of several networks whose parts do not come in whole networks.
    #[error(
        "the package's parts are not whole networks: {meta} META, {weights} WGTS, {z} ZTAB and \
         {y} YTAB"
    )]
    PartCounts {
        /// Metadata parts.
        meta: usize,
        /// Weight parts.
        weights: usize,
        /// Parts of tables of z.
        z: usize,
        /// Parts of tables of y.
        y: usize,
    },
    /// The networks of one package have different architecture ids (a stream names one).
    #[error(
        "network {network} of the package has architecture {arch}, network 1 architecture \
         {first}: the networks of a package share one"
    )]
    MixedArchitectures {
        /// Architecture id of the first network.
        first: u16,
        /// The network (1-based: the quality it codes) that differs.
        network: usize,
        /// Its architecture id.
        arch: u16,
    },
    /// The λ ladder of the metadata is not one positive λ per quality rung.
    #[error("the model lists λ {0:?}, not {n} positive values", n = crate::quality::RUNGS)]
    Lambdas(Vec<f64>),
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

/// One network of a model package: metadata, weights and tables.
#[derive(Debug, Clone, PartialEq)]
pub struct PackageNetwork {
    /// Metadata.
    pub metadata: ModelMetadata,
    /// Network weights (safetensors bytes).
    pub weights: Vec<u8>,
    /// Serialized entropy tables of z.
    pub z_tables: Vec<u8>,
    /// Serialized entropy tables of y.
    pub y_tables: Vec<u8>,
}

/// A model package: identity and one or more networks (see the [module](self) docs).
#[derive(Debug, Clone, PartialEq)]
pub struct Package {
    /// In quality order: network k codes quality k when there are several.
    networks: Vec<PackageNetwork>,
    id: [u8; 16],
}

/// The parts of a version-1 package (burnpack weights), for conversion.
#[cfg(feature = "burn")]
#[cfg_attr(not(feature = "train"), allow(dead_code))]
#[derive(Debug, Clone)]
pub(crate) struct PackageV1 {
    pub metadata: ModelMetadata,
    pub weights: Vec<u8>,
    pub z_tables: Vec<u8>,
    pub y_tables: Vec<u8>,
    /// The id streams of this model carry: SHA-256 over weights and tables, first 16 bytes.
    pub id: [u8; 16],
}

impl Package {
    /// A package of one network of these parts, whose id is the first 16 bytes of SHA-256 over
    /// weights and tables.
    pub fn new(
        metadata: ModelMetadata,
        weights: Vec<u8>,
        z_tables: Vec<u8>,
        y_tables: Vec<u8>,
    ) -> Self {
        let networks = vec![PackageNetwork {
            metadata,
            weights,
            z_tables,
            y_tables,
        }];
        Self {
            id: networks_id(&networks),
            networks,
        }
    }

    /// One package of the networks of `packages`, in order: network k codes quality k. They
    /// must share an architecture id and number at most one per quality rung. One package is
    /// returned as it is (its id kept); the id of several is the hash of all their weights and
    /// tables.
    pub fn bundle(packages: impl IntoIterator<Item = Package>) -> Result<Self, PackageError> {
        let mut packages: Vec<Package> = packages.into_iter().collect();
        if packages.len() == 1 {
            return Ok(packages.remove(0));
        }
        let networks: Vec<PackageNetwork> = packages.into_iter().flat_map(|p| p.networks).collect();
        check_networks(&networks)?;
        Ok(Self {
            id: networks_id(&networks),
            networks,
        })
    }

    /// The networks, in quality order: one, which codes every quality, or one per quality
    /// 1..=K.
    pub fn networks(&self) -> &[PackageNetwork] {
        &self.networks
    }

    /// Metadata of the first network: a single-network package's only one. The networks of
    /// a package share its architecture id; see [`Package::networks`] for the others.
    pub fn metadata(&self) -> &ModelMetadata {
        &self.networks[0].metadata
    }

    /// The first network's metadata, to edit (the model id does not depend on it).
    pub fn metadata_mut(&mut self) -> &mut ModelMetadata {
        &mut self.networks[0].metadata
    }

    #[cfg(feature = "burn")]
    #[cfg_attr(not(feature = "train"), allow(dead_code))]
    /// These parts under an id given by the caller: a converted package keeps its model's id.
    pub(crate) fn with_id(mut self, id: [u8; 16]) -> Self {
        self.id = id;
        self
    }

    /// The model id written into streams.
    pub fn id(&self) -> [u8; 16] {
        self.id
    }

    /// Reads and verifies a package file.
    pub fn read(path: &std::path::Path) -> Result<Self, crate::Error> {
        let bytes = std::fs::read(path).map_err(|source| crate::Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Self::from_bytes(&bytes)?)
    }

    /// Serializes the package: version 2 for one network, version 3 for several.
    pub fn to_bytes(&self) -> Vec<u8> {
        let metas: Vec<Vec<u8>> = self
            .networks
            .iter()
            .map(|n| serde_json::to_vec_pretty(&n.metadata).expect("metadata serializes"))
            .collect();
        if let [n] = self.networks.as_slice() {
            return write_parts(
                VERSION,
                &[
                    (b"META", &metas[0]),
                    (b"IDNT", &self.id),
                    (b"WGTS", &n.weights),
                    (b"ZTAB", &n.z_tables),
                    (b"YTAB", &n.y_tables),
                ],
            );
        }
        let mut parts: Vec<(&[u8; 4], &[u8])> = vec![(b"IDNT", &self.id)];
        for (n, meta) in self.networks.iter().zip(&metas) {
            parts.extend([
                (b"META", meta.as_slice()),
                (b"WGTS", &n.weights),
                (b"ZTAB", &n.z_tables),
                (b"YTAB", &n.y_tables),
            ]);
        }
        write_parts(MULTI_NETWORK_VERSION, &parts)
    }

    /// Parses and verifies a package.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PackageError> {
        let (version, parts) = read_parts(bytes, MULTI_NETWORK_VERSION)?;
        let networks = match version {
            VERSION => vec![PackageNetwork {
                metadata: parts.metadata()?,
                weights: parts.get(b"WGTS", "WGTS")?.to_vec(),
                z_tables: parts.get(b"ZTAB", "ZTAB")?.to_vec(),
                y_tables: parts.get(b"YTAB", "YTAB")?.to_vec(),
            }],
            MULTI_NETWORK_VERSION => {
                let [meta, weights, z, y] =
                    [b"META", b"WGTS", b"ZTAB", b"YTAB"].map(|t| parts.all(t));
                if [weights.len(), z.len(), y.len()] != [meta.len(); 3] {
                    return Err(PackageError::PartCounts {
                        meta: meta.len(),
                        weights: weights.len(),
                        z: z.len(),
                        y: y.len(),
                    });
                }
                let networks = (0..meta.len())
                    .map(|k| {
                        Ok(PackageNetwork {
                            metadata: checked_metadata(meta[k])?,
                            weights: weights[k].to_vec(),
                            z_tables: z[k].to_vec(),
                            y_tables: y[k].to_vec(),
                        })
                    })
                    .collect::<Result<Vec<_>, PackageError>>()?;
                check_networks(&networks)?;
                networks
            }
            1 => return Err(PackageError::NeedsConversion),
            v => return Err(PackageError::UnsupportedVersion(v)),
        };
        let id = parts.get(b"IDNT", "IDNT")?;
        Ok(Self {
            networks,
            id: id.try_into().map_err(|_| PackageError::BadId(id.len()))?,
        })
    }
}

/// Checks the networks of a package of several: 2 to [`crate::quality::RUNGS`] of one
/// architecture id.
fn check_networks(networks: &[PackageNetwork]) -> Result<(), PackageError> {
    if !(2..=crate::quality::RUNGS).contains(&networks.len()) {
        return Err(PackageError::NetworkCount(networks.len()));
    }
    let first = networks[0].metadata.arch;
    match networks.iter().position(|n| n.metadata.arch != first) {
        Some(k) => Err(PackageError::MixedArchitectures {
            first,
            network: k + 1,
            arch: networks[k].metadata.arch,
        }),
        None => Ok(()),
    }
}

/// The id of `networks`: [`content_id`] over each one's weights and tables, in order (for one
/// network, that of a single-network package).
fn networks_id(networks: &[PackageNetwork]) -> [u8; 16] {
    let parts: Vec<&[u8]> = networks
        .iter()
        .flat_map(|n| [&n.weights[..], &n.z_tables, &n.y_tables])
        .collect();
    content_id(&parts)
}

#[cfg(feature = "burn")]
#[cfg_attr(not(feature = "train"), allow(dead_code))]
impl PackageV1 {
    /// Parses and verifies a version-1 package.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PackageError> {
        let (version, parts) = read_parts(bytes, MULTI_NETWORK_VERSION)?;
        if version != 1 {
            return Err(PackageError::AlreadyCurrent(version));
        }
        let (weights, z_tables, y_tables) = (
            parts.get(b"WGTS", "WGTS")?.to_vec(),
            parts.get(b"ZTAB", "ZTAB")?.to_vec(),
            parts.get(b"YTAB", "YTAB")?.to_vec(),
        );
        Ok(Self {
            metadata: parts.metadata()?,
            id: content_id(&[&weights, &z_tables, &y_tables]),
            weights,
            z_tables,
            y_tables,
        })
    }
}

/// SHA-256 over each part's length and bytes, first 16 bytes.
fn content_id(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Sha256::new();
    for part in parts {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    let d = h.finalize();
    let mut id = [0u8; 16];
    id.copy_from_slice(&d[..16]);
    id
}

fn write_parts(version: u32, parts: &[(&[u8; 4], &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&(parts.len() as u32).to_le_bytes());
    for (tag, bytes) in parts {
        out.extend_from_slice(*tag);
        out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        out.extend_from_slice(bytes);
    }
    let digest = Sha256::digest(&out);
    out.extend_from_slice(&digest);
    out
}

/// The tagged parts of a verified package.
struct Parts<'a>(Vec<([u8; 4], &'a [u8])>);

impl<'a> Parts<'a> {
    fn get(&self, tag: &[u8; 4], name: &'static str) -> Result<&'a [u8], PackageError> {
        self.0
            .iter()
            .find(|(t, _)| t == tag)
            .map(|(_, d)| *d)
            .ok_or(PackageError::MissingPart(name))
    }

    /// Every part tagged `tag`, in order.
    fn all(&self, tag: &[u8; 4]) -> Vec<&'a [u8]> {
        self.0
            .iter()
            .filter(|(t, _)| t == tag)
            .map(|(_, d)| *d)
            .collect()
    }

    /// The metadata, checked (see [`checked_metadata`]).
    fn metadata(&self) -> Result<ModelMetadata, PackageError> {
        checked_metadata(self.get(b"META", "META")?)
    }
}

/// Metadata from its JSON, checked for an architecture this build runs: the id streams carry
/// must be the one of the network's hyperprior, and only the mean-scale hyperprior takes a
/// context model.
fn checked_metadata(json: &[u8]) -> Result<ModelMetadata, PackageError> {
    let metadata: ModelMetadata = serde_json::from_slice(json).map_err(PackageError::Metadata)?;
    let network = metadata.network;
    if metadata.arch != network.hyperprior.arch_id()
        || (network.context && !network.hyperprior.is_mean_scale())
    {
        return Err(PackageError::Architecture {
            arch: metadata.arch,
            network,
        });
    }
    Ok(metadata)
}

/// Checks magic and digest, and splits a package of any version up to `newest` into its parts.
fn read_parts(bytes: &[u8], newest: u32) -> Result<(u32, Parts<'_>), PackageError> {
    if bytes.len() < 8 || &bytes[..8] != MAGIC {
        return Err(PackageError::BadMagic);
    }
    if bytes.len() < 16 + 32 {
        return Err(PackageError::Truncated);
    }
    let version = codec_format::Reader::new(&bytes[8..12])
        .u32("version")
        .expect("4 bytes");
    if version > newest {
        return Err(PackageError::UnsupportedVersion(version));
    }
    let (body, digest) = bytes.split_at(bytes.len() - 32);
    if Sha256::digest(body).as_slice() != digest {
        return Err(PackageError::DigestMismatch);
    }
    let truncated = |_| PackageError::Truncated;
    let mut reader = codec_format::Reader::new(&body[12..]);
    let count = reader.u32("part count").map_err(truncated)?;
    let mut parts = Vec::new();
    for _ in 0..count {
        let tag: [u8; 4] = reader.array("part tag").map_err(truncated)?;
        let len = reader.u64("part length").map_err(truncated)?;
        let len = usize::try_from(len).map_err(|_| PackageError::Truncated)?;
        parts.push((tag, reader.take(len, "part").map_err(truncated)?));
    }
    Ok((version, Parts(parts)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::RUNGS;

    fn sample() -> Package {
        Package::new(
            ModelMetadata {
                arch: 1,
                network: NetworkConfig::new(8, 8),
                lambdas: vec![0.1, 0.2],
                steps: 3,
                train_seconds: 1.5,
                dataset_hash: "abc".into(),
                note: String::new(),
            },
            vec![1, 2, 3],
            vec![4, 5],
            vec![6],
        )
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
    fn the_architecture_id_must_match_the_hyperprior() {
        let with = |arch, network| {
            let mut p = sample();
            p.metadata_mut().arch = arch;
            p.metadata_mut().network = network;
            Package::from_bytes(&p.to_bytes())
        };
        let scale_only = NetworkConfig::new(8, 8).with_hyperprior(Hyperprior::ScaleOnly);
        assert!(with(2, scale_only).is_ok());
        // A mean-scale package's metadata does not mention its hyperprior.
        let meta = serde_json::to_string(sample().metadata()).unwrap();
        assert!(!meta.contains("hyperprior"), "{meta}");
        for (arch, network) in [
            (2, NetworkConfig::new(8, 8)),
            (1, scale_only),
            (3, NetworkConfig::new(8, 8)),
            (2, scale_only.with_context(true)),
        ] {
            assert!(
                matches!(with(arch, network), Err(PackageError::Architecture { .. })),
                "arch {arch}, {network}"
            );
        }
    }

    #[test]
    fn id_depends_on_weights_and_survives_a_round_trip() {
        let a = sample();
        let n = &a.networks()[0];
        let mut weights = n.weights.clone();
        weights[0] ^= 1;
        let b = Package::new(
            n.metadata.clone(),
            weights,
            n.z_tables.clone(),
            n.y_tables.clone(),
        );
        assert_ne!(a.id(), b.id());
        assert_eq!(a.id(), sample().id());
        #[cfg(feature = "burn")]
        {
            let kept = b.clone().with_id(a.id());
            assert_eq!(Package::from_bytes(&kept.to_bytes()).unwrap().id(), a.id());
        }
    }

    #[cfg(feature = "burn")]
    #[test]
    fn a_version_1_package_asks_for_conversion() {
        let p = sample();
        let n = &p.networks()[0];
        let old = write_parts(
            1,
            &[
                (b"META", &serde_json::to_vec(&n.metadata).unwrap()),
                (b"WGTS", &n.weights),
                (b"ZTAB", &n.z_tables),
                (b"YTAB", &n.y_tables),
            ],
        );
        assert!(matches!(
            Package::from_bytes(&old),
            Err(PackageError::NeedsConversion)
        ));
        let v1 = PackageV1::from_bytes(&old).unwrap();
        assert_eq!(
            v1.id,
            p.id(),
            "version 1 ids are the same hash of weights and tables"
        );
        let mut newer = old.clone();
        newer[8] = 4;
        assert!(matches!(
            Package::from_bytes(&newer),
            Err(PackageError::UnsupportedVersion(4))
        ));
        assert!(matches!(
            PackageV1::from_bytes(&newer),
            Err(PackageError::UnsupportedVersion(4))
        ));
        // A current package is not converted again.
        assert!(matches!(
            PackageV1::from_bytes(&p.to_bytes()),
            Err(PackageError::AlreadyCurrent(2))
        ));
    }

    /// A network of `n` hyper-latent channels and `m` latent channels whose weights and
    /// tables are `seed`-dependent bytes.
    fn network(seed: u8, n: usize, m: usize) -> Package {
        let mut p = sample();
        p.metadata_mut().network = NetworkConfig::new(n, m);
        Package::new(
            p.metadata().clone(),
            vec![seed; 5],
            vec![seed, 1],
            vec![seed, 2, 3],
        )
    }

    /// A version-3 package with these parts (and a valid digest).
    fn version_3(parts: &[(&[u8; 4], &[u8])]) -> Vec<u8> {
        write_parts(MULTI_NETWORK_VERSION, parts)
    }

    #[test]
    fn a_package_of_several_networks_round_trips_as_version_3() {
        let nets = [network(1, 8, 8), network(2, 8, 8), network(3, 16, 24)];
        let p = Package::bundle(nets.clone()).unwrap();
        assert_eq!(p.networks().len(), 3);
        assert_eq!(p.networks()[2].metadata.network, NetworkConfig::new(16, 24));
        let bytes = p.to_bytes();
        assert_eq!(bytes[8..12], MULTI_NETWORK_VERSION.to_le_bytes());
        assert_eq!(Package::from_bytes(&bytes).unwrap(), p);
        for cut in (0..bytes.len()).step_by(7) {
            assert!(Package::from_bytes(&bytes[..cut]).is_err());
        }
        // The id covers every network, in order.
        let ids = [
            p.id(),
            Package::bundle(nets[..2].to_vec()).unwrap().id(),
            Package::bundle([nets[1].clone(), nets[0].clone(), nets[2].clone()])
                .unwrap()
                .id(),
        ];
        assert!(ids[0] != ids[1] && ids[0] != ids[2] && ids[1] != ids[2]);
        assert!(nets.iter().all(|n| n.id() != p.id()));
        // A reader of version 2 alone (this release's read of version 2, that of the release
        // before) refuses it rather than reading the first network alone.
        assert!(matches!(
            read_parts(&bytes, VERSION),
            Err(PackageError::UnsupportedVersion(3))
        ));
    }

    #[test]
    fn a_bundle_of_one_network_is_the_single_network_package() {
        let one = network(1, 8, 8);
        let bundled = Package::bundle([one.clone()]).unwrap();
        assert_eq!(bundled.to_bytes(), one.to_bytes());
        assert_eq!(bundled.id(), one.id());
        assert_eq!(one.to_bytes()[8..12], VERSION.to_le_bytes());
        // The embedded default model re-serialises to its very bytes.
        let default = crate::decode::DEFAULT_PACKAGE;
        assert_eq!(Package::from_bytes(default).unwrap().to_bytes(), default);
    }

    #[test]
    fn malformed_packages_of_several_networks_are_refused() {
        let nine = vec![network(1, 8, 8); RUNGS + 1];
        assert!(matches!(
            Package::bundle(nine),
            Err(PackageError::NetworkCount(9))
        ));
        assert!(matches!(
            Package::bundle(Vec::new()),
            Err(PackageError::NetworkCount(0))
        ));
        let scale_only = {
            let mut p = network(2, 8, 8);
            p.metadata_mut().network =
                NetworkConfig::new(8, 8).with_hyperprior(Hyperprior::ScaleOnly);
            p.metadata_mut().arch = 2;
            Package::new(p.metadata().clone(), vec![2], vec![2], vec![2])
        };
        assert!(matches!(
            Package::bundle([network(1, 8, 8), scale_only.clone()]),
            Err(PackageError::MixedArchitectures {
                first: 1,
                network: 2,
                arch: 2
            })
        ));
        // Written by hand: parts that are not whole networks, or one network as version 3.
        let one = network(1, 8, 8);
        let n = &one.networks()[0];
        let meta = serde_json::to_vec(&n.metadata).unwrap();
        let whole: Vec<(&[u8; 4], &[u8])> = vec![
            (b"META", &meta),
            (b"WGTS", &n.weights),
            (b"ZTAB", &n.z_tables),
            (b"YTAB", &n.y_tables),
        ];
        let id = one.id();
        let mut parts = vec![(b"IDNT", &id[..])];
        parts.extend(whole.iter().copied());
        assert!(matches!(
            Package::from_bytes(&version_3(&parts)),
            Err(PackageError::NetworkCount(1))
        ));
        parts.extend(whole.iter().copied());
        assert!(Package::from_bytes(&version_3(&parts)).is_ok());
        parts.pop();
        assert!(matches!(
            Package::from_bytes(&version_3(&parts)),
            Err(PackageError::PartCounts {
                meta: 2,
                weights: 2,
                z: 2,
                y: 1
            })
        ));
        // Every network's metadata is checked.
        let mut bad = n.metadata.clone();
        bad.arch = 2;
        let bad = serde_json::to_vec(&bad).unwrap();
        parts.push((b"YTAB", &n.y_tables));
        parts[5] = (b"META", &bad);
        assert!(matches!(
            Package::from_bytes(&version_3(&parts)),
            Err(PackageError::Architecture { arch: 2, .. })
        ));
    }
}
