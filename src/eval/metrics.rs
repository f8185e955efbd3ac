//! Full-reference image-quality metrics on 8-bit RGB images: MSE, PSNR, SSIM and MS-SSIM.
//!
//! Definitions match CompressAI's evaluation (`compressai.utils.eval_model`, which uses `pytorch_msssim`), so values
//! can be compared with its published Kodak results.

use super::EvalError;
use image::RgbImage;

/// Smallest shorter side (in pixels) accepted by [`ms_ssim_rgb`]: after 4 halvings the image must still cover the
/// 11×11 window (`pytorch_msssim` asserts the same: side > (11 − 1) · 2⁴).
pub const MS_SSIM_MIN_SIDE: u32 = 161;

const WIN: usize = 11;
const SIGMA: f64 = 1.5;
/// Wang et al. 2003 scale weights, finest scale first.
const WEIGHTS: [f64; 5] = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333];
const C1: f64 = (0.01 * 255.0) * (0.01 * 255.0);
const C2: f64 = (0.03 * 255.0) * (0.03 * 255.0);

/// Mean squared error over all pixels and all three channels, on the 0–255 scale.
///
/// Errors if the sizes differ or the images are empty.
pub fn mse_rgb(a: &RgbImage, b: &RgbImage) -> Result<f64, EvalError> {
    check_sizes(a, b, "MSE", 1)?;
    // Integer sum: exact for any image that fits in memory.
    let sum: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| {
            let d = u64::from(x.abs_diff(y));
            d * d
        })
        .sum();
    Ok(sum as f64 / a.as_raw().len() as f64)
}

/// PSNR in dB for a peak of 255: `10 · log10(255² / mse)`; `f64::INFINITY` when `mse` is 0.
pub fn psnr_from_mse(mse: f64) -> f64 {
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0 * 255.0 / mse).log10()
    }
}

/// PSNR in dB of `b` against `a` on RGB 0–255, the MSE taken over all three channels together (CompressAI's
/// `psnr-rgb`).
///
/// Identical images give `f64::INFINITY` (no error): callers averaging over a data set should expect it.
/// Errors if the sizes differ or the images are empty.
pub fn psnr_rgb(a: &RgbImage, b: &RgbImage) -> Result<f64, EvalError> {
    mse_rgb(a, b).map(psnr_from_mse)
}

/// MS-SSIM expressed in dB, `−10 · log10(1 − ms_ssim)`, as CompressAI plots it (`ms-ssim-db-rgb`); infinite at 1.
pub fn ms_ssim_db(ms_ssim: f64) -> f64 {
    -10.0 * (1.0 - ms_ssim).log10()
}

/// Multi-scale SSIM (Wang, Simoncelli & Bovik 2003) of `b` against `a`, in [0, 1], 1 for identical images.
///
/// Same definition as `pytorch_msssim.ms_ssim(data_range=255)` used by CompressAI: 5 scales with weights
/// [0.0448, 0.2856, 0.3001, 0.2363, 0.1333], 11×11 Gaussian window (σ = 1.5) applied without padding ("valid"),
/// K1 = 0.01, K2 = 0.03, L = 255, 2×2 average pooling between scales (an odd side is zero-padded on both ends, the
/// zeros counted, as torch's `avg_pool2d(padding = side % 2)`), negative terms clamped to 0, computed for each RGB
/// channel and then averaged over the three channels. Accumulates in `f64`; the channels run on scoped threads.
///
/// Images whose shorter side is below [`MS_SSIM_MIN_SIDE`] (161) get [`EvalError::ImageTooSmall`] rather than a
/// value computed on fewer scales, which would not be comparable with published numbers; use [`ssim_rgb`] there.
pub fn ms_ssim_rgb(a: &RgbImage, b: &RgbImage) -> Result<f64, EvalError> {
    check_sizes(a, b, "MS-SSIM", MS_SSIM_MIN_SIDE)?;
    let g = gaussian_window();
    let per_channel = |c: usize| {
        let (mut x, mut y) = (Plane::channel(a, c), Plane::channel(b, c));
        let mut value = 1.0;
        for (level, w) in WEIGHTS.iter().enumerate() {
            let (ssim, cs) = ssim_cs(&x, &y, &g);
            if level + 1 < WEIGHTS.len() {
                value *= cs.max(0.0).powf(*w);
                x = x.avg_pool2();
                y = y.avg_pool2();
            } else {
                value *= ssim.max(0.0).powf(*w);
            }
        }
        value
    };
    Ok(map_channels(per_channel) / 3.0)
}

