//! The learned transforms: a mean-scale hyperprior (Minnen et al. 2018, CompressAI's
//! `mbt2018-mean` layout) with GDN, variable rate through gain units.
//!
//! Data path (training, see [`Network::forward_train`]):
//! `x → g_a → ·gain → y → h_a → ·hgain → z`; z is quantised around the learned medians and
//! `h_s(ẑ·hgain⁻¹)` predicts means and scales of y; `ŷ = round(y − μ) + μ`;
//! `x̂ = g_s(ŷ·gain⁻¹)`. Rates come from additive-noise proxies, the synthesis sees the
//! rounded values through a straight-through estimator ("mixed quantisation", which trains the
//! decoder on exactly what it gets at test time). A network may add a checkerboard context
//! model (`context.rs`), which corrects the means and scales of the second pass from the decoded
//! anchors.

// The training parts are unused in a build that only encodes.
#![cfg_attr(not(feature = "train"), allow(dead_code, unused_imports))]

mod context;
mod density;
mod gain;
mod gdn;
pub(crate) mod hyper;
mod likelihood;
pub mod ops;
#[cfg(test)]
pub(crate) mod portable_copy;
pub(crate) mod transforms;
mod widen;

pub use crate::architecture::{is_anchor, NetworkConfig, DOWNSAMPLING, LATENT_STRIDE};
pub use crate::quality::{
    ladder_position, ladder_remap, lambda_for_quality, Ladder, COMPRESSAI_LADDER, DEFAULT_LADDER,
    QUALITY_MAX, QUALITY_MIN, RUNGS,
};
pub use context::{anchor_mask, Context};
pub use density::{ChannelPmf, FactorizedDensity, TAIL_MASS};
pub use gain::GainSet;
pub use likelihood::{bits_per_sample, gaussian_likelihood, SCALE_BOUND};

use burn::prelude::*;

use crate::package::PackageError;
use gain::Gains;
use hyper::{split_params, HyperAnalysis, HyperSynthesis};
use transforms::{Analysis, Synthesis};

/// Latent rows around a band of [`Network::analyse_bands`] whose pixels its outputs read.
const ANALYSIS_HALO: usize = 2;

/// The whole learned network.
#[derive(Module, Debug)]
pub struct Network {
    g_a: Analysis,
    g_s: Synthesis,
    h_a: HyperAnalysis,
    h_s: HyperSynthesis,
    gains: Gains,
    density: FactorizedDensity,
    /// The checkerboard context model, in networks that have one.
    context: Option<Context>,
}

/// What a training forward pass returns.
pub struct TrainOutput {
    /// Reconstruction `[B, 3, H, W]` (not clamped).
    pub x_hat: Tensor<4>,
    /// Estimated bits of y per sample, `[B]`.
    pub bits_y: Tensor<1>,
    /// Estimated bits of z per sample, `[B]`.
    pub bits_z: Tensor<1>,
    /// Mean |y| (diagnostics).
    pub y_abs: Tensor<1>,
    /// Mean predicted scale (diagnostics).
    pub scale_mean: Tensor<1>,
}

/// How much the rate of the latent channels from `from` on counts in a training loss:
/// `weight` ∈ [0, 1] times their estimated bits. A run that widened its latent ramps the new
/// channels' rate in, so that they learn to carry something before they have to pay for it
/// (see `src/model/widen.rs`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChannelRate {
    /// First latent channel the weight applies to.
    pub from: usize,
    /// Weight of those channels' bits.
    pub weight: f32,
}

/// Uniform noise in `[-½, ½)` for the rate proxies of y and z, supplied by the caller so a
/// training run is reproducible from its seed.
pub struct TrainNoise {
    /// Same shape as y.
    pub y: Tensor<4>,
    /// Same shape as z.
    pub z: Tensor<4>,
}

impl Network {
    /// A freshly initialised network.
    pub fn new(config: NetworkConfig, device: &Device) -> Self {
        let NetworkConfig { n, m, .. } = config;
        let t = config.transform_channels();
        Self {
            g_a: Analysis::new(t, m, device),
            g_s: Synthesis::new(t, m, device),
            h_a: HyperAnalysis::new(config, device),
            h_s: HyperSynthesis::new(config, device),
            gains: Gains::new(n, m, device),
            density: FactorizedDensity::new(n, device),
            context: config.context.then(|| Context::new(m, device)),
        }
    }

    /// Latent shape `[M, h, w]` and hyper-latent shape `[N, h/4, w/4]` for a padded image size.
    pub fn latent_shapes(&self, height: usize, width: usize) -> ([usize; 3], [usize; 3]) {
        self.config().latent_shapes(height, width)
    }

