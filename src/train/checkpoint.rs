//! Checkpoints: everything a run needs to continue exactly where it stopped.
//!
//! Layout under the run directory:
//! `checkpoints/step-00012345/{network.bpk, optimizer.bpk, aux_optimizer.bpk, state.json}`
//! (plus `average.bpk` in a run that keeps a weight average) and `checkpoints/LATEST` naming
//! the newest complete one. A checkpoint is written into a
//! temporary directory and renamed into place, then `LATEST` is replaced atomically, so a run
//! killed at any moment leaves the previous checkpoint intact.

use std::fs;
use std::path::{Path, PathBuf};

use burn::optim::ModuleOptimizer;
use burn::prelude::*;
use burn::tensor::Bytes;
use serde::{Deserialize, Serialize};

use super::TrainError;
use crate::model::{Ladder, Network, NetworkConfig, RUNGS};
use crate::output::{self, Existing};

/// How many checkpoints to keep on disk.
const KEEP: usize = 2;

/// The weight average's file in a checkpoint (see [`super::average`]).
pub const AVERAGE_FILE: &str = "average.bpk";

/// Progress of a run, saved with each checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunState {
    /// Steps completed.
    pub step: u64,
    /// Wall-clock seconds spent training so far, resumes included.
    pub train_seconds: f64,
    /// Network shape.
    pub network: NetworkConfig,
    /// The λ ladder the run trains on (runs from before it was recorded used CompressAI's).
    #[serde(default = "super::compressai_ladder")]
    pub lambdas: Ladder,
    /// Latent channels of the `--init` package when the run widened it (the channels from
    /// here on are new; see [`super::TrainConfig::new_channel_ramp`]).
    #[serde(default)]
    pub widened_from: Option<usize>,
}

/// A loaded checkpoint.
pub struct Checkpoint {
    /// The network with its trained weights (on the requested device).
    pub network: Network,
    /// Main optimizer.
    pub optimizer: ModuleOptimizer,
    /// Optimizer of the z prior's quantiles.
    pub aux_optimizer: ModuleOptimizer,
    /// Progress.
    pub state: RunState,
    /// The weight average, if the checkpoint has one (on the plain, non-autodiff device).
    pub average: Option<Network>,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> TrainError + '_ {
    move |e| TrainError::Io(path.to_path_buf(), e)
}

fn rec(path: &Path) -> impl Fn(burn::store::RecordError) -> TrainError + '_ {
    move |e| TrainError::Checkpoint(path.to_path_buf(), format!("{e:?}"))
}

/// Writes a checkpoint (with the run's weight average, if it keeps one) and makes it the
/// latest.
pub fn save(
    run_dir: &Path,
    network: &Network,
    average: Option<&Network>,
    optimizer: &ModuleOptimizer,
    aux_optimizer: &ModuleOptimizer,
    state: &RunState,
) -> Result<PathBuf, TrainError> {
    let root = run_dir.join("checkpoints");
    fs::create_dir_all(&root).map_err(io(&root))?;
    let name = format!("step-{:08}", state.step);
    let tmp = root.join(format!(".{name}.tmp"));
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).map_err(io(&tmp))?;
    let weights = crate::model::weights_to_bytes(network)
        .map_err(|e| TrainError::Checkpoint(tmp.clone(), e))?;
    fs::write(tmp.join("network.bpk"), weights).map_err(io(&tmp))?;
    if let Some(a) = average {
        let bytes = crate::model::weights_to_bytes(a)
            .map_err(|e| TrainError::Checkpoint(tmp.clone(), e))?;
        fs::write(tmp.join(AVERAGE_FILE), bytes).map_err(io(&tmp))?;
    }
    let o = optimizer.into_bytes().map_err(rec(&tmp))?;
    fs::write(tmp.join("optimizer.bpk"), &*o).map_err(io(&tmp))?;
    let a = aux_optimizer.into_bytes().map_err(rec(&tmp))?;
    fs::write(tmp.join("aux_optimizer.bpk"), &*a).map_err(io(&tmp))?;
    let json = serde_json::to_vec_pretty(state).expect("state serializes");
    fs::write(tmp.join("state.json"), json).map_err(io(&tmp))?;
    let dest = root.join(&name);
    let _ = fs::remove_dir_all(&dest);
    fs::rename(&tmp, &dest).map_err(io(&dest))?;
    output::write(&root.join("LATEST"), name.as_bytes(), Existing::Replace)?;
    prune(&root, &name);
    Ok(dest)
}

/// Removes all but the newest [`KEEP`] checkpoints (never the one just written).
fn prune(root: &Path, newest: &str) {
    let Ok(rd) = fs::read_dir(root) else { return };
    let mut names: Vec<String> = rd
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("step-"))
        .collect();
    names.sort();
    let excess = names.len().saturating_sub(KEEP);
    for n in names.into_iter().take(excess).filter(|n| n != newest) {
        let _ = fs::remove_dir_all(root.join(n));
    }
}

/// Directory of the latest complete checkpoint of a run, if any.
pub fn latest(run_dir: &Path) -> Option<PathBuf> {
    let root = run_dir.join("checkpoints");
    let name = fs::read_to_string(root.join("LATEST")).ok()?;
    let dir = root.join(name.trim());
    dir.join("state.json").is_file().then_some(dir)
}

