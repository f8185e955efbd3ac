//! `ansel train` and `ansel export`.

use std::path::PathBuf;

use clap::Args;

use ansel::backend::DeviceChoice;
use ansel::model::{ops, Ladder, NetworkConfig, COMPRESSAI_LADDER, DEFAULT_LADDER, RUNGS};
use ansel::train::{self, checkpoint, export, RunOptions, TrainConfig};

/// The library's defaults, so `ansel train --help` and `TrainConfig::default()` cannot disagree.
static DEFAULTS: std::sync::LazyLock<TrainConfig> = std::sync::LazyLock::new(TrainConfig::default);

#[derive(Args)]
pub struct TrainArgs {
    /// Directory of training images (never Kodak).
    #[arg(long)]
    data: PathBuf,
    /// Run directory: checkpoints, log, config.
    #[arg(long)]
    out: PathBuf,
    /// Total steps of the schedule.
    #[arg(long, default_value_t = DEFAULTS.steps)]
    steps: u64,
    /// Crops per batch.
    #[arg(long, default_value_t = DEFAULTS.batch)]
    batch: usize,
    /// Crop size in pixels (multiple of 64). 256 trains better than 128 at the same pixels per
    /// step (docs/training/README.md, run 12); images smaller than this are skipped.
    #[arg(long, default_value_t = DEFAULTS.patch)]
    patch: usize,
    /// Peak learning rate.
    #[arg(long, default_value_t = DEFAULTS.lr)]
    lr: f64,
    /// Learning rate of the z prior's quantiles (auxiliary loss).
    #[arg(long, default_value_t = DEFAULTS.aux_lr)]
    aux_lr: f64,
    /// Step from which the synthesis trains on rounded latents instead of noisy ones.
    #[arg(long, default_value_t = DEFAULTS.straight_through_from)]
    straight_through_from: u64,
    /// Per-parameter gradient norm clipping (0: off).
    #[arg(long, default_value_t = DEFAULTS.grad_clip)]
    grad_clip: f64,
    /// Hidden/hyper-latent channels N.
    #[arg(long, default_value_t = DEFAULTS.network.n)]
    n: usize,
    /// Latent channels M.
    #[arg(long, default_value_t = DEFAULTS.network.m)]
    m: usize,
    /// Hidden channels of the analysis and synthesis transforms, if not N: more capacity at
    /// high rates, for about (T/N)² the time of their middle layers. With --init, a package with
    /// narrower transforms is widened to T; the new units start unused.
    #[arg(long, value_name = "T")]
    transform_n: Option<usize>,
    /// Code the latent in two checkerboard passes, the second predicted from the decoded first
    /// as well as from the hyperprior (He et al. 2021). With --init, a package without a
    /// context model gets one that starts by changing nothing. A resumed run must repeat it.
    #[arg(long)]
    context: bool,
    /// Train the context model only (with --context): every other weight stays as --init gave
    /// it, so the context of a trained model can learn at a learning rate (--lr) that the
    /// transforms would not stand.
    #[arg(long, requires = "context")]
    only_context: bool,
    /// λ of qualities 1 to 8: `default` (0.0003 … 0.18; assets/MODEL.md gives the bpp each
    /// reaches on Kodak), `compressai` (0.0018 … 0.18), or eight comma-separated numbers. A
    /// resumed run keeps its own ladder unless this is given; --init moves a package's gains onto
    /// the new ladder.
    #[arg(long, value_parser = parse_ladder, value_name = "default|compressai|λ1,…,λ8")]
    lambdas: Option<Ladder>,
    /// Seed.
    #[arg(long, default_value_t = DEFAULTS.seed)]
    seed: u64,
    /// Continue from the latest checkpoint in --out (starts fresh if there is none).
    #[arg(long)]
    resume: bool,
    /// Start from these weights (a model package such as assets/default.anselpkg, or a burnpack)
    /// instead of a random initialisation. A package with fewer latent channels than --m is
    /// widened to --m (and one with narrower transforms to --transform-n); the new channels
    /// start unused.
    #[arg(long)]
    init: Option<PathBuf>,
    /// After --init widened the latent: steps over which the new channels' rate ramps into the
    /// loss, from nothing to full, so they learn to carry something first (0: full at once).
    /// Make it slow: new channels come alive only while their weight is low; a resumed run may
    /// shorten it once they carry rate. Refused in a run that
    /// did not widen.
    #[arg(long, default_value_t = DEFAULTS.new_channel_ramp)]
    new_channel_ramp: u64,
    /// Stop after this many steps from where this run starts or resumes.
    #[arg(long)]
    session_steps: Option<u64>,
    /// Minutes between checkpoints.
    #[arg(long, default_value_t = DEFAULTS.checkpoint_minutes)]
    checkpoint_minutes: f64,
    /// Steps between log lines.
    #[arg(long, default_value_t = DEFAULTS.log_every)]
    log_every: u64,
    /// Downscale each crop by a random factor between this and 1 (a square of patch/s pixels
    /// resized to the patch), so the photos also train at lower resolutions (1: full-size
    /// crops). Photos too small for a larger square are cut at full size. It has not helped
    /// the default model (docs/training/README.md).
    #[arg(long, default_value_t = DEFAULTS.min_scale, value_name = "S", value_parser = parse_scale)]
    min_scale: f64,
    /// Weigh each sample's loss by (λ/λ̄)^−β so that low rates steer the shared transforms as
    /// much as high ones (0: plain loss; 0.5 about evens out the rungs).
    #[arg(long, default_value_t = DEFAULTS.rung_balance, value_name = "β")]
    rung_balance: f64,
    /// Keep a moving average of the weights with this decay per step (0: none; 0.999 averages
    /// over about the last 1,000 steps). Validation and export read the average: it smooths out
    /// the noise of small batches, so a run need not anneal to show where it stands.
    #[arg(long, default_value_t = DEFAULTS.ema, value_name = "DECAY", value_parser = parse_decay)]
    ema: f64,
    /// Steps between validations through the real codec (0: never).
    #[arg(long, default_value_t = DEFAULTS.validate_every)]
    validate_every: u64,
    /// Validation images (never used for training).
    #[arg(long, default_value = "../shared/datasets/kodak")]
    val_dir: PathBuf,
    /// Use at most this many validation images.
    #[arg(long, default_value_t = 24)]
    val_images: usize,
    /// Where the training steps run: cpu, gpu (needs the `wgpu` build feature), auto, or
    /// libtorch (the CPU through PyTorch; needs the `tch` build feature, faster).
    #[arg(long, default_value = "auto", value_name = "cpu|gpu|auto|libtorch")]
    device: DeviceChoice,
    /// Arithmetic of the convolutions: f32, or bf16 (libtorch only; master weights, optimizer
    /// and everything but the convolutions stay f32). Fast where the CPU has AMX or AVX-512
    /// BF16, many times slower where it has neither.
    #[arg(long, default_value = "f32", value_name = "f32|bf16")]
    precision: PrecisionArg,
}

