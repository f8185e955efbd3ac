//! The encoder's analysis transforms on the host kernels: `g_a` (four 5×5 stride-2
//! convolutions with GDN between them) and `h_a`. The encoder need not compute bit-exactly
//! (only the tables' inputs must, and they run in `latent.rs`), but the host kernels are
//! faster than burn's CPU backend and let encoding run without a burn graph.

use super::kernel::{self, Fused};
use super::synthesis::GdnNorm;
use super::{Layer, Map};
use crate::architecture::{Hyperprior, LATENT_STRIDE};

/// Latent rows around a band whose pixels its outputs read: four 5×5 stride-2 convolutions
/// reach 30 pixel rows out, under two latent rows.
const HALO: usize = 2;

/// `g_a` on the host: padded pixels → the latent before its gain.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Analysis {
    pub layers: [Layer; 4],
    /// GDN's normalisers (the same β and γ layout as inverse GDN, divided by instead).
    pub gdn: [GdnNorm; 3],
}

/// `h_a` on the host: the gained latent → the hyper-latent before its gain.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HyperAnalysis {
    pub layers: [Layer; 3],
    pub hyperprior: Hyperprior,
}

impl Analysis {
    /// `g_a(x) · gain` for padded pixels `x` (channels-last, 3 channels).
    pub fn forward(&self, x: &Map, gain: &[f32]) -> Map {
        let mut x = kernel::run::<Fused>(&self.layers[0], x);
        for (layer, gdn) in self.layers[1..].iter().zip(&self.gdn) {
            gdn.divide(&mut x);
            x = kernel::run::<Fused>(layer, &x);
        }
        for pixel in x.data.chunks_exact_mut(x.c) {
            for (v, g) in pixel.iter_mut().zip(gain) {
                *v *= g;
            }
        }
        x
    }

    /// [`Analysis::forward`] a band of `band` latent rows at a time, so that the activations
    /// follow the band, not the image. Each band runs on its pixel rows and [`HALO`] latent
    /// rows' worth of pixel rows on either side; the latent rows computed from the band's cut
    /// edges are dropped, so every row kept is the sum `forward` computes, bit for bit.
    pub fn forward_bands(&self, x: &Map, gain: &[f32], band: usize) -> Map {
        assert!(band > 0, "empty bands");
        let rows = x.h / LATENT_STRIDE;
        if band >= rows {
            return self.forward(x, gain);
        }
        let row_len = x.w * x.c;
        let mut out: Option<Map> = None;
        for first in (0..rows).step_by(band) {
            let last = (first + band).min(rows);
            let lo = first.saturating_sub(HALO);
            let hi = (last + HALO).min(rows);
            let pixels = Map {
                h: (hi - lo) * LATENT_STRIDE,
                w: x.w,
                c: x.c,
                data: x.data[lo * LATENT_STRIDE * row_len..hi * LATENT_STRIDE * row_len].to_vec(),
            };
            let y = self.forward(&pixels, gain);
            let y_row = y.w * y.c;
            let kept = &y.data[(first - lo) * y_row..(last - lo) * y_row];
            match &mut out {
                Some(map) => {
                    map.h += last - first;
                    map.data.extend_from_slice(kept);
                }
                None => {
                    out = Some(Map {
                        h: last - first,
                        w: y.w,
                        c: y.c,
                        data: kept.to_vec(),
                    })
                }
            }
        }
        out.expect("at least one band")
    }
}

impl HyperAnalysis {
    /// `h_a(y) · gain` for the gained latent `y` (channels-last); the scale-only hyperprior
    /// reads `|y|`.
    pub fn forward(&self, y: &Map, gain: &[f32]) -> Map {
        let [l0, l1, l2] = &self.layers;
        let x = match self.hyperprior {
            Hyperprior::MeanScale => kernel::run::<Fused>(l0, y),
            Hyperprior::ScaleOnly => kernel::run::<Fused>(l0, &y.abs()),
        };
        let x = x.activate(self.hyperprior);
        let x = kernel::run::<Fused>(l1, &x).activate(self.hyperprior);
        let mut z = kernel::run::<Fused>(l2, &x);
        for pixel in z.data.chunks_exact_mut(z.c) {
            for (v, g) in pixel.iter_mut().zip(gain) {
                *v *= g;
            }
        }
        z
    }
}
