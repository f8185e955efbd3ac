//! The data-set loop behind `ansel eval`: every image of a directory through the real bitstream at every quality,
//! measured with [`ImageResult::measure`] and aggregated CompressAI-style with [`mean_results`].
//!
//! ```no_run
//! use ansel::eval::harness::{evaluate, load_dataset, HarnessOptions};
//! let codec = ansel::Codec::embedded()?;
//! let images = load_dataset(std::path::Path::new("kodak"), None)?;
//! let options = HarnessOptions { qualities: vec![2.0, 6.0], ..Default::default() };
//! let evaluation = evaluate(&codec, &images, &options, &|_, _| {})?;
//! let results = evaluation.results_file("ansel", "my run")?;
//! println!("{:?}", results.results.bpp);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use image::RgbImage;
use serde::{Deserialize, Serialize};

use super::report::{mean_results, ImageResult, ResultsFile};
use super::EvalError;
use crate::image_io::{to_rgb8, Conversion};
use crate::quality::{QUALITY_MAX, QUALITY_MIN};
use crate::Codec;
use crate::{EncodeOptions, Refinement};

pub use crate::image_io::IMAGE_EXTENSIONS;

/// Everything that can go wrong in the evaluation loop.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An image of the data set could not be decoded.
    #[error("{path}: {source}")]
    Image {
        /// The image file.
        path: PathBuf,
        /// The underlying error.
        source: image::ImageError,
    },
    /// The data-set directory holds no image.
    #[error("{0}: no images (looked for {exts})", exts = IMAGE_EXTENSIONS.join(", "))]
    NoImages(PathBuf),
    /// No quality was asked for, or one is outside the codec's range.
    #[error("bad qualities {0:?}: give at least one, each from 1 to 8")]
    Qualities(Vec<f32>),
    /// Encoding or decoding an image failed.
    #[error("{image} at quality {quality}: {source}")]
    Codec {
        /// Name of the image.
        image: String,
        /// The quality it was coded at.
        quality: f32,
        /// The codec's error.
        source: crate::Error,
    },
    /// Measuring, aggregating, plotting or reading results failed.
    #[error(transparent)]
    Eval(#[from] EvalError),
}

/// One image of a data set, converted to 8-bit RGB.
#[derive(Debug, Clone)]
pub struct DatasetImage {
    /// File name (e.g. `kodim01.png`), used as the image's name in results.
    pub name: String,
    /// The pixels.
    pub image: RgbImage,
    /// How the file's pixels were converted to 8-bit RGB (for warnings).
    pub conversion: Conversion,
}

/// Settings of [`evaluate`].
#[derive(Debug, Clone, PartialEq)]
pub struct HarnessOptions {
    /// Qualities to code every image at, in the order of the rate points of the results.
    pub qualities: Vec<f32>,
    /// Images × qualities coded at the same time (at least 1). Above 1 the per-image times include contention.
    pub jobs: usize,
    /// Encoder-side refinement of every image's latent ([`Refinement::NONE`]: the fast path).
    pub refinement: Refinement,
}

impl Default for HarnessOptions {
    /// Qualities 1 to 8, one job, no refinement.
    fn default() -> Self {
        HarnessOptions {
            qualities: (1..=8).map(|q| q as f32).collect(),
            jobs: 1,
            refinement: Refinement::NONE,
        }
    }
}

/// Per-image results of a data set at each quality.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The qualities, one per rate point.
    pub qualities: Vec<f32>,
    /// The image names, in data-set order.
    pub images: Vec<String>,
    /// `points[q][i]`: image `i` at quality `qualities[q]`.
    pub points: Vec<Vec<ImageResult>>,
}

/// Per-image results as written by `ansel eval --per-image`: the same `name` and `description` as the CompressAI file,
/// then one entry per rate point with every image's [`ImageResult`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerImageFile {
    /// Curve name.
    pub name: String,
    /// Free text, as in the CompressAI file.
    pub description: String,
    /// One entry per rate point.
    pub results: Vec<PerImagePoint>,
}

/// The images of one rate point of a [`PerImageFile`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerImagePoint {
    /// The codec quality of the point.
    pub quality: f32,
    /// Every image's metrics at this quality.
    pub images: Vec<ImageResult>,
}

impl Evaluation {
    /// The CompressAI results file: plain means over the images at each quality, plus a `quality` list inside
    /// `results` (as the project's baseline files have).
    pub fn results_file(&self, name: &str, description: &str) -> Result<ResultsFile, EvalError> {
        let mut file = mean_results(name, description, &self.points)?;
        file.results
            .extra
            .insert("quality".to_string(), serde_json::json!(self.qualities));
        Ok(file)
    }

