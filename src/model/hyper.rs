//! The hyper-analysis `h_a` (y → z) and hyper-synthesis `h_s` (ẑ → means and scales of y),
//! in CompressAI's mean-scale (`mbt2018-mean`) layout with leaky ReLUs.

use burn::nn::conv::{Conv2d, ConvTranspose2d};
use burn::prelude::*;
use burn::tensor::activation::leaky_relu;

use super::transforms::{conv, deconv};

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
}
