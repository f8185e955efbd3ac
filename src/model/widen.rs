//! Growing a trained network without changing what it computes ("function-preserving
//! widening", as Net2Net), so a run can add capacity to a trained model instead of starting
//! over: the latent y from M to M' > M channels, and the hidden layers of the analysis and
//! synthesis transforms from N to T > N channels (`NetworkConfig::transform_n`).
//!
//! Why: the shipped model's top qualities are capped by its transforms, not by rate (decoding
//! the *unquantised* y gains little over the rounded y), so more bits cannot buy quality. The
//! latent width M is the cheapest capacity to add: the layers it touches run at 1/16 of the
//! image resolution or less.
//!
//! The rule for every new unit: zero weights on one side of it, small fresh random weights on
//! the other, zero bias. The zeros keep the output (reconstruction, z, means and scales of the
//! old channels) exactly as it was; the random side gives the zeros a gradient, so training can
//! start using the new units. The random weights are small (see [`NEW_UNIT_SCALE`]) because Adam
//! moves the zeros at full speed whatever their gradient: a large new unit would disturb the
//! trained outputs before training knows what to do with it.
//!
//! Hidden units of the hyper-synthesis and of the main transforms get fresh inputs and zero
//! outputs; a new GDN channel is normalised by itself only, as in a fresh layer. Nothing
//! rounds between hidden layers, so the zero weights out of a new unit get a gradient at once. New *latent* channels
//! get the other way round: zero analysis weights into them (y is exactly 0 there) and fresh
//! synthesis weights out of them. Zero weights out of a latent channel would leave every new
//! channel dead: a small latent rounds to 0, so the synthesis weights out of it get no
//! gradient, and zero synthesis weights send none back to the latent. Fresh
//! synthesis weights send the distortion's gradient straight through the rounding into y, and
//! from there into the zero analysis weights. New latent channels are predicted with mean 0 and
//! the smallest scale, so coding their zeros costs nothing; their rate may be ramped into the
//! loss (`TrainConfig::new_channel_ramp`), so that they learn to carry something first.
//!
//! The ramp must be slow. At full rate weight an unused channel is a stable trap: its σ sits at
//! the bound, a ±1 there costs about 18 bits, and the rate pulls every y back below ½. At a low
//! weight new channels come alive, and once live (σ ≈ 1) they stay live at full weight.

use burn::module::Param;
use burn::nn::conv::{Conv2d, ConvTranspose2d};
use burn::prelude::*;

use super::likelihood::SCALE_BOUND;

/// RMS of a new unit's fresh weights (into it, or out of a new latent channel), relative to the
/// RMS of the trained weights of their layer: full-size fresh weights disturb the scales of the
/// old channels and make the new ones' zeros expensive; this scale leaves both undisturbed.
pub(super) const NEW_UNIT_SCALE: f32 = 0.1;

/// Predicted scale σ of new latent channels until the hyper-synthesis learns to predict them:
/// the lower bound of scales, at which a zero costs almost nothing.
pub(super) const NEW_LATENT_SIGMA: f32 = SCALE_BOUND as f32;

/// `fresh` with its leading block (the shape of `old`) replaced by `old`, and every entry whose
/// index along one of `zero_axes` lies beyond `old` set to zero.
pub(super) fn grow<const D: usize>(
    old: Tensor<D>,
    fresh: Tensor<D>,
    zero_axes: &[usize],
) -> Tensor<D> {
    let old_dims = old.dims();
    let mut t = fresh;
    for &axis in zero_axes {
        let mut ranges = t.dims().map(|d| 0..d);
        ranges[axis] = old_dims[axis]..ranges[axis].end;
        if !ranges[axis].is_empty() {
            let shape = ranges.clone().map(|r| r.len());
            t = t.slice_assign(ranges, Tensor::zeros(shape, &old.device()));
        }
    }
    t.slice_assign(old_dims.map(|d| 0..d), old)
}

/// [`grow`] for a tensor made of two halves along axis 0 (`[scales | means]`): each half of
/// `old` goes into the leading block of its half of `fresh`.
pub(super) fn grow_halves<const D: usize>(
    old: Tensor<D>,
    fresh: Tensor<D>,
    zero_axes: &[usize],
) -> Tensor<D> {
    let halves = |t: Tensor<D>| {
        let h = t.dims()[0] / 2;
        (t.clone().narrow(0, 0, h), t.narrow(0, h, h))
    };
    let ((old_a, old_b), (fresh_a, fresh_b)) = (halves(old), halves(fresh));
    Tensor::cat(
        vec![
            grow(old_a, fresh_a, zero_axes),
            grow(old_b, fresh_b, zero_axes),
        ],
        0,
    )
}

/// A trainable parameter from a grown tensor: a fresh leaf (on an autodiff device, too), so
/// no gradient reaches the tensors it was made from. Every grown tensor goes through here.
pub(super) fn param<const D: usize>(t: Tensor<D>) -> Param<Tensor<D>> {
    Param::from_tensor(t.detach())
}

