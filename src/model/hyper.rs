//! The hyper-analysis `h_a` (y → z) and hyper-synthesis `h_s` (ẑ → means and scales of y),
//! in CompressAI's mean-scale (`mbt2018-mean`) layout with leaky ReLUs, or its scale-only
//! (`bmshj2018-hyperprior`) layout with ReLUs, for imported models (see [`Hyperprior`]).

use burn::nn::conv::{Conv2d, ConvTranspose2d};
use burn::prelude::*;
use burn::tensor::activation::{leaky_relu, relu};

use crate::architecture::{Hyperprior, NetworkConfig};

use super::ops::{conv2d, conv_transpose2d};
use super::transforms::{conv, deconv};
use super::widen::{grow_conv, grow_deconv, grow_halves, param, NewWeights, NEW_LATENT_SIGMA};

/// Slope of the leaky ReLUs of the hyperprior and the context model (and their host copies).
pub(super) const SLOPE: f64 = 0.01;

/// Hyper-analysis: `[B, M, h, w]` → `[B, N, h/4, w/4]`.
#[derive(Module, Debug)]
pub struct HyperAnalysis {
    pub(super) conv0: Conv2d,
    pub(super) conv1: Conv2d,
    pub(super) conv2: Conv2d,
    #[module(skip)]
    pub(super) hyperprior: Hyperprior,
}

/// The hyper-networks' activation.
fn activate(x: Tensor<4>, hyperprior: Hyperprior) -> Tensor<4> {
    match hyperprior {
        Hyperprior::MeanScale => leaky_relu(x, SLOPE),
        Hyperprior::ScaleOnly => relu(x),
    }
}

impl HyperAnalysis {
    /// The hyper-analysis of a network of shape `config`.
    pub fn new(config: NetworkConfig, device: &Device) -> Self {
        let NetworkConfig { n, m, .. } = config;
        Self {
            conv0: conv(m, n, 3, 1, device),
            conv1: conv(n, n, 5, 2, device),
            conv2: conv(n, n, 5, 2, device),
            hyperprior: config.hyperprior,
        }
    }

    /// Runs the transform (on `|y|` in the scale-only layout).
    pub fn forward(&self, y: Tensor<4>) -> Tensor<4> {
        let y = match self.hyperprior {
            Hyperprior::MeanScale => y,
            Hyperprior::ScaleOnly => y.abs(),
        };
        let x = activate(conv2d(&self.conv0, y), self.hyperprior);
        let x = activate(conv2d(&self.conv1, x), self.hyperprior);
        conv2d(&self.conv2, x)
    }

    /// This transform reading the latent channels of `fresh` (a new, wider one): the weights
    /// from new channels start at zero, so z is unchanged.
    pub(super) fn widened(self, fresh: Self) -> Self {
        Self {
            conv0: grow_conv(self.conv0, fresh.conv0, NewWeights::ZeroFromNewInputs),
            ..self
        }
    }
}

/// Hyper-synthesis: `[B, N, h/4, w/4]` → (means, scales), each `[B, M, h, w]`.
///
/// Scales are the absolute value of the raw output, so a unit whose output goes negative
/// still gets a useful gradient; the Gaussian conditional bounds them below (0.11).
#[derive(Module, Debug)]
pub struct HyperSynthesis {
    pub(super) deconv0: ConvTranspose2d,
    pub(super) deconv1: ConvTranspose2d,
    pub(super) conv2: Conv2d,
    #[module(skip)]
    pub(super) hyperprior: Hyperprior,
}

/// Splits a raw output `[scales | means]` of the hyper-synthesis (or of the context model that
/// corrects it) into `(means, scales)`.
pub fn split_params(raw: Tensor<4>) -> (Tensor<4>, Tensor<4>) {
    let m = raw.dims()[1] / 2;
    let mut parts = raw.split(m, 1).into_iter();
    let scales = parts.next().expect("two halves").abs();
    let means = parts.next().expect("two halves");
    (means, scales)
}

impl HyperSynthesis {
    /// The hyper-synthesis of a network of shape `config`.
    pub fn new(config: NetworkConfig, device: &Device) -> Self {
        let [h0, h1, h2] = config.hyper_synthesis_channels();
        Self {
            deconv0: deconv(config.n, h0, 5, 2, device),
            deconv1: deconv(h0, h1, 5, 2, device),
            conv2: conv(h1, h2, 3, 1, device),
            hyperprior: config.hyperprior,
        }
    }

    /// Runs the transform: its raw output `[scales | means]` (see [`split_params`]), the
    /// means zero in the scale-only layout.
    pub fn forward(&self, z: Tensor<4>) -> Tensor<4> {
        let x = activate(conv_transpose2d(&self.deconv0, z), self.hyperprior);
        let x = activate(conv_transpose2d(&self.deconv1, x), self.hyperprior);
        let raw = conv2d(&self.conv2, x);
        match self.hyperprior {
            Hyperprior::MeanScale => raw,
            Hyperprior::ScaleOnly => {
                let scales = relu(raw);
                let means = scales.zeros_like();
                Tensor::cat(vec![scales, means], 1)
            }
        }
    }

    /// What the hyperprior predicts.
    pub fn hyperprior(&self) -> Hyperprior {
        self.hyperprior
    }

    /// This transform with the width of `fresh` (a new one for more latent channels). Its
    /// hidden layers grow with M: new hidden units get small fresh inputs and zero outputs. The last
    /// layer's output is `[scales | means]`, so each half grows separately: new channels get
    /// mean 0 and scale [`NEW_LATENT_SIGMA`] from zero weights, and the old ones keep theirs.
    pub(super) fn widened(self, mut fresh: Self) -> Self {
        // Every new entry of the last layer is zero, so it needs no rescaled fresh values.
        let weight = grow_halves(
            self.conv2.weight.val(),
            fresh.conv2.weight.val().zeros_like(),
            &[],
        );
        fresh.conv2.weight = param(weight);
        if let (Some(old_b), Some(new_b)) = (self.conv2.bias, fresh.conv2.bias.take()) {
            let m = new_b.dims()[0] / 2;
            let device = new_b.device();
            let init = Tensor::cat(
                vec![
                    Tensor::<1>::full([m], NEW_LATENT_SIGMA, &device),
                    Tensor::zeros([m], &device),
                ],
                0,
            );
            fresh.conv2.bias = Some(param(grow_halves(old_b.val(), init, &[])));
        }
        Self {
            deconv0: grow_deconv(self.deconv0, fresh.deconv0, NewWeights::Fresh),
            deconv1: grow_deconv(self.deconv1, fresh.deconv1, NewWeights::ZeroFromNewInputs),
            conv2: fresh.conv2,
            hyperprior: self.hyperprior,
        }
    }
}
