//! Training: `ansel train`. Rate–distortion loss `λ·255²·MSE + bpp` over random crops, one λ
//! rung per sample (one model for every rate), Adam with warm-up and cosine decay, an
//! auxiliary optimiser for the z prior's quantiles, an optional moving average of the weights,
//! atomic checkpoints and exact resume.

pub mod average;
pub mod checkpoint;
pub mod data;
pub mod export;
mod log;
pub mod validate;

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::model::{
    ChannelRate, Ladder, Network, NetworkConfig, COMPRESSAI_LADDER, DEFAULT_LADDER,
};
use crate::output::{self, Existing, WriteError};

/// Errors of a training run.
#[derive(Debug, Error)]
pub enum TrainError {
    /// A file or directory could not be read or written.
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    /// A training image could not be decoded.
    #[error("{0}: not a readable image ({1})")]
    Image(PathBuf, String),
    /// The data directory has no image large enough for one crop.
    #[error("no training image is at least {0}×{0} pixels")]
    NoImages(usize),
    /// The data directory holds evaluation images.
    #[error("{0} is a Kodak image: Kodak is for evaluation only, never for training")]
    EvaluationData(PathBuf),
    /// A checkpoint could not be read or written.
    #[error("checkpoint {0}: {1}")]
    Checkpoint(PathBuf, String),
    /// The run directory was made with other settings.
    #[error("{0}")]
    Config(String),
    /// An output file (a package, a log, the checkpoint pointer) could not be written.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// A model package could not be made or read.
    #[error(transparent)]
    Package(#[from] crate::package::PackageError),
    /// Validation failed.
    #[error("validation: {0}")]
    Validation(#[from] crate::eval::HarnessError),
    /// The codec could not be built from an exported package.
    #[error(transparent)]
    Codec(#[from] crate::Error),
}

/// Settings of a training run (saved as `run.json` in the run directory).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Network shape.
    pub network: NetworkConfig,
    /// λ of each quality rung (loss `λ·255²·MSE + bpp`). Missing from the `run.json` of runs
    /// made before it was a setting: those trained on CompressAI's ladder.
    #[serde(default = "compressai_ladder")]
    pub lambdas: Ladder,
    /// Total number of steps of the schedule.
    pub steps: u64,
    /// Crops per batch.
    pub batch: usize,
    /// Crop side in pixels (a multiple of 64).
    pub patch: usize,
    /// Smallest factor a crop is downscaled by (see [`data::Crops`]): each crop is a square of
    /// `patch / s` pixels resized to `patch`, `s` uniform in `[min_scale, 1]`, so the photos
    /// also show their content at lower resolutions. 1 (runs made before it was a setting):
    /// crops at full size.
    #[serde(default = "full_size")]
    pub min_scale: f64,
    /// Peak learning rate.
    pub lr: f64,
    /// Linear warm-up steps.
    pub warmup: u64,
    /// Fraction of `steps` after which the learning rate decays (cosine) to 10 %.
    pub decay_from: f64,
    /// Learning rate of the z prior's quantiles.
    pub aux_lr: f64,
    /// Per-parameter gradient norm clipping threshold (0: no clipping).
    pub grad_clip: f64,
    /// Step from which the synthesis trains on rounded latents (straight-through) instead of
    /// noisy ones.
    pub straight_through_from: u64,
    /// Seed of the initialisation, the crops and the noise.
    pub seed: u64,
    /// Minutes between checkpoints.
    pub checkpoint_minutes: f64,
    /// Steps between log lines.
    pub log_every: u64,
    /// Steps between validations (0: never).
    pub validate_every: u64,
    /// Exponent β of the per-rung loss weights `(λ / λ̄)^−β` (see [`rung_weights`]); 0 weighs
    /// every sample's loss as it is.
    #[serde(default)]
    pub rung_balance: f64,
    /// In a run whose `--init` package was widened: steps over which the rate of the new latent
    /// channels ramps into the loss, linearly from 0 to full (0: in full from the start). A run
    /// that did not widen refuses a non-zero ramp.
    #[serde(default)]
    pub new_channel_ramp: u64,
    /// Decay per step of an exponential moving average of the weights, which validation and
    /// export then read (see [`average`]); 0: no average. 0.999 averages over about the last
    /// 1,000 steps. Not part of a run's identity: a resumed run may switch it on (the average
    /// starts at the checkpoint's weights) or off.
    #[serde(default)]
    pub ema: f64,
    /// Train the context model only (`--context`): every other weight, the z prior's
    /// quantiles included, stays as the run started, so a context added to a trained model
    /// can learn at a learning rate the transforms would not stand. Refused for a network
    /// without a context model.
    #[serde(default)]
    pub only_context: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            network: NetworkConfig::default(),
            lambdas: DEFAULT_LADDER,
            steps: 100_000,
            // Two 256² crops: the same pixels per step as eight 128² ones, but z is 4×4 instead
            // of 2×2, less of it at a border, and it trains better (docs/training/README.md).
            batch: 2,
            patch: 256,
            min_scale: 1.0,
            lr: 5e-4,
            warmup: 500,
            decay_from: 0.8,
            aux_lr: 1e-2,
            grad_clip: 1.0,
            straight_through_from: 5_000,
            seed: 0,
            checkpoint_minutes: 5.0,
            log_every: 50,
            validate_every: 2000,
            rung_balance: 0.0,
            new_channel_ramp: 0,
            ema: 0.0,
            only_context: false,
        }
    }
}