/// Which new entries of a grown layer start at zero; all other new entries start small and
/// random. A layer's new inputs are the outputs of new units, its new outputs are new units.
#[derive(Clone, Copy)]
pub(super) enum NewWeights {
    /// Every new entry is small and random.
    Fresh,
    /// Weights from new inputs are zero, so the new units feeding them cannot change the old
    /// function.
    ZeroFromNewInputs,
    /// Weights into new outputs are zero (and so are their biases): the new units output 0.
    ZeroIntoNewOutputs,
}

/// Grows a convolution (weight `[out, in, k, k]`) from `old` into the shape of `fresh`.
pub(super) fn grow_conv(old: Conv2d, mut fresh: Conv2d, new: NewWeights) -> Conv2d {
    fresh.weight = grow_weight(old.weight, fresh.weight, new, [0, 1]);
    fresh.bias = grow_bias(old.bias, fresh.bias);
    fresh
}

/// Grows a transposed convolution (weight `[in, out, k, k]`) from `old` into the shape of
/// `fresh`.
pub(super) fn grow_deconv(
    old: ConvTranspose2d,
    mut fresh: ConvTranspose2d,
    new: NewWeights,
) -> ConvTranspose2d {
    fresh.weight = grow_weight(old.weight, fresh.weight, new, [1, 0]);
    fresh.bias = grow_bias(old.bias, fresh.bias);
    fresh
}

/// A kernel whose output and input channels lie along the axes `[out_axis, in_axis]`; its
/// fresh entries are scaled to [`NEW_UNIT_SCALE`] of the trained ones.
fn grow_weight(
    old: Param<Tensor<4>>,
    fresh: Param<Tensor<4>>,
    new: NewWeights,
    [out_axis, in_axis]: [usize; 2],
) -> Param<Tensor<4>> {
    let zero_axes: &[usize] = match new {
        NewWeights::Fresh => &[],
        NewWeights::ZeroFromNewInputs => &[in_axis],
        NewWeights::ZeroIntoNewOutputs => &[out_axis],
    };
    let rms = |t: &Tensor<4>| {
        t.clone()
            .powf_scalar(2.0)
            .mean()
            .sqrt()
            .into_scalar::<f32>()
    };
    let (old, fresh) = (old.val(), fresh.val());
    let k = NEW_UNIT_SCALE * rms(&old) / rms(&fresh).max(f32::MIN_POSITIVE);
    param(grow(old, fresh.mul_scalar(k), zero_axes))
}

