//! Variable rate with gain units (Cui et al., CVPR 2021): one network serves every quality.
//!
//! Each rung of the λ ladder owns a learned per-channel gain applied to the latent before
//! quantisation (a larger gain means finer quantisation, more bits) and an inverse gain applied
//! after. The hyper-latent has its own pair. A fractional quality interpolates between its two
//! neighbouring rungs geometrically (linearly in the log domain, where the gains live).

use burn::module::Param;
use burn::prelude::*;

use crate::quality::{interpolate_gains, ladder_remap, Ladder, RUNGS};

/// Initial latent gains per rung: the ratios of CompressAI's variable-rate model, so training
/// starts with a sensible spread of quantisation steps.
const INIT_GAINS: [f64; RUNGS] = [
    0.10000, 0.13944, 0.19293, 0.26874, 0.37268, 0.51801, 0.71957, 1.00000,
];

/// Overall scale of the initial gains. A freshly initialised analysis transform outputs values
/// far below the quantisation step; with unit-scale gains the synthesis sees mostly noise and
/// training stalls at "predict the mean colour" for thousands of steps.
const INIT_GAIN_SCALE: f64 = 40.0;

/// The four gain tables, each `[rungs, channels]`, stored as natural logs.
#[derive(Module, Debug)]
pub struct Gains {
    latent: Param<Tensor<2>>,
    latent_inv: Param<Tensor<2>>,
    hyper: Param<Tensor<2>>,
    hyper_inv: Param<Tensor<2>>,
}

/// Per-sample gain vectors, shaped `[B, C, 1, 1]` to broadcast over a latent.
pub struct GainSet {
    /// Multiplies y before quantisation.
    pub latent: Tensor<4>,
    /// Multiplies ŷ before the synthesis transform.
    pub latent_inv: Tensor<4>,
    /// Multiplies z before quantisation.
    pub hyper: Tensor<4>,
    /// Multiplies ẑ before the hyper-synthesis.
    pub hyper_inv: Tensor<4>,
}

impl Gains {
    /// Gains for `m` latent and `n` hyper-latent channels.
    pub fn new(n: usize, m: usize, device: &Device) -> Self {
        let rungs = RUNGS;
        let init = |c: usize, sign: f32| {
            let v: Vec<f32> = INIT_GAINS
                .iter()
                .flat_map(|g| std::iter::repeat_n(sign * ((*g * INIT_GAIN_SCALE) as f32).ln(), c))
                .collect();
            Param::from_tensor(Tensor::<2>::from_data(
                TensorData::new(v, [rungs, c]),
                device,
            ))
        };
        Self {
            latent: init(m, 1.0),
            latent_inv: init(m, -1.0),
            hyper: Param::from_tensor(Tensor::zeros([rungs, n], device)),
            hyper_inv: Param::from_tensor(Tensor::zeros([rungs, n], device)),
        }
    }

    /// Gains of one (all logs zero): every quality codes at the network's own rate.
    pub fn unit(n: usize, m: usize, device: &Device) -> Self {
        let zeros = |c: usize| Param::from_tensor(Tensor::<2>::zeros([RUNGS, c], device));
        Self {
            latent: zeros(m),
            latent_inv: zeros(m),
            hyper: zeros(n),
            hyper_inv: zeros(n),
        }
    }

    /// Number of latent channels.
    pub fn latent_channels(&self) -> usize {
        self.latent.dims()[1]
    }

    /// The gains moved from ladder `from` to ladder `to` (see [`ladder_remap`]): each new rung
    /// interpolates, in the log domain where the gains live, the learned gains of the two old
    /// rungs around its λ. Lets a trained model start training on another ladder.
    pub fn remapped(self, from: &Ladder, to: &Ladder) -> Self {
        let w: Vec<f32> = ladder_remap(from, to)
            .iter()
            .flatten()
            .map(|&v| v as f32)
            .collect();
        let remap = |p: Param<Tensor<2>>| {
            p.map(|t| {
                let w =
                    Tensor::<2>::from_data(TensorData::new(w.clone(), [RUNGS, RUNGS]), &t.device());
                // A fresh leaf: training must not backpropagate into the old gains.
                let tracked = t.is_require_grad();
                w.matmul(t).detach().set_require_grad(tracked)
            })
        };
        Self {
            latent: remap(self.latent),
            latent_inv: remap(self.latent_inv),
            hyper: remap(self.hyper),
            hyper_inv: remap(self.hyper_inv),
        }
    }

    /// These gains for the `m` latent channels of a widened network: the old channels keep
    /// theirs, a new channel gets the mean (in the log domain) of the old channels of its rung.
    pub fn widened(self, m: usize) -> Self {
        let grow = |p: Param<Tensor<2>>| {
            let t = p.val();
            let old = t.dims()[1];
            let mean = t.clone().mean_dim(1).repeat_dim(1, m - old);
            super::widen::param(Tensor::cat(vec![t, mean], 1))
        };
        Self {
            latent: grow(self.latent),
            latent_inv: grow(self.latent_inv),
            ..self
        }
    }

    /// Gains for one sample per entry of `rungs` (training: integer rungs).
    pub fn for_rungs(&self, rungs: &[usize], device: &Device) -> GainSet {
        let idx: Vec<i64> = rungs.iter().map(|&r| r as i64).collect();
        let idx = Tensor::<1, Int>::from_data(TensorData::new(idx, [rungs.len()]), device);
        let pick = |p: &Param<Tensor<2>>| {
            let t = p.val().select(0, idx.clone()).exp();
            let [b, c] = t.dims();
            t.reshape([b, c, 1, 1])
        };
        GainSet {
            latent: pick(&self.latent),
            latent_inv: pick(&self.latent_inv),
            hyper: pick(&self.hyper),
            hyper_inv: pick(&self.hyper_inv),
        }
    }

