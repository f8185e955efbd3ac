//! Evaluation tools: image-quality metrics, Bjøntegaard delta rate, CompressAI-format results and RD plots.
//!
//! Everything here is plain Rust on 8-bit RGB images and `f64` numbers; nothing depends on the neural network, so
//! the same code can score any codec (ours, or a classical one decoded to PNG).
//!
//! Conventions follow CompressAI's evaluation so that our numbers are comparable with its published results:
//! PSNR on RGB 0–255 with the MSE taken over all three channels, MS-SSIM per RGB channel then averaged, and the mean
//! over a data set is the plain mean of the per-image values.

pub mod bdrate;
pub mod harness;
pub mod metrics;
pub mod plot;
pub mod report;

#[cfg(feature = "burn")]
pub use crate::encode::RateReport;
pub use bdrate::{bd_psnr, bd_range, bd_rate, quality_at, BdMethod, BdRange};
pub use harness::{evaluate, load_dataset, DatasetImage, Evaluation, HarnessError, HarnessOptions};
pub use metrics::{
    ms_ssim_db, ms_ssim_rgb, mse_rgb, psnr_from_mse, psnr_rgb, ssim_rgb, MS_SSIM_MIN_SIDE,
};
pub use plot::{plot_rd, PlotOptions};
pub use report::{
    bd_rate_table, mean_results, quality_gap_table, ImageResult, RdCurve, Results, ResultsFile,
};

use std::path::PathBuf;

/// Everything that can go wrong in [`crate::eval`].
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The two images compared by a metric have different sizes.
    #[error("image sizes differ: {a_width}x{a_height} vs {b_width}x{b_height}")]
    SizeMismatch {
        /// Width of the first image.
        a_width: u32,
        /// Height of the first image.
        a_height: u32,
        /// Width of the second image.
        b_width: u32,
        /// Height of the second image.
        b_height: u32,
    },
    /// The images are too small for the metric (e.g. MS-SSIM needs a shorter side of at least 161 pixels).
    #[error("image {width}x{height} is too small for {metric}: the shorter side must be at least {min_side} pixels")]
    ImageTooSmall {
        /// The metric that was asked for.
        metric: &'static str,
        /// Image width.
        width: u32,
        /// Image height.
        height: u32,
        /// Smallest accepted shorter side.
        min_side: u32,
    },
    /// A rate-distortion curve has fewer points than the method needs.
    #[error("curve `{curve}` has {got} points, {method} needs at least {need}")]
    TooFewPoints {
        /// Which curve ("anchor", "test" or a curve name).
        curve: String,
        /// The interpolation method.
        method: &'static str,
        /// Number of points given.
        got: usize,
        /// Number of points needed.
        need: usize,
    },
    /// A curve point is not finite or has a non-positive rate.
    #[error("curve `{curve}` has an invalid point (rate {rate}, quality {quality}): rates must be > 0 and finite")]
    InvalidPoint {
        /// Which curve.
        curve: String,
        /// The rate of the offending point.
        rate: f64,
        /// The quality of the offending point.
        quality: f64,
    },
    /// Sorted by rate, the quality of a curve does not strictly increase (or two rates are equal).
    #[error("curve `{curve}` is not monotonic: quality must strictly increase with rate")]
    NonMonotonic {
        /// Which curve.
        curve: String,
    },
    /// The two curves share no quality (for BD-rate) or rate (for BD-PSNR) interval.
    #[error("the curves do not overlap, the Bjøntegaard delta is undefined")]
    NoOverlap,
    /// A results file lacks a metric, or its metric list has another length than `bpp`.
    #[error("results `{name}`: {problem}")]
    BadResults {
        /// The results' name.
        name: String,
        /// What is wrong.
        problem: String,
    },
    /// Aggregation was asked for a rate point with no images.
    #[error("rate point {index} has no per-image results")]
    NoImages {
        /// Index of the empty rate point.
        index: usize,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An output file could not be written.
    #[error(transparent)]
    Write(#[from] crate::output::WriteError),
    /// A results file is not valid CompressAI JSON.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },
    /// Drawing the plot failed.
    #[error("plot: {0}")]
    Plot(String),
}
