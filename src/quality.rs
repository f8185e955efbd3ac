//! Quality: a number from 1 to 8, fractions allowed, placed on the model's ladder of eight
//! rungs. Each rung has a λ (what training weighs distortion with) and learned gains; a
//! fractional quality interpolates between its two neighbouring rungs geometrically.

/// Number of quality rungs: qualities 1..=8, one gain vector each.
pub const RUNGS: usize = 8;

/// The λ of each rung, lowest quality first (loss = λ·255²·MSE + bpp). Training needs it; coding
/// does not (a stream's quality picks gains, not λ), so a package records it only as metadata.
pub type Ladder = [f64; RUNGS];

/// CompressAI's MSE λ for its qualities 1–8. The first ansel models trained on it; on Kodak it
/// spans about 0.33–1.75 bpp with them, so it cannot reach the low rates (0.1–0.2 bpp) that
/// classical codecs are compared at.
pub const COMPRESSAI_LADDER: Ladder = [
    0.0018, 0.0035, 0.0067, 0.0130, 0.0250, 0.0483, 0.0932, 0.1800,
];

/// The default ladder: geometric from 0.0003 to 0.18 (×2.49 per rung). Quality 8 keeps
/// CompressAI's top λ; quality 1 sits about 2.5 CompressAI rungs lower. The default model spans
/// 0.07–1.72 bpp on Kodak with it (`assets/MODEL.md`).
pub const DEFAULT_LADDER: Ladder = [0.0003, 0.00075, 0.0019, 0.0047, 0.0116, 0.029, 0.072, 0.18];

/// Lowest quality value.
pub const QUALITY_MIN: f32 = 1.0;
/// Highest quality value.
pub const QUALITY_MAX: f32 = RUNGS as f32;

/// Position of a quality on the ladder: the rung below and the weight of the rung above.
pub fn ladder_position(quality: f32) -> (usize, f32) {
    let q = quality.clamp(QUALITY_MIN, QUALITY_MAX) - QUALITY_MIN;
    let lo = (q.floor() as usize).min(RUNGS - 2);
    (lo, q - lo as f32)
}

/// λ for a (possibly fractional) quality on `ladder`, interpolated geometrically.
pub fn lambda_for_quality(ladder: &Ladder, quality: f32) -> f64 {
    let (lo, t) = ladder_position(quality);
    let t = t as f64;
    (ladder[lo].ln() * (1.0 - t) + ladder[lo + 1].ln() * t).exp()
}

/// Where each rung of `to` sits on `from`, as weights `[to rung][from rung]`: piecewise linear
/// in log λ between the two nearest rungs of `from`, extended linearly beyond its ends. Each row
/// has at most two non-zero weights and sums to 1.
pub fn ladder_remap(from: &Ladder, to: &Ladder) -> [[f64; RUNGS]; RUNGS] {
    let ln_from = from.map(f64::ln);
    let mut w = [[0.0; RUNGS]; RUNGS];
    for (row, &lambda) in w.iter_mut().zip(to) {
        let x = lambda.ln();
        // The segment holding x, or the end segment nearest to it.
        let lo = (0..RUNGS - 1).rev().find(|&i| ln_from[i] <= x).unwrap_or(0);
        let t = (x - ln_from[lo]) / (ln_from[lo + 1] - ln_from[lo]);
        row[lo] = 1.0 - t;
        row[lo + 1] = t;
    }
    w
}

/// Gains of one fractional quality from a gain table stored as natural logs, `[RUNGS][c]`:
/// `exp` of the linear interpolation of the two rungs around `quality`.
///
/// f32 with a fixed order of operations and `libm`'s `expf` (the same code on every platform,
/// unlike the system's), so encoder and decoder derive the same gains from the quality stored
/// in the stream.
pub fn interpolate_gains(log_gains: &[f32], quality: f32) -> Vec<f32> {
    let (lo, t) = ladder_position(quality);
    let c = log_gains.len() / RUNGS;
    let (a, b) = (
        &log_gains[lo * c..(lo + 1) * c],
        &log_gains[(lo + 1) * c..(lo + 2) * c],
    );
    a.iter()
        .zip(b)
        .map(|(&a, &b)| libm::expf(a * (1.0 - t) + b * t))
        .collect()
}

/// Checks that `quality` is a number from [`QUALITY_MIN`] to [`QUALITY_MAX`].
pub(crate) fn check(quality: f32) -> Result<(), crate::Error> {
    if quality.is_finite() && (QUALITY_MIN..=QUALITY_MAX).contains(&quality) {
        Ok(())
    } else {
        Err(crate::Error::Quality(quality))
    }
}