    fn g_s_channels(&self) -> usize {
        self.gains.latent_channels()
    }

    /// The learned prior of z.
    pub fn density(&self) -> &FactorizedDensity {
        &self.density
    }

    /// The same network with its gains moved from λ ladder `from` to `to` (see
    /// `Gains::remapped` in `gain.rs`), to continue training a model on another ladder.
    pub fn with_ladder(self, from: &Ladder, to: &Ladder) -> Self {
        Self {
            gains: self.gains.remapped(from, to),
            ..self
        }
    }

    /// The shape of this network.
    pub fn config(&self) -> NetworkConfig {
        NetworkConfig::new(self.density.channels(), self.g_s_channels())
            .with_transform_n(self.g_a.channels())
            .with_context(self.has_context())
            .with_hyperprior(self.h_s.hyperprior())
    }

    /// Whether the latent is coded in two checkerboard passes (see `src/model/context.rs`).
    pub fn has_context(&self) -> bool {
        self.context.is_some()
    }

    /// The context model, in a network that has one (training may train it alone).
    pub fn context_model(&self) -> Option<&Context> {
        self.context.as_ref()
    }

    /// The same network with gains of one at every rung (a network trained for one rate,
    /// imported from elsewhere).
    #[cfg(feature = "import")]
    pub fn with_unit_gains(self, device: &Device) -> Self {
        let config = self.config();
        Self {
            gains: Gains::unit(config.n, config.m, device),
            ..self
        }
    }

    /// The same function in the wider shape `to` (see `src/model/widen.rs`): more latent
    /// channels M, which start at 0, cost nothing to code and are read by small synthesis
    /// weights, and/or more hidden channels in `g_a` and `g_s`, whose zero outputs change
    /// nothing until training uses them, and/or a context model, which starts by changing
    /// nothing ([`Context::preserving`]). N (z and the hyper transforms) cannot change, and
    /// the latent of a network with a context model cannot grow.
    /// Returns the network unchanged if it already has the shape `to`.
    pub fn widened(self, to: NetworkConfig, device: &Device) -> Result<Self, String> {
        let from = self.config();
        if to.n != from.n
            || to.hyperprior != from.hyperprior
            || (to.m > from.m && !from.hyperprior.is_mean_scale())
            || to.m < from.m
            || to.transform_channels() < from.transform_channels()
            || (from.context && (!to.context || to.m > from.m))
        {
            return Err(format!(
                "cannot turn a network of shape {from} into {to}: only M and the transforms' \
                 width may grow (M only before a context model is added, and only with the \
                 mean-scale hyperprior), and a context model may be added but not removed"
            ));
        }
        let mut network = self;
        if to.m > from.m {
            let fresh = Network::new(NetworkConfig { m: to.m, ..from }, device);
            network = Self {
                g_a: network.g_a.widened(fresh.g_a),
                g_s: network.g_s.widened(fresh.g_s),
                h_a: network.h_a.widened(fresh.h_a),
                h_s: network.h_s.widened(fresh.h_s),
                gains: network.gains.widened(to.m),
                density: network.density,
                context: None,
            };
        }
        if to.transform_channels() > from.transform_channels() {
            let fresh = Network::new(to, device);
            network = Self {
                g_a: network.g_a.widened_hidden(fresh.g_a),
                g_s: network.g_s.widened_hidden(fresh.g_s),
                ..network
            };
        }
        if to.context && !from.context {
            if !from.hyperprior.is_mean_scale() {
                return Err(format!(
                    "a context model needs the mean-scale hyperprior, not {from}"
                ));
            }
            network.context = Some(Context::preserving(to.m, device));
        }
        Ok(network)
    }

    /// Gains for a coding quality.
    pub fn gains_for_quality(&self, quality: f32, device: &Device) -> GainSet {
        self.gains.for_quality(quality, device)
    }

    /// Analysis: padded image in `[0, 1]` → gained latent y.
    pub fn analyse(&self, x: Tensor<4>, gains: &GainSet) -> Tensor<4> {
        self.g_a.forward(x) * gains.latent.clone()
    }

