//! `ansel model`: what a model package is (the embedded default model unless `--model`).

use std::path::PathBuf;

use clap::Args;

use ansel::Codec;

/// Arguments of `ansel model`.
#[derive(Args)]
pub struct ModelArgs {
    /// Model package to describe instead of the embedded default model.
    #[arg(long, value_name = "PKG")]
    model: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `ansel model`.
pub fn run(a: ModelArgs) -> Result<(), Box<dyn std::error::Error>> {
    let codec = match &a.model {
        Some(p) => Codec::from_package_file(p)?,
        None => Codec::embedded()?,
    };
    let m = codec.metadata();
    let source = a
        .model
        .as_ref()
        .map_or_else(|| "embedded".to_string(), |p| p.display().to_string());
    if a.json {
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
        });
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    outln!("model      {} ({source})", codec.id());
    outln!(
        "network    mean-scale hyperprior, {}, {} parameters",
        m.network,
        codec.parameter_count()
    );
    let lambdas: Vec<String> = m.lambdas.iter().map(|l| l.to_string()).collect();
    outln!(
        "λ ladder   {} (qualities 1..{})",
        lambdas.join(", "),
        m.lambdas.len()
    );
    outln!(
        "training   {} steps, {:.1} h",
        m.steps,
        m.train_seconds / 3600.0
    );
    if !m.dataset_hash.is_empty() {
        outln!("data       sha256 {}", m.dataset_hash);
    }
    if !m.note.is_empty() {
        outln!("note       {}", m.note);
    }
    Ok(())
}