/// Loss weight of each λ rung: `(λ / λ̄)^−β`, with λ̄ the ladder's geometric mean.
///
/// A sample's loss `λ·255²·MSE + bpp` grows with its rung's λ, so the top rungs steer the
/// shared transforms. BD-rate, though,
/// values a relative rate saving equally at every rate; β ≈ 0.5 gives every rung a similar
/// share of the gradient. The weights multiply to 1, so the overall scale of the loss stays put.
pub fn rung_weights(lambdas: &Ladder, beta: f64) -> Ladder {
    let log_mean = lambdas.iter().map(|l| l.ln()).sum::<f64>() / lambdas.len() as f64;
    lambdas.map(|l| (-beta * (l.ln() - log_mean)).exp())
}

/// Crops at full size: runs saved before crops could be downscaled (serde default).
fn full_size() -> f64 {
    1.0
}

/// The ladder of runs saved before the ladder was recorded (serde default).
fn compressai_ladder() -> Ladder {
    COMPRESSAI_LADDER
}

impl TrainConfig {
    /// Weight of the new latent channels' rate at `step` of a widened run (see
    /// [`Self::new_channel_ramp`]).
    pub fn new_channel_rate_weight(&self, step: u64) -> f64 {
        if self.new_channel_ramp == 0 {
            return 1.0;
        }
        (step as f64 / self.new_channel_ramp as f64).min(1.0)
    }

    /// Learning rate at `step`: linear warm-up, constant, then cosine decay to 10 %.
    pub fn learning_rate(&self, step: u64) -> f64 {
        let warm = ((step + 1) as f64 / self.warmup.max(1) as f64).min(1.0);
        let start = (self.steps as f64 * self.decay_from) as u64;
        if step < start || self.steps <= start {
            return self.lr * warm;
        }
        let t = ((step - start) as f64 / (self.steps - start) as f64).min(1.0);
        self.lr * (0.1 + 0.9 * 0.5 * (1.0 + (std::f64::consts::PI * t).cos()))
    }
}

/// One line of the training log (`train.jsonl`): means over the last `log_every` steps.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogLine {
    /// Steps completed.
    pub step: u64,
    /// Total training wall time so far, seconds.
    pub train_seconds: f64,
    /// Mean loss.
    pub loss: f64,
    /// Mean estimated bits per pixel (y + z).
    pub bpp: f64,
    /// PSNR of the mean MSE, dB.
    pub psnr: f64,
    /// Mean auxiliary loss.
    pub aux: f64,
    /// Learning rate at the last step.
    pub lr: f64,
    /// Steps per second over the interval.
    pub steps_per_sec: f64,
}

/// The run's two optimizers, fresh: Adam for the network (with per-parameter gradient
/// clipping at `grad_clip`) and plain Adam for the z prior's quantiles. A resumed run loads its
/// saved state into these same two, so both keep their settings across a restart.
fn optimizers(config: &TrainConfig) -> (ModuleOptimizer, ModuleOptimizer) {
    let clip = config.grad_clip;
    let main = AdamConfig::new()
        .with_grad_clipping((clip > 0.0).then_some(GradientClippingConfig::Norm(clip as f32)))
        .init();
    (main, AdamConfig::new().init())
}

