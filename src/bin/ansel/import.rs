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
    /// A CompressAI checkpoint: what `torch.save` writes, the zoo's state dict or a training
    /// checkpoint with one under "state_dict". Every quality of the package codes at the
    /// checkpoint's one rate.
    Compressai {
        /// The checkpoint (one network per package for now).
        #[arg(required = true, value_name = "CHECKPOINT")]
        checkpoints: Vec<PathBuf>,
        /// Its architecture: bmshj2018-hyperprior or mbt2018-mean.
        #[arg(long, value_name = "ARCH")]
        arch: Architecture,
        /// The λ it was trained with (CompressAI's zoo, qualities 1–8: 0.0018, 0.0035, 0.0067,
        /// 0.013, 0.025, 0.0483, 0.0932, 0.18), what `--refine` weighs distortion with.
        #[arg(long)]
        lambda: f64,
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
    let [checkpoint] = checkpoints.as_slice() else {
        return Err(format!(
            "{} checkpoints given: a package holds one network for now, import each on its own",
            checkpoints.len()
        )
        .into());
    };
    let options = import::Options {
        scales: match scales {
            Scales::Ansel => import::ScaleTable::Ansel,
            Scales::Compressai => import::ScaleTable::CompressAi,
        },
        ..import::Options::new(arch, lambda)
    };
    let package = import::compressai(checkpoint, &options)?;
    let codec = crate::model::write_package(&package, &output, force)?;
    let config = package.metadata.network;
    outln!(
        "imported {} ({arch}, N = {}, M = {}, {} parameters) → {} (model {})",
        checkpoint.display(),
        config.n,
        config.m,
        codec.parameter_count(),
        output.display(),
        codec.id()
    );
    Ok(())
}
