//! The factorized prior of the hyper-latent z (Ballé et al. 2018, appendix 6.1; CompressAI's
//! `EntropyBottleneck`): a learned, per-channel, monotone cumulative function
//! `c(x) = σ(logits(x))` built from small 1→3→3→3→3→1 dense layers with non-negative weights.
//!
//! Training uses the likelihood of noisy values, `c(x + ½) − c(x − ½)`, as the rate of z, and an
//! auxiliary loss that moves three learned quantiles per channel to the `tail/2`, median and
//! `1 − tail/2` points. At export the density is evaluated on the integers between the tails and
//! frozen into integer tables (see [`crate::entropy`]); the codec never runs this module.

use burn::module::Param;
use burn::prelude::*;
use burn::tensor::activation::{sigmoid, softplus};
use burn::tensor::Distribution;

/// Hidden widths of the per-channel density network.
const FILTERS: [usize; 4] = [3, 3, 3, 3];
/// Probability mass left outside the coded range (escape-coded when it happens).
pub const TAIL_MASS: f64 = 1e-9;
/// Initial half-width of the range covered by the quantiles.
const INIT_SCALE: f64 = 10.0;

/// Learned per-channel density of the hyper-latent.
#[derive(Module, Debug)]
pub struct FactorizedDensity {
    matrices: Vec<Param<Tensor<3>>>,
    biases: Vec<Param<Tensor<3>>>,
    factors: Vec<Param<Tensor<3>>>,
    /// `[C, 1, 3]`: lower tail, median, upper tail.
    quantiles: Param<Tensor<3>>,
}

impl FactorizedDensity {
    /// A density over `channels` channels, initialised like CompressAI.
    pub fn new(channels: usize, device: &Device) -> Self {
        let dims: Vec<usize> = std::iter::once(1)
            .chain(FILTERS)
            .chain(std::iter::once(1))
            .collect();
        let scale = INIT_SCALE.powf(1.0 / (FILTERS.len() + 1) as f64);
        let mut matrices = Vec::new();
        let mut biases = Vec::new();
        let mut factors = Vec::new();
        for i in 0..=FILTERS.len() {
            let init = (1.0 / scale / dims[i + 1] as f64).exp_m1().ln();
            matrices.push(Param::from_tensor(
                Tensor::<3>::ones([channels, dims[i + 1], dims[i]], device).mul_scalar(init),
            ));
            biases.push(Param::from_tensor(Tensor::<3>::random(
                [channels, dims[i + 1], 1],
                Distribution::Uniform(-0.5, 0.5),
                device,
            )));
            if i < FILTERS.len() {
                factors.push(Param::from_tensor(Tensor::<3>::zeros(
                    [channels, dims[i + 1], 1],
                    device,
                )));
            }
        }
        let q: Vec<f32> = (0..channels)
            .flat_map(|_| [-INIT_SCALE as f32, 0.0, INIT_SCALE as f32])
            .collect();
        let quantiles = Param::from_tensor(Tensor::<3>::from_data(
            TensorData::new(q, [channels, 1, 3]),
            device,
        ));
        Self {
            matrices,
            biases,
            factors,
            quantiles,
        }
    }

    /// Number of channels.
    pub fn channels(&self) -> usize {
        self.quantiles.dims()[0]
    }

    /// `logits(x)` for `x: [C, 1, K]`; `detach` stops gradients into the network (aux loss).
    fn logits_cumulative(&self, x: Tensor<3>, detach: bool) -> Tensor<3> {
        let val = |p: &Param<Tensor<3>>| if detach { p.val().detach() } else { p.val() };
        let mut x = x;
        for i in 0..self.matrices.len() {
            x = softplus(val(&self.matrices[i]), 1.0).matmul(x) + val(&self.biases[i]);
            if i < self.factors.len() {
                x = x.clone() + val(&self.factors[i]).tanh() * x.tanh();
            }
        }
        x
    }

