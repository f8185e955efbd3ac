//! CompressAI-format results files, per-image records, their aggregation into RD curves, and a BD-rate table.
//!
//! The JSON shape is CompressAI's (`compressai.utils.eval_model` output and its published `results/image/kodak`):
//! `{"name", "description", "results": {"bpp": [...], "psnr-rgb": [...], "ms-ssim-rgb": [...],
//! "encoding_time": [...], "decoding_time": [...]}}`, one list entry per rate point. Reading is tolerant: every
//! metric is optional, the legacy keys `psnr` / `ms-ssim` and the papers' `ms-ssim-db-rgb` are understood, and any
//! other key inside `results` (e.g. `quality`) is kept in [`Results::extra`] and written back.

use super::bdrate::{bd_psnr, bd_range, bd_rate, quality_at, BdMethod};
use super::metrics::{ms_ssim_db, ms_ssim_rgb, psnr_rgb};
use super::EvalError;
use crate::output::{self, Existing};
use image::RgbImage;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

/// One CompressAI results file: a codec's mean metrics at each of its rate points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultsFile {
    /// Codec or model name, used as the curve label.
    pub name: String,
    /// Free text: settings, command lines, data set.
    #[serde(default)]
    pub description: String,
    /// Optional metadata object (source, url, dataset...) as in CompressAI's paper results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<serde_json::Value>,
    /// The per-rate-point lists.
    pub results: Results,
}

/// The `results` object: parallel lists, one entry per rate point.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// Bits per pixel (8 · bytes / (W · H)).
    pub bpp: Vec<f64>,
    /// PSNR on RGB in dB (`psnr-rgb`).
    #[serde(rename = "psnr-rgb", default, skip_serializing_if = "Option::is_none")]
    pub psnr_rgb: Option<Vec<f64>>,
    /// MS-SSIM on RGB in [0, 1] (`ms-ssim-rgb`).
    #[serde(
        rename = "ms-ssim-rgb",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub ms_ssim_rgb: Option<Vec<f64>>,
    /// MS-SSIM in dB, −10 · log10(1 − MS-SSIM) (`ms-ssim-db-rgb`, found in paper results).
    #[serde(
        rename = "ms-ssim-db-rgb",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub ms_ssim_db_rgb: Option<Vec<f64>>,
    /// Legacy key of older CompressAI versions, same meaning as `psnr-rgb`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psnr: Option<Vec<f64>>,
    /// Legacy key of older CompressAI versions, same meaning as `ms-ssim-rgb`.
    #[serde(rename = "ms-ssim", default, skip_serializing_if = "Option::is_none")]
    pub ms_ssim: Option<Vec<f64>>,
    /// Mean encoding time per image in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding_time: Option<Vec<f64>>,
    /// Mean decoding time per image in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoding_time: Option<Vec<f64>>,
    /// Any other key (e.g. `quality`, `encoding_cpu_time`), kept verbatim.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// A named rate-distortion curve: `(bpp, quality)` points, quality in dB (PSNR or MS-SSIM dB).
#[derive(Debug, Clone, PartialEq)]
pub struct RdCurve {
    /// Label for tables and legends.
    pub name: String,
    /// `(rate, quality)` points, in any order.
    pub points: Vec<(f64, f64)>,
}

impl RdCurve {
    /// A curve from a name and `(rate, quality)` points.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        RdCurve {
            name: name.into(),
            points,
        }
    }
}

impl Results {
    /// PSNR on RGB per point: `psnr-rgb`, or else the legacy `psnr`.
    pub fn psnr_or_legacy(&self) -> Option<&Vec<f64>> {
        self.psnr_rgb.as_ref().or(self.psnr.as_ref())
    }
}

