//! The analysis transform `g_a` (image → latent y) and synthesis transform `g_s` (ŷ → image),
//! in CompressAI's `bmshj2018`/`mbt2018` layout: four 5×5 stride-2 (transposed) convolutions
//! with GDN between them, 16× downsampling in total.

use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::PaddingConfig2d;
use burn::prelude::*;

use super::gdn::Gdn;
use super::ops::{conv2d, conv_transpose2d};
use super::widen::{grow_conv, grow_deconv, NewWeights};

/// `conv(cin, cout, k, s)` with padding `k/2`, as CompressAI's `conv` helper.
pub(crate) fn conv(cin: usize, cout: usize, k: usize, s: usize, device: &Device) -> Conv2d {
    let p = k / 2;
    Conv2dConfig::new([cin, cout], [k, k])
        .with_stride([s, s])
        .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
        .init(device)
}

/// `deconv(cin, cout, k, s)`: transposed conv that exactly doubles the size for `s = 2`.
pub(crate) fn deconv(
    cin: usize,
    cout: usize,
    k: usize,
    s: usize,
    device: &Device,
) -> ConvTranspose2d {
    ConvTranspose2dConfig::new([cin, cout], [k, k])
        .with_stride([s, s])
        .with_padding([k / 2, k / 2])
        .with_padding_out([s - 1, s - 1])
        .init(device)
}

/// Analysis transform: `[B, 3, H, W]` in `[0, 1]` → `[B, M, H/16, W/16]`.
#[derive(Module, Debug)]
pub struct Analysis {
    conv0: Conv2d,
    gdn0: Gdn,
    conv1: Conv2d,
    gdn1: Gdn,
    conv2: Conv2d,
    gdn2: Gdn,
    conv3: Conv2d,
}

impl Analysis {
    /// `n` hidden channels, `m` latent channels.
    pub fn new(n: usize, m: usize, device: &Device) -> Self {
        Self {
            conv0: conv(3, n, 5, 2, device),
            gdn0: Gdn::new(n, false, device),
            conv1: conv(n, n, 5, 2, device),
            gdn1: Gdn::new(n, false, device),
            conv2: conv(n, n, 5, 2, device),
            gdn2: Gdn::new(n, false, device),
            conv3: conv(n, m, 5, 2, device),
        }
    }

    /// Runs the transform.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let x = self.gdn0.forward(conv2d(&self.conv0, x));
        let x = self.gdn1.forward(conv2d(&self.conv1, x));
        let x = self.gdn2.forward(conv2d(&self.conv2, x));
        conv2d(&self.conv3, x)
    }

    /// Hidden channels.
    pub(super) fn channels(&self) -> usize {
        self.gdn0.channels()
    }

    /// This transform with the hidden width of `fresh`: new units get small fresh inputs and
    /// zero weights out, so y is unchanged (see [`super::widen`]).
    pub(super) fn widened_hidden(self, fresh: Self) -> Self {
        use NewWeights::{Fresh, ZeroFromNewInputs as ZeroIn};
        Self {
            conv0: grow_conv(self.conv0, fresh.conv0, Fresh),
            gdn0: self.gdn0.widened(fresh.gdn0),
            conv1: grow_conv(self.conv1, fresh.conv1, ZeroIn),
            gdn1: self.gdn1.widened(fresh.gdn1),
            conv2: grow_conv(self.conv2, fresh.conv2, ZeroIn),
            gdn2: self.gdn2.widened(fresh.gdn2),
            conv3: grow_conv(self.conv3, fresh.conv3, ZeroIn),
        }
    }

    /// This transform with the latent channels of `fresh` (a new, wider one): the old channels
    /// unchanged, the new ones exactly 0 until training moves their zero weights (see
    /// [`super::widen`]).
    pub(super) fn widened(self, fresh: Self) -> Self {
        Self {
            conv3: grow_conv(self.conv3, fresh.conv3, NewWeights::ZeroIntoNewOutputs),
            ..self
        }
    }
}