    /// [`Network::analyse`] a band of `band` latent rows at a time, so that the activations of
    /// `g_a` follow the band, not the image (a whole image's take about 300 bytes per pixel).
    /// Each band runs on its own pixel rows and [`ANALYSIS_HALO`] latent rows' worth of pixel
    /// rows on either side, which its outputs read (four 5×5 convolutions of stride 2 reach
    /// 30 pixel rows out); the latent rows computed from the band's cut edges are dropped. The
    /// rows kept are the sums `analyse` computes, up to the backend's summation order.
    pub fn analyse_bands(&self, x: Tensor<4>, gains: &GainSet, band: usize) -> Tensor<4> {
        assert!(band > 0, "empty bands");
        let [_, c, h, w] = x.dims();
        let rows = h / LATENT_STRIDE;
        if band >= rows {
            return self.analyse(x, gains);
        }
        let parts = (0..rows)
            .step_by(band)
            .map(|first| {
                let last = (first + band).min(rows);
                let lo = first.saturating_sub(ANALYSIS_HALO);
                let hi = (last + ANALYSIS_HALO).min(rows);
                let pixels =
                    x.clone()
                        .slice([0..1, 0..c, lo * LATENT_STRIDE..hi * LATENT_STRIDE, 0..w]);
                let y = self.analyse(pixels, gains);
                let [_, m, _, yw] = y.dims();
                y.slice([0..1, 0..m, first - lo..last - lo, 0..yw])
            })
            .collect();
        Tensor::cat(parts, 2)
    }

    /// Hyper-analysis: y → gained hyper-latent z (before quantisation).
    pub fn hyper_analyse(&self, y: Tensor<4>, gains: &GainSet) -> Tensor<4> {
        self.h_a.forward(y) * gains.hyper.clone()
    }

    /// Hyper-synthesis: quantised ẑ → the hyperprior's raw prediction of y, `[scales | means]`
    /// (turned into means and scales by [`Network::conditional`]).
    pub fn hyper_synthesise(&self, z_hat: Tensor<4>, gains: &GainSet) -> Tensor<4> {
        self.h_s.forward(z_hat * gains.hyper_inv.clone())
    }

    /// (means, scales) of y from the hyperprior's prediction `hyper`, corrected, in a network
    /// with a context model, with the context of `anchors` (the decoded latent at the anchors,
    /// zero elsewhere; `None` in the first pass, which codes the anchors). Without a context
    /// model, `anchors` is ignored.
    pub fn conditional(
        &self,
        hyper: Tensor<4>,
        anchors: Option<Tensor<4>>,
    ) -> (Tensor<4>, Tensor<4>) {
        match &self.context {
            None => split_params(hyper),
            Some(context) => {
                let anchors = anchors.unwrap_or_else(|| {
                    let [b, c, h, w] = hyper.dims();
                    Tensor::zeros([b, c / 2, h, w], &hyper.device())
                });
                split_params(context.forward(hyper, anchors))
            }
        }
    }

    /// (means, scales) of every element of y after both passes: the first pass's at the
    /// anchors, the second's elsewhere, where `decoded(means)` gives the decoded latent for
    /// the first pass's means (only its anchors are read). What the codec derives, as one
    /// tensor computation, for training and for the encoder's own estimates.
    pub fn conditional_for(
        &self,
        hyper: Tensor<4>,
        decoded: impl FnOnce(Tensor<4>) -> Tensor<4>,
    ) -> (Tensor<4>, Tensor<4>) {
        let (means, scales) = self.conditional(hyper.clone(), None);
        if self.context.is_none() {
            return (means, scales);
        }
        let [_, _, h, w] = means.dims();
        let anchors = decoded(means) * anchor_mask(h, w, &hyper.device());
        self.conditional(hyper, Some(anchors))
    }

    /// (means, scales) the codec derives when it codes `y`: [`Network::conditional_for`] with
    /// the latent rounded around the first pass's means, as the decoder will have it.
    pub fn conditional_coded(&self, hyper: Tensor<4>, y: Tensor<4>) -> (Tensor<4>, Tensor<4>) {
        self.conditional_for(hyper, |means| (y - means.clone()).round() + means)
    }

    /// Synthesis: quantised ŷ → reconstruction (not clamped).
    pub fn synthesise(&self, y_hat: Tensor<4>, gains: &GainSet) -> Tensor<4> {
        self.g_s.forward(y_hat * gains.latent_inv.clone())
    }