/// A bias: the old values, then zeros for the new units.
fn grow_bias(
    old: Option<Param<Tensor<1>>>,
    fresh: Option<Param<Tensor<1>>>,
) -> Option<Param<Tensor<1>>> {
    match (old, fresh) {
        (Some(o), Some(f)) => Some(param(grow(o.val(), f.val(), &[0]))),
        (_, f) => f,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{ChannelRate, Network, NetworkConfig};
    use super::*;

    fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().convert::<f32>().try_to_vec().unwrap()
    }

    #[test]
    fn grow_keeps_the_old_block_and_zeroes_the_chosen_axes() {
        let device = Device::flex();
        let old = Tensor::<2>::from_data([[1.0, 2.0], [3.0, 4.0]], &device);
        let fresh = Tensor::<2>::full([3, 3], 9.0, &device);
        // Zero along axis 1 (new columns), fresh along axis 0 (new rows).
        let grown = grow(old, fresh, &[1]);
        assert_eq!(
            values(grown),
            vec![1.0, 2.0, 0.0, 3.0, 4.0, 0.0, 9.0, 9.0, 0.0]
        );
    }

    /// The widened network computes what the old one did: same reconstruction, same z, same
    /// means and scales of the old channels; the new channels are exactly 0, predicted with
    /// mean 0 and scale σ₀.
    #[test]
    fn a_widened_network_computes_the_same_function() {
        let device = Device::flex();
        let old = Network::new(NetworkConfig::new(8, 12), &device);
        let wide = old
            .clone()
            .widened(NetworkConfig::new(8, 20), &device)
            .unwrap();
        assert_eq!(wide.latent_shapes(64, 64).0, [20, 4, 4]);
        let x = Tensor::<4>::random([1, 3, 64, 64], burn::tensor::Distribution::Default, &device);
        let close = |a: Vec<f32>, b: Vec<f32>| {
            assert_eq!(a.len(), b.len());
            let worst = a
                .iter()
                .zip(&b)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(worst < 1e-4, "differs by {worst}");
        };
        for quality in [1.0, 4.5, 8.0] {
            let (g_old, g_wide) = (
                old.gains_for_quality(quality, &device),
                wide.gains_for_quality(quality, &device),
            );
            let (y_old, y_wide) = (
                old.analyse(x.clone(), &g_old),
                wide.analyse(x.clone(), &g_wide),
            );
            close(
                values(y_old.clone()),
                values(y_wide.clone().narrow(1, 0, 12)),
            );
            assert!(values(y_wide.clone().narrow(1, 12, 8))
                .iter()
                .all(|&v| v == 0.0));
            let (z_old, z_wide) = (
                old.hyper_analyse(y_old.clone(), &g_old).round(),
                wide.hyper_analyse(y_wide.clone(), &g_wide).round(),
            );
            close(values(z_old.clone()), values(z_wide.clone()));
            let (mu_old, s_old) = old.conditional(old.hyper_synthesise(z_old, &g_old), None);
            let (mu_wide, s_wide) = wide.conditional(wide.hyper_synthesise(z_wide, &g_wide), None);
            close(values(mu_old), values(mu_wide.clone().narrow(1, 0, 12)));
            close(values(s_old), values(s_wide.clone().narrow(1, 0, 12)));
            assert!(values(mu_wide.narrow(1, 12, 8)).iter().all(|&v| v == 0.0));
            assert!(values(s_wide.narrow(1, 12, 8))
                .iter()
                .all(|&v| v == NEW_LATENT_SIGMA));
            close(
                values(old.synthesise(y_old.round(), &g_old)),
                values(wide.synthesise(y_wide.round(), &g_wide)),
            );
        }
        assert!(
            old.clone()
                .widened(NetworkConfig::new(8, 8), &device)
                .is_err(),
            "narrowing is refused"
        );
        assert!(
            old.widened(NetworkConfig::new(16, 12), &device).is_err(),
            "N cannot change"
        );
    }

    /// The distortion's gradient reaches the new channels through the synthesis (so training
    /// can move them off zero), and their rate enters the loss with the weight asked for.
    #[test]
    fn new_channels_get_a_gradient_and_their_rate_can_be_ramped() {
        let device = Device::flex().autodiff();
        let net = Network::new(NetworkConfig::new(8, 12), &device)
            .widened(NetworkConfig::new(8, 20), &device)
            .unwrap();
        let x = Tensor::<4>::random([1, 3, 64, 64], burn::tensor::Distribution::Default, &device);
        let pass = |net: &Network, weight: Option<f32>| {
            let rate = weight.map(|weight| ChannelRate { from: 12, weight });
            // A constant offset instead of noise, so the new channels' zeros cost some bits.
            net.forward_train(x.clone(), &[7], true, rate, |shape| {
                Tensor::full(shape, 0.4, &device)
            })
        };
        let bits = |weight| pass(&net, weight).bits_y.into_scalar::<f32>();
        let (full, none, half) = (bits(None), bits(Some(0.0)), bits(Some(0.5)));
        assert!(full > none + 1.0, "new channels' bits: {full} vs {none}");
        assert!((half - (full + none) / 2.0).abs() < 1e-3 * full, "{half}");

        // The distortion's gradient reaches the new channels (with zero synthesis weights out
        // of them, it would be exactly 0 and they would never move).
        let gains = net.gains_for_quality(8.0, &device);
        let y = net.analyse(x.clone(), &gains).detach().require_grad();
        let distortion = (net.synthesise(y.clone(), &gains) - x.clone())
            .square()
            .mean();
        let grad = y.grad(&distortion.backward()).unwrap();
        assert!(
            values(grad.narrow(1, 12, 8)).iter().any(|&g| g != 0.0),
            "the new channels stay dead"
        );
    }

    /// Wider transforms compute what the old ones did, alone or together with a wider latent,
    /// and the network reports its new shape.
    #[test]
    fn wider_transforms_compute_the_same_function() {
        let device = Device::flex();
        let old = Network::new(NetworkConfig::new(8, 12), &device);
        let x = Tensor::<4>::random([1, 3, 64, 64], burn::tensor::Distribution::Default, &device);
        let gains = old.gains_for_quality(6.0, &device);
        let y_old = old.analyse(x.clone(), &gains);
        let x_old = old.synthesise(y_old.clone().round(), &gains);
        for to in [
            NetworkConfig::new(8, 12).with_transform_n(16),
            NetworkConfig::new(8, 20).with_transform_n(16),
        ] {
            let wide = old.clone().widened(to, &device).unwrap();
            assert_eq!(wide.config(), to);
            let gains = wide.gains_for_quality(6.0, &device);
            let y = wide.analyse(x.clone(), &gains);
            let worst = |a: Tensor<4>, b: Tensor<4>| (a - b).abs().max().into_scalar::<f32>();
            assert!(worst(y.clone().narrow(1, 0, 12), y_old.clone()) < 1e-4);
            let x_wide = wide.synthesise(y.round(), &gains);
            assert!(worst(x_wide, x_old.clone()) < 1e-4);
        }
        let wide = old.widened(NetworkConfig::new(8, 12).with_transform_n(16), &device);
        assert!(wide
            .unwrap()
            .widened(NetworkConfig::new(8, 12).with_transform_n(12), &device)
            .is_err());
    }
}
