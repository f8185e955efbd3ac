//! `ansel eval` (being written).

use clap::Args;

/// Arguments of `ansel eval`.
#[derive(Args)]
pub struct EvalArgs {}

pub fn run(_a: EvalArgs) -> Result<(), Box<dyn std::error::Error>> {
    Err("ansel eval is not implemented yet".into())
}
