//! Training batches: random crops with flips (and optionally downscaling) of the photos in a
//! directory, produced on a background thread so a step never waits on decoding or cropping.
//!
//! Batch `s` is a pure function of `(seed, s)`, so a resumed run sees exactly the batches it
//! would have seen had it never stopped.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::thread;

use image::imageops::{self, FilterType};
use image::RgbImage;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::TrainError;
use crate::model::RUNGS;

/// One batch: pixels in `[0, 1]`, `[batch, 3, patch, patch]` row-major, and the λ rung of each
/// sample.
pub struct Batch {
    /// Step this batch belongs to.
    pub step: u64,
    /// Pixel data, channel-planar per sample.
    pub pixels: Vec<f32>,
    /// λ rung (0..[`RUNGS`]) per sample.
    pub rungs: Vec<usize>,
}

/// Image files (by extension) in `dir`, sorted by name so the run does not depend on the
/// directory order of the file system.
pub fn list_images(dir: &Path) -> Result<Vec<PathBuf>, TrainError> {
    crate::image_io::list_images(dir).map_err(|e| TrainError::Io(dir.to_path_buf(), e))
}

/// Refuses directories that hold Kodak images: they are our evaluation set.
pub fn refuse_kodak(files: &[PathBuf]) -> Result<(), TrainError> {
    let is_kodak = |p: &PathBuf| {
        p.file_stem()
            .and_then(|s| s.to_str())
            .map(|s| s.starts_with("kodim") && s[5..].chars().all(|c| c.is_ascii_digit()))
            .unwrap_or(false)
    };
    match files.iter().find(|p| is_kodak(p)) {
        Some(p) => Err(TrainError::EvaluationData(p.clone())),
        None => Ok(()),
    }
}

/// Decodes every image at least `patch` pixels on each side into memory.
pub fn load_images(files: &[PathBuf], patch: usize) -> Result<Vec<RgbImage>, TrainError> {
    let mut images = Vec::with_capacity(files.len());
    for f in files {
        let img = image::open(f)
            .map_err(|e| TrainError::Image(f.clone(), e.to_string()))?
            .to_rgb8();
        if img.width() as usize >= patch && img.height() as usize >= patch {
            images.push(img);
        }
    }
    if images.is_empty() {
        return Err(TrainError::NoImages(patch));
    }
    Ok(images)
}

/// How the crops of a batch are cut.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Crops {
    /// Crops per batch.
    pub batch: usize,
    /// Crop side in pixels.
    pub patch: usize,
    /// Smallest scale a crop's region is downscaled by (1: crops are cut at full size). A crop
    /// at scale `s` is a `patch / s` square of the photo resized to `patch`, with `s` uniform
    /// in `[min_scale, 1]` (and never so small that the square would not fit the photo).
    pub min_scale: f64,
}

/// Checks a [`Crops::min_scale`]: a factor in `(0, 1]`.
pub fn check_min_scale(min_scale: f64) -> Result<f64, String> {
    if min_scale > 0.0 && min_scale <= 1.0 {
        Ok(min_scale)
    } else {
        Err(format!(
            "the smallest crop scale must be above 0 and at most 1, not {min_scale}"
        ))
    }
}

