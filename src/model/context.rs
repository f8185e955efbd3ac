//! The checkerboard context model (He et al. 2021): the latent is coded in two passes, and the
//! second pass is predicted from the first as well as from the hyperprior.
//!
//! The latent positions `(i, j)` with `i + j` even are the *anchors*; they are coded first,
//! with the hyperprior's prediction alone. The others are coded second, and their means and
//! scales also see the decoded anchors around them: a 5×5 convolution of the anchors (zero
//! elsewhere), joined to the hyperprior's output by a small pointwise network. Both passes run
//! the whole latent in parallel, unlike a raster-order autoregressive context (Minnen et al.
//! 2018), which needs one network evaluation per element to decode.
//!
//! The pointwise network outputs a *correction* of the hyperprior's raw output
//! (`[scales | means]`), and a context added to a trained network ([`Context::preserving`])
//! starts with a zero last layer: the network predicts exactly what it did without a context
//! until training makes use of it (the rule of `widen.rs`: zero weights on one side, fresh
//! ones on the other).

use burn::nn::conv::Conv2d;
use burn::prelude::*;
use burn::tensor::activation::leaky_relu;

use super::hyper::SLOPE;
use super::ops::conv2d;
use super::transforms::conv;
use super::widen::param;
use crate::architecture::is_anchor;

/// Context of the second pass and the pointwise network that combines it with the hyperprior.
#[derive(Module, Debug)]
pub struct Context {
    /// `[B, M, h, w]` anchors (zero elsewhere) → `[B, 2M, h, w]` context features.
    pub(super) conv: Conv2d,
    pub(super) params0: Conv2d,
    pub(super) params1: Conv2d,
    /// → `[B, 2M, h, w]`, the correction of `[scales | means]`.
    pub(super) params2: Conv2d,
}

impl Context {
    /// A freshly initialised context model for `m` latent channels (CompressAI's widths for
    /// the entropy-parameter network: 4M → 10M/3 → 8M/3 → 2M).
    pub fn new(m: usize, device: &Device) -> Self {
        Self {
            conv: conv(m, 2 * m, 5, 1, device),
            params0: conv(4 * m, 10 * m / 3, 1, 1, device),
            params1: conv(10 * m / 3, 8 * m / 3, 1, 1, device),
            params2: conv(8 * m / 3, 2 * m, 1, 1, device),
        }
    }

    /// A context model that changes nothing yet: its last layer is zero, so the corrected
    /// output equals the hyperprior's, and the fresh layers before it get a gradient as soon
    /// as training moves the last one.
    pub fn preserving(m: usize, device: &Device) -> Self {
        let mut context = Self::new(m, device);
        context.params2.weight = param(context.params2.weight.val().zeros_like());
        context.params2.bias = context.params2.bias.map(|b| param(b.val().zeros_like()));
        context
    }

    /// The hyperprior's raw output `hyper` (`[scales | means]`, before the absolute value of
    /// the scales) corrected with the context of `anchors`, the decoded latent at the anchor
    /// positions and zero elsewhere. The context features are zeroed at the anchors, so there
    /// the result depends on `hyper` alone: the first pass runs this with `anchors` all zero.
    pub fn forward(&self, hyper: Tensor<4>, anchors: Tensor<4>) -> Tensor<4> {
        let [_, _, h, w] = anchors.dims();
        let rest = anchor_mask(h, w, &anchors.device()).neg().add_scalar(1.0);
        let features = conv2d(&self.conv, anchors) * rest;
        let x = Tensor::cat(vec![hyper.clone(), features], 1);
        let x = leaky_relu(conv2d(&self.params0, x), SLOPE);
        let x = leaky_relu(conv2d(&self.params1, x), SLOPE);
        hyper + conv2d(&self.params2, x)
    }
}

