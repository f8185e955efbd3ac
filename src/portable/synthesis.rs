//! The synthesis transform `g_s` on the host, so a stream decodes to the same pixels on every
//! machine and with every backend: the kernel of the table networks (`kernel.rs`) with fused
//! multiply-adds, and inverse GDN with a correctly rounded square root.
//!
//! A decoder runs it on horizontal bands of the latent ([`Synthesis::forward_bands`]), so its
//! memory follows the band, not the image (the activations of a whole image take about 200
//! bytes per pixel).

use std::ops::Range;

use rayon::prelude::*;

use super::kernel::{self, Fused, PIXELS};
use super::{Layer, Map};

/// Bytes a band's widest activation may take, by default: [`Synthesis::band_rows`] sizes
/// bands by it.
pub(crate) const BAND_BYTES: usize = 256 << 20;
/// Fewest latent rows of a band: the rows around a band that its outputs read are computed
/// by both neighbours, so thin bands cost time.
const MIN_BAND_ROWS: usize = 16;

/// A synthesis transform's host copy: four (transposed) convolutions with inverse GDN
/// between them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Synthesis {
    pub layers: [Layer; 4],
    pub igdn: [GdnNorm; 3],
}

/// The normaliser of a GDN layer, `sqrt(β_i + Σ_j γ_ij · x_j²)` with β and γ as the network
/// computes them: inverse GDN multiplies by it (`y_i = x_i · norm_i`), GDN divides.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GdnNorm {
    /// β and γ as a 1×1 convolution of x² (`[j][i]`, i.e. input channel, then output).
    pub norm: Layer,
}

impl Synthesis {
    /// `g_s(ŷ · gain⁻¹)` for ŷ channels-first `[m][h][w]`: the reconstruction, channels-last,
    /// not clamped.
    pub fn forward(&self, y_hat: &[f32], shape: [usize; 3], gain_inv: &[f32]) -> Map {
        let mut x = Map::from_planar_gained(y_hat, shape, gain_inv);
        for (layer, igdn) in self.layers.iter().zip(&self.igdn) {
            x = kernel::run::<Fused>(layer, &x);
            igdn.apply(&mut x);
        }
        kernel::run::<Fused>(&self.layers[3], &x)
    }

    /// Output rows per latent row: every layer is a transposed convolution whose output is
    /// `stride` times its input, so latent row `i` maps to output rows `i·up .. (i + 1)·up`.
    fn upsampling(&self) -> usize {
        self.layers
            .iter()
            .map(|l| {
                assert!(
                    l.transposed.is_some() && l.out_len(7) == 7 * l.stride,
                    "a synthesis layer that does not upsample by its stride"
                );
                l.stride
            })
            .product()
    }

    /// Latent rows per band for a latent `w` columns wide: bands as tall as keeps the widest
    /// activation near `bytes` (the encoder's `g_a` mirrors these widths), and at least
    /// [`MIN_BAND_ROWS`].
    pub fn band_rows(&self, w: usize, bytes: usize) -> usize {
        let mut scale = 1;
        let mut widest = 1;
        for layer in &self.layers {
            scale *= layer.stride;
            widest = widest.max(scale * scale * w * layer.cout * size_of::<f32>());
        }
        (bytes / widest).max(MIN_BAND_ROWS)
    }

    /// The latent rows (of `h`) that output rows `rows` read, through the taps of every layer.
    fn latent_rows(&self, rows: Range<usize>, h: usize) -> Range<usize> {
        let mut lens = vec![h];
        for layer in &self.layers[..3] {
            lens.push(layer.out_len(lens[lens.len() - 1]));
        }
        let mut rows = rows;
        for (layer, &len) in self.layers.iter().zip(&lens).rev() {
            let (mut lo, mut hi) = (len as i64, -1);
            for o in rows {
                for (_, i) in layer.taps(o) {
                    lo = lo.min(i);
                    hi = hi.max(i);
                }
            }
            rows = lo.max(0) as usize..(hi + 1).clamp(0, len as i64) as usize;
        }
        rows
    }

    /// [`Synthesis::forward`] a band of `band` latent rows at a time: `emit(first, rows)` gets
    /// output rows `first ..` in order. Each band runs on its latent rows and the rows around
    /// them that its outputs read ([`Synthesis::latent_rows`]); the rows computed from the
    /// band's cut edges (which read zeros there) are dropped. So every output kept is the very
    /// sum `forward` computes, bit for bit, while memory follows the band.
    pub fn forward_bands(
        &self,
        y_hat: &[f32],
        [m, h, w]: [usize; 3],
        gain_inv: &[f32],
        band: usize,
        mut emit: impl FnMut(usize, Map),
    ) {
        assert!(band > 0, "empty bands");
        let up = self.upsampling();
        let plane = h * w;
        for first in (0..h).step_by(band) {
            let last = (first + band).min(h);
            let read = self.latent_rows(first * up..last * up, h);
            let rows: Vec<f32> = (0..m)
                .flat_map(|c| &y_hat[c * plane..][read.start * w..read.end * w])
                .copied()
                .collect();
            let out = self.forward(&rows, [m, read.len(), w], gain_inv);
            let row_len = out.w * out.c;
            let mut data = out.data;
            data.truncate((last - read.start) * up * row_len);
            data.drain(..(first - read.start) * up * row_len);
            let map = Map {
                h: (last - first) * up,
                w: out.w,
                c: out.c,
                data,
            };
            emit(first * up, map);
        }
    }
}