/// What [`train`] reports when it stops.
#[derive(Debug, Clone)]
pub struct TrainSummary {
    /// Steps completed.
    pub step: u64,
    /// Loss of the last log interval.
    pub last: Option<LogLine>,
    /// Loss of the first log interval since the run started or resumed.
    pub first: Option<LogLine>,
}

/// Options that are not part of the run's identity.
pub struct RunOptions<'a> {
    /// Images to train on.
    pub data: &'a Path,
    /// Run directory: config, checkpoints, log.
    pub out: &'a Path,
    /// Continue from the latest checkpoint in `out` if there is one.
    pub resume: bool,
    /// Start from these weights (a model package or a burnpack of [`Network`]) instead of a
    /// random initialisation.
    pub init_weights: Option<&'a Path>,
    /// Stop after this many steps from where the run started or resumed (for tests and
    /// time-boxed runs).
    pub max_session_steps: Option<u64>,
    /// Show a progress bar (otherwise one line per log interval on stderr).
    pub progress: bool,
    /// Validation images (directory, at most this many images).
    pub validation: Option<(&'a Path, usize)>,
    /// Device the steps run on (see [`crate::backend`]); validation and export run on the CPU.
    pub device: Device,
}

/// Qualities coded at each validation.
pub const VALIDATION_QUALITIES: [f32; 3] = [1.0, 4.0, 8.0];