impl ResultsFile {
    /// Reads a CompressAI results JSON file.
    pub fn read(path: &Path) -> Result<Self, EvalError> {
        let text = std::fs::read_to_string(path).map_err(|source| EvalError::Io {
            path: path.into(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| EvalError::Json {
            path: path.into(),
            source,
        })
    }

    /// Writes the file atomically ([`output::write`]) as pretty JSON (2-space indent, like CompressAI's `json.dump(..., indent=2)`).
    ///
    /// Non-finite numbers (e.g. an infinite PSNR from a lossless point) are written as `null`.
    pub fn write(&self, path: &Path) -> Result<(), EvalError> {
        write_json(path, self)
    }

    /// The (bpp, PSNR dB) curve, from `psnr-rgb` or else the legacy `psnr`.
    pub fn psnr_curve(&self) -> Result<RdCurve, EvalError> {
        self.curve(self.results.psnr_or_legacy().cloned(), "psnr-rgb")
    }

    /// The (bpp, MS-SSIM dB) curve, from `ms-ssim-rgb` (converted with [`ms_ssim_db`]), `ms-ssim-db-rgb`, or the
    /// legacy `ms-ssim`.
    pub fn ms_ssim_db_curve(&self) -> Result<RdCurve, EvalError> {
        let r = &self.results;
        let db = match r.ms_ssim_rgb.as_ref().or(r.ms_ssim.as_ref()) {
            Some(v) => Some(v.iter().copied().map(ms_ssim_db).collect()),
            None => r.ms_ssim_db_rgb.clone(),
        };
        self.curve(db, "ms-ssim-rgb")
    }

    fn curve(&self, quality: Option<Vec<f64>>, key: &str) -> Result<RdCurve, EvalError> {
        let bad = |problem: String| EvalError::BadResults {
            name: self.name.clone(),
            problem,
        };
        let quality = quality.ok_or_else(|| bad(format!("no `{key}` metric")))?;
        if quality.len() != self.results.bpp.len() {
            return Err(bad(format!(
                "{} `bpp` values but {} `{key}` values",
                self.results.bpp.len(),
                quality.len()
            )));
        }
        Ok(RdCurve::new(
            self.name.clone(),
            self.results.bpp.iter().copied().zip(quality).collect(),
        ))
    }
}

/// Metrics of one decoded image at one rate point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageResult {
    /// Image name (e.g. file name).
    pub image: String,
    /// Bits per pixel of the whole compressed file.
    pub bpp: f64,
    /// PSNR on RGB in dB (infinite if lossless).
    #[serde(rename = "psnr-rgb")]
    pub psnr_rgb: f64,
    /// MS-SSIM on RGB; `None` for images below [`super::MS_SSIM_MIN_SIDE`] pixels.
    #[serde(rename = "ms-ssim-rgb")]
    pub ms_ssim_rgb: Option<f64>,
    /// Encoding time in seconds.
    pub encoding_time: f64,
    /// Decoding time in seconds.
    pub decoding_time: f64,
}

impl ImageResult {
    /// Measures a decoded image against its original: bpp = 8 · `compressed_bytes` / (W · H), PSNR and MS-SSIM
    /// (left `None` when the image is too small for MS-SSIM).
    pub fn measure(
        image: impl Into<String>,
        original: &RgbImage,
        decoded: &RgbImage,
        compressed_bytes: u64,
        encoding_time: Duration,
        decoding_time: Duration,
    ) -> Result<Self, EvalError> {
        let psnr_rgb = psnr_rgb(original, decoded)?;
        let ms_ssim_rgb = match ms_ssim_rgb(original, decoded) {
            Ok(v) => Some(v),
            Err(EvalError::ImageTooSmall { .. }) => None,
            Err(e) => return Err(e),
        };
        let pixels = f64::from(original.width()) * f64::from(original.height());
        Ok(ImageResult {
            image: image.into(),
            bpp: 8.0 * compressed_bytes as f64 / pixels,
            psnr_rgb,
            ms_ssim_rgb,
            encoding_time: encoding_time.as_secs_f64(),
            decoding_time: decoding_time.as_secs_f64(),
        })
    }
}

/// Writes `value` as pretty JSON (2-space indent, trailing newline) atomically, replacing an
/// existing file ([`output::write`]): the writer of every JSON file the evaluation makes.
pub(crate) fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), EvalError> {
    let mut text = serde_json::to_string_pretty(value).map_err(|source| EvalError::Json {
        path: path.into(),
        source,
    })?;
    text.push('\n');
    Ok(output::write(path, text.as_bytes(), Existing::Replace)?)
}

