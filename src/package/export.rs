//! Export: a trained burn network frozen into a model package (weights and integer tables),
//! and version-1 packages rewritten in the current format.

use burn::module::Module;
use burn::prelude::Device;

use super::{ModelMetadata, Package, PackageError, PackageV1};
use crate::entropy::{factorized_tables, gaussian_tables, scale_ladder, TableSet};
use crate::model::{
    load_burnpack_weights, package_weights_to_bytes, Ladder, Network, NetworkConfig,
};

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
) -> Result<Package, PackageError> {
    export_with(
        network,
        config,
        lambdas,
        provenance,
        gaussian_tables(&scale_ladder()),
    )
}

/// [`export`] with the tables of y given (an imported model may keep its own scale table).
pub fn export_with(
    network: &Network,
    config: NetworkConfig,
    lambdas: &Ladder,
    provenance: &Provenance,
    y: TableSet,
) -> Result<Package, PackageError> {
    let network = network.valid();
    let pmfs = network.density().export_pmfs();
    let z = factorized_tables(pmfs.iter().map(|p| (p.median, p.lo, p.pmf.as_slice())));
    let weights = package_weights_to_bytes(&network)?;
    Ok(Package::new(
        ModelMetadata {
            arch: config.hyperprior.arch_id(),
            network: config,
            lambdas: lambdas.to_vec(),
            steps: provenance.steps,
            train_seconds: provenance.train_seconds,
            dataset_hash: provenance.dataset_hash.clone(),
            note: provenance.note.clone(),
        },
        weights,
        z.to_bytes(),
        y.to_bytes(),
    ))
}

/// Rewrites a version-1 package (burn's weight format) in the current format. The network's
/// values, the tables and the model id stay the same, so streams made with the old package
/// decode with the new one, to the same pixels.
pub fn convert_v1(bytes: &[u8]) -> Result<Package, PackageError> {
    let old = PackageV1::from_bytes(bytes)?;
    let network = load_burnpack_weights(&old.weights, old.metadata.network, &Device::flex())?;
    let weights = package_weights_to_bytes(&network)?;
    Ok(Package::new(old.metadata, weights, old.z_tables, old.y_tables).with_id(old.id))
}