    /// The per-image results.
    pub fn per_image_file(&self, name: &str, description: &str) -> PerImageFile {
        PerImageFile {
            name: name.to_string(),
            description: description.to_string(),
            results: self
                .qualities
                .iter()
                .zip(&self.points)
                .map(|(&quality, images)| PerImagePoint {
                    quality,
                    images: images.clone(),
                })
                .collect(),
        }
    }
}

/// Image files of `dir` (by extension, case-insensitive, see [`IMAGE_EXTENSIONS`]), sorted by name.
pub fn list_images(dir: &Path) -> Result<Vec<PathBuf>, HarnessError> {
    crate::image_io::list_images(dir).map_err(|source| HarnessError::Io {
        path: dir.to_path_buf(),
        source,
    })
}

/// Loads the images of `dir` (the first `limit` of them in name order, if given) as 8-bit RGB.
pub fn load_dataset(dir: &Path, limit: Option<usize>) -> Result<Vec<DatasetImage>, HarnessError> {
    let mut files = list_images(dir)?;
    if let Some(n) = limit {
        files.truncate(n);
    }
    if files.is_empty() {
        return Err(HarnessError::NoImages(dir.to_path_buf()));
    }
    files
        .into_iter()
        .map(|path| {
            let img = image::open(&path).map_err(|source| HarnessError::Image {
                path: path.clone(),
                source,
            })?;
            let (image, conversion) = to_rgb8(img);
            let name = path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            Ok(DatasetImage {
                name,
                image,
                conversion,
            })
        })
        .collect()
}

/// Codes one image at one quality through the real bitstream and measures it: bpp from the stream's byte count,
/// PSNR and MS-SSIM of the decoded image, wall times of [`Codec::encode_with`] and [`Codec::decode`].
pub fn code_and_measure(
    codec: &Codec,
    image: &DatasetImage,
    quality: f32,
    refinement: Refinement,
) -> Result<ImageResult, HarnessError> {
    let codec_err = |source| HarnessError::Codec {
        image: image.name.clone(),
        quality,
        source,
    };
    let t0 = Instant::now();
    let stream = codec
        .encode(
            &image.image,
            EncodeOptions::quality(quality).refine(refinement),
        )
        .map_err(codec_err)?
        .bytes;
    let encoding_time = t0.elapsed();
    let t1 = Instant::now();
    let decoded = codec.decode(&stream).map_err(codec_err)?;
    let decoding_time = t1.elapsed();
    Ok(ImageResult::measure(
        image.name.clone(),
        &image.image,
        &decoded,
        stream.len() as u64,
        encoding_time,
        decoding_time,
    )?)
}

/// Codes every image at every quality of `options` and measures each result (see [`code_and_measure`]).
///
/// Work goes image by image, all qualities of an image in a row; with `jobs` > 1 that many (image, quality) pairs
/// are coded at once. `on_done(result, quality)` is called after each pair (from the worker threads), e.g. to
/// advance a progress bar. A small warm-up encode runs first so that one-off initialisation is not timed. The first
/// error stops the loop and is returned.
pub fn evaluate(
    codec: &Codec,
    images: &[DatasetImage],
    options: &HarnessOptions,
    on_done: &(dyn Fn(&ImageResult, f32) + Sync),
) -> Result<Evaluation, HarnessError> {
    let qualities = &options.qualities;
    let in_range = |q: &f32| q.is_finite() && (QUALITY_MIN..=QUALITY_MAX).contains(q);
    if qualities.is_empty() || !qualities.iter().all(in_range) {
        return Err(HarnessError::Qualities(qualities.clone()));
    }
    warm_up(codec, qualities[0])?;

    let nq = qualities.len();
    let tasks = images.len() * nq;
    let slots: Mutex<Vec<Option<ImageResult>>> = Mutex::new(vec![None; tasks]);
    let first_error: Mutex<Option<HarnessError>> = Mutex::new(None);
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let worker = || {
        while !failed.load(Ordering::Relaxed) {
            let task = next.fetch_add(1, Ordering::Relaxed);
            if task >= tasks {
                break;
            }
            let (image, quality) = (&images[task / nq], qualities[task % nq]);
            match code_and_measure(codec, image, quality, options.refinement) {
                Ok(result) => {
                    on_done(&result, quality);
                    lock(&slots)[task] = Some(result);
                }
                Err(e) => {
                    failed.store(true, Ordering::Relaxed);
                    lock(&first_error).get_or_insert(e);
                }
            }
        }
    };
    let jobs = options.jobs.clamp(1, tasks.max(1));
    if jobs == 1 {
        worker();
    } else {
        std::thread::scope(|s| {
            for _ in 0..jobs {
                s.spawn(worker);
            }
        });
    }
    if let Some(e) = first_error.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(e);
    }
    let mut slots = slots
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter();
    // Slots are image-major; results are quality-major.
    let mut points: Vec<Vec<ImageResult>> = vec![Vec::with_capacity(images.len()); nq];
    for _ in images {
        for point in &mut points {
            point.push(slots.next().flatten().expect("every task ran"));
        }
    }
    Ok(Evaluation {
        qualities: qualities.clone(),
        images: images.iter().map(|i| i.name.clone()).collect(),
        points,
    })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One untimed encode and decode of a small image, so lazy set-up (allocations, kernels) is not charged to the first