/// Aggregates per-image results into a results file: `points[i]` holds every image's result at rate point `i`, and
/// each metric of point `i` is the plain mean over its images (as CompressAI does; PSNR is averaged in dB, not
/// recomputed from the mean MSE). `ms-ssim-rgb` is present only if every image has it.
pub fn mean_results(
    name: &str,
    description: &str,
    points: &[Vec<ImageResult>],
) -> Result<ResultsFile, EvalError> {
    if let Some(index) = points.iter().position(Vec::is_empty) {
        return Err(EvalError::NoImages { index });
    }
    let mean = |f: &dyn Fn(&ImageResult) -> f64| -> Vec<f64> {
        points
            .iter()
            .map(|imgs| imgs.iter().map(f).sum::<f64>() / imgs.len() as f64)
            .collect()
    };
    let all_ms_ssim = points.iter().flatten().all(|r| r.ms_ssim_rgb.is_some());
    Ok(ResultsFile {
        name: name.to_string(),
        description: description.to_string(),
        meta: None,
        results: Results {
            bpp: mean(&|r| r.bpp),
            psnr_rgb: Some(mean(&|r| r.psnr_rgb)),
            ms_ssim_rgb: all_ms_ssim.then(|| mean(&|r| r.ms_ssim_rgb.unwrap_or(f64::NAN))),
            encoding_time: Some(mean(&|r| r.encoding_time)),
            decoding_time: Some(mean(&|r| r.decoding_time)),
            ..Results::default()
        },
    })
}

/// A Markdown table (readable as plain text) of the BD-rate of `ours` against each anchor in `anchors`, with both
/// fits, plus BD-PSNR (the quality delta in the curves' unit, dB), and the range both are averaged over (see
/// [`super::bd_range`]): its quality span and `ours`' rate (bpp) at either end. Negative BD-rate /
/// positive BD-PSNR means `ours` is better. Cells that cannot be computed show `n/a` and the reason is listed
/// under the table.
pub fn bd_rate_table(ours: &RdCurve, anchors: &[RdCurve]) -> String {
    let mut out = format!(
        "BD-rate of {} against each anchor (negative: {} needs fewer bits)\n\n",
        ours.name, ours.name
    );
    out.push_str(
        "| Anchor | BD-rate cubic | BD-rate PCHIP | BD-PSNR cubic | BD-PSNR PCHIP | over (PSNR; our bpp) |\n",
    );
    out.push_str("|---|---:|---:|---:|---:|---|\n");
    let mut notes = Vec::new();
    for anchor in anchors {
        let mut cell = |r: Result<f64, EvalError>, unit: &str| match r {
            Ok(v) => format!("{v:+.2} {unit}"),
            Err(e) => {
                let note = format!("{}: {e}", anchor.name);
                if !notes.contains(&note) {
                    notes.push(note);
                }
                "n/a".to_string()
            }
        };
        let (a, o) = (&anchor.points, &ours.points);
        let cells = [
            cell(bd_rate(a, o, BdMethod::Cubic), "%"),
            cell(bd_rate(a, o, BdMethod::Pchip), "%"),
            cell(bd_psnr(a, o, BdMethod::Cubic), "dB"),
            cell(bd_psnr(a, o, BdMethod::Pchip), "dB"),
            bd_range(a, o).map_or_else(
                |_| "n/a".to_string(),
                |r| {
                    let ((q0, q1), (r0, r1)) = (r.quality, r.test_rate);
                    format!("{q0:.1}–{q1:.1} dB; {r0:.3}–{r1:.3} bpp")
                },
            ),
        ];
        let _ = writeln!(out, "| {} | {} |", anchor.name, cells.join(" | "));
    }
    for note in notes {
        let _ = writeln!(out, "\nn/a: {note}");
    }
    out
}

