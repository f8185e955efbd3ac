//! The convolutions' backward passes on libtorch's own kernels.
//!
//! burn computes a convolution's weight gradient as another convolution (batch as channels,
//! the output gradient as an image-sized kernel), which oneDNN runs slowly, and more slowly
//! still in bfloat16. Here the forward pass runs libtorch's convolution and the backward pass
//! calls `at::convolution_backward` (through `convolution_backward.cpp`), the kernels PyTorch's
//! autograd uses. Weights and the optimizer stay f32 in burn; with [`Precision::Bf16`] the
//! convolutions take bfloat16 copies of their input and weight and return f32.

// burn marks its libtorch backend deprecated in favour of CubeCL ones; training uses it.
#![allow(deprecated)]

use std::ffi::{c_char, c_int, CStr};

use burn::backend::autodiff::checkpoint::{base::Checkpointer, strategy::CheckpointStrategy};
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::Autodiff;
use burn::backend::libtorch::TchTensor;
use burn::backend::ops::ModuleOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::LibTorch;
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use torch_sys::C_tensor;

use super::{gdn_autodiff, libtorch_precision, NetworkOps, Precision};

impl<C: CheckpointStrategy> NetworkOps for Autodiff<LibTorch, C> {
    fn conv2d_layer(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        if options.is_asymmetric() {
            return Self::conv2d(x, weight, Some(bias), options);
        }
        let geometry = Geometry {
            transposed: false,
            stride: options.stride.map(|v| v as i64),
            padding: options.padding_begin().map(|v| v as i64),
            dilation: options.dilation.map(|v| v as i64),
            output_padding: [0, 0],
            groups: options.groups as i64,
        };
        native::<C>(x, weight, bias, geometry)
    }

    fn conv_transpose2d_layer(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvTransposeOptions<2>,
    ) -> FloatTensor<Self> {
        let geometry = Geometry {
            transposed: true,
            stride: options.stride.map(|v| v as i64),
            padding: options.padding.map(|v| v as i64),
            dilation: options.dilation.map(|v| v as i64),
            output_padding: options.padding_out.map(|v| v as i64),
            groups: options.groups as i64,
        };
        native::<C>(x, weight, bias, geometry)
    }

    fn gdn(
        x: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        inverse: bool,
    ) -> FloatTensor<Self> {
        let bf16 = libtorch_precision() == Precision::Bf16;
        gdn_autodiff::<LibTorch, C>(x, beta, gamma, inverse, bf16)
    }
}

/// Where a convolution's kernel sits over its input, in libtorch's terms.
#[derive(Debug, Clone)]
struct Geometry {
    transposed: bool,
    stride: [i64; 2],
    padding: [i64; 2],
    dilation: [i64; 2],
    output_padding: [i64; 2],
    groups: i64,
}

/// What the backward pass reads: the layer's input and weight as the forward pass used them
/// (bfloat16 copies in bf16 mode, else burn's own tensors, which holding here also keeps burn
/// from reusing their buffers in place).
#[derive(Debug, Clone)]
struct Saved {
    input: TchTensor,
    weight: TchTensor,
    bias_channels: i64,
    geometry: Geometry,
    bf16: bool,
}

extern "C" {
    fn ansel_convolution_backward(
        grad: *const C_tensor,
        input: *const C_tensor,
        weight: *const C_tensor,
        bias_channels: i64,
        transposed: c_int,
        stride: *const i64,
        padding: *const i64,
        dilation: *const i64,
        output_padding: *const i64,
        groups: i64,
        bf16: c_int,
        mask: *const c_int,
        out: *mut *mut C_tensor,
    ) -> *const c_char;
}