    /// Gains for a fractional quality (coding: batch of one), interpolated on the host
    /// ([`interpolate_gains`]) exactly as the decoder does.
    pub fn for_quality(&self, quality: f32, device: &Device) -> GainSet {
        let pick = |p: &Param<Tensor<2>>| {
            let logs: Vec<f32> = p
                .val()
                .into_data()
                .convert::<f32>()
                .try_to_vec()
                .expect("f32 gains");
            let v = interpolate_gains(&logs, quality);
            let c = v.len();
            Tensor::<4>::from_data(TensorData::new(v, [1, c, 1, 1]), device)
        };
        GainSet {
            latent: pick(&self.latent),
            latent_inv: pick(&self.latent_inv),
            hyper: pick(&self.hyper),
            hyper_inv: pick(&self.hyper_inv),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::*;

    #[test]
    fn ladder_positions() {
        assert_eq!(ladder_position(1.0), (0, 0.0));
        assert_eq!(ladder_position(3.5), (2, 0.5));
        assert_eq!(ladder_position(8.0), (6, 1.0));
        assert_eq!(ladder_position(0.0), (0, 0.0));
        assert_eq!(ladder_position(42.0), (6, 1.0));
    }

    #[test]
    fn lambda_interpolates_geometrically() {
        let l = &COMPRESSAI_LADDER;
        assert!((lambda_for_quality(l, 1.0) - 0.0018).abs() < 1e-12);
        assert!((lambda_for_quality(l, 8.0) - 0.18).abs() < 1e-12);
        let mid = lambda_for_quality(l, 4.5);
        assert!((mid - (0.013f64 * 0.025).sqrt()).abs() < 1e-9);
    }

    #[test]
    fn default_ladder_is_geometric_and_ends_at_compressai_top() {
        assert_eq!(DEFAULT_LADDER[RUNGS - 1], COMPRESSAI_LADDER[RUNGS - 1]);
        for pair in DEFAULT_LADDER.windows(2) {
            let ratio = pair[1] / pair[0];
            assert!((2.4..2.6).contains(&ratio), "{pair:?}");
        }
    }

    #[test]
    fn remap_onto_the_same_ladder_is_the_identity() {
        let w = ladder_remap(&DEFAULT_LADDER, &DEFAULT_LADDER);
        for (i, row) in w.iter().enumerate() {
            for (j, &v) in row.iter().enumerate() {
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((v - want).abs() < 1e-12, "w[{i}][{j}] = {v}");
            }
        }
    }

    #[test]
    fn remap_interpolates_inside_and_extrapolates_below() {
        let w = ladder_remap(&COMPRESSAI_LADDER, &DEFAULT_LADDER);
        for row in &w {
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            assert!(row.iter().filter(|v| **v != 0.0).count() <= 2);
        }
        // 0.0003 lies below the old ladder: extrapolated from its first segment (weight > 1 on
        // rung 0, negative on rung 1), so the gain keeps shrinking at the same log rate.
        assert!(w[0][0] > 1.0 && w[0][1] < 0.0, "{:?}", w[0]);
        // 0.18 is the old top rung exactly.
        assert!((w[7][7] - 1.0).abs() < 1e-12 && w[7][6].abs() < 1e-12);
        // 0.0116 lies between 0.0067 (rung 2) and 0.0130 (rung 3).
        assert!(w[4][2] > 0.0 && w[4][3] > 0.0 && w[4][3] > w[4][2]);
    }

    #[test]
    fn remapped_gains_stay_trainable() {
        let device = Device::flex().autodiff();
        let gains = Gains::new(2, 3, &device).remapped(&COMPRESSAI_LADDER, &DEFAULT_LADDER);
        let g = gains.for_rungs(&[0, 7], &device);
        let loss = (g.latent + g.latent_inv).sum() + (g.hyper + g.hyper_inv).sum();
        let grads = loss.backward();
        for p in [
            &gains.latent,
            &gains.latent_inv,
            &gains.hyper,
            &gains.hyper_inv,
        ] {
            assert!(p.val().is_require_grad());
            assert!(
                p.val().grad(&grads).is_some(),
                "a moved gain table gets no gradient"
            );
        }
    }

    #[test]
    fn remapped_gains_follow_log_lambda() {
        let device = Device::flex();
        // Gains that are exactly linear in log λ on the old ladder stay on that line.
        let gains = Gains::new(2, 3, &device);
        let line = |l: f64| (0.5 * l.ln() + 1.0) as f32;
        let rows: Vec<f32> = COMPRESSAI_LADDER
            .iter()
            .flat_map(|&l| std::iter::repeat_n(line(l), 3))
            .collect();
        let gains = Gains {
            latent: Param::from_tensor(Tensor::from_data(
                TensorData::new(rows, [RUNGS, 3]),
                &device,
            )),
            ..gains
        };
        let moved = gains.remapped(&COMPRESSAI_LADDER, &DEFAULT_LADDER);
        let got: Vec<f32> = moved.latent.val().into_data().try_to_vec().unwrap();
        for (r, &l) in DEFAULT_LADDER.iter().enumerate() {
            for c in 0..3 {
                assert!(
                    (got[r * 3 + c] - line(l)).abs() < 1e-4,
                    "rung {r}: {}",
                    got[r * 3 + c]
                );
            }
        }
    }
}