impl GdnNorm {
    /// From β (`[c]`) and γ (`[i][j]`, row i normalises output i).
    pub fn new(beta: Vec<f32>, gamma: &[f32]) -> Self {
        let c = beta.len();
        assert_eq!(gamma.len(), c * c, "γ is not c × c");
        let weight = super::taps_last([1, c, c], |i, j, _| gamma[i * c + j]);
        Self {
            norm: Layer::new([c, c, 1], 1, None, weight, beta),
        }
    }

    /// Inverse GDN of `x`, in place.
    fn apply(&self, x: &mut Map) {
        self.normalise(x, |v, n| v * n.sqrt());
    }

    /// GDN of `x`, in place.
    #[cfg(feature = "encode")]
    pub(super) fn divide(&self, x: &mut Map) {
        self.normalise(x, |v, n| v / n.sqrt());
    }

    /// `x_i ← f(x_i, β_i + Σ_j γ_ij · x_j²)` in place, a row at a time.
    fn normalise(&self, x: &mut Map, f: impl Fn(f32, f32) -> f32 + Sync) {
        let c = x.c;
        assert_eq!(c, self.norm.cin, "channels");
        let row_len = x.w * c;
        x.data.par_chunks_mut(row_len).for_each(|row| {
            // Zeros after the row for the pixels a last group computes and drops.
            let mut squares: Vec<f32> = row.iter().map(|v| v * v).collect();
            squares.resize(row.len() + PIXELS * c, 0.0);
            let squares = Map {
                h: 1,
                w: squares.len() / c,
                c,
                data: squares,
            };
            let mut norm = vec![0.0; row.len()];
            kernel::row_kernel::<Fused>(&self.norm, &squares, [0, 0], 0, &mut norm);
            for (v, n) in row.iter_mut().zip(norm) {
                *v = f(*v, n);
            }
        });
    }
}

#[cfg(all(test, feature = "burn"))]
mod tests {
    use crate::model::portable_copy::values;
    use crate::model::transforms::Synthesis as DeviceSynthesis;
    use crate::portable::bits;
    use crate::portable::tests::random;
    use burn::module::{Module, ModuleMapper, Param};
    use burn::prelude::*;
    use burn::tensor::Distribution;

    /// Moves every parameter a little, so GDN's β and γ are not their trivial start.
    struct Jitter;
    impl ModuleMapper for Jitter {
        fn map_float<const D: usize>(&mut self, p: Param<Tensor<D>>) -> Param<Tensor<D>> {
            p.map(|t| {
                let noise =
                    Tensor::random(t.shape(), Distribution::Uniform(0.0, 0.05), &t.device());
                t + noise
            })
        }
    }

    #[test]
    fn the_host_synthesis_computes_what_the_backend_computes() {
        let device = Device::flex();
        // 32 hidden channels: whole channel blocks; 7×5 latents: partial pixel groups.
        let net = DeviceSynthesis::new(32, 12, &device).map(&mut Jitter);
        let (h, w) = (7, 5);
        let y = random([1, 12, h, w], &device);
        let gain_inv: Vec<f32> = (0..12).map(|c| 0.5 + c as f32 / 10.0).collect();
        let gained = y.clone()
            * Tensor::<1>::from_floats(gain_inv.as_slice(), &device).reshape([1, 12, 1, 1]);
        let want = values(net.forward(gained));
        let got = net.portable().forward(&values(y), [12, h, w], &gain_inv);
        assert_eq!((got.h, got.w, got.c), (16 * h, 16 * w, 3));
        for (a, b) in got.to_planar().iter().zip(&want) {
            assert!((a - b).abs() <= 1e-4 * (1.0 + b.abs()), "{a} against {b}");
        }
    }

    #[test]
    fn bands_give_the_bits_of_the_whole_image() {
        let device = Device::flex();
        let net = DeviceSynthesis::new(16, 8, &device)
            .map(&mut Jitter)
            .portable();
        let (h, w) = (11, 3);
        let y = values(random([1, 8, h, w], &device));
        let gain_inv: Vec<f32> = (0..8).map(|c| 0.7 + c as f32 / 9.0).collect();
        let whole = net.forward(&y, [8, h, w], &gain_inv);
        for band in [1, 2, 3, 5, 10, 11, 40] {
            let mut got = Vec::new();
            net.forward_bands(&y, [8, h, w], &gain_inv, band, |first, map| {
                assert_eq!(
                    first,
                    got.len() / (whole.w * 3),
                    "band {band}: rows in order"
                );
                assert_eq!((map.w, map.c), (whole.w, 3));
                got.extend(map.data);
            });
            let (got, want) = (bits(&got), bits(&whole.data));
            assert_eq!(got.len(), want.len(), "band {band}");
            let differ = got.iter().zip(&want).filter(|(a, b)| a != b).count();
            assert_eq!(differ, 0, "band {band}: values that differ");
        }
    }

    #[test]
    fn a_band_reads_the_latent_rows_its_outputs_reach() {
        let device = Device::flex();
        let net = DeviceSynthesis::new(8, 4, &device).portable();
        // Four 5×5 transposed convolutions of stride 2: one latent row above, two below.
        assert_eq!(net.latent_rows(16 * 10..16 * 20, 40), 9..22);
        assert_eq!(net.latent_rows(0..16 * 20, 40), 0..22);
        assert_eq!(net.latent_rows(16 * 30..16 * 40, 40), 29..40);
    }

    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        let device = Device::flex();
        let net = DeviceSynthesis::new(16, 8, &device)
            .map(&mut Jitter)
            .portable();
        let y = values(random([1, 8, 3, 4], &device));
        let run = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| net.forward(&y, [8, 3, 4], &[1.0; 8]))
        };
        let one = run(1);
        for threads in [2, 3] {
            assert_eq!(bits(&one.data), bits(&run(threads).data));
        }
    }
}