/// The gradients of a convolution with respect to its input and weight, those of them `wanted`.
fn backward(grad: &tch::Tensor, saved: &Saved, wanted: [bool; 2]) -> [Option<tch::Tensor>; 2] {
    let g = &saved.geometry;
    let mask = [c_int::from(wanted[0]), c_int::from(wanted[1]), 0];
    let mut out = [std::ptr::null_mut(); 3];
    // SAFETY: the tensor pointers are live for the call, the arrays have the lengths the shim
    // reads (2 per geometry field, 3 for mask and out), and the shim hands over ownership of
    // every non-null tensor it writes to `out`.
    let error = unsafe {
        ansel_convolution_backward(
            grad.as_ptr(),
            saved.input.tensor.as_ptr(),
            saved.weight.tensor.as_ptr(),
            saved.bias_channels,
            c_int::from(g.transposed),
            g.stride.as_ptr(),
            g.padding.as_ptr(),
            g.dilation.as_ptr(),
            g.output_padding.as_ptr(),
            g.groups,
            c_int::from(saved.bf16),
            mask.as_ptr(),
            out.as_mut_ptr(),
        )
    };
    if !error.is_null() {
        // SAFETY: a non-null return is a NUL-terminated message owned by the shim.
        let message = unsafe { CStr::from_ptr(error) }.to_string_lossy();
        panic!("libtorch convolution backward failed: {message}");
    }
    // SAFETY: each non-null pointer is a tensor the shim allocated for us.
    let [dx, dw, _] = out.map(|t| (!t.is_null()).then(|| unsafe { tch::Tensor::from_ptr(t) }));
    [dx, dw]
}

/// Runs a convolution on libtorch and registers its backward pass with burn's autodiff.
fn native<C: CheckpointStrategy>(
    x: FloatTensor<Autodiff<LibTorch, C>>,
    weight: FloatTensor<Autodiff<LibTorch, C>>,
    bias: FloatTensor<Autodiff<LibTorch, C>>,
    geometry: Geometry,
) -> FloatTensor<Autodiff<LibTorch, C>> {
    #[derive(Debug)]
    struct Layer;

    impl Backward<LibTorch, 3> for Layer {
        type State = Saved;

        fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
            let grad = grads.consume::<LibTorch>(&ops.node);
            let [node_x, node_w, node_b] = ops.parents;
            let [dx, dw] = backward(
                &grad.tensor,
                &ops.state,
                [node_x.is_some(), node_w.is_some()],
            );
            for (node, g) in [(node_x, dx), (node_w, dw)] {
                if let (Some(node), Some(g)) = (node, g) {
                    grads.register::<LibTorch>(node.id, TchTensor::new(g));
                }
            }
            if let Some(node) = node_b {
                // In f32 whatever the precision (oneDNN's bfloat16 deconvolution bias gradient
                // is a slow reference kernel).
                let db = grad
                    .tensor
                    .sum_dim_intlist([0i64, 2, 3].as_slice(), false, None);
                grads.register::<LibTorch>(node.id, TchTensor::new(db));
            }
        }
    }

    let nodes = [x.node(), weight.node(), bias.node()];
    let (x, weight, bias) = (
        x.into_primitive(),
        weight.into_primitive(),
        bias.into_primitive(),
    );
    let bf16 = libtorch_precision() == Precision::Bf16;
    let cast = |t: &TchTensor| match bf16 {
        true => TchTensor::new(t.tensor.to_kind(tch::Kind::BFloat16)),
        false => t.clone(),
    };
    let (input, w, b) = (cast(&x), cast(&weight), cast(&bias));
    let g = &geometry;
    let y = tch::no_grad(|| match g.transposed {
        false => input.tensor.conv2d(
            &w.tensor,
            Some(&b.tensor),
            g.stride,
            g.padding,
            g.dilation,
            g.groups,
        ),
        true => input.tensor.conv_transpose2d(
            &w.tensor,
            Some(&b.tensor),
            g.stride,
            g.padding,
            g.output_padding,
            g.groups,
            g.dilation,
        ),
    });
    let y = TchTensor::new(if bf16 { y.to_kind(tch::Kind::Float) } else { y });
    match Layer.prepare::<C>(nodes).compute_bound().stateful() {
        OpsKind::Tracked(prep) => {
            let saved = Saved {
                input,
                weight: w,
                bias_channels: bias.tensor.size()[0],
                geometry,
                bf16,
            };
            prep.finish(saved, y)
        }
        OpsKind::UnTracked(prep) => prep.finish(y),
    }
}
