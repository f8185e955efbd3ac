//! The `ansel` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use ansel::model::NetworkConfig;
use ansel::train::{self, RunOptions, TrainConfig};

/// ansel: a learned image codec.
#[derive(Parser)]
#[command(name = "ansel", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train the network on a directory of photos.
    Train(TrainArgs),
}

#[derive(Args)]
struct TrainArgs {
    /// Directory of training images (never Kodak).
    #[arg(long)]
    data: PathBuf,
    /// Run directory: checkpoints, log, config.
    #[arg(long)]
    out: PathBuf,
    /// Total steps of the schedule.
    #[arg(long, default_value_t = 100_000)]
    steps: u64,
    /// Crops per batch.
    #[arg(long, default_value_t = 8)]
    batch: usize,
    /// Crop size in pixels (multiple of 64).
    #[arg(long, default_value_t = 128)]
    patch: usize,
    /// Peak learning rate.
    #[arg(long, default_value_t = 5e-4)]
    lr: f64,
    /// Learning rate of the z prior's quantiles (auxiliary loss).
    #[arg(long, default_value_t = 1e-2)]
    aux_lr: f64,
    /// Step from which the synthesis trains on rounded latents instead of noisy ones.
    #[arg(long, default_value_t = 5_000)]
    straight_through_from: u64,
    /// Hidden/hyper-latent channels N.
    #[arg(long, default_value_t = 128)]
    n: usize,
    /// Latent channels M.
    #[arg(long, default_value_t = 192)]
    m: usize,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Continue from the latest checkpoint in --out (starts fresh if there is none).
    #[arg(long)]
    resume: bool,
    /// Start from these network weights (burnpack) instead of a random initialisation.
    #[arg(long)]
    init: Option<PathBuf>,
    /// Stop after this many steps in this session.
    #[arg(long)]
    session_steps: Option<u64>,
    /// Minutes between checkpoints.
    #[arg(long, default_value_t = 5.0)]
    checkpoint_minutes: f64,
    /// Steps between log lines.
    #[arg(long, default_value_t = 50)]
    log_every: u64,
    /// Steps between validations through the real codec (0: never).
    #[arg(long, default_value_t = 2000)]
    validate_every: u64,
    /// Validation images (never used for training).
    #[arg(long, default_value = "../shared/datasets/kodak")]
    val_dir: PathBuf,
    /// Use at most this many validation images.
    #[arg(long, default_value_t = 24)]
    val_images: usize,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(a) => run_train(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ansel: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_train(a: TrainArgs) -> Result<(), Box<dyn std::error::Error>> {
    let config = TrainConfig {
        network: NetworkConfig { n: a.n, m: a.m },
        steps: a.steps,
        batch: a.batch,
        patch: a.patch,
        lr: a.lr,
        aux_lr: a.aux_lr,
        straight_through_from: a.straight_through_from,
        seed: a.seed,
        checkpoint_minutes: a.checkpoint_minutes,
        log_every: a.log_every,
        validate_every: a.validate_every,
        ..TrainConfig::default()
    };
    let opts = RunOptions {
        data: &a.data,
        out: &a.out,
        resume: a.resume,
        init_weights: a.init.as_deref(),
        max_session_steps: a.session_steps,
        progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
        validation: a.val_dir.is_dir().then_some((a.val_dir.as_path(), a.val_images)),
    };
    let s = train::train(&config, &opts)?;
    eprintln!("stopped at step {}", s.step);
    Ok(())
}