/// Trains (or continues training) a network. Returns when `config.steps` are done.
pub fn train(config: &TrainConfig, opts: &RunOptions) -> Result<TrainSummary, TrainError> {
    average::check_decay(config.ema)
        .map_err(|e| TrainError::Config(format!("weight average: {e}")))?;
    data::check_min_scale(config.min_scale).map_err(TrainError::Config)?;
    let device = opts.device.clone().autodiff();
    fs::create_dir_all(opts.out).map_err(|e| TrainError::Io(opts.out.to_path_buf(), e))?;
    let files = data::list_images(opts.data)?;
    data::refuse_kodak(&files)?;

    let latest = if opts.resume {
        checkpoint::latest(opts.out)
    } else {
        None
    };
    // Fresh optimizers either start the run or take the checkpoint's saved state.
    let (main, aux) = optimizers(config);
    let (mut network, mut optim, mut aux_optim, mut state, saved_average) = match &latest {
        Some(dir) => {
            let c = checkpoint::load(dir, &device, main, aux)?;
            if c.state.network != config.network {
                return Err(TrainError::Config(format!(
                    "checkpoint {} has network {:?}, the run asks for {:?}",
                    dir.display(),
                    c.state.network,
                    config.network
                )));
            }
            if c.state.lambdas != config.lambdas {
                return Err(TrainError::Config(format!(
                    "checkpoint {} trains on the λ ladder {:?}, the run asks for {:?}; \
                     to change the ladder, export it and start a new run with --init",
                    dir.display(),
                    c.state.lambdas,
                    config.lambdas
                )));
            }
            eprintln!("resuming from {} (step {})", dir.display(), c.state.step);
            log::trim_after(opts.out, c.state.step)?;
            (c.network, c.optimizer, c.aux_optimizer, c.state, c.average)
        }
        None => {
            let (network, widened_from) = match opts.init_weights {
                Some(p) => {
                    let (network, m) =
                        checkpoint::load_init(p, config.network, &config.lambdas, &device)?;
                    (network, (m < config.network.m).then_some(m))
                }
                None => {
                    device.seed(config.seed);
                    (Network::new(config.network, &device), None)
                }
            };
            let state = checkpoint::RunState {
                step: 0,
                train_seconds: 0.0,
                network: config.network,
                lambdas: config.lambdas,
                widened_from,
            };
            (network, main, aux, state, None)
        }
    };
    // The average lives beside the network on the plain (non-autodiff) device.
    let mut average = (config.ema > 0.0).then(|| {
        let (average, from) = match saved_average {
            Some(a) => (
                average::WeightAverage::resume(a, config.ema),
                "the checkpoint's average",
            ),
            None => (
                average::WeightAverage::new(&network, config.ema),
                "the current weights",
            ),
        };
        eprintln!("weight average: decay {} per step, from {from}", config.ema);
        average
    });
    if config.only_context && !network.has_context() {
        return Err(TrainError::Config(
            "training only the context model needs one: add it with --context".into(),
        ));
    }
    if config.new_channel_ramp > 0 && state.widened_from.is_none() {
        // Silently training without the ramp one meant to have would waste the whole run.
        return Err(TrainError::Config(
            "a new-channel ramp needs new channels: this run did not widen an --init package \
             to more latent channels"
                .into(),
        ));
    }
    let cfg_path = opts.out.join("run.json");
    fs::write(
        &cfg_path,
        serde_json::to_vec_pretty(config).expect("config serializes"),
    )
    .map_err(|e| TrainError::Io(cfg_path.clone(), e))?;

    let images = Arc::new(data::load_images(&files, config.patch)?);
    eprintln!(
        "{} training images from {}",
        images.len(),
        opts.data.display()
    );
    let crops = data::Crops {
        batch: config.batch,
        patch: config.patch,
        min_scale: config.min_scale,
    };
    let batches = data::spawn_loader(images, config.seed, state.step, crops);

    let val_images = match opts.validation {
        Some((dir, limit)) if config.validate_every > 0 => validate::load(dir, limit)?,
        _ => Vec::new(),
    };
    let log_path = opts.out.join(log::TRAIN_LOG);
    let mut log_file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| TrainError::Io(log_path.clone(), e))?;

    let end = match opts.max_session_steps {
        Some(n) => (state.step + n).min(config.steps),
        None => config.steps,
    };
    let bar = progress_bar(opts.progress, state.step, config.steps);
    let (b, p) = (config.batch, config.patch);
    let weights = rung_weights(&config.lambdas, config.rung_balance);
    let mut acc = Accumulator::default();
    let mut interval_start = Instant::now();
    let mut last_ckpt = Instant::now();
    let mut summary = TrainSummary {
        step: state.step,
        last: None,
        first: None,
    };

    while state.step < end {
        let t0 = Instant::now();
        let batch = batches.recv().expect("loader thread alive");
        debug_assert_eq!(batch.step, state.step);
        let x = Tensor::<4>::from_data(TensorData::new(batch.pixels, [b, 3, p, p]), &device);
        let mut rng =
            StdRng::seed_from_u64(config.seed.wrapping_add(0xA5A5) ^ state.step.rotate_left(17));
        let ste = state.step >= config.straight_through_from;
        let new_channels = state.widened_from.map(|from| ChannelRate {
            from,
            weight: config.new_channel_rate_weight(state.step) as f32,
        });
        let out = network.forward_train(x.clone(), &batch.rungs, ste, new_channels, |shape| {
            let n: usize = shape.iter().product();
            let v: Vec<f32> = (0..n).map(|_| rng.random::<f32>() - 0.5).collect();
            Tensor::<4>::from_data(TensorData::new(v, shape), &device)
        });
        let mse = (out.x_hat - x)
            .square()
            .reshape([b, 3 * p * p])
            .mean_dim(1)
            .reshape([b]);
        let per_sample = |f: &dyn Fn(usize) -> f64| {
            let v: Vec<f32> = batch.rungs.iter().map(|&r| f(r) as f32).collect();
            Tensor::<1>::from_data(TensorData::new(v, [b]), &device)
        };
        // With β = 0 every weight is exactly 1 and the loss is bit-identical to the plain one.
        let lambdas = per_sample(&|r| weights[r] * config.lambdas[r] * 255.0 * 255.0);
        let rate_weights = per_sample(&|r| weights[r]);
        if std::env::var_os("ANSEL_TRAIN_DEBUG").is_some() && state.step % 25 == 0 {
            let v = |t: Tensor<1>| {
                t.into_data()
                    .convert::<f32>()
                    .try_to_vec::<f32>()
                    .unwrap_or_default()
            };
            eprintln!(
                "debug step {}: rungs {:?} mse {:?} bits_y {:?} bits_z {:?} |y| {:?} σ {:?}",
                state.step,
                batch.rungs,
                v(mse.clone()),
                v(out.bits_y.clone()),
                v(out.bits_z.clone()),
                v(out.y_abs.clone()),
                v(out.scale_mean.clone())
            );
        }
        let bpp = (out.bits_y + out.bits_z).div_scalar((p * p) as f64);
        let loss = (lambdas * mse.clone() + rate_weights * bpp.clone()).mean();

        let lr = config.learning_rate(state.step);
        let grads = match network.context_model().filter(|_| config.only_context) {
            // Parameters without a gradient are left alone by the optimizer.
            Some(context) => GradientsParams::from_grads(loss.backward(), context),
            None => GradientsParams::from_grads(loss.backward(), &network),
        };
        network = optim.step(lr, network, grads);
        let aux = network.aux_loss();
        if !config.only_context {
            let aux_grads = GradientsParams::from_grads(aux.clone().backward(), &network);
            network = aux_optim.step(config.aux_lr, network, aux_grads);
        }
        if let Some(a) = average.as_mut() {
            a.update(&network);
        }

        acc.add(
            loss.into_scalar::<f32>() as f64,
            bpp.mean().into_scalar::<f32>() as f64,
            mse.mean().into_scalar::<f32>() as f64,
            aux.into_scalar::<f32>() as f64,
        );
        state.step += 1;
        state.train_seconds += t0.elapsed().as_secs_f64();
        bar.set_position(state.step);

        if state.step % config.log_every == 0 || state.step == end {
            let line = acc.line(&state, lr, interval_start.elapsed().as_secs_f64());
            acc = Accumulator::default();
            interval_start = Instant::now();
            let _ = writeln!(
                log_file,
                "{}",
                serde_json::to_string(&line).expect("log serializes")
            );
            let msg = format!(
                "loss {:.3}  bpp {:.3}  psnr {:.2}  aux {:.1}  lr {:.1e}",
                line.loss, line.bpp, line.psnr, line.aux, line.lr
            );
            if opts.progress {
                bar.set_message(msg);
            } else {
                eprintln!(
                    "step {} {msg}  {:.2} steps/s",
                    line.step, line.steps_per_sec
                );
            }
            summary.first.get_or_insert_with(|| line.clone());
            summary.last = Some(line);
        }
        if !val_images.is_empty() && (state.step % config.validate_every == 0 || state.step == end)
        {
            // What export would take: the average if the run keeps one.
            let weights = average.as_ref().map_or(&network, |a| a.network());
            run_validation(weights, config, &state, &val_images, opts.out)?;
        }
        if last_ckpt.elapsed().as_secs_f64() > config.checkpoint_minutes * 60.0 || state.step == end
        {
            let avg = average.as_ref().map(|a| a.network());
            checkpoint::save(opts.out, &network, avg, &optim, &aux_optim, &state)?;
            last_ckpt = Instant::now();
        }
    }
    bar.finish_and_clear();
    summary.step = state.step;
    Ok(summary)
}

