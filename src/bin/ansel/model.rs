//! `ansel model`: what a model package is (the embedded default model unless `--model`), and
//! `ansel model convert`, which rewrites a version-1 package in the current format.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use ansel::output::{self, Existing};
use ansel::{Codec, Package};

/// Arguments of `ansel model`.
#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ModelArgs {
    #[command(subcommand)]
    action: Option<ModelAction>,
    /// Model package to describe instead of the embedded default model.
    #[arg(long, value_name = "PKG")]
    model: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// What `ansel model` can do besides describing a package.
#[derive(Subcommand)]
enum ModelAction {
    /// Rewrite a version-1 model package (burn weights) as a current one, under the same
    /// model id: streams made with the old package decode with the new one, to the same pixels
    Convert {
        /// The version-1 package.
        input: PathBuf,
        /// Where to write the converted package.
        #[arg(short, long, value_name = "PKG")]
        output: PathBuf,
        /// Replace the package's note (training runs, machine) with TEXT.
        #[arg(long, value_name = "TEXT")]
        note: Option<String>,
        /// Overwrite an existing output file.
        #[arg(short, long)]
        force: bool,
    },
}

/// Writes `package` to `output` (an existing file only with `force`) once it loads as a codec,
/// which is returned.
pub fn write_package(
    package: &Package,
    output: &std::path::Path,
    force: bool,
) -> Result<Codec, Box<dyn std::error::Error>> {
    let codec = Codec::from_package(package)?;
    output::write(output, &package.to_bytes(), Existing::replace_if(force))?;
    Ok(codec)
}

/// Runs `ansel model`.
pub fn run(a: ModelArgs) -> Result<(), Box<dyn std::error::Error>> {
    if let Some(ModelAction::Convert {
        input,
        output,
        note,
        force,
    }) = a.action
    {
        let bytes = std::fs::read(&input).map_err(|e| format!("{}: {e}", input.display()))?;
        let mut package = ansel::train::export::convert_v1(&bytes)
            .map_err(|e| format!("{}: {e}", input.display()))?;
        if let Some(note) = note {
            package.metadata_mut().note = note;
        }
        // The converted package must load, and under the old id.
        let codec = write_package(&package, &output, force)?;
        outln!(
            "converted {} → {} (model {})",
            input.display(),
            output.display(),
            codec.id()
        );
        return Ok(());
    }
    let codec = match &a.model {
        Some(p) => Codec::from_package(&Package::read(p)?)?,
        None => Codec::embedded()?,
    };
    let m = codec.metadata();
    let source = a
        .model
        .as_ref()
        .map_or_else(|| "embedded".to_string(), |p| p.display().to_string());
    let networks: Vec<_> = codec.decoder().network_metadata().collect();
    let k = networks.len();
    let hyperprior = |m: &ansel::ModelMetadata| match m.network.hyperprior {
        ansel::Hyperprior::MeanScale => "mean-scale hyperprior",
        ansel::Hyperprior::ScaleOnly => "scale hyperprior (means zero)",
    };
    if a.json {
        let described: Vec<_> = networks
            .iter()
            .zip(codec.parameter_counts())
            .enumerate()
            .map(|(i, (m, parameters))| {
                serde_json::json!({
                    // A single network codes every quality.
                    "quality": (k > 1).then_some(i + 1),
                    "arch": m.arch,
                    "network": m.network,
                    "parameters": parameters,
                    "lambdas": m.lambdas,
                    "note": m.note,
                })
            })
            .collect();
        let v = serde_json::json!({
            "package": source,
            "id": codec.id().to_string(),
            "network": m.network,
            "parameters": codec.parameter_count(),
            "lambdas": m.lambdas,
            "steps": m.steps,
            "train_seconds": m.train_seconds,
            "dataset_hash": m.dataset_hash,
            "note": m.note,
            "networks": described,
        });
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    outln!("model      {} ({source})", codec.id());
    if k > 1 {
        outln!(
            "networks   {k}, one per quality 1..{k} (whole qualities only), {} parameters in all",
            codec.parameter_count()
        );
        for (i, (m, parameters)) in networks.iter().zip(codec.parameter_counts()).enumerate() {
            outln!(
                "quality {}  {}, {}, λ {}, {parameters} parameters",
                i + 1,
                hyperprior(m),
                m.network,
                m.lambdas[0]
            );
            if !m.note.is_empty() {
                outln!("           {}", m.note);
            }
        }
        return Ok(());
    }
    outln!(
        "network    {}, {}, {} parameters",
        hyperprior(m),
        m.network,
        codec.parameter_count()
    );
    let lambdas: Vec<String> = m.lambdas.iter().map(|l| l.to_string()).collect();
    outln!(
        "λ ladder   {} (qualities 1..{})",
        lambdas.join(", "),
        m.lambdas.len()
    );
    if m.steps > 0 {
        outln!(
            "training   {} steps, {:.1} h",
            m.steps,
            m.train_seconds / 3600.0
        );
    } else {
        // An imported network: its training happened elsewhere (the note says where).
        outln!("training   not recorded in the package");
    }
    if !m.dataset_hash.is_empty() {
        outln!("data       sha256 {}", m.dataset_hash);
    }
    if !m.note.is_empty() {
        outln!("note       {}", m.note);
    }
    Ok(())
}
