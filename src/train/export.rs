//! Export: freezing a trained network into a model package (weights + integer tables).

use std::fs;
use std::io::Read;
use std::path::Path;

use burn::module::Module;
use sha2::{Digest, Sha256};

use super::data::list_images;
use super::TrainError;
use crate::entropy::{factorized_tables, gaussian_tables, scale_ladder};
use crate::model::{package_weights_to_bytes, Ladder, Network, NetworkConfig};
use crate::package::{ModelMetadata, Package, ARCH_MEAN_SCALE_GAIN};

/// Provenance recorded in the package metadata.
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    /// Training steps.
    pub steps: u64,
    /// Training wall time, seconds.
    pub train_seconds: f64,
    /// Hash of the training set (see [`dataset_hash`]).
    pub dataset_hash: String,
    /// Free-form note.
    pub note: String,
}

/// Freezes `network` into a package: builds the integer tables of z from the learned density
/// and of y from the scale ladder, and stores the convolutions in f16 (see
/// [`package_weights_to_bytes`]). `lambdas` is the ladder it trained on, recorded in the
/// metadata. Deterministic: the same network gives the same bytes.
pub fn export(
    network: &Network,
    config: NetworkConfig,
    lambdas: &Ladder,
    provenance: &Provenance,
) -> Result<Package, TrainError> {
    let network = network.valid();
    let pmfs = network.density().export_pmfs();
    let z = factorized_tables(pmfs.iter().map(|p| (p.median, p.lo, p.pmf.as_slice())));
    let y = gaussian_tables(&scale_ladder());
    let weights = package_weights_to_bytes(&network).map_err(TrainError::Config)?;
    Ok(Package {
        metadata: ModelMetadata {
            arch: ARCH_MEAN_SCALE_GAIN,
            network: config,
            lambdas: lambdas.to_vec(),
            steps: provenance.steps,
            train_seconds: provenance.train_seconds,
            dataset_hash: provenance.dataset_hash.clone(),
            note: provenance.note.clone(),
        },
        weights,
        z_tables: z.to_bytes(),
        y_tables: y.to_bytes(),
    })
}

/// SHA-256 (hex) over the names and contents of the images in `dir`, in name order.
pub fn dataset_hash(dir: &Path) -> Result<String, TrainError> {
    let mut h = Sha256::new();
    for f in list_images(dir)? {
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        let mut bytes = Vec::new();
        fs::File::open(&f)
            .and_then(|mut file| file.read_to_end(&mut bytes))
            .map_err(|e| TrainError::Io(f.clone(), e))?;
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}