/// Single-scale SSIM (Wang et al. 2004) with the same window and constants as [`ms_ssim_rgb`], mean over the SSIM
/// map of each RGB channel, then over channels. Works down to 11×11 images.
pub fn ssim_rgb(a: &RgbImage, b: &RgbImage) -> Result<f64, EvalError> {
    check_sizes(a, b, "SSIM", WIN as u32)?;
    let g = gaussian_window();
    Ok(map_channels(|c| ssim_cs(&Plane::channel(a, c), &Plane::channel(b, c), &g).0) / 3.0)
}

/// Sum of `f(channel)` over the three channels, run on separate threads (the three are independent).
fn map_channels(f: impl Fn(usize) -> f64 + Sync) -> f64 {
    std::thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = (1..3).map(|c| s.spawn(move || f(c))).collect();
        let first = f(0);
        first
            + handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .sum::<f64>()
    })
}

fn check_sizes(
    a: &RgbImage,
    b: &RgbImage,
    metric: &'static str,
    min_side: u32,
) -> Result<(), EvalError> {
    if a.dimensions() != b.dimensions() {
        return Err(EvalError::SizeMismatch {
            a_width: a.width(),
            a_height: a.height(),
            b_width: b.width(),
            b_height: b.height(),
        });
    }
    if a.width().min(a.height()) < min_side {
        return Err(EvalError::ImageTooSmall {
            metric,
            width: a.width(),
            height: a.height(),
            min_side,
        });
    }
    Ok(())
}

/// Normalised 1-D Gaussian; the 2-D window is its outer product, so filtering is separable.
fn gaussian_window() -> [f64; WIN] {
    let mut g = [0.0; WIN];
    let half = (WIN / 2) as f64;
    for (i, v) in g.iter_mut().enumerate() {
        let d = i as f64 - half;
        *v = (-d * d / (2.0 * SIGMA * SIGMA)).exp();
    }
    let sum: f64 = g.iter().sum();
    g.iter_mut().for_each(|v| *v /= sum);
    g
}

/// One image channel as `f64`, row-major.
struct Plane {
    width: usize,
    height: usize,
    data: Vec<f64>,
}

impl Plane {
    fn channel(img: &RgbImage, c: usize) -> Self {
        let data = img
            .as_raw()
            .chunks_exact(3)
            .map(|p| f64::from(p[c]))
            .collect();
        Plane {
            width: img.width() as usize,
            height: img.height() as usize,
            data,
        }
    }

    /// 2×2 mean; an odd side is zero-padded by one on both ends and the zeros count (torch `avg_pool2d` with
    /// `padding = side % 2`, `count_include_pad = True`), so the output side is ⌈side / 2⌉.
    fn avg_pool2(&self) -> Self {
        let (pw, ph) = (self.width % 2, self.height % 2);
        let (width, height) = (self.width.div_ceil(2), self.height.div_ceil(2));
        let at = |r: usize, c: usize| -> f64 {
            // (r, c) are padded coordinates.
            match (r.checked_sub(ph), c.checked_sub(pw)) {
                (Some(r), Some(c)) if r < self.height && c < self.width => {
                    self.data[r * self.width + c]
                }
                _ => 0.0,
            }
        };
        let mut data = Vec::with_capacity(width * height);
        for r in 0..height {
            for c in 0..width {
                let (r2, c2) = (2 * r, 2 * c);
                data.push(
                    0.25 * (at(r2, c2) + at(r2, c2 + 1) + at(r2 + 1, c2) + at(r2 + 1, c2 + 1)),
                );
            }
        }
        Plane {
            width,
            height,
            data,
        }
    }
}