/// A Markdown table of `ours`' quality minus each anchor's at `ours`' rates (in the curves' unit, dB), one
/// column per point of `ours` in rate order: where along the curve a BD-rate is won or lost. The anchor's
/// quality is interpolated (see [`quality_at`]); cells outside its rates are blank.
pub fn quality_gap_table(ours: &RdCurve, anchors: &[RdCurve]) -> String {
    let mut ours_sorted = ours.points.clone();
    ours_sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out = format!(
        "Quality of {} minus each anchor's at {}'s rates (dB; blank: outside the anchor's rates)\n\n| Anchor |",
        ours.name, ours.name
    );
    for (rate, _) in &ours_sorted {
        let _ = write!(out, " {rate:.3} bpp |");
    }
    out.push_str("\n|---|");
    out.push_str(&"---:|".repeat(ours_sorted.len()));
    out.push('\n');
    for anchor in anchors {
        let _ = write!(out, "| {} |", anchor.name);
        for &(rate, quality) in &ours_sorted {
            match quality_at(&anchor.points, rate) {
                Ok(Some(theirs)) => {
                    let _ = write!(out, " {:+.2} |", quality - theirs);
                }
                Ok(None) => out.push_str("  |"),
                Err(_) => out.push_str(" n/a |"),
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;
    use std::path::PathBuf;

    fn data(rel: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(rel)
    }

    fn temp_path(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("ansel-eval-{}-{name}", std::process::id()))
    }

    #[test]
    fn reads_compressai_baseline_and_paper_files() {
        let vtm = ResultsFile::read(&data("compressai/vtm.json")).unwrap();
        assert_eq!(vtm.name, "VTM");
        assert_eq!(vtm.results.bpp.len(), 8);
        assert_eq!(vtm.results.encoding_time.as_ref().unwrap().len(), 8);
        let c = vtm.psnr_curve().unwrap();
        assert_eq!(c.points[0], (0.04824490017361111, 26.14484539430146));
        let ms = vtm.ms_ssim_db_curve().unwrap();
        assert!((ms.points[0].1 - ms_ssim_db(0.8606081604957581)).abs() < 1e-12);

        // Baseline files carry extra keys (`quality`, cpu times): kept, not lost.
        let jpeg = ResultsFile::read(&data("baselines/jpeg.json")).unwrap();
        assert_eq!(jpeg.results.extra["quality"][0], 5);
        assert!(jpeg.results.extra.contains_key("encoding_cpu_time"));

        // Paper files: `meta`, no PSNR, MS-SSIM only in dB.
        let elic = ResultsFile::read(&data("compressai/paper-elic2022_ms-ssim.json")).unwrap();
        assert!(elic.meta.is_some());
        assert!(matches!(
            elic.psnr_curve(),
            Err(EvalError::BadResults { .. })
        ));
        assert_eq!(
            elic.ms_ssim_db_curve().unwrap().points.len(),
            elic.results.bpp.len()
        );
    }

    /// Every results file in the shared data (CompressAI's published results, its 8-bit-decoded variants, and the
    /// project's classical baselines) parses and yields at least one curve. Skipped without `../shared`.
    #[test]
    fn reads_every_shared_results_file() {
        let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
        let dirs = [
            "compressai-kodak",
            "compressai-kodak/8bit-decoded",
            "baselines/kodak",
        ];
        let mut n = 0;
        for dir in dirs.iter().map(|d| shared.join(d)).filter(|d| d.is_dir()) {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|e| e == "json") {
                    let f = ResultsFile::read(&path).unwrap();
                    let curves = [f.psnr_curve(), f.ms_ssim_db_curve()];
                    assert!(curves.iter().any(Result::is_ok), "{}", path.display());
                    n += 1;
                }
            }
        }
        if n == 0 {
            eprintln!("skipped: no shared results found");
        }
    }

    #[test]
    fn legacy_keys_and_length_mismatch() {
        let text = r#"{"name": "old", "results": {"bpp": [0.1, 0.2], "psnr": [30, 32], "ms-ssim": [0.9, 0.99],
            "unknown": {"x": 1}}}"#;
        let f: ResultsFile = serde_json::from_str(text).unwrap();
        assert_eq!(f.description, "");
        assert_eq!(
            f.psnr_curve().unwrap().points,
            vec![(0.1, 30.0), (0.2, 32.0)]
        );
        assert!((f.ms_ssim_db_curve().unwrap().points[1].1 - 20.0).abs() < 1e-9);
        let bad = r#"{"name": "bad", "results": {"bpp": [0.1, 0.2], "psnr-rgb": [30]}}"#;
        let f: ResultsFile = serde_json::from_str(bad).unwrap();
        assert!(matches!(f.psnr_curve(), Err(EvalError::BadResults { .. })));
        assert!(matches!(
            ResultsFile::read(Path::new("/nonexistent.json")),
            Err(EvalError::Io { .. })
        ));
    }

    #[test]
    fn write_read_round_trip() {
        let jpeg = ResultsFile::read(&data("baselines/jpeg.json")).unwrap();
        let path = temp_path("roundtrip.json");
        jpeg.write(&path).unwrap();
        let back = ResultsFile::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(back, jpeg);
        // Same keys as the original file, so other tools read it the same way.
        let keys = |p: &Path| {
            let v: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
            let mut k: Vec<String> = v["results"].as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        jpeg.write(&path).unwrap();
        assert_eq!(keys(&path), keys(&data("baselines/jpeg.json")));
        std::fs::remove_file(&path).unwrap();
    }

    fn result(image: &str, bpp: f64, psnr: f64, ms: Option<f64>) -> ImageResult {
        ImageResult {
            image: image.into(),
            bpp,
            psnr_rgb: psnr,
            ms_ssim_rgb: ms,
            encoding_time: 0.5,
            decoding_time: 0.25,
        }
    }

    #[test]
    fn mean_results_is_plain_mean_per_point() {
        let points = vec![
            vec![
                result("a", 0.1, 30.0, Some(0.9)),
                result("b", 0.3, 34.0, Some(0.95)),
            ],
            vec![
                result("a", 0.5, 36.0, Some(0.98)),
                result("b", 0.7, 40.0, Some(0.99)),
            ],
        ];
        let f = mean_results("ours", "test", &points).unwrap();
        assert_eq!(f.results.bpp, vec![0.2, 0.6]);
        assert_eq!(f.results.psnr_rgb, Some(vec![32.0, 38.0]));
        let ms = f.results.ms_ssim_rgb.unwrap();
        assert!((ms[0] - 0.925).abs() < 1e-12 && (ms[1] - 0.985).abs() < 1e-12);
        assert_eq!(f.results.encoding_time, Some(vec![0.5, 0.5]));

        let partial = vec![vec![
            result("a", 0.1, 30.0, None),
            result("b", 0.3, 34.0, Some(0.95)),
        ]];
        assert_eq!(
            mean_results("x", "", &partial).unwrap().results.ms_ssim_rgb,
            None
        );
        assert!(matches!(
            mean_results("x", "", &[vec![], vec![]]),
            Err(EvalError::NoImages { index: 0 })
        ));
    }

    #[test]
    fn measure_computes_bpp_and_metrics() {
        let a = RgbImage::from_fn(200, 170, |x, y| {
            Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
        });
        let mut b = a.clone();
        b.iter_mut().for_each(|v| *v = v.saturating_add(2));
        let r = ImageResult::measure(
            "img",
            &a,
            &b,
            850,
            Duration::from_millis(20),
            Duration::from_millis(10),
        )
        .unwrap();
        assert!((r.bpp - 8.0 * 850.0 / (200.0 * 170.0)).abs() < 1e-12);
        assert!(r.psnr_rgb > 40.0 && r.ms_ssim_rgb.unwrap() > 0.9);
        assert!((r.encoding_time - 0.02).abs() < 1e-12);
        let small = RgbImage::new(64, 64);
        let r =
            ImageResult::measure("s", &small, &small, 10, Duration::ZERO, Duration::ZERO).unwrap();
        assert_eq!(r.ms_ssim_rgb, None);
        assert_eq!(r.psnr_rgb, f64::INFINITY);
    }

    #[test]
    fn quality_gap_table_compares_at_our_rates() {
        let ours = RdCurve::new("ours", vec![(0.5, 32.0), (0.25, 29.0), (4.0, 40.0)]);
        let anchor = RdCurve::new("anchor", vec![(0.25, 28.0), (1.0, 32.0), (2.0, 34.0)]);
        let table = quality_gap_table(&ours, &[anchor]);
        println!("{table}");
        assert!(
            table.contains("| Anchor | 0.250 bpp | 0.500 bpp | 4.000 bpp |"),
            "{table}"
        );
        // At 0.25 bpp both curves have a point (+1 dB); at 0.5 the anchor is interpolated (below 32,
        // so ours is ahead); 4 bpp is beyond the anchor's rates.
        let row = table.lines().find(|l| l.starts_with("| anchor |")).unwrap();
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        assert_eq!(cells[2], "+1.00");
        assert!(cells[3].parse::<f64>().unwrap() > 0.0, "{row}");
        assert_eq!(cells[4], "");
    }

    #[test]
    fn bd_rate_table_lists_both_methods() {
        let curve = |f: &str| ResultsFile::read(&data(f)).unwrap().psnr_curve().unwrap();
        let ours = curve("compressai/compressai-bmshj2018-hyperprior_mse_cuda.json");
        let too_few = RdCurve::new("three points", vec![(0.1, 28.0), (0.5, 33.0), (1.0, 36.0)]);
        let table = bd_rate_table(&ours, &[curve("compressai/vtm.json"), too_few]);
        println!("{table}");
        assert!(
            table.contains("| VTM | +30.14 % | +30.49 % | -1.27 dB | -1.26 dB | 27.6–40.6 dB; 0.131–1.660 bpp |"),
            "{table}"
        );
        assert!(table.contains("| three points | n/a | "), "{table}");
        assert!(
            table
                .contains("n/a: three points: curve `anchor` has 3 points, cubic needs at least 4"),
            "{table}"
        );
    }
}