/// Exports the current network, codes the validation images with it, logs the results to
/// `val.jsonl` and keeps the package as `latest.anselpkg`.
fn run_validation(
    network: &Network,
    config: &TrainConfig,
    state: &checkpoint::RunState,
    images: &[crate::eval::DatasetImage],
    out: &Path,
) -> Result<(), TrainError> {
    let provenance = export::Provenance {
        steps: state.step,
        train_seconds: state.train_seconds,
        ..Default::default()
    };
    let package = export::export(network, config.network, &config.lambdas, &provenance)?;
    let points = validate::validate(&package, images, &VALIDATION_QUALITIES, state.step)?;
    let path = out.join(log::VALIDATION_LOG);
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| TrainError::Io(path.clone(), e))?;
    for p in &points {
        let _ = writeln!(f, "{}", serde_json::to_string(p).expect("serializes"));
        eprintln!(
            "validation step {}: q{} {:.3} bpp {:.2} dB",
            p.step, p.quality, p.bpp, p.psnr
        );
    }
    let pkg = out.join("latest.anselpkg");
    output::write(&pkg, &package.to_bytes(), Existing::Replace)?;
    Ok(())
}

fn progress_bar(enabled: bool, pos: u64, len: u64) -> ProgressBar {
    if !enabled {
        return ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden());
    }
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30}] {pos}/{len} {per_sec} ETA {eta}  {msg}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_position(pos);
    bar
}

#[derive(Default)]
struct Accumulator {
    n: u64,
    loss: f64,
    bpp: f64,
    mse: f64,
    aux: f64,
}

impl Accumulator {
    fn add(&mut self, loss: f64, bpp: f64, mse: f64, aux: f64) {
        self.n += 1;
        self.loss += loss;
        self.bpp += bpp;
        self.mse += mse;
        self.aux += aux;
    }

