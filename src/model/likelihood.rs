//! Likelihood of the latent under the Gaussian conditional (training-time rate of y).

use burn::prelude::*;

/// Scales below this are clamped: narrower Gaussians gain nothing and make training unstable.
pub const SCALE_BOUND: f64 = 0.11;
/// Smallest likelihood a value may get, so `-log2` stays finite (CompressAI's bound).
pub const LIKELIHOOD_BOUND: f64 = 1e-9;

/// `P(v ∈ [y−½, y+½])` for `v ~ N(μ, σ)`, elementwise.
pub fn gaussian_likelihood(y: Tensor<4>, means: Tensor<4>, scales: Tensor<4>) -> Tensor<4> {
    // Lower bound with an identity gradient (CompressAI's `LowerBound` lets gradients through
    // too): a plain clamp would freeze every scale that ever dips below the bound, and the
    // rate term would then crush the latent to zero.
    let s = scales.clone() + (scales.clone().clamp_min(SCALE_BOUND) - scales).detach();
    // Symmetric form on −|y−μ|: both cdf values sit in the left tail, where f32 keeps precision.
    let a = (y - means).abs().neg();
    let upper = std_normal_cdf((a.clone().add_scalar(0.5)) / s.clone());
    let lower = std_normal_cdf((a.sub_scalar(0.5)) / s);
    (upper - lower).clamp_min(LIKELIHOOD_BOUND)
}

/// Φ(x) through erf (burn has no erfc; the clamp above covers the underflowing tail).
fn std_normal_cdf(x: Tensor<4>) -> Tensor<4> {
    x.mul_scalar(std::f64::consts::FRAC_1_SQRT_2)
        .erf()
        .add_scalar(1.0)
        .mul_scalar(0.5)
}

/// Sum of `-log2(likelihood)` per batch element: `[B, C, H, W]` → `[B]`.
pub fn bits_per_sample(likelihood: Tensor<4>) -> Tensor<1> {
    let [b, c, h, w] = likelihood.dims();
    likelihood
        .clamp_min(LIKELIHOOD_BOUND)
        .log()
        .reshape([b, c * h * w])
        .sum_dim(1)
        .reshape([b])
        .div_scalar(-std::f64::consts::LN_2)
}