/// Whether the CPU computes bf16 products natively (AVX-512 BF16; every CPU with AMX has it).
fn cpu_has_bf16() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512bf16")
    }
    #[cfg(target_arch = "aarch64")]
    {
        std::arch::is_aarch64_feature_detected!("bf16")
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        false
    }
}

/// `--precision`.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum PrecisionArg {
    F32,
    Bf16,
}

fn number(s: &str) -> Result<f64, String> {
    s.parse::<f64>()
        .map_err(|_| format!("{s:?} is not a number"))
}

fn parse_decay(s: &str) -> Result<f64, String> {
    train::average::check_decay(number(s)?)
}

fn parse_scale(s: &str) -> Result<f64, String> {
    train::data::check_min_scale(number(s)?)
}

fn parse_ladder(s: &str) -> Result<Ladder, String> {
    match s {
        "default" => return Ok(DEFAULT_LADDER),
        "compressai" => return Ok(COMPRESSAI_LADDER),
        _ => {}
    }
    let values = s
        .split(',')
        .map(|v| v.trim().parse::<f64>().map_err(|e| format!("`{v}`: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let ladder: Ladder = values
        .as_slice()
        .try_into()
        .map_err(|_| format!("{} values given, a ladder has {RUNGS}", values.len()))?;
    let increasing = ladder.windows(2).all(|p| p[0] < p[1]);
    if ladder[0] <= 0.0 || !ladder.iter().all(|l| l.is_finite()) || !increasing {
        return Err("λ must be positive, finite and increasing".into());
    }
    Ok(ladder)
}

/// The ladder this run trains on: the one asked for, else the resumed checkpoint's, else the
/// default.
fn run_ladder(a: &TrainArgs) -> Result<Ladder, Box<dyn std::error::Error>> {
    if let Some(l) = a.lambdas {
        return Ok(l);
    }
    match checkpoint::latest(&a.out).filter(|_| a.resume) {
        Some(dir) => Ok(checkpoint::load_state(&dir)?.lambdas),
        None => Ok(DEFAULT_LADDER),
    }
}

pub fn run(a: TrainArgs) -> Result<(), Box<dyn std::error::Error>> {
    let config = TrainConfig {
        network: NetworkConfig::new(a.n, a.m)
            .with_transform_n(a.transform_n.unwrap_or(a.n))
            .with_context(a.context),
        lambdas: run_ladder(&a)?,
        steps: a.steps,
        batch: a.batch,
        patch: a.patch,
        min_scale: a.min_scale,
        lr: a.lr,
        aux_lr: a.aux_lr,
        grad_clip: a.grad_clip,
        straight_through_from: a.straight_through_from,
        seed: a.seed,
        checkpoint_minutes: a.checkpoint_minutes,
        log_every: a.log_every,
        validate_every: a.validate_every,
        rung_balance: a.rung_balance,
        new_channel_ramp: a.new_channel_ramp,
        ema: a.ema,
        only_context: a.only_context,
        ..TrainConfig::default()
    };
    let device = crate::device::select(a.device)?;
    if a.precision == PrecisionArg::Bf16 {
        if a.device != DeviceChoice::Libtorch {
            return Err("--precision bf16 needs --device libtorch".into());
        }
        if !cpu_has_bf16() {
            eprintln!(
                "warning: this CPU has no bf16 instructions (AVX-512 BF16); libtorch takes a \
                 scalar path for bf16 matrix products, many times slower than --precision f32"
            );
        }
        ops::set_libtorch_precision(ops::Precision::Bf16);
    }
    let opts = RunOptions {
        device: device.device().clone(),
        data: &a.data,
        out: &a.out,
        resume: a.resume,
        init_weights: a.init.as_deref(),
        max_session_steps: a.session_steps,
        progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
        validation: a
            .val_dir
            .is_dir()
            .then_some((a.val_dir.as_path(), a.val_images)),
    };
    let s = train::train(&config, &opts)?;
    eprintln!("stopped at step {}", s.step);
    Ok(())
}

/// Freeze a training checkpoint into a model package.
#[derive(Args)]
pub struct ExportArgs {
    /// Run directory (its latest checkpoint is exported) or a checkpoint directory.
    #[arg(long)]
    run: PathBuf,
    /// Training images, to record their hash in the package.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Output package file.
    #[arg(short, long)]
    output: PathBuf,
    /// Note recorded in the package metadata.
    #[arg(long, default_value = "")]
    note: String,
    /// Export the trained weights even where the run keeps a weight average (`train --ema`),
    /// which is exported otherwise.
    #[arg(long)]
    raw_weights: bool,
    /// Replace the output file if it exists.
    #[arg(short, long)]
    force: bool,
}

pub fn run_export(a: ExportArgs) -> Result<(), Box<dyn std::error::Error>> {
    let sink = crate::io::Sink::File(a.output.clone());
    sink.check(a.force, "a model package")?;
    let dir = if a.run.join("state.json").is_file() {
        a.run.clone()
    } else {
        checkpoint::latest(&a.run)
            .ok_or_else(|| format!("{}: no checkpoint found", a.run.display()))?
    };
    let device = burn::prelude::Device::flex();
    let state = checkpoint::load_state(&dir)?;
    let (network, averaged) =
        checkpoint::load_for_export(&dir, state.network, &device, a.raw_weights)?;
    let provenance = export::Provenance {
        steps: state.step,
        train_seconds: state.train_seconds,
        dataset_hash: match &a.data {
            Some(d) => export::dataset_hash(d)?,
            None => String::new(),
        },
        note: a.note,
    };
    let package = export::export(&network, state.network, &state.lambdas, &provenance)?;
    sink.write(&package.to_bytes(), a.force)?;
    eprintln!(
        "exported {}{} (step {}, model {}) to {}",
        dir.display(),
        if averaged { " (weight average)" } else { "" },
        state.step,
        ansel::codec_format::ModelId {
            arch: package.metadata().arch,
            hash: package.id()
        },
        a.output.display()
    );
    Ok(())
}
