//! Generalized divisive normalization (Ballé et al. 2016), the non-linearity of the transforms.
//!
//! `y_i = x_i / sqrt(β_i + Σ_j γ_ij · x_j²)` (GDN) or `x_i · sqrt(…)` (inverse GDN, used in the
//! synthesis transform). β and γ must stay non-negative; like CompressAI we store a
//! reparametrised value `p` with `value = max(p, bound)² − pedestal`, which keeps gradients
//! well-scaled near zero.

use burn::module::Param;
use burn::prelude::*;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;

use crate::architecture::gdn::{beta_bound, gamma_bound, PEDESTAL};

/// Initial value of the diagonal of γ.
const GAMMA_INIT: f64 = 0.1;

/// GDN or inverse GDN over `channels` channels.
#[derive(Module, Debug)]
pub struct Gdn {
    pub(super) beta: Param<Tensor<1>>,
    pub(super) gamma: Param<Tensor<2>>,
    #[module(skip)]
    pub(super) inverse: bool,
}

impl Gdn {
    /// A GDN layer (`inverse = false`) or an inverse GDN layer (`inverse = true`).
    pub fn new(channels: usize, inverse: bool, device: &Device) -> Self {
        let beta = Tensor::<1>::ones([channels], device)
            .add_scalar(PEDESTAL)
            .sqrt();
        let gamma = Tensor::<2>::eye(channels, device)
            .mul_scalar(GAMMA_INIT)
            .add_scalar(PEDESTAL)
            .sqrt();
        Self {
            beta: Param::from_tensor(beta),
            gamma: Param::from_tensor(gamma),
            inverse,
        }
    }

    /// Channels.
    pub(super) fn channels(&self) -> usize {
        self.beta.dims()[0]
    }

    /// This layer over the channels of `fresh` (a new, wider one): new channels are normalised
    /// as `fresh` would (β = 1, γ = 0.1 on the diagonal) and never by the old ones, nor the old
    /// by them, so the old channels' outputs are unchanged.
    pub(super) fn widened(self, fresh: Self) -> Self {
        use super::widen::{grow, param};
        Self {
            beta: param(grow(self.beta.val(), fresh.beta.val(), &[])),
            // Fresh γ is diagonal, so the new rows and columns are 0 off the diagonal.
            gamma: param(grow(self.gamma.val(), fresh.gamma.val(), &[])),
            inverse: self.inverse,
        }
    }

    /// Applies the normalization to a `[batch, channels, height, width]` tensor.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let c = self.beta.dims()[0];
        let beta = self
            .beta
            .val()
            .clamp_min(beta_bound())
            .square()
            .sub_scalar(PEDESTAL);
        let gamma = self
            .gamma
            .val()
            .clamp_min(gamma_bound())
            .square()
            .sub_scalar(PEDESTAL);
        if super::ops::extended(&x) {
            return super::ops::gdn(x, beta, gamma, self.inverse);
        }
        let gamma = gamma.reshape([c, c, 1, 1]);
        let norm = conv2d(
            x.clone().square(),
            gamma,
            Some(beta),
            ConvOptions::new([1, 1], [0, 0], [1, 1], 1),
        )
        .sqrt();
        if self.inverse {
            x * norm
        } else {
            x / norm
        }
    }
}
