//! Periodic validation during training: the evaluation harness on a directory of images
//! (Kodak by default), its mean bpp and PSNR per quality.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::TrainError;
use crate::eval::{evaluate, load_dataset, DatasetImage, HarnessOptions};
use crate::{Codec, Package};

/// Mean results at one quality.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ValidationPoint {
    /// Training step.
    pub step: u64,
    /// Quality coded at.
    pub quality: f32,
    /// Mean bits per pixel from the stream sizes.
    pub bpp: f64,
    /// Mean PSNR-RGB, dB.
    pub psnr: f64,
}

/// Loads the validation images (the first `limit` in name order).
pub fn load(dir: &Path, limit: usize) -> Result<Vec<DatasetImage>, TrainError> {
    Ok(load_dataset(dir, Some(limit))?)
}

/// Codes every image at every quality with the exported package (through the evaluation
/// harness) and returns the means per quality.
pub fn validate(
    package: &Package,
    images: &[DatasetImage],
    qualities: &[f32],
    step: u64,
) -> Result<Vec<ValidationPoint>, TrainError> {
    let codec = Codec::from_package(package)?;
    let options = HarnessOptions {
        qualities: qualities.to_vec(),
        ..HarnessOptions::default()
    };
    let evaluation = evaluate(&codec, images, &options, &|_, _| {})?;
    Ok(evaluation
        .qualities
        .iter()
        .zip(&evaluation.points)
        .map(|(&quality, results)| {
            let n = results.len().max(1) as f64;
            ValidationPoint {
                step,
                quality,
                bpp: results.iter().map(|r| r.bpp).sum::<f64>() / n,
                psnr: results.iter().map(|r| r.psnr_rgb).sum::<f64>() / n,
            }
        })
        .collect())
}