/// Means of the SSIM map and of the contrast-structure map over the valid region.
fn ssim_cs(x: &Plane, y: &Plane, g: &[f64; WIN]) -> (f64, f64) {
    let (w, h) = (x.width, x.height);
    let (ow, oh) = (w + 1 - WIN, h + 1 - WIN);

    // Horizontally filtered rows of the five moments x, y, x², y², xy, kept in a ring of WIN rows so the working
    // set stays in cache (a full-image buffer costs more in page faults than in arithmetic).
    let mut ring: [Vec<f64>; 5] = std::array::from_fn(|_| vec![0.0; WIN * ow]);
    let mut moments: [Vec<f64>; 5] = std::array::from_fn(|_| vec![0.0; w]);
    let mut acc: [Vec<f64>; 5] = std::array::from_fn(|_| vec![0.0; ow]);
    let (mut ssim_sum, mut cs_sum) = (0.0, 0.0);
    for r in 0..h {
        let (xr, yr) = (&x.data[r * w..(r + 1) * w], &y.data[r * w..(r + 1) * w]);
        for i in 0..w {
            let (a, b) = (xr[i], yr[i]);
            moments[0][i] = a;
            moments[1][i] = b;
            moments[2][i] = a * a;
            moments[3][i] = b * b;
            moments[4][i] = a * b;
        }
        let slot = r % WIN;
        for (m, dst) in moments.iter().zip(ring.iter_mut()) {
            filter_1d(&mut dst[slot * ow..(slot + 1) * ow], g, |k| &m[k..k + ow]);
        }
        if r + 1 < WIN {
            continue;
        }
        // Rows r − 10 ..= r are in the ring: filter vertically and fold the SSIM formula into the sums.
        let top = r + 1 - WIN;
        for (a, src) in acc.iter_mut().zip(&ring) {
            filter_1d(a, g, |k| {
                let s = (top + k) % WIN;
                &src[s * ow..(s + 1) * ow]
            });
        }
        let [ax, ay, axx, ayy, axy] = &acc;
        let moments = ax.iter().zip(ay).zip(axx).zip(ayy).zip(axy);
        for ((((&mx, &my), &exx), &eyy), &exy) in moments {
            let sxx = exx - mx * mx;
            let syy = eyy - my * my;
            let sxy = exy - mx * my;
            let cs = (2.0 * sxy + C2) / (sxx + syy + C2);
            let l = (2.0 * mx * my + C1) / (mx * mx + my * my + C1);
            cs_sum += cs;
            ssim_sum += l * cs;
        }
    }
    let n = (ow * oh) as f64;
    (ssim_sum / n, cs_sum / n)
}