    /// Likelihood of each value of `z: [B, C, H, W]` under the density, `[B, C, H, W]`.
    pub fn likelihood(&self, z: Tensor<4>) -> Tensor<4> {
        let [b, c, h, w] = z.dims();
        let v = z.swap_dims(0, 1).reshape([c, 1, b * h * w]);
        let lower = self.logits_cumulative(v.clone().sub_scalar(0.5), false);
        let upper = self.logits_cumulative(v.add_scalar(0.5), false);
        // Evaluate on the side of the median where the sigmoid is far from 1: keeps precision.
        let sign = (lower.clone() + upper.clone()).sign().neg().detach();
        let lik = (sigmoid(sign.clone() * upper) - sigmoid(sign * lower)).abs();
        lik.reshape([c, b, h, w]).swap_dims(0, 1)
    }

    /// Per-channel medians `[1, C, 1, 1]`: the quantisation offsets of z.
    pub fn medians(&self) -> Tensor<4> {
        let c = self.channels();
        self.quantiles
            .val()
            .slice([0..c, 0..1, 1..2])
            .reshape([1, c, 1, 1])
    }

    /// Auxiliary loss that drives the quantiles to the tails and the median.
    pub fn aux_loss(&self) -> Tensor<1> {
        let target = (2.0 / TAIL_MASS - 1.0).ln() as f32;
        let c = self.channels();
        let t: Vec<f32> = (0..c).flat_map(|_| [-target, 0.0, target]).collect();
        let target =
            Tensor::<3>::from_data(TensorData::new(t, [c, 1, 3]), &self.quantiles.device());
        let logits = self.logits_cumulative(self.quantiles.val(), true);
        (logits - target).abs().sum()
    }

    /// Frozen per-channel probability tables for export: for each channel, the median and the
    /// probabilities of the integer offsets `lo..=hi` from it (`lo ≤ 0 ≤ hi`), in f64.
    pub fn export_pmfs(&self) -> Vec<ChannelPmf> {
        let c = self.channels();
        let q: Vec<f32> = self
            .quantiles
            .val()
            .into_data()
            .convert::<f32>()
            .try_to_vec()
            .expect("f32 quantiles");
        let mut out = Vec::with_capacity(c);
        for ch in 0..c {
            let (q0, med, q2) = (q[ch * 3] as f64, q[ch * 3 + 1] as f64, q[ch * 3 + 2] as f64);
            let lo = -((med - q0).ceil().max(0.0) as i32);
            let hi = (q2 - med).ceil().max(0.0) as i32;
            out.push(ChannelPmf {
                median: med as f32,
                lo,
                hi,
                pmf: Vec::new(),
            });
        }
        // Evaluate all channels at once on a common grid of offsets, then cut each channel's range.
        let lo = out.iter().map(|p| p.lo).min().unwrap_or(0);
        let hi = out.iter().map(|p| p.hi).max().unwrap_or(0);
        let k = (hi - lo + 1) as usize;
        let device = self.quantiles.device();
        let offsets: Vec<f32> = (0..c)
            .flat_map(|ch| {
                let med = q[ch * 3 + 1];
                (lo..=hi).map(move |o| o as f32 + med)
            })
            .collect();
        let v = Tensor::<3>::from_data(TensorData::new(offsets, [c, 1, k]), &device);
        let lower = self.logits_cumulative(v.clone().sub_scalar(0.5), true);
        let upper = self.logits_cumulative(v.add_scalar(0.5), true);
        let sign = (lower.clone() + upper.clone()).sign().neg();
        let lik = (sigmoid(sign.clone() * upper) - sigmoid(sign * lower)).abs();
        let lik: Vec<f32> = lik.into_data().convert::<f32>().try_to_vec().expect("f32");
        for (ch, p) in out.iter_mut().enumerate() {
            let row = &lik[ch * k..(ch + 1) * k];
            p.pmf = (p.lo..=p.hi)
                .map(|o| row[(o - lo) as usize] as f64)
                .collect();
        }
        out
    }
}

/// One channel's frozen density: `pmf[i]` is the probability of `median + lo + i`.
#[derive(Debug, Clone)]
pub struct ChannelPmf {
    /// Quantisation offset of the channel.
    pub median: f32,
    /// Lowest coded offset from the median (≤ 0).
    pub lo: i32,
    /// Highest coded offset from the median (≥ 0).
    pub hi: i32,
    /// Probabilities of the offsets `lo..=hi`.
    pub pmf: Vec<f64>,
}