/// The batch of step `step`: a pure function of its arguments.
pub fn make_batch(images: &[RgbImage], seed: u64, step: u64, crops: &Crops) -> Batch {
    let mut rng = StdRng::seed_from_u64(seed ^ step.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let patch = crops.patch;
    let plane = patch * patch;
    let mut pixels = vec![0f32; crops.batch * 3 * plane];
    let mut rungs = Vec::with_capacity(crops.batch);
    for b in 0..crops.batch {
        let img = &images[rng.random_range(0..images.len())];
        // Full-size crops draw no scale, so they stay the batches of runs made before scaling.
        let side = if crops.min_scale < 1.0 {
            let short = img.width().min(img.height()) as f64;
            let lowest = crops.min_scale.max(patch as f64 / short);
            let scale = if lowest < 1.0 {
                rng.random_range(lowest..=1.0)
            } else {
                1.0
            };
            ((patch as f64 / scale).round() as usize).clamp(patch, short as usize)
        } else {
            patch
        };
        let x0 = rng.random_range(0..=img.width() as usize - side);
        let y0 = rng.random_range(0..=img.height() as usize - side);
        let (flip_h, flip_v) = (rng.random::<bool>(), rng.random::<bool>());
        rungs.push(rng.random_range(0..RUNGS));
        // The triangle filter widens with the scale factor, so a downscaled crop is
        // antialiased like a photo taken at the lower resolution.
        let region = (side != patch).then(|| {
            let view = imageops::crop_imm(img, x0 as u32, y0 as u32, side as u32, side as u32);
            imageops::resize(&*view, patch as u32, patch as u32, FilterType::Triangle)
        });
        let (src, sx0, sy0) = match &region {
            Some(r) => (r, 0, 0),
            None => (img, x0, y0),
        };
        let out = &mut pixels[b * 3 * plane..(b + 1) * 3 * plane];
        for y in 0..patch {
            let sy = sy0 + if flip_v { patch - 1 - y } else { y };
            for x in 0..patch {
                let sx = sx0 + if flip_h { patch - 1 - x } else { x };
                let p = src.get_pixel(sx as u32, sy as u32).0;
                for c in 0..3 {
                    out[c * plane + y * patch + x] = p[c] as f32 / 255.0;
                }
            }
        }
    }
    Batch {
        step,
        pixels,
        rungs,
    }
}

/// Starts a thread producing the batches of steps `first..` in order.
pub fn spawn_loader(
    images: Arc<Vec<RgbImage>>,
    seed: u64,
    first: u64,
    crops: Crops,
) -> Receiver<Batch> {
    let (tx, rx) = sync_channel(4);
    thread::spawn(move || {
        let mut step = first;
        while tx.send(make_batch(&images, seed, step, &crops)).is_ok() {
            step += 1;
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, (x ^ y) as u8]))
    }

    fn crops(batch: usize, patch: usize, min_scale: f64) -> Crops {
        Crops {
            batch,
            patch,
            min_scale,
        }
    }

    #[test]
    fn batches_are_reproducible_and_vary_by_step() {
        let imgs = vec![gradient(40, 50), gradient(64, 33)];
        let crops = crops(4, 32, 1.0);
        let a = make_batch(&imgs, 7, 3, &crops);
        let b = make_batch(&imgs, 7, 3, &crops);
        let c = make_batch(&imgs, 7, 4, &crops);
        assert_eq!(a.pixels, b.pixels);
        assert_eq!(a.rungs, b.rungs);
        assert_ne!(a.pixels, c.pixels);
        assert_eq!(a.pixels.len(), 4 * 3 * 32 * 32);
        assert!(a.pixels.iter().all(|v| (0.0..=1.0).contains(v)));
    }

    #[test]
    fn downscaled_crops_are_reproducible_and_smoother() {
        // Stripes one pixel wide: a crop cut at full size keeps their full contrast, a
        // downscaled one averages neighbouring stripes.
        let stripes = RgbImage::from_fn(128, 128, |x, _| image::Rgb([255 * (x % 2) as u8; 3]));
        let imgs = vec![stripes];
        let (full, scaled) = (crops(8, 32, 1.0), crops(8, 32, 0.5));
        let contrast = |b: &Batch| {
            let p = &b.pixels;
            p.windows(2).map(|w| (w[0] - w[1]).abs()).sum::<f32>() / p.len() as f32
        };
        let a = make_batch(&imgs, 1, 0, &scaled);
        assert_eq!(a.pixels, make_batch(&imgs, 1, 0, &scaled).pixels);
        assert_eq!(a.pixels.len(), 8 * 3 * 32 * 32);
        assert!(a.pixels.iter().all(|v| (0.0..=1.0).contains(v)));
        let f = make_batch(&imgs, 1, 0, &full);
        assert!(contrast(&f) > 0.9, "full-size contrast {}", contrast(&f));
        assert!(contrast(&a) < 0.8 * contrast(&f), "scaled {}", contrast(&a));
    }

    #[test]
    fn a_photo_too_small_to_downscale_is_cut_at_full_size() {
        let imgs = vec![gradient(32, 40)];
        let (full, scaled) = (crops(3, 32, 1.0), crops(3, 32, 0.25));
        // No room for a larger square: the crops are the full-size ones, the same batch.
        let a = make_batch(&imgs, 5, 2, &scaled);
        assert_eq!(a.pixels, make_batch(&imgs, 5, 2, &full).pixels);
        assert_eq!(a.rungs, make_batch(&imgs, 5, 2, &full).rungs);
    }

    #[test]
    fn crop_scales_outside_zero_to_one_are_refused() {
        assert!(check_min_scale(0.5).is_ok() && check_min_scale(1.0).is_ok());
        for bad in [0.0, -0.5, 1.5, f64::NAN] {
            assert!(check_min_scale(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn kodak_is_refused() {
        let files = vec![PathBuf::from("a/photo.png"), PathBuf::from("b/kodim07.png")];
        assert!(matches!(
            refuse_kodak(&files),
            Err(TrainError::EvaluationData(_))
        ));
        assert!(refuse_kodak(&files[..1]).is_ok());
    }
}