    /// Training pass for a batch whose sample `i` trains rung `rungs[i]` of the λ ladder.
    ///
    /// With `straight_through` the synthesis sees rounded latents (what it gets when coding);
    /// without, it sees the noisy ones. Noise lets information through while the latents are
    /// still small compared to the quantisation step, so runs start with it and switch later.
    /// `new_channels` weighs the rate of the channels a widening added (`None`: every
    /// channel's bits count in full).
    pub fn forward_train<F>(
        &self,
        x: Tensor<4>,
        rungs: &[usize],
        straight_through: bool,
        new_channels: Option<ChannelRate>,
        mut noise: F,
    ) -> TrainOutput
    where
        F: FnMut([usize; 4]) -> Tensor<4>,
    {
        let device = x.device();
        let gains = self.gains.for_rungs(rungs, &device);
        let y = self.analyse(x, &gains);
        let z = self.hyper_analyse(y.clone(), &gains);

        let medians = self.density.medians();
        let z_noisy = z.clone() + noise(z.dims());
        let z_hat = if straight_through {
            straight_through_round(z, medians)
        } else {
            z_noisy.clone()
        };
        let bits_z = bits_per_sample(self.density.likelihood(z_noisy));

        let hyper = self.hyper_synthesise(z_hat, &gains);
        let y_noisy = y.clone() + noise(y.dims());
        // The context model reads the anchors as the synthesis sees them.
        let (means, scales) = self.conditional_for(hyper, |means| {
            if straight_through {
                straight_through_round(y.clone(), means)
            } else {
                y_noisy.clone()
            }
        });
        let scale_mean = scales.clone().mean().detach();
        let y_abs = y.clone().abs().mean().detach();
        let likelihood = gaussian_likelihood(y_noisy.clone(), means.clone(), scales);
        let bits_y = match new_channels {
            Some(ChannelRate { from, weight }) if from < likelihood.dims()[1] => {
                let new = likelihood.dims()[1] - from;
                bits_per_sample(likelihood.clone().narrow(1, 0, from))
                    + bits_per_sample(likelihood.narrow(1, from, new)).mul_scalar(weight)
            }
            _ => bits_per_sample(likelihood),
        };
        let y_hat = if straight_through {
            straight_through_round(y, means)
        } else {
            y_noisy
        };
        let x_hat = self.synthesise(y_hat, &gains);
        TrainOutput {
            x_hat,
            bits_y,
            bits_z,
            y_abs,
            scale_mean,
        }
    }

    /// Auxiliary loss of the z prior's quantiles (optimised separately).
    pub fn aux_loss(&self) -> Tensor<1> {
        self.density.aux_loss()
    }
}

#[cfg(test)]
impl Network {
    /// This network with a freshly initialised context model, whose second pass predicts
    /// differently from the first: stands in for a trained one in tests.
    pub(crate) fn with_fresh_context(self, device: &Device) -> Self {
        let m = self.g_s_channels();
        Self {
            context: Some(Context::new(m, device)),
            ..self
        }
    }

    /// This network without its context model, if it has one: every element coded in one
    /// pass from the hyperprior alone.
    pub(crate) fn without_context(self) -> Self {
        Self {
            context: None,
            ..self
        }
    }
}

/// `round(x − offset) + offset` in the forward pass, identity gradient in the backward pass.
fn straight_through_round(x: Tensor<4>, offset: Tensor<4>) -> Tensor<4> {
    let q = (x.clone() - offset.clone()).round() + offset;
    x.clone() + (q - x).detach()
}

/// Loads training weights (an f32 burnpack, as written by [`weights_to_bytes`]) into a fresh
/// network of `config` on `device`, keeping parameter ids so optimizer state still matches.
pub fn load_weights(
    bytes: &[u8],
    config: NetworkConfig,
    device: &Device,
) -> Result<Network, String> {
    use burn::store::ModuleRecord;
    use burn::tensor::Bytes;
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes.to_vec()))
        .map_err(|e| format!("{e:?}"))?;
    Ok(Network::new(config, device).load_record(record))
}

/// Serializes training weights (f32 burnpack, exact).
pub fn weights_to_bytes(network: &Network) -> Result<Vec<u8>, String> {
    network
        .clone()
        .into_record()
        .into_bytes()
        .map(|b| b.to_vec())
        .map_err(|e| format!("{e:?}"))
}

/// Serializes the weights of a model package as safetensors, named by the network's
/// parameter paths: convolution kernels and biases (all but ~2 % of the parameters) in f16,
/// which halves the package; GDN, gains and the z prior stay f32.
///
/// Decoding stays exact because the codec only ever runs the f16-rounded network: the loaders
/// widen these values back to f32 exactly, and the entropy tables never depend on the
/// convolution weights.
pub fn package_weights_to_bytes(network: &Network) -> Result<Vec<u8>, PackageError> {
    use burn::store::{HalfPrecisionAdapter, ModuleSnapshot, SafetensorsStore};
    // No metadata: burn's is a hash map, which would serialize in a different order each time.
    let mut store = SafetensorsStore::from_bytes(None)
        .clear_metadata()
        .with_to_adapter(HalfPrecisionAdapter::new());
    network.save_into(&mut store).map_err(PackageError::Store)?;
    store.get_bytes().map_err(PackageError::Store)
}

