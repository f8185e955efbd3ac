//! Training batches: random crops with flips of the photos in a directory, produced on a
//! background thread so a step never waits on decoding or cropping.
//!
//! Batch `s` is a pure function of `(seed, s)`, so a resumed run sees exactly the batches it
//! would have seen had it never stopped.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::thread;

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
    let rd = std::fs::read_dir(dir).map_err(|e| TrainError::Io(dir.to_path_buf(), e))?;
    let mut files: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .map(|e| {
                    matches!(
                        e.to_ascii_lowercase().as_str(),
                        "png" | "jpg" | "jpeg" | "ppm" | "bmp" | "tif" | "tiff" | "webp"
                    )
                })
                .unwrap_or(false)
        })
        .collect();
    files.sort();
    Ok(files)
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

/// The batch of step `step`: a pure function of its arguments.
pub fn make_batch(images: &[RgbImage], seed: u64, step: u64, batch: usize, patch: usize) -> Batch {
    let mut rng = StdRng::seed_from_u64(seed ^ step.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let plane = patch * patch;
    let mut pixels = vec![0f32; batch * 3 * plane];
    let mut rungs = Vec::with_capacity(batch);
    for b in 0..batch {
        let img = &images[rng.random_range(0..images.len())];
        let x0 = rng.random_range(0..=img.width() as usize - patch);
        let y0 = rng.random_range(0..=img.height() as usize - patch);
        let (flip_h, flip_v) = (rng.random::<bool>(), rng.random::<bool>());
        rungs.push(rng.random_range(0..RUNGS));
        let out = &mut pixels[b * 3 * plane..(b + 1) * 3 * plane];
        for y in 0..patch {
            let sy = y0 + if flip_v { patch - 1 - y } else { y };
            for x in 0..patch {
                let sx = x0 + if flip_h { patch - 1 - x } else { x };
                let p = img.get_pixel(sx as u32, sy as u32).0;
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
    batch: usize,
    patch: usize,
) -> Receiver<Batch> {
    let (tx, rx) = sync_channel(4);
    thread::spawn(move || {
        let mut step = first;
        while tx
            .send(make_batch(&images, seed, step, batch, patch))
            .is_ok()
        {
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

    #[test]
    fn batches_are_reproducible_and_vary_by_step() {
        let imgs = vec![gradient(40, 50), gradient(64, 33)];
        let a = make_batch(&imgs, 7, 3, 4, 32);
        let b = make_batch(&imgs, 7, 3, 4, 32);
        let c = make_batch(&imgs, 7, 4, 4, 32);
        assert_eq!(a.pixels, b.pixels);
        assert_eq!(a.rungs, b.rungs);
        assert_ne!(a.pixels, c.pixels);
        assert_eq!(a.pixels.len(), 4 * 3 * 32 * 32);
        assert!(a.pixels.iter().all(|v| (0.0..=1.0).contains(v)));
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