/// Reads the progress of a checkpoint.
pub fn load_state(dir: &Path) -> Result<RunState, TrainError> {
    let p = dir.join("state.json");
    let s = fs::read(&p).map_err(io(&p))?;
    serde_json::from_slice(&s).map_err(|e| TrainError::Checkpoint(p.clone(), e.to_string()))
}

/// Loads the starting weights of a run (`ansel train --init`): a model package such as
/// `assets/default.anselpkg` (so a lost run restarts from the committed model) or a burnpack.
/// A package trained on another λ ladder than `lambdas` has its gains moved onto `lambdas`
/// ([`Network::with_ladder`]); a burnpack carries no ladder and is taken as is. A package with
/// the run's N and fewer latent channels than its M, or narrower transforms, is widened
/// ([`Network::widened`]).
/// Returns the network and the number of latent channels the weights came with.
pub fn load_init(
    path: &Path,
    config: NetworkConfig,
    lambdas: &Ladder,
    device: &Device,
) -> Result<(Network, usize), TrainError> {
    let bytes = fs::read(path).map_err(io(path))?;
    let err = |e: String| TrainError::Checkpoint(path.to_path_buf(), e);
    if !bytes.starts_with(crate::package::MAGIC) {
        let network = crate::model::load_weights(&bytes, config, device).map_err(err)?;
        return Ok((network, config.m));
    }
    let package = crate::package::Package::from_bytes(&bytes).map_err(|e| err(e.to_string()))?;
    // Training continues one network, whose gains code every quality.
    let [package] = package.networks() else {
        return Err(err(format!(
            "the package holds {} networks, one per quality: training starts from a package \
             of one",
            package.networks().len()
        )));
    };
    let stored = package.metadata.network;
    // A run may ask for more latent channels, or wider transforms, than the package has: the
    // network is widened (`Network::widened` refuses any other change of shape).
    let network = crate::model::load_package_weights(&package.weights, stored, device)?
        .widened(config, device)
        .map_err(err)?;
    if stored.m < config.m {
        eprintln!(
            "widened the package's latent from {} to {} channels",
            stored.m, config.m
        );
    }
    let (t_stored, t_run) = (stored.transform_channels(), config.transform_channels());
    if t_stored < t_run {
        eprintln!("widened the package's transforms from {t_stored} to {t_run} hidden channels");
    }
    let from: Ladder = package
        .metadata
        .lambdas
        .as_slice()
        .try_into()
        .map_err(|_| {
            err(format!(
                "package has {} λ rungs, ansel trains {RUNGS}",
                package.metadata.lambdas.len()
            ))
        })?;
    if from == *lambdas {
        return Ok((network, stored.m));
    }
    eprintln!("moving the gains from the package's λ ladder {from:?} to {lambdas:?}");
    Ok((network.with_ladder(&from, lambdas), stored.m))
}

/// The weights to export from a checkpoint: its weight average if it has one and `raw` is
/// false, else the trained weights. Returns them and whether they are the average.
pub fn load_for_export(
    dir: &Path,
    config: NetworkConfig,
    device: &Device,
    raw: bool,
) -> Result<(Network, bool), TrainError> {
    let average = dir.join(AVERAGE_FILE);
    if !raw && average.is_file() {
        return Ok((load_network(&average, config, device)?, true));
    }
    Ok((
        load_network(&dir.join("network.bpk"), config, device)?,
        false,
    ))
}

/// Loads a network's weights from a burnpack file into a fresh network of `config`.
pub fn load_network(
    path: &Path,
    config: NetworkConfig,
    device: &Device,
) -> Result<Network, TrainError> {
    let bytes = fs::read(path).map_err(io(path))?;
    crate::model::load_weights(&bytes, config, device)
        .map_err(|e| TrainError::Checkpoint(path.to_path_buf(), e))
}

/// Loads a checkpoint onto `device`. The saved files hold only the optimizers' state (moments,
/// step counts), not their settings, so `optimizer` and `aux_optimizer` are fresh optimizers
/// configured exactly as the run made them (gradient clipping included) to load it into.
pub fn load(
    dir: &Path,
    device: &Device,
    optimizer: ModuleOptimizer,
    aux_optimizer: ModuleOptimizer,
) -> Result<Checkpoint, TrainError> {
    let state = load_state(dir)?;
    let network = load_network(&dir.join("network.bpk"), state.network, device)?;
    let average_path = dir.join(AVERAGE_FILE);
    let average = if average_path.is_file() {
        Some(load_network(
            &average_path,
            state.network,
            &device.clone().inner(),
        )?)
    } else {
        None
    };
    let read_optim = |fresh: ModuleOptimizer, name: &str| -> Result<ModuleOptimizer, TrainError> {
        let p = dir.join(name);
        let bytes = fs::read(&p).map_err(io(&p))?;
        fresh
            .from_bytes(Bytes::from_bytes_vec(bytes))
            .map_err(rec(&p))
    };
    Ok(Checkpoint {
        network,
        optimizer: read_optim(optimizer, "optimizer.bpk")?,
        aux_optimizer: read_optim(aux_optimizer, "aux_optimizer.bpk")?,
        state,
        average,
    })
}
