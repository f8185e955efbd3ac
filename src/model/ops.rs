//! The network's layers as a burn backend extension ([`NetworkOps`]), so that training can give
//! them faster backward passes than burn's generic ones without a second model definition.
//!
//! - GDN and inverse GDN are one differentiable op on every autodiff backend: the normaliser is
//!   a batched matrix product `γ · x²` and the backward pass is written out (three products),
//!   instead of a 1×1 convolution, whose weight gradient burn computes as a convolution with
//!   an image-sized kernel.
//! - On libtorch, the convolutions' backward passes run libtorch's own kernels (oneDNN, as
//!   PyTorch does), optionally in bfloat16 ([`set_libtorch_precision`]); see `ops/libtorch.rs`.
//!
//! Inference never goes through this module: the wrappers below call the plain burn layers
//! whenever their input carries no autodiff graph (or lives on a device without these ops,
//! such as a GPU), so encoding is unchanged.

// burn marks its libtorch backend deprecated in favour of CubeCL ones; training uses it.
#![cfg_attr(feature = "tch", allow(deprecated))]

#[cfg(feature = "tch")]
mod libtorch;

use burn::backend::autodiff::checkpoint::{base::Checkpointer, strategy::CheckpointStrategy};
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::Autodiff;
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Backend, Dispatch, Flex, TensorMetadata};
use burn::nn::conv::{Conv2d, ConvTranspose2d};
use burn::nn::PaddingConfig2d;
use burn::prelude::*;
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use burn::tensor::FloatDType;

use std::sync::atomic::{AtomicBool, Ordering};

/// Arithmetic of the convolutions when training on libtorch (other backends run f32).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// f32 throughout.
    #[default]
    F32,
    /// Convolutions (forward and backward) and GDN's channel products in bfloat16 with f32
    /// accumulation; master weights, optimizer and everything else in f32.
    Bf16,
}

static BF16: AtomicBool = AtomicBool::new(false);

/// Sets the arithmetic of the convolutions for every later libtorch training step.
pub fn set_libtorch_precision(precision: Precision) {
    BF16.store(precision == Precision::Bf16, Ordering::Relaxed);
}

/// The arithmetic set by [`set_libtorch_precision`].
pub fn libtorch_precision() -> Precision {
    if BF16.load(Ordering::Relaxed) {
        Precision::Bf16
    } else {
        Precision::F32
    }
}

/// The network's trainable layers, as operations a backend may implement natively.
///
/// The default bodies compose burn's own operations, so a backend (or its autodiff wrapper)
/// that has nothing better simply inherits them.
#[backend_extension(Flex, LibTorch: cfg(feature = "tch"), Autodiff)]
pub trait NetworkOps: Backend {
    /// A 2-D convolution with bias.
    fn conv2d_layer(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d(x, weight, Some(bias), options)
    }

    /// A 2-D transposed convolution with bias.
    fn conv_transpose2d_layer(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvTransposeOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv_transpose2d(x, weight, Some(bias), options)
    }

    /// GDN (`x / sqrt(β + γ·x²)`) or inverse GDN (`x · sqrt(β + γ·x²)`) of a
    /// `[batch, channels, height, width]` tensor; β is `[channels]`, γ `[channels, channels]`.
    fn gdn(
        x: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        inverse: bool,
    ) -> FloatTensor<Self> {
        gdn_forward::<Self>(x, beta, gamma, inverse, false).0
    }
}

impl NetworkOps for Flex {}

#[cfg(feature = "tch")]
impl NetworkOps for burn::backend::LibTorch {}

impl<C: CheckpointStrategy> NetworkOps for Autodiff<Flex, C> {
    fn gdn(
        x: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        inverse: bool,
    ) -> FloatTensor<Self> {
        gdn_autodiff::<Flex, C>(x, beta, gamma, inverse, false)
    }
}

/// Whether `x` is being differentiated on a backend that implements [`NetworkOps`] (the CPU
/// ones; other devices, such as a GPU, run burn's own layers).
pub(crate) fn extended(x: &Tensor<4>) -> bool {
    if !x.is_autodiff() {
        return false;
    }
    let device = x.device().inner();
    #[cfg(feature = "tch")]
    if device == Device::libtorch() {
        return true;
    }
    device == Device::flex()
}