/// measured image.
fn warm_up(codec: &Codec, quality: f32) -> Result<(), HarnessError> {
    let image = RgbImage::from_fn(64, 64, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 4) as u8, ((x + y) * 2) as u8])
    });
    let codec_err = |source| HarnessError::Codec {
        image: "warm-up".to_string(),
        quality,
        source,
    };
    let stream = codec.encode(&image, quality).map_err(codec_err)?.bytes;
    codec.decode(&stream).map_err(codec_err)?;
    Ok(())
}

/// Writes `value` as pretty JSON (2-space indent, trailing newline) atomically, replacing an
/// existing file ([`crate::output::write`]).
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), HarnessError> {
    Ok(super::report::write_json(path, value)?)
}

#[cfg(all(test, feature = "train"))]
mod tests {
    use super::*;
    use crate::eval::psnr_rgb;

    /// Textured synthetic photos: gradients, a few edges and some pseudo-random grain.
    fn write_images(dir: &Path) -> Vec<(String, RgbImage)> {
        let sizes = [(192u32, 176u32), (208, 168)];
        sizes
            .iter()
            .enumerate()
            .map(|(i, &(w, h))| {
                let i = i as u32;
                let img = RgbImage::from_fn(w, h, |x, y| {
                    let grain = ((x.wrapping_mul(2654435761) ^ y.wrapping_mul(40503)) >> 7) % 24;
                    let edge = if (x / 29 + y / 37 + i).is_multiple_of(2) {
                        60
                    } else {
                        0
                    };
                    let r = (x * 255 / w + edge + grain) as u8;
                    let g = (y * 200 / h + grain / 2) as u8;
                    let b = ((x + y + 40 * i) % 256) as u8 / 2 + edge as u8;
                    image::Rgb([r, g, b])
                });
                let name = format!("img{i}.png");
                img.save(dir.join(&name)).unwrap();
                (name, img)
            })
            .collect()
    }

