//! The rate search: the quality whose stream lands closest to a target number of bits per
//! pixel.
//!
//! The model is variable-rate: quality is continuous and the file size grows with it, roughly
//! exponentially. The search encodes at quality 4, then steps along the secant of log(bpp)
//! against quality; once two tries bracket the target it interpolates inside the bracket,
//! bisecting when the interpolation falls near an end. It stops when the rate is within 0.5 %
//! of the target, the bracket is narrower than 0.001 or after 12 encodes (typically 3 or 4),
//! and returns the stream closest to the target (in ratio) among all those tried. A target
//! below the rate of quality 1 gives quality 1, one above the rate of quality 8 gives
//! quality 8. The result is deterministic, and the stream is the one encoding at the returned
//! quality gives.
//!
//! A package of one network per quality codes whole qualities only: the search bisects them
//! (their rate grows with the network's λ), then returns the closest of the two around the
//! target, in typically 3 or 4 encodes.

use image::RgbImage;

use super::{Codec, Refinement};
use crate::limits::check_dimensions;
use crate::quality::{QUALITY_MAX, QUALITY_MIN};
use crate::Error;

/// The stream closest to `target_bpp` and its quality.
pub(super) fn search(
    codec: &Codec,
    image: &RgbImage,
    target_bpp: f64,
    refinement: Refinement,
) -> Result<(Vec<u8>, f32), Error> {
    if !(target_bpp.is_finite() && target_bpp > 0.0) {
        return Err(Error::TargetRate(target_bpp));
    }
    check_dimensions(image.width(), image.height())?;
    let networks = codec.decoder.network_count();
    if networks > 1 {
        return search_networks(codec, image, target_bpp, refinement, networks);
    }
    const START: f32 = 4.0;
    // d ln(bpp) / d quality before two tries measure it.
    const SLOPE: f64 = 0.25;
    const MAX_TRIES: usize = 12;
    let pixels = image.width() as f64 * image.height() as f64;
    let goal = target_bpp.ln();
    // (quality, ln bpp) of the best try below and above the target.
    let mut below: Option<(f32, f64)> = None;
    let mut above: Option<(f32, f64)> = None;
    let mut last: Option<(f32, f64)> = None;
    let mut best: Option<(Vec<u8>, f32, f64)> = None;
    let mut q = START;
    for _ in 0..MAX_TRIES {
        let stream = codec.encode_at(image, q, refinement)?;
        let rate = (8.0 * stream.len() as f64 / pixels).ln();
        let miss = (rate - goal).abs();
        if best.as_ref().is_none_or(|b| miss < b.2) {
            best = Some((stream, q, miss));
        }
        if miss <= 0.005 {
            break;
        }
        // Keep the tightest bracket: the highest quality below, the lowest above.
        if rate < goal {
            if below.is_none_or(|b| q > b.0) {
                below = Some((q, rate));
            }
        } else if above.is_none_or(|a| q < a.0) {
            above = Some((q, rate));
        }
        let next = match (below, above) {
            (Some(lo), Some(hi)) => {
                let width = hi.0 - lo.0;
                if width <= 1e-3 {
                    break;
                }
                let t = if hi.1 > lo.1 {
                    ((goal - lo.1) / (hi.1 - lo.1)) as f32
                } else {
                    0.5
                };
                lo.0 + width * if (0.05..=0.95).contains(&t) { t } else { 0.5 }
            }
            _ => {
                // One side known: a secant step, with the slope of the last two tries
                // when they give a sensible one.
                let slope = last
                    .map(|(lq, lr)| (rate - lr) / f64::from(q - lq))
                    .filter(|s| s.is_finite() && (0.02..=2.0).contains(s))
                    .unwrap_or(SLOPE);
                let step = ((goal - rate) / slope) as f32;
                (q + step).clamp(QUALITY_MIN, QUALITY_MAX)
            }
        };
        if next == q {
            break; // at an end of the quality range, still short of the target
        }
        last = Some((q, rate));
        q = next;
    }
    let (stream, quality, _) = best.expect("at least one try");
    Ok((stream, quality))
}

/// The search over the whole qualities 1..=`networks` of a package of one network per quality.
fn search_networks(
    codec: &Codec,
    image: &RgbImage,
    target_bpp: f64,
    refinement: Refinement,
    networks: usize,
) -> Result<(Vec<u8>, f32), Error> {
    let pixels = image.width() as f64 * image.height() as f64;
    let goal = target_bpp.ln();
    // (stream, ln bpp) of each quality tried.
    let mut tried: Vec<Option<(Vec<u8>, f64)>> = vec![None; networks + 1];
    let mut try_at = |q: usize| -> Result<f64, Error> {
        if let Some((_, rate)) = &tried[q] {
            return Ok(*rate);
        }
        let stream = codec.encode_at(image, q as f32, refinement)?;
        let rate = (8.0 * stream.len() as f64 / pixels).ln();
        tried[q] = Some((stream, rate));
        Ok(rate)
    };
    // The lowest quality at or above the target lies in lo..=hi (hi + 1: none is).
    let (mut lo, mut hi) = (1, networks);
    while lo <= hi {
        let mid = (lo + hi) / 2;
        if try_at(mid)? < goal {
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    // Both neighbours of the target, where they exist.
    for q in [lo.saturating_sub(1), lo] {
        if (1..=networks).contains(&q) {
            try_at(q)?;
        }
    }
    let (quality, (stream, _)) = tried
        .into_iter()
        .enumerate()
        .filter_map(|(q, t)| Some((q, t?)))
        .min_by(|a, b| (a.1 .1 - goal).abs().total_cmp(&(b.1 .1 - goal).abs()))
        .expect("at least one try");
    Ok((stream, quality as f32))
}