/// Synthesis transform: `[B, M, h, w]` → `[B, 3, 16h, 16w]` (not clamped).
#[derive(Module, Debug)]
pub struct Synthesis {
    pub(super) deconv0: ConvTranspose2d,
    pub(super) igdn0: Gdn,
    pub(super) deconv1: ConvTranspose2d,
    pub(super) igdn1: Gdn,
    pub(super) deconv2: ConvTranspose2d,
    pub(super) igdn2: Gdn,
    pub(super) deconv3: ConvTranspose2d,
}

impl Synthesis {
    /// `n` hidden channels, `m` latent channels.
    pub fn new(n: usize, m: usize, device: &Device) -> Self {
        Self {
            deconv0: deconv(m, n, 5, 2, device),
            igdn0: Gdn::new(n, true, device),
            deconv1: deconv(n, n, 5, 2, device),
            igdn1: Gdn::new(n, true, device),
            deconv2: deconv(n, n, 5, 2, device),
            igdn2: Gdn::new(n, true, device),
            deconv3: deconv(n, 3, 5, 2, device),
        }
    }

    /// Runs the transform.
    pub fn forward(&self, y: Tensor<4>) -> Tensor<4> {
        let x = self.igdn0.forward(conv_transpose2d(&self.deconv0, y));
        let x = self.igdn1.forward(conv_transpose2d(&self.deconv1, x));
        let x = self.igdn2.forward(conv_transpose2d(&self.deconv2, x));
        conv_transpose2d(&self.deconv3, x)
    }

    /// This transform with the hidden width of `fresh`: new units get small fresh inputs and
    /// zero weights out, so the reconstruction is unchanged (see [`super::widen`]).
    pub(super) fn widened_hidden(self, fresh: Self) -> Self {
        use NewWeights::{Fresh, ZeroFromNewInputs as ZeroIn};
        Self {
            deconv0: grow_deconv(self.deconv0, fresh.deconv0, Fresh),
            igdn0: self.igdn0.widened(fresh.igdn0),
            deconv1: grow_deconv(self.deconv1, fresh.deconv1, ZeroIn),
            igdn1: self.igdn1.widened(fresh.igdn1),
            deconv2: grow_deconv(self.deconv2, fresh.deconv2, ZeroIn),
            igdn2: self.igdn2.widened(fresh.igdn2),
            deconv3: grow_deconv(self.deconv3, fresh.deconv3, ZeroIn),
        }
    }

    /// This transform reading the latent channels of `fresh` (a new, wider one): small random
    /// weights from the new channels, which start at 0, so the output is unchanged while the
    /// distortion's gradient reaches them.
    pub(super) fn widened(self, fresh: Self) -> Self {
        Self {
            deconv0: grow_deconv(self.deconv0, fresh.deconv0, NewWeights::Fresh),
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// New hidden units of a widened transform start unused, but training can use them: the
    /// zero weights out of them get a gradient.
    #[test]
    fn new_hidden_units_get_a_gradient() {
        let device = Device::flex().autodiff();
        let old = Synthesis::new(4, 6, &device);
        let wide = old.clone().widened_hidden(Synthesis::new(8, 6, &device));
        let y = Tensor::<4>::random([1, 6, 4, 4], burn::tensor::Distribution::Default, &device);
        let (x_old, x_wide) = (old.forward(y.clone()), wide.forward(y));
        let worst = (x_wide.clone() - x_old).abs().max().into_scalar::<f32>();
        assert!(worst < 1e-5, "output moved by {worst}");
        let grads = x_wide.square().mean().backward();
        // Transposed-convolution weights are [in, out, k, k]: inputs 4.. come from new units.
        for w in [&wide.deconv1.weight, &wide.deconv3.weight] {
            let g = w.grad(&grads).expect("a gradient").narrow(0, 4, 4);
            assert!(
                g.abs().max().into_scalar::<f32>() > 0.0,
                "new units stay dead"
            );
        }
    }
}
