//! The synthesis transform `g_s` on the host, so a stream decodes to the same pixels on every
//! machine and with every backend: the kernel of the table networks (`kernel.rs`) with fused
//! multiply-adds, and inverse GDN with a correctly rounded square root.

use rayon::prelude::*;

use super::kernel::{self, Fused, PIXELS};
use super::{Layer, Map};

/// A synthesis transform's host copy: four (transposed) convolutions with inverse GDN
/// between them.
#[derive(Debug, Clone)]
pub(crate) struct Synthesis {
    pub layers: [Layer; 4],
    pub igdn: [InverseGdn; 3],
}

/// `y_i = x_i · sqrt(β_i + Σ_j γ_ij · x_j²)`, with β and γ as the network computes them.
#[derive(Debug, Clone)]
pub(crate) struct InverseGdn {
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
}

impl InverseGdn {
    /// From β (`[c]`) and γ (`[i][j]`, row i normalises output i).
    pub fn new(beta: Vec<f32>, gamma: &[f32]) -> Self {
        let c = beta.len();
        assert_eq!(gamma.len(), c * c, "γ is not c × c");
        Self {
            norm: Layer {
                cin: c,
                cout: c,
                k: 1,
                stride: 1,
                pad: 0,
                transposed: None,
                weight: super::taps_last([1, c, c], |i, j, _| gamma[i * c + j]),
                bias: beta,
            },
        }
    }

    /// Normalises `x` in place, a row at a time.
    fn apply(&self, x: &mut Map) {
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
                *v *= n.sqrt();
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::model::portable::tests::{bits, random};
    use crate::model::portable::values;
    use crate::model::transforms::Synthesis as DeviceSynthesis;
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
        let got = net.host().forward(&values(y), [12, h, w], &gain_inv);
        assert_eq!((got.h, got.w, got.c), (16 * h, 16 * w, 3));
        for (a, b) in got.to_planar().iter().zip(&want) {
            assert!((a - b).abs() <= 1e-4 * (1.0 + b.abs()), "{a} against {b}");
        }
    }

    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        let device = Device::flex();
        let net = DeviceSynthesis::new(16, 8, &device).map(&mut Jitter).host();
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
