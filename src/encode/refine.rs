//! Encoder-side refinement of the latent: gradient steps on one image's own rate-distortion
//! loss before its latent is quantised and coded.
//!
//! The analysis transform is amortised: one network guesses a latent for every image, and its
//! guess is not the best latent for any particular one (the "amortisation gap"; Campos et al.
//! 2019 and Yang et al. 2020 close part of it at encode time). With the hyper-latent ẑ coded
//! first and held fixed, the means μ and scales σ of y are fixed too, and the loss of the image
//! as a function of its latent alone is the training loss
//!
//! `J(y) = λ·255²·MSE(g_s(y), x) − Σ log2 P(y | μ, σ) / pixels`.
//!
//! (In a model with a checkerboard context, μ and σ of the second pass depend on the rounded
//! anchors; each step takes them as constants computed from its starting point.)
//!
//! Refinement descends this relaxed loss (y continuous, as the rate proxy of training sees it)
//! and codes the iterate whose *coded* loss (the rounded latent's distortion and estimated
//! rate) is lowest among a few it measures, the analysis' latent included: it never makes an
//! image worse by the codec's own measure. Gradient steps through the rounding itself were
//! tried and lose: a whole-bin jump of one element is far outside the range in which the
//! gradient at the rounded point predicts its effect (see `docs/refine.md`).
//!
//! The decoder is untouched: a refined stream is an ordinary stream.

use burn::prelude::*;

use super::Refinement;
use crate::model::{bits_per_sample, gaussian_likelihood, GainSet, Network};

/// One image's refinement problem: the image, the analysis' latent and its conditional.
pub(crate) struct Problem<'a> {
    /// The network and the gains of the quality being coded.
    pub network: &'a Network,
    /// See `network`.
    pub gains: &'a GainSet,
    /// λ of the quality being coded.
    pub lambda: f64,
    /// Padded image in `[0, 1]`, `[1, 3, H, W]`.
    pub x: Tensor<4>,
    /// The hyperprior's prediction of y from the decoded hyper-latent.
    pub hyper: Tensor<4>,
    /// Rows and columns of the image before padding (the loss ignores the padding).
    pub height: usize,
    /// See `height`.
    pub width: usize,
}

impl Problem<'_> {
    /// (μ, σ) of every element as the codec derives them when it codes `y`.
    fn conditional(&self, y: Tensor<4>) -> (Tensor<4>, Tensor<4>) {
        self.network.conditional_coded(self.hyper.clone(), y)
    }

    /// `(distortion term, rate term)` of J at `y_hat` under (μ, σ), each a one-element tensor.
    fn loss(
        &self,
        y_hat: Tensor<4>,
        (means, scales): (Tensor<4>, Tensor<4>),
    ) -> (Tensor<1>, Tensor<1>) {
        let (h, w) = (self.height, self.width);
        let x_hat =
            self.network
                .synthesise(y_hat.clone(), self.gains)
                .slice([0..1, 0..3, 0..h, 0..w]);
        let x = self.x.clone().slice([0..1, 0..3, 0..h, 0..w]);
        let distortion = (x_hat - x)
            .square()
            .mean()
            .mul_scalar(self.lambda * 255.0 * 255.0);
        let likelihood = gaussian_likelihood(y_hat, means, scales);
        let rate = bits_per_sample(likelihood).div_scalar((h * w) as f64);
        (distortion, rate)
    }

    /// J of the latent the codec would code for `y`: round(y − μ) + μ.
    fn coded_loss(&self, y: Tensor<4>) -> f32 {
        let (means, scales) = self.conditional(y.clone());
        let y_hat = (y - means.clone()).round() + means.clone();
        let (d, r) = self.loss(y_hat, (means, scales));
        (d + r).into_scalar::<f32>()
    }
}

/// How many times a refinement measures its iterate's coded loss (besides the start's).
const CHECKS: usize = 5;

/// Refines `y` (the gained analysis latent) for `problem` and returns the latent to code.
pub(crate) fn refine(problem: &Problem, y: Tensor<4>, refinement: Refinement) -> Tensor<4> {
    if !refinement.is_active() {
        return y;
    }
    // Steps are taken on the gradient of the image's total loss in bits (J × pixels), so the
    // step size means the same at every image size.
    let scale = refinement.step_size * (problem.height * problem.width) as f64;
    let check_every = refinement.steps.div_ceil(CHECKS);
    // The relaxed loss keeps falling after the coded one has turned (rounding undoes more of
    // each step), so the coded loss picks the result, measured every `check_every` steps.
    let mut best = (problem.coded_loss(y.clone()), y.clone());
    let mut current = y;
    let mut start_loss = None;
    for step in 1..=refinement.steps {
        // Only the latent takes part in autodiff: the weights, x, μ and σ enter the graph as
        // constants, and no gradient is computed for them.
        let conditional = problem.conditional(current.clone());
        let tracked = current.clone().autodiff().require_grad();
        let (d, r) = problem.loss(tracked.clone(), conditional);
        let loss = d + r;
        let value = loss.clone().into_scalar::<f32>();
        // A step size too large for this image: stop before the latent blows up.
        if !value.is_finite() || value > 2.0 * *start_loss.get_or_insert(value) {
            break;
        }
        let grads = loss.backward();
        let g = tracked
            .grad(&grads)
            .expect("the latent is tracked")
            .without_autodiff();
        current = current - g.mul_scalar(scale);
        if step % check_every == 0 || step == refinement.steps {
            let coded = problem.coded_loss(current.clone());
            if coded < best.0 {
                best = (coded, current.clone());
            }
        }
    }
    best.1
}