    fn line(&self, state: &checkpoint::RunState, lr: f64, seconds: f64) -> LogLine {
        let n = self.n.max(1) as f64;
        LogLine {
            step: state.step,
            train_seconds: state.train_seconds,
            loss: self.loss / n,
            bpp: self.bpp / n,
            psnr: -10.0 * (self.mse / n).max(1e-12).log10(),
            aux: self.aux / n,
            lr,
            steps_per_sec: self.n as f64 / seconds.max(1e-9),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RUNGS;

    #[test]
    fn rung_weights_even_out_the_ladder() {
        let l = &COMPRESSAI_LADDER;
        assert_eq!(rung_weights(l, 0.0), [1.0; RUNGS]);
        let w = rung_weights(l, 0.5);
        // λ spans 100×: the lowest rung weighs √100 = 10× the highest.
        assert!((w[0] / w[RUNGS - 1] - 10.0).abs() < 1e-9, "{w:?}");
        assert!(w.windows(2).all(|p| p[0] > p[1]), "{w:?}");
        assert!((w.iter().product::<f64>() - 1.0).abs() < 1e-9, "{w:?}");
    }

    #[test]
    fn schedule_warms_up_and_decays() {
        let c = TrainConfig {
            steps: 1000,
            warmup: 100,
            lr: 1e-3,
            decay_from: 0.8,
            ..TrainConfig::default()
        };
        assert!((c.learning_rate(0) - 1e-5).abs() < 1e-12);
        assert!((c.learning_rate(500) - 1e-3).abs() < 1e-12);
        assert!(c.learning_rate(900) < 1e-3 && c.learning_rate(900) > 1e-4);
        assert!((c.learning_rate(1000) - 1e-4).abs() < 1e-9);
    }

    /// A resumed run's optimizers must step exactly like the ones that were saved. Gradients far
    /// above the clipping norm expose a mix-up of settings (Adam alone is scale-free), such as
    /// the auxiliary optimizer coming back with the main one's clipping.
    #[test]
    fn resumed_optimizers_step_like_the_saved_ones() {
        let device = Device::flex().autodiff();
        let config = TrainConfig {
            network: NetworkConfig::new(8, 8),
            ..TrainConfig::default()
        };
        let (mut main, mut aux) = optimizers(&config);
        let big_step = |net: Network, optim: &mut ModuleOptimizer, loss: Tensor<1>| {
            let grads = GradientsParams::from_grads(loss.mul_scalar(1e4).backward(), &net);
            optim.step(1e-2, net, grads)
        };
        // The main loss on a fixed 64x64 ramp, without noise.
        let main_loss = |net: &Network| {
            let v: Vec<f32> = (0..3 * 64 * 64).map(|i| (i % 97) as f32 / 97.0).collect();
            let x = Tensor::<4>::from_data(TensorData::new(v, [1, 3, 64, 64]), &device);
            let out = net.forward_train(x.clone(), &[0], false, None, |shape| {
                Tensor::<4>::zeros(shape, &device)
            });
            (out.x_hat - x).square().mean() + (out.bits_y + out.bits_z).sum()
        };
        let mut net = Network::new(config.network, &device);
        // One step each, so both optimizers have moments to save.
        let loss = net.aux_loss();
        net = big_step(net, &mut aux, loss);
        let loss = main_loss(&net);
        net = big_step(net, &mut main, loss);

        let dir = tempfile::tempdir().unwrap();
        let state = checkpoint::RunState {
            step: 2,
            train_seconds: 0.0,
            network: config.network,
            lambdas: config.lambdas,
            widened_from: None,
        };
        checkpoint::save(dir.path(), &net, None, &main, &aux, &state).unwrap();
        let latest = checkpoint::latest(dir.path()).unwrap();
        let (fresh_main, fresh_aux) = optimizers(&config);
        let mut resumed = checkpoint::load(&latest, &device, fresh_main, fresh_aux).unwrap();

        let value = |net: &Network| net.aux_loss().into_scalar::<f32>();
        let loss = net.aux_loss();
        let a = big_step(net, &mut aux, loss);
        let loss = resumed.network.aux_loss();
        let b = big_step(resumed.network, &mut resumed.aux_optimizer, loss);
        assert_eq!(
            value(&a),
            value(&b),
            "auxiliary optimizer resumed differently"
        );

        let loss = main_loss(&a);
        let a = big_step(a, &mut main, loss);
        let loss = main_loss(&b);
        let b = big_step(b, &mut resumed.optimizer, loss);
        let (a, b) = (main_loss(&a), main_loss(&b));
        assert_eq!(
            a.into_scalar::<f32>(),
            b.into_scalar::<f32>(),
            "main optimizer resumed differently"
        );
    }
}