/// `conv.forward(x)`, through [`NetworkOps`] when `x` is being differentiated (layers with a
/// bias and explicit padding: every convolution of the network).
pub(crate) fn conv2d(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let (Some(bias), PaddingConfig2d::Explicit(top, left, bottom, right), true) =
        (conv.bias.as_ref(), &conv.padding, extended(&x))
    else {
        return conv.forward(x);
    };
    let options = ConvOptions::new_with_padding(
        conv.stride,
        [(*top, *bottom), (*left, *right)],
        conv.dilation,
        conv.groups,
    );
    Tensor::from_dispatch(<Dispatch as NetworkOps>::conv2d_layer(
        x.into_dispatch(),
        conv.weight.val().into_dispatch(),
        bias.val().into_dispatch(),
        options,
    ))
}

/// `deconv.forward(x)`, through [`NetworkOps`] when `x` is being differentiated.
pub(crate) fn conv_transpose2d(deconv: &ConvTranspose2d, x: Tensor<4>) -> Tensor<4> {
    let Some(bias) = deconv.bias.as_ref().filter(|_| extended(&x)) else {
        return deconv.forward(x);
    };
    let options = ConvTransposeOptions::new(
        deconv.stride,
        deconv.padding,
        deconv.padding_out,
        deconv.dilation,
        deconv.groups,
    );
    Tensor::from_dispatch(<Dispatch as NetworkOps>::conv_transpose2d_layer(
        x.into_dispatch(),
        deconv.weight.val().into_dispatch(),
        bias.val().into_dispatch(),
        options,
    ))
}

/// GDN or inverse GDN through [`NetworkOps`] (β `[C]`, γ `[C, C]`, already reparametrised);
/// for inputs that [`extended`] accepts.
pub(crate) fn gdn(x: Tensor<4>, beta: Tensor<1>, gamma: Tensor<2>, inverse: bool) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as NetworkOps>::gdn(
        x.into_dispatch(),
        beta.into_dispatch(),
        gamma.into_dispatch(),
        inverse,
    ))
}

/// What GDN's backward pass needs: x and x² as `[B, C, H·W]`, the factor y/x (`r` or `1/r`
/// with `r = sqrt(β + γ·x²)`), γ, the input's shape, which direction ran and whether the
/// products run in bfloat16.
#[derive(Debug, Clone)]
struct GdnSaved<T> {
    x: T,
    x2: T,
    factor: T,
    gamma: T,
    shape: Shape,
    inverse: bool,
    bf16: bool,
}

/// The batched product `γ · m` of a `[C, C]` matrix and a `[B, C, K]` tensor, its operands in
/// bfloat16 if `bf16` (result in f32).
fn channel_product<B: Backend>(
    gamma: FloatTensor<B>,
    m: FloatTensor<B>,
    bf16: bool,
) -> FloatTensor<B> {
    let [b, c] = [m.shape()[0], m.shape()[1]];
    let cast = |t: FloatTensor<B>| match bf16 {
        true => B::float_cast(t, FloatDType::BF16),
        false => t,
    };
    let gamma = B::float_expand(
        B::float_reshape(cast(gamma), Shape::new([1, c, c])),
        Shape::new([b, c, c]),
    );
    let product = B::float_matmul(gamma, cast(m));
    match bf16 {
        true => B::float_cast(product, FloatDType::F32),
        false => product,
    }
}

/// The forward pass on a plain backend: the output and what the backward pass needs.
fn gdn_forward<B: Backend>(
    x: FloatTensor<B>,
    beta: FloatTensor<B>,
    gamma: FloatTensor<B>,
    inverse: bool,
    bf16: bool,
) -> (FloatTensor<B>, GdnSaved<FloatTensor<B>>) {
    let shape = x.shape();
    let [b, c, h, w] = [shape[0], shape[1], shape[2], shape[3]];
    let x = B::float_reshape(x, Shape::new([b, c, h * w]));
    let x2 = B::float_mul(x.clone(), x.clone());
    let norm = B::float_add(
        channel_product::<B>(gamma.clone(), x2.clone(), bf16),
        B::float_reshape(beta, Shape::new([1, c, 1])),
    );
    let root = B::float_sqrt(norm);
    let factor = if inverse { root } else { B::float_recip(root) };
    let y = B::float_reshape(B::float_mul(x.clone(), factor.clone()), shape.clone());
    let saved = GdnSaved {
        x,
        x2,
        factor,
        gamma,
        shape,
        inverse,
        bf16,
    };
    (y, saved)
}

