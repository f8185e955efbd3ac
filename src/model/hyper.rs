//! The hyper-analysis `h_a` (y → z) and hyper-synthesis `h_s` (ẑ → means and scales of y),
//! in CompressAI's mean-scale (`mbt2018-mean`) layout with leaky ReLUs.

use burn::nn::conv::{Conv2d, ConvTranspose2d};
use burn::prelude::*;
use burn::tensor::activation::leaky_relu;

use super::transforms::{conv, deconv};
use super::widen::{grow, grow_conv, grow_deconv, param, Zero, NEW_LATENT_SIGMA};

const SLOPE: f64 = 0.01;

/// Hyper-analysis: `[B, M, h, w]` → `[B, N, h/4, w/4]`.
#[derive(Module, Debug)]
pub struct HyperAnalysis {
    conv0: Conv2d,
    conv1: Conv2d,
    conv2: Conv2d,
}

impl HyperAnalysis {
    /// `n` hyper-latent channels, `m` latent channels.
    pub fn new(n: usize, m: usize, device: &Device) -> Self {
        Self {
            conv0: conv(m, n, 3, 1, device),
            conv1: conv(n, n, 5, 2, device),
            conv2: conv(n, n, 5, 2, device),
        }
    }

    /// Runs the transform.
    pub fn forward(&self, y: Tensor<4>) -> Tensor<4> {
        let x = leaky_relu(self.conv0.forward(y), SLOPE);
        let x = leaky_relu(self.conv1.forward(x), SLOPE);
        self.conv2.forward(x)
    }

    /// This transform reading the latent channels of `fresh` (a new, wider one): the weights
    /// from new channels start at zero, so z is unchanged.
    pub(super) fn widened(self, fresh: Self) -> Self {
        let zero = Zero {
            inputs: true,
            outputs: false,
        };
        Self {
            conv0: grow_conv(self.conv0, fresh.conv0, zero),
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
    deconv0: ConvTranspose2d,
    deconv1: ConvTranspose2d,
    conv2: Conv2d,
}

impl HyperSynthesis {
    /// `n` hyper-latent channels, `m` latent channels.
    pub fn new(n: usize, m: usize, device: &Device) -> Self {
        Self {
            deconv0: deconv(n, m, 5, 2, device),
            deconv1: deconv(m, m * 3 / 2, 5, 2, device),
            conv2: conv(m * 3 / 2, m * 2, 3, 1, device),
        }
    }

    /// Runs the transform and splits its output into `(means, scales)`.
    pub fn forward(&self, z: Tensor<4>) -> (Tensor<4>, Tensor<4>) {
        let x = leaky_relu(self.deconv0.forward(z), SLOPE);
        let x = leaky_relu(self.deconv1.forward(x), SLOPE);
        let out = self.conv2.forward(x);
        let m = out.dims()[1] / 2;
        let mut parts = out.split(m, 1).into_iter();
        let scales = parts.next().expect("two halves").abs();
        let means = parts.next().expect("two halves");
        (means, scales)
    }

    /// This transform with the width of `fresh` (a new one for more latent channels). Its
    /// hidden layers grow with M: new hidden units get small fresh inputs and zero outputs. The last
    /// layer's output is `[scales | means]`, so each half grows separately: new channels get
    /// mean 0 and scale [`NEW_LATENT_SIGMA`] from zero weights, and the old ones keep theirs.
    pub(super) fn widened(self, mut fresh: Self) -> Self {
        let hidden = Zero {
            inputs: true,
            outputs: false,
        };
        let halves = |t: Tensor<4>| {
            let m = t.dims()[0] / 2;
            (t.clone().narrow(0, 0, m), t.narrow(0, m, m))
        };
        let (old_s, old_m) = halves(self.conv2.weight.val());
        let (new_s, new_m) = halves(fresh.conv2.weight.val());
        let weight = Tensor::cat(
            vec![grow(old_s, new_s, &[0, 1]), grow(old_m, new_m, &[0, 1])],
            0,
        );
        fresh.conv2.weight = param(weight);
        if let (Some(old_b), Some(new_b)) = (self.conv2.bias, fresh.conv2.bias.take()) {
            let (old_b, new_b) = (old_b.val(), new_b.val());
            let (m_old, m_new) = (old_b.dims()[0] / 2, new_b.dims()[0] / 2);
            let device = new_b.device();
            let sigma = Tensor::<1>::full([m_new], NEW_LATENT_SIGMA, &device);
            let bias = Tensor::cat(
                vec![
                    grow(old_b.clone().narrow(0, 0, m_old), sigma, &[]),
                    grow(
                        old_b.narrow(0, m_old, m_old),
                        Tensor::zeros([m_new], &device),
                        &[],
                    ),
                ],
                0,
            );
            fresh.conv2.bias = Some(param(bias));
        }
        Self {
            deconv0: grow_deconv(
                self.deconv0,
                fresh.deconv0,
                Zero {
                    inputs: false,
                    outputs: false,
                },
            ),
            deconv1: grow_deconv(self.deconv1, fresh.deconv1, hidden),
            conv2: fresh.conv2,
        }
    }
}