/// `[1, 1, h, w]`: 1 at the anchors, 0 elsewhere.
pub fn anchor_mask(h: usize, w: usize, device: &Device) -> Tensor<4> {
    let values: Vec<f32> = (0..h * w)
        .map(|p| f32::from(u8::from(is_anchor(p / w, p % w))))
        .collect();
    Tensor::from_data(TensorData::new(values, [1, 1, h, w]), device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Network, NetworkConfig};

    fn values(t: Tensor<4>) -> Vec<f32> {
        t.into_data().convert::<f32>().try_to_vec().unwrap()
    }

    fn random(shape: [usize; 4], device: &Device) -> Tensor<4> {
        Tensor::random(shape, burn::tensor::Distribution::Normal(0.0, 2.0), device)
    }

    #[test]
    fn a_context_added_to_a_network_changes_nothing() {
        let device = Device::flex();
        let plain = Network::new(NetworkConfig::new(8, 12), &device);
        let with = plain
            .clone()
            .widened(NetworkConfig::new(8, 12).with_context(true), &device)
            .unwrap();
        assert!(with.has_context() && with.config().context);
        let hyper = random([1, 24, 6, 5], &device);
        let anchors = random([1, 12, 6, 5], &device) * anchor_mask(6, 5, &device);
        let (mu, sigma) = plain.conditional(hyper.clone(), None);
        for pass in [None, Some(anchors)] {
            let (mu_c, sigma_c) = with.conditional(hyper.clone(), pass);
            assert_eq!(values(mu.clone()), values(mu_c));
            assert_eq!(values(sigma.clone()), values(sigma_c));
        }
    }

    #[test]
    fn weights_with_a_context_model_do_not_load_into_a_network_without_one() {
        let device = Device::flex();
        let with = NetworkConfig::new(8, 12).with_context(true);
        let bytes = crate::model::package_weights_to_bytes(&Network::new(with, &device)).unwrap();
        assert!(crate::model::load_package_weights(&bytes, with, &device).is_ok());
        let err = crate::model::load_package_weights(&bytes, with.with_context(false), &device)
            .expect_err("the context's weights have no place in a plain network");
        assert!(err.to_string().contains("unused"), "{err}");
        // Nor the other way: the context's weights would be missing.
        let plain = Network::new(with.with_context(false), &device);
        let bytes = crate::model::package_weights_to_bytes(&plain).unwrap();
        assert!(crate::model::load_package_weights(&bytes, with, &device).is_err());
    }

    #[test]
    fn the_second_pass_changes_only_the_elements_that_are_not_anchors() {
        let device = Device::flex();
        let network = Network::new(NetworkConfig::new(8, 12).with_context(true), &device);
        let (h, w) = (6, 5);
        let hyper = random([1, 24, h, w], &device);
        let anchors = random([1, 12, h, w], &device) * anchor_mask(h, w, &device);
        let (mu1, sigma1) = network.conditional(hyper.clone(), None);
        let (mu2, sigma2) = network.conditional(hyper, Some(anchors));
        let (mu1, mu2, sigma1, sigma2) = (values(mu1), values(mu2), values(sigma1), values(sigma2));
        let mut changed = 0;
        for p in 0..mu1.len() {
            if is_anchor(p / w % h, p % w) {
                assert_eq!((mu1[p], sigma1[p]), (mu2[p], sigma2[p]), "anchor {p}");
            } else if mu1[p] != mu2[p] {
                changed += 1;
            }
        }
        assert!(
            changed > mu1.len() / 4,
            "{changed} of {} changed",
            mu1.len()
        );
    }

    /// Training reaches the context model through the anchors it reads: its convolution and
    /// its last layer get gradients from the rate of the other elements.
    #[test]
    fn training_reaches_the_context_model() {
        let device = Device::flex().autodiff();
        let network = Network::new(NetworkConfig::new(8, 12).with_context(true), &device);
        let x = Tensor::<4>::random([1, 3, 64, 64], burn::tensor::Distribution::Default, &device);
        let out = network.forward_train(x.clone(), &[7], true, None, |shape| {
            Tensor::<4>::zeros(shape, &device)
        });
        let loss = (out.x_hat - x).square().mean() + out.bits_y.sum();
        let grads = loss.backward();
        let context = network.context.as_ref().expect("a context model");
        for (name, weight) in [
            ("conv", &context.conv.weight),
            ("params2", &context.params2.weight),
        ] {
            let g = values(weight.grad(&grads).expect("tracked"));
            assert!(g.iter().any(|&v| v != 0.0), "no gradient reaches {name}");
        }
    }

    #[test]
    fn a_context_model_cannot_be_removed_and_fixes_the_latent_width() {
        let device = Device::flex();
        let network = Network::new(NetworkConfig::new(8, 12).with_context(true), &device);
        assert!(network
            .clone()
            .widened(NetworkConfig::new(8, 12), &device)
            .is_err());
        assert!(network
            .widened(NetworkConfig::new(8, 16).with_context(true), &device)
            .is_err());
    }
}
