//! `ansel import`: a model trained elsewhere into a model package.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use ansel::import::{self, Architecture};

/// Arguments of `ansel import`.
#[derive(Args)]
pub struct ImportArgs {
    #[command(subcommand)]
    source: Source,
}

/// Where the model comes from.
#[derive(Subcommand)]
enum Source {
    /// CompressAI checkpoints: what `torch.save` writes, the zoo's state dict or a training
    /// checkpoint with one under "state_dict". One checkpoint: every quality of the package
    /// codes at its one rate. Several (up to 8, one architecture): one network per quality,
    /// ordered by λ, `-q k` coding with the k-th smallest, whole qualities only.
    Compressai {
        /// The checkpoints.
        #[arg(required = true, value_name = "CHECKPOINT")]
        checkpoints: Vec<PathBuf>,
        /// Their architecture: bmshj2018-hyperprior or mbt2018-mean.
        #[arg(long, value_name = "ARCH")]
        arch: Architecture,
        /// The λ each was trained with, comma-separated in the checkpoints' order (CompressAI's
        /// zoo, qualities 1–8: 0.0018, 0.0035, 0.0067, 0.013, 0.025, 0.0483, 0.0932, 0.18),
        /// what orders the networks and what `--refine` weighs distortion with.
        #[arg(long, required = true, value_delimiter = ',', value_name = "λ,…")]
        lambda: Vec<f64>,
        /// The scales of y's tables: ansel's ladder (128 scales, codes smaller) or CompressAI's
        /// scale table (64 scales, what CompressAI's own coder uses).
        #[arg(long, value_enum, default_value = "ansel")]
        scales: Scales,
        /// Where to write the package.
        #[arg(short, long, value_name = "PKG")]
        output: PathBuf,
        /// Overwrite an existing output file.
        #[arg(short, long)]
        force: bool,
    },
}

/// The `--scales` choices.
#[derive(Clone, Copy, clap::ValueEnum)]
enum Scales {
    Ansel,
    Compressai,
}

/// Runs `ansel import`.
pub fn run(a: ImportArgs) -> Result<(), Box<dyn std::error::Error>> {
    let Source::Compressai {
        checkpoints,
        arch,
        lambda,
        scales,
        output,
        force,
    } = a.source;
    if lambda.len() != checkpoints.len() {
        return Err(format!(
            "{} checkpoints and {} λ: give one λ per checkpoint (--lambda 0.0018,0.0035,…)",
            checkpoints.len(),
            lambda.len()
        )
        .into());
    }
    let scales = match scales {
        Scales::Ansel => import::ScaleTable::Ansel,
        Scales::Compressai => import::ScaleTable::CompressAi,
    };
    let set: Vec<(PathBuf, import::Options)> = checkpoints
        .into_iter()
        .zip(lambda)
        .map(|(path, lambda)| {
            let options = import::Options {
                scales,
                ..import::Options::new(arch, lambda)
            };
            (path, options)
        })
        .collect();
    let package = import::compressai_set(&set)?;
    let codec = crate::model::write_package(&package, &output, force)?;
    let networks = package.networks();
    for (k, (network, parameters)) in networks.iter().zip(codec.parameter_counts()).enumerate() {
        // Every network's note names its architecture, N, M, λ and checkpoint.
        let quality = if networks.len() > 1 {
            format!("quality {}: ", k + 1)
        } else {
            String::new()
        };
        outln!(
            "{quality}{}, {parameters} parameters",
            network.metadata.note
        );
    }
    outln!("→ {} (model {})", output.display(), codec.id());
    Ok(())
}