/// GDN with its backward pass written out, for any autodiff backend; its channel products in
/// bfloat16 if `bf16`.
fn gdn_autodiff<B: Backend, C: CheckpointStrategy>(
    x: FloatTensor<Autodiff<B, C>>,
    beta: FloatTensor<Autodiff<B, C>>,
    gamma: FloatTensor<Autodiff<B, C>>,
    inverse: bool,
    bf16: bool,
) -> FloatTensor<Autodiff<B, C>> {
    #[derive(Debug)]
    struct Gdn;

    impl<B: Backend> Backward<B, 3> for Gdn {
        type State = GdnSaved<FloatTensor<B>>;

        fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
            let [node_x, node_beta, node_gamma] = ops.parents;
            let grad = grads.consume::<B>(&ops.node);
            let s = ops.state;
            let [b, c, hw] = {
                let d = s.x.shape();
                [d[0], d[1], d[2]]
            };
            let g = B::float_reshape(grad, Shape::new([b, c, hw]));
            // n = β + γ·x², y = x·f with f = √n (inverse) or 1/√n: dL/dn = σ·v with σ = ±½,
            // v = g·x/√n (inverse) or g·x/√n³. The scalars go on the small operands.
            let direct = B::float_mul(g.clone(), s.factor.clone());
            let (sigma, v) = if s.inverse {
                (0.5, B::float_div(B::float_mul(g, s.x.clone()), s.factor))
            } else {
                let gx = B::float_mul(direct.clone(), s.x.clone());
                (
                    -0.5,
                    B::float_mul(B::float_mul(gx, s.factor.clone()), s.factor),
                )
            };
            if let Some(node) = node_x {
                // dx = g·f + 2σ·x·(γᵀ·v)
                let gamma_t =
                    B::float_mul_scalar(B::float_transpose(s.gamma.clone()), (2.0 * sigma).into());
                let back = channel_product::<B>(gamma_t, v.clone(), s.bf16);
                let dx = B::float_add(direct, B::float_mul(s.x, back));
                grads.register::<B>(node.id, B::float_reshape(dx, s.shape));
            }
            if let Some(node) = node_beta {
                let db = B::float_sum_dim(B::float_sum_dim(v.clone(), 2), 0);
                let db = B::float_mul_scalar(db, sigma.into());
                grads.register::<B>(node.id, B::float_reshape(db, Shape::new([c])));
            }
            if let Some(node) = node_gamma {
                let dg = B::float_matmul(v, B::float_swap_dims(s.x2, 1, 2));
                let dg = B::float_mul_scalar(B::float_sum_dim(dg, 0), sigma.into());
                grads.register::<B>(node.id, B::float_reshape(dg, Shape::new([c, c])));
            }
        }
    }

    let nodes = [x.node(), beta.node(), gamma.node()];
    let (y, saved) = gdn_forward::<B>(
        x.into_primitive(),
        beta.into_primitive(),
        gamma.into_primitive(),
        inverse,
        bf16,
    );
    match Gdn.prepare::<C>(nodes).compute_bound().stateful() {
        OpsKind::Tracked(prep) => prep.finish(saved, y),
        OpsKind::UnTracked(prep) => prep.finish(y),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;

    /// The reference: GDN composed of burn's differentiable operations, as `Gdn::forward` runs
    /// it at inference.
    fn composed(x: Tensor<4>, beta: Tensor<1>, gamma: Tensor<2>, inverse: bool) -> Tensor<4> {
        let c = beta.dims()[0];
        let norm = burn::tensor::module::conv2d(
            x.clone().square(),
            gamma.reshape([c, c, 1, 1]),
            Some(beta),
            ConvOptions::new([1, 1], [0, 0], [1, 1], 1),
        )
        .sqrt();
        if inverse {
            x * norm
        } else {
            x / norm
        }
    }

    /// Whether `a` and `b` agree to `1e-5 · slack` of b's largest magnitude (at least 1).
    fn close(a: Tensor<4>, b: Tensor<4>, slack: f32) -> bool {
        let scale: f32 = b.clone().abs().max().into_scalar::<f32>().max(1.0);
        let diff = (a - b).abs().max().into_scalar::<f32>();
        diff < 1e-5 * slack * scale
    }

    /// Forward values and all three gradients of the fused op match the composed reference.
    #[test]
    fn fused_gdn_matches_the_composed_one() {
        gdn_matches_the_composed_one(&Device::flex().autodiff(), 1.0);
    }

    /// The same on libtorch, in f32 and with bfloat16 products (looser).
    #[cfg(feature = "tch")]
    #[test]
    fn libtorch_layers_match_the_composed_ones() {
        let device = Device::libtorch().autodiff();
        gdn_matches_the_composed_one(&device, 1.0);
        conv_layers_match(&device, 1.0);
        set_libtorch_precision(Precision::Bf16);
        gdn_matches_the_composed_one(&device, 1000.0);
        conv_layers_match(&device, 1000.0);
        set_libtorch_precision(Precision::F32);
    }

    /// Checks the fused GDN on `device`, with tolerances scaled by `slack`.
    fn gdn_matches_the_composed_one(device: &Device, slack: f32) {
        let device = device.clone();
        for inverse in [false, true] {
            let x0 = Tensor::<4>::random([2, 5, 6, 7], Distribution::Normal(0.0, 1.0), &device);
            let b0 = Tensor::<1>::random([5], Distribution::Uniform(0.5, 1.5), &device);
            let g0 = Tensor::<2>::random([5, 5], Distribution::Uniform(0.0, 0.2), &device);
            // A fixed, non-uniform upstream gradient: the loss is Σ w·y.
            let w = Tensor::<4>::random([2, 5, 6, 7], Distribution::Normal(0.0, 1.0), &device);
            let run = |fused: bool| {
                let (x, b, g) = (
                    x0.clone().require_grad(),
                    b0.clone().require_grad(),
                    g0.clone().require_grad(),
                );
                let y = if fused {
                    gdn(x.clone(), b.clone(), g.clone(), inverse)
                } else {
                    composed(x.clone(), b.clone(), g.clone(), inverse)
                };
                let grads = (y.clone() * w.clone()).sum().backward();
                (
                    y.inner(),
                    x.grad(&grads).unwrap(),
                    b.grad(&grads).unwrap(),
                    g.grad(&grads).unwrap(),
                )
            };
            let (y1, dx1, db1, dg1) = run(true);
            let (y0, dx0, db0, dg0) = run(false);
            let pairs = [
                (y1, y0),
                (dx1, dx0),
                (db1.unsqueeze(), db0.unsqueeze()),
                (dg1.unsqueeze(), dg0.unsqueeze()),
            ];
            for ((a, b), name) in pairs.into_iter().zip(["y", "dx", "dβ", "dγ"]) {
                assert!(close(a, b, slack), "inverse={inverse}: {name}");
            }
        }
    }

    /// A convolution through the extension gives the layer's own outputs and gradients.
    #[test]
    fn conv_layers_match_burns() {
        conv_layers_match(&Device::flex().autodiff(), 1.0);
    }

    /// Checks both convolutions on `device`, with tolerances scaled by `slack`.
    fn conv_layers_match(device: &Device, slack: f32) {
        use crate::model::transforms::{conv, deconv};
        let device = device.clone();
        let c = conv(3, 4, 5, 2, &device);
        let d = deconv(4, 3, 5, 2, &device);
        let x0 = Tensor::<4>::random([2, 3, 16, 12], Distribution::Normal(0.0, 1.0), &device);
        let run = |ext: bool| {
            let x = x0.clone().require_grad();
            let y = if ext {
                conv_transpose2d(&d, conv2d(&c, x.clone()))
            } else {
                d.forward(c.forward(x.clone()))
            };
            let grads = y.clone().square().sum().backward();
            let bias = |b: &Option<burn::module::Param<Tensor<1>>>| {
                let g: Tensor<1> = b.as_ref().unwrap().grad(&grads).unwrap();
                g.unsqueeze::<4>()
            };
            [
                y.inner(),
                x.grad(&grads).unwrap(),
                c.weight.grad(&grads).unwrap(),
                d.weight.grad(&grads).unwrap(),
                bias(&c.bias),
                bias(&d.bias),
            ]
        };
        let ours = run(true);
        let burns = run(false);
        assert_eq!(ours[0].dims(), [2, 3, 16, 12]);
        let names = ["y", "dx", "conv dw", "deconv dw", "conv db", "deconv db"];
        for ((a, b), name) in ours.into_iter().zip(burns).zip(names) {
            assert!(close(a, b, slack), "{name}");
        }
    }
}