/// `out[j] = Σₖ g[k] · tap(k)[j]`: the window applied along rows (tap(k) = row shifted by k) or columns
/// (tap(k) = k-th row below). Pairs the symmetric taps (g[k] = g[10 − k]) to halve the multiplications; every inner
/// loop runs over contiguous slices so it vectorises.
fn filter_1d<'a>(out: &mut [f64], g: &[f64; WIN], tap: impl Fn(usize) -> &'a [f64]) {
    let c = WIN / 2;
    for (o, &v) in out.iter_mut().zip(tap(c)) {
        *o = g[c] * v;
    }
    for (k, &gk) in g.iter().enumerate().take(c) {
        for ((o, &a), &b) in out.iter_mut().zip(tap(k)).zip(tap(WIN - 1 - k)) {
            *o += gk * (a + b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;
    use std::path::{Path, PathBuf};

    fn data_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/metrics")
    }

    fn load(path: &Path) -> RgbImage {
        image::open(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .to_rgb8()
    }

    /// Deterministic, textured test image (no RNG dependency).
    fn pattern(w: u32, h: u32, seed: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            let v = |c: u32| {
                let t = x.wrapping_mul(31 + c) ^ y.wrapping_mul(17 + seed) ^ (x * y + c * 7);
                (t.wrapping_mul(2_654_435_761) >> 24) as u8
            };
            Rgb([v(0), v(1), v(2)])
        })
    }

    #[test]
    fn psnr_matches_hand_computed_values() {
        // Every sample off by 5: MSE 25, PSNR = 10·log10(65025 / 25) = 34.1514 dB.
        let a = RgbImage::from_pixel(4, 3, Rgb([100, 150, 200]));
        let b = RgbImage::from_pixel(4, 3, Rgb([105, 145, 205]));
        assert_eq!(mse_rgb(&a, &b).unwrap(), 25.0);
        assert!((psnr_rgb(&a, &b).unwrap() - 34.151_403_521_958_72).abs() < 1e-9);

        // One channel of one pixel off by 255 in a 2×2 image: MSE = 255² / 12, PSNR = 10·log10(12).
        let a = RgbImage::from_pixel(2, 2, Rgb([0, 0, 0]));
        let mut b = a.clone();
        b.put_pixel(1, 1, Rgb([0, 255, 0]));
        assert!((mse_rgb(&a, &b).unwrap() - 65025.0 / 12.0).abs() < 1e-9);
        assert!((psnr_rgb(&a, &b).unwrap() - 10.0 * 12f64.log10()).abs() < 1e-12);
    }

    #[test]
    fn psnr_of_identical_images_is_infinite() {
        let a = pattern(8, 8, 1);
        assert_eq!(psnr_rgb(&a, &a).unwrap(), f64::INFINITY);
        assert_eq!(psnr_from_mse(0.0), f64::INFINITY);
    }

    #[test]
    fn size_errors() {
        let a = pattern(200, 180, 1);
        assert!(matches!(
            psnr_rgb(&a, &pattern(200, 181, 1)),
            Err(EvalError::SizeMismatch { .. })
        ));
        assert!(matches!(
            ms_ssim_rgb(&a, &pattern(180, 200, 1)),
            Err(EvalError::SizeMismatch { .. })
        ));
        let small = pattern(300, 160, 1);
        assert!(matches!(
            ms_ssim_rgb(&small, &small),
            Err(EvalError::ImageTooSmall { min_side: 161, .. })
        ));
        let ok = pattern(161, 161, 1);
        assert!((ms_ssim_rgb(&ok, &ok).unwrap() - 1.0).abs() < 1e-12);
        let empty = RgbImage::new(0, 0);
        assert!(matches!(
            mse_rgb(&empty, &empty),
            Err(EvalError::ImageTooSmall { .. })
        ));
        assert!(ssim_rgb(&pattern(11, 11, 1), &pattern(11, 11, 2)).is_ok());
        assert!(ssim_rgb(&pattern(10, 11, 1), &pattern(10, 11, 2)).is_err());
    }

    #[test]
    fn ms_ssim_of_identical_images_is_one() {
        for (w, h) in [(192, 192), (177, 169), (256, 161)] {
            let a = pattern(w, h, 3);
            assert!((ms_ssim_rgb(&a, &a).unwrap() - 1.0).abs() < 1e-12);
            assert!((ssim_rgb(&a, &a).unwrap() - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn ms_ssim_decreases_with_distortion() {
        let a = pattern(200, 200, 5);
        let noisy = |amp: i32| {
            let mut b = a.clone();
            for (i, v) in b.iter_mut().enumerate() {
                let n = ((i as i32 * 7919) % (2 * amp + 1)) - amp;
                *v = (i32::from(*v) + n).clamp(0, 255) as u8;
            }
            b
        };
        let (s1, s2) = (
            ms_ssim_rgb(&a, &noisy(5)).unwrap(),
            ms_ssim_rgb(&a, &noisy(40)).unwrap(),
        );
        assert!(1.0 > s1 && s1 > s2 && s2 > 0.0, "{s1} {s2}");
    }

    #[derive(serde::Deserialize)]
    struct Reference {
        cases: Vec<Case>,
        full_image_cases: Vec<FullCase>,
    }
    #[derive(serde::Deserialize)]
    struct Case {
        name: String,
        reference: String,
        distorted: String,
        mse_rgb: f64,
        psnr_rgb: f64,
        ms_ssim_rgb: f64,
    }
    #[derive(serde::Deserialize)]
    struct FullCase {
        image: String,
        mse_rgb: f64,
        psnr_rgb: f64,
        ms_ssim_rgb: f64,
    }

    fn reference() -> Reference {
        let text = std::fs::read_to_string(data_dir().join("reference.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// Reference values come from `tests/reference/ms_ssim_reference.py`, an independent NumPy float64
    /// implementation of the published definition (direct 2-D window sums, no separable filtering), which also
    /// generated the fixtures in `tests/data/metrics/` (Kodak crops with Gaussian noise, 3×3 box blur and
    /// 16-level quantisation; the 177×169 crop exercises odd-size pooling).
    #[test]
    fn ms_ssim_matches_numpy_reference_on_fixtures() {
        let reference = reference();
        assert!(reference.cases.len() >= 4);
        for case in &reference.cases {
            let a = load(&data_dir().join(&case.reference));
            let b = load(&data_dir().join(&case.distorted));
            let (mse, psnr, ms) = (
                mse_rgb(&a, &b).unwrap(),
                psnr_rgb(&a, &b).unwrap(),
                ms_ssim_rgb(&a, &b).unwrap(),
            );
            assert!(
                (mse - case.mse_rgb).abs() < 1e-9,
                "{}: mse {mse} vs {}",
                case.name,
                case.mse_rgb
            );
            assert!(
                (psnr - case.psnr_rgb).abs() < 1e-9,
                "{}: psnr {psnr} vs {}",
                case.name,
                case.psnr_rgb
            );
            // Asked-for tolerance is 1e-4; both sides are f64, so they agree far closer.
            assert!(
                (ms - case.ms_ssim_rgb).abs() < 1e-9,
                "{}: ms-ssim {ms} vs {}",
                case.name,
                case.ms_ssim_rgb
            );
        }
    }

    fn kodak_dir() -> Option<PathBuf> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets/kodak");
        dir.is_dir().then_some(dir)
    }

    /// Full 768×512 Kodak image with 16-level quantisation, done identically here and in the Python script.
    #[test]
    fn ms_ssim_matches_numpy_reference_on_full_kodak_image() {
        let Some(kodak) = kodak_dir() else {
            eprintln!("skipped: ../shared/datasets/kodak not found");
            return;
        };
        for case in reference().full_image_cases {
            let a = load(&kodak.join(&case.image));
            let mut b = a.clone();
            b.iter_mut().for_each(|v| *v = (*v / 16) * 16 + 8);
            assert!((mse_rgb(&a, &b).unwrap() - case.mse_rgb).abs() < 1e-9);
            assert!((psnr_rgb(&a, &b).unwrap() - case.psnr_rgb).abs() < 1e-9);
            let ms = ms_ssim_rgb(&a, &b).unwrap();
            assert!(
                (ms - case.ms_ssim_rgb).abs() < 1e-9,
                "{ms} vs {}",
                case.ms_ssim_rgb
            );
        }
    }

    /// Speed check: `cargo test --release -- --ignored --nocapture ms_ssim_timing`.
    #[test]
    #[ignore = "timing; run in release"]
    fn ms_ssim_timing() {
        let Some(kodak) = kodak_dir() else { return };
        let a = load(&kodak.join("kodim01.png"));
        let mut b = a.clone();
        b.iter_mut().for_each(|v| *v = (*v / 16) * 16 + 8);
        let runs = 10;
        let start = std::time::Instant::now();
        for _ in 0..runs {
            std::hint::black_box(ms_ssim_rgb(&a, &b).unwrap());
        }
        let per = start.elapsed() / runs;
        eprintln!("MS-SSIM {}x{}: {per:?} per call", a.width(), a.height());
    }
}