    #[test]
    fn lists_images_sorted_and_filtered() {
        let tmp = tempfile::tempdir().unwrap();
        for name in ["b.PNG", "a.jpg", "notes.txt", "c"] {
            std::fs::write(tmp.path().join(name), b"x").unwrap();
        }
        std::fs::create_dir(tmp.path().join("d.png")).unwrap();
        let names: Vec<String> = list_images(tmp.path())
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.jpg", "b.PNG"]);
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(
            load_dataset(empty.path(), None),
            Err(HarnessError::NoImages(_))
        ));
        assert!(matches!(
            list_images(&empty.path().join("missing")),
            Err(HarnessError::Io { .. })
        ));
    }

    /// A freshly initialised (untrained, seeded) tiny network, exported: its reconstructions are poor, but its gain
    /// units already make the rate grow with the quality, which the embedded model need not show.
    fn untrained_codec() -> Codec {
        use crate::model::{Network, NetworkConfig, DEFAULT_LADDER};
        use crate::train::export::{export, Provenance};
        use burn::prelude::Device;
        let device = Device::flex();
        device.seed(7);
        let config = NetworkConfig::new(8, 8);
        let package = export(
            &Network::new(config, &device),
            config,
            &DEFAULT_LADDER,
            &Provenance::default(),
        )
        .unwrap();
        Codec::from_package(&package).unwrap()
    }

    #[test]
    fn evaluates_a_tiny_dataset_through_the_bitstream() {
        let tmp = tempfile::tempdir().unwrap();
        let originals = write_images(tmp.path());
        let codec = untrained_codec();
        let images = load_dataset(tmp.path(), None).unwrap();
        assert_eq!(images.len(), 2);
        assert_eq!(load_dataset(tmp.path(), Some(1)).unwrap().len(), 1);
        let options = HarnessOptions {
            qualities: vec![2.0, 6.0],
            ..Default::default()
        };
        let calls = AtomicUsize::new(0);
        let eval = evaluate(&codec, &images, &options, &|_, _| {
            calls.fetch_add(1, Ordering::Relaxed);
        })
        .unwrap();
        assert_eq!(calls.into_inner(), 4);
        assert_eq!(eval.images, ["img0.png", "img1.png"]);
        assert_eq!(eval.points.len(), 2);

        // Every result is what coding the image ourselves gives.
        for (q, point) in options.qualities.iter().zip(&eval.points) {
            for ((name, original), r) in originals.iter().zip(point) {
                assert_eq!(&r.image, name);
                let stream = codec.encode(original, *q).unwrap().bytes;
                let pixels = f64::from(original.width() * original.height());
                assert_eq!(r.bpp, 8.0 * stream.len() as f64 / pixels);
                let decoded = codec.decode(&stream).unwrap();
                assert_eq!(r.psnr_rgb, psnr_rgb(original, &decoded).unwrap());
                assert!(r.ms_ssim_rgb.is_some_and(|m| m > 0.0 && m <= 1.0));
                assert!(r.encoding_time > 0.0 && r.decoding_time > 0.0);
            }
        }
        // Higher quality, more bits, per image and on average.
        for i in 0..2 {
            assert!(eval.points[1][i].bpp > eval.points[0][i].bpp);
        }

        let file = eval.results_file("ansel", "test run").unwrap();
        let r = &file.results;
        assert_eq!(
            (file.name.as_str(), file.description.as_str()),
            ("ansel", "test run")
        );
        assert_eq!(r.bpp.len(), 2);
        assert!(r.bpp[1] > r.bpp[0]);
        assert_eq!(
            r.bpp[0],
            (eval.points[0][0].bpp + eval.points[0][1].bpp) / 2.0
        );
        for list in [
            &r.psnr_rgb,
            &r.ms_ssim_rgb,
            &r.encoding_time,
            &r.decoding_time,
        ] {
            assert_eq!(list.as_ref().map(Vec::len), Some(2));
        }
        assert_eq!(r.extra["quality"], serde_json::json!([2.0, 6.0]));

        // Written and read back in CompressAI's shape.
        let json = tmp.path().join("out.json");
        write_json(&json, &file).unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        let mut keys: Vec<&String> = v["results"].as_object().unwrap().keys().collect();
        keys.sort();
        let expected = [
            "bpp",
            "decoding_time",
            "encoding_time",
            "ms-ssim-rgb",
            "psnr-rgb",
            "quality",
        ];
        assert_eq!(keys, expected);
        assert_eq!(ResultsFile::read(&json).unwrap(), file);
        assert_eq!(file.psnr_curve().unwrap().points.len(), 2);

        let per_image = eval.per_image_file("ansel", "test run");
        assert_eq!(per_image.results.len(), 2);
        assert_eq!(per_image.results[1].quality, 6.0);
        assert_eq!(per_image.results[1].images, eval.points[1]);

        // Parallel jobs give the same numbers (times aside).
        let parallel = evaluate(
            &codec,
            &images,
            &HarnessOptions { jobs: 3, ..options },
            &|_, _| {},
        )
        .unwrap();
        for (a, b) in eval
            .points
            .iter()
            .flatten()
            .zip(parallel.points.iter().flatten())
        {
            assert_eq!(
                (&a.image, a.bpp, a.psnr_rgb, a.ms_ssim_rgb),
                (&b.image, b.bpp, b.psnr_rgb, b.ms_ssim_rgb)
            );
        }
    }

    #[test]
    fn rejects_bad_qualities_before_coding() {
        let codec = Codec::embedded().unwrap();
        for qualities in [vec![], vec![2.0, 9.0], vec![f32::NAN]] {
            let options = HarnessOptions {
                qualities,
                ..Default::default()
            };
            assert!(matches!(
                evaluate(&codec, &[], &options, &|_, _| {}),
                Err(HarnessError::Qualities(_))
            ));
        }
    }

    #[test]
    fn json_is_written_pretty_and_replaces_the_old_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("r.json");
        write_json(&path, &serde_json::json!({"a": 1})).unwrap();
        write_json(&path, &serde_json::json!({"a": 2})).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\n  \"a\": 2\n}\n"
        );
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
    }

    /// `--json /dev/null` must not replace the device node: a FIFO stands in for it.
    #[cfg(unix)]
    #[test]
    fn atomic_write_into_a_fifo_keeps_the_fifo() {
        use std::os::unix::fs::FileTypeExt;
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("r.json");
        let made = std::process::Command::new("mkfifo").arg(&path).status();
        assert!(made.unwrap().success());
        let reader = std::process::Command::new("cat")
            .arg(&path)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        write_json(&path, &serde_json::json!({"a": 3})).unwrap();
        let got = reader.wait_with_output().unwrap().stdout;
        assert_eq!(got, b"{\n  \"a\": 3\n}\n");
        let kind = std::fs::symlink_metadata(&path).unwrap().file_type();
        assert!(kind.is_fifo());
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
    }
}