/// Loads the weights of a model package (as written by [`package_weights_to_bytes`]) into a
/// fresh f32 network of `config` on `device`.
pub fn load_package_weights(
    bytes: &[u8],
    config: NetworkConfig,
    device: &Device,
) -> Result<Network, PackageError> {
    use burn::store::{FloatCastAdapter, SafetensorsStore};
    use burn::tensor::DType;
    let mut store = SafetensorsStore::from_bytes(Some(bytes.to_vec()))
        .with_from_adapter(FloatCastAdapter::to(DType::F32));
    load_into(&mut store, config, device)
}

/// Loads the weights of a version-1 package (burnpack, f16 convolutions or all f32).
pub(crate) fn load_burnpack_weights(
    bytes: &[u8],
    config: NetworkConfig,
    device: &Device,
) -> Result<Network, PackageError> {
    use burn::store::{BurnpackStore, FloatCastAdapter};
    use burn::tensor::{Bytes, DType};
    let mut store = BurnpackStore::from_bytes(Some(Bytes::from_bytes_vec(bytes.to_vec())))
        .with_from_adapter(FloatCastAdapter::to(DType::F32));
    load_into(&mut store, config, device)
}

/// A fresh network of `config` with the weights of `store`, every one of which it must use.
fn load_into<S: burn::store::ModuleStore>(
    store: &mut S,
    config: NetworkConfig,
    device: &Device,
) -> Result<Network, PackageError> {
    use burn::store::ModuleSnapshot;
    let mut network = Network::new(config, device);
    let result = network
        .load_from(store)
        .map_err(|e| PackageError::WrongNetwork {
            config,
            detail: e.to_string(),
        })?;
    // Tensors the network has no place for mean the package describes another network (say,
    // one with a context model): decoding with part of its weights would give wrong pixels.
    if !result.errors.is_empty() || !result.missing.is_empty() || !result.unused.is_empty() {
        return Err(PackageError::WrongNetwork {
            config,
            detail: format!(
                "{} errors, {} missing and {} unused tensors (first: {})",
                result.errors.len(),
                result.missing.len(),
                result.unused.len(),
                result
                    .errors
                    .first()
                    .map(|e| format!("{e:?}"))
                    .or_else(|| result.missing.first().map(|m| m.0.clone()))
                    .or_else(|| result.unused.first().cloned())
                    .unwrap_or_default()
            ),
        });
    }
    Ok(network)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;

    /// A small untrained network, its quality-5 gains and a random padded image of `rows × cols`
    /// latent positions.
    fn analysis_case(rows: usize, cols: usize) -> (Network, GainSet, Tensor<4>) {
        let device = Device::flex();
        let net = Network::new(NetworkConfig::new(8, 12), &device);
        let gains = net.gains_for_quality(5.0, &device);
        let shape = [1, 3, LATENT_STRIDE * rows, LATENT_STRIDE * cols];
        let x = Tensor::<4>::random(shape, Distribution::Uniform(0.0, 1.0), &device);
        (net, gains, x)
    }

    #[test]
    fn analysis_in_bands_computes_the_whole_image_latent() {
        let (net, gains, x) = analysis_case(11, 3);
        let whole = net.analyse(x.clone(), &gains);
        for band in [1, 2, 4, 10, 11] {
            let banded = net.analyse_bands(x.clone(), &gains, band);
            assert_eq!(banded.dims(), whole.dims());
            let most = (banded - whole.clone()).abs().max().into_scalar::<f32>();
            assert!(most <= 1e-5, "band {band}: {most}");
        }
    }

    #[test]
    fn a_halo_one_row_short_changes_the_latent() {
        // The halo is needed: a band cut without it reads zeros where pixels were.
        let (net, gains, x) = analysis_case(6, 2);
        let whole = net.analyse(x.clone(), &gains);
        let cut = net.analyse(x.slice([0..1, 0..3, 16..16 * 6, 0..32]), &gains);
        let [_, m, _, w] = cut.dims();
        let row = |t: Tensor<4>, r: usize| t.slice([0..1, 0..m, r..r + 1, 0..w]);
        // Latent row 2 with one latent row above it (ANALYSIS_HALO - 1) differs from the whole's.
        let short = (row(cut, 1) - row(whole, 2))
            .abs()
            .max()
            .into_scalar::<f32>();
        assert!(short > 1e-4, "{short}");
    }
}
