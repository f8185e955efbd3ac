//! Periodic validation during training: real encode/decode through the entropy coder on a
//! directory of images (Kodak by default), actual bytes → bpp, PSNR.

use std::path::Path;

use image::RgbImage;
use serde::{Deserialize, Serialize};

use super::data::list_images;
use super::TrainError;
use crate::eval::psnr_rgb;
use crate::package::Package;
use crate::Codec;

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

/// Loads the validation images.
pub fn load(dir: &Path, limit: usize) -> Result<Vec<(String, RgbImage)>, TrainError> {
    let mut out = Vec::new();
    for f in list_images(dir)?.into_iter().take(limit) {
        let img = image::open(&f)
            .map_err(|e| TrainError::Image(f.clone(), e.to_string()))?
            .to_rgb8();
        out.push((f.display().to_string(), img));
    }
    Ok(out)
}

/// Codes every image at every quality with the exported package.
pub fn validate(
    package: &Package,
    images: &[(String, RgbImage)],
    qualities: &[f32],
    step: u64,
) -> Result<Vec<ValidationPoint>, TrainError> {
    let model = Codec::from_package(package).map_err(|e| TrainError::Config(e.to_string()))?;
    let mut points = Vec::new();
    for &q in qualities {
        let (mut bpp, mut psnr) = (0.0, 0.0);
        for (name, img) in images {
            let err = |e: crate::Error| TrainError::Config(format!("validation of {name}: {e}"));
            let bytes = model.encode(img, q).map_err(err)?.bytes;
            let back = model.decode(&bytes).map_err(err)?;
            bpp += 8.0 * bytes.len() as f64 / (img.width() as f64 * img.height() as f64);
            psnr += psnr_rgb(img, &back).map_err(|e| TrainError::Config(e.to_string()))?;
        }
        let n = images.len().max(1) as f64;
        points.push(ValidationPoint {
            step,
            quality: q,
            bpp: bpp / n,
            psnr: psnr / n,
        });
    }
    Ok(points)
}
