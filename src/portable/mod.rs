//! Bit-reproducible inference of the networks that choose entropy-coding tables.
//!
//! The decoder must pick every latent element's table exactly as the encoder did, so the
//! means and scales of y cannot come from a backend's convolutions: libtorch, a GPU, or the
//! same backend on a CPU with other SIMD units sum in other orders and round differently, and
//! one scale on the other side of a table boundary makes the stream undecodable.
//!
//! So the hyper-synthesis `h_s` (and a context model's network) run here, on the host, in
//! plain f32 arithmetic whose every result is defined by IEEE 754: each output is its bias
//! plus the products of its inputs and weights, added one at a time in a fixed order (kernel
//! row, kernel column, input channel), with no fused multiply-add (Rust never contracts
//! `a * b + c`). Vectorising across outputs and splitting rows over threads change nothing,
//! because no single sum is reordered.
//!
//! The decoder's synthesis transform runs here too ([`Synthesis`], with fused multiply-adds),
//! so a stream decodes to the same pixels everywhere. Only the encoder's transforms (`g_a`,
//! `h_a`, and `g_s` when it refines) stay on the backend: their rounding moves what the
//! encoder writes, never what a decoder reads.
//!
//! Tensors here are channels-last (`[h][w][c]`), so the innermost loop runs over output
//! channels with a contiguous weight row.

use rayon::prelude::*;

use crate::architecture::{is_anchor, Hyperprior, LEAKY_SLOPE as SLOPE};
use kernel::Separate;

#[cfg(feature = "encode")]
mod analysis;
mod kernel;
mod model;
mod synthesis;
#[cfg(all(test, feature = "burn"))]
pub(crate) use analysis::HyperAnalysis;
#[cfg(all(test, feature = "burn"))]
pub(crate) use model::gdn_norm;
#[cfg(feature = "encode")]
pub(crate) use model::AnalysisModel;
pub(crate) use model::Model;
pub(crate) use synthesis::{GdnNorm, Synthesis, BAND_BYTES};

/// A channels-last feature map: `data[(y * w + x) * c + channel]`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Map {
    pub h: usize,
    pub w: usize,
    pub c: usize,
    pub data: Vec<f32>,
}

impl Map {
    /// From a channels-first `[c][h][w]` slice (a batch-of-one tensor's data).
    pub fn from_planar(planar: &[f32], [c, h, w]: [usize; 3]) -> Self {
        assert_eq!(planar.len(), c * h * w, "planar data of the wrong size");
        let plane = h * w;
        let data = (0..plane * c)
            .map(|i| planar[(i % c) * plane + i / c])
            .collect();
        Self { h, w, c, data }
    }

    /// From channels-first data as [`Map::from_planar`], each channel times its `gain`
    /// (one rounded multiply per value).
    pub fn from_planar_gained(planar: &[f32], shape: [usize; 3], gain: &[f32]) -> Self {
        assert_eq!(gain.len(), shape[0], "one gain per channel");
        let plane = shape[1] * shape[2];
        let gained: Vec<f32> = planar
            .iter()
            .enumerate()
            .map(|(i, &v)| v * gain[i / plane])
            .collect();
        Self::from_planar(&gained, shape)
    }

    /// Channels-first `[c][h][w]` data.
    pub fn to_planar(&self) -> Vec<f32> {
        let plane = self.h * self.w;
        (0..plane * self.c)
            .map(|i| self.data[(i % plane) * self.c + i / plane])
            .collect()
    }

    /// `max(v, SLOPE·v)` in each element, i.e. `v` or `SLOPE · v`.
    fn leaky_relu(mut self) -> Self {
        for v in &mut self.data {
            if *v < 0.0 {
                *v *= SLOPE;
            }
        }
        self
    }

    /// `|x|`, elementwise.
    #[cfg(feature = "encode")]
    fn abs(&self) -> Self {
        Self {
            data: self.data.iter().map(|v| v.abs()).collect(),
            ..*self
        }
    }

    fn relu(mut self) -> Self {
        for v in &mut self.data {
            if *v < 0.0 {
                *v = 0.0;
            }
        }
        self
    }

    /// The hyper-networks' activation: leaky ReLU in the mean-scale hyperprior, ReLU in the
    /// scale-only one.
    fn activate(self, hyperprior: Hyperprior) -> Self {
        match hyperprior {
            Hyperprior::MeanScale => self.leaky_relu(),
            Hyperprior::ScaleOnly => self.relu(),
        }
    }

    /// Scales `self` followed by as many zero means: the `[scales | means]` layout of the
    /// mean-scale hyperprior.
    fn with_zero_means(self) -> Self {
        let c = self.c;
        let mut data = Vec::with_capacity(self.data.len() * 2);
        for pixel in self.data.chunks_exact(c) {
            data.extend_from_slice(pixel);
            data.extend(std::iter::repeat_n(0.0, c));
        }
        Self {
            c: 2 * c,
            data,
            ..self
        }
    }
}

/// One (transposed) convolution with square kernels, groups of one and symmetric padding.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Layer {
    cin: usize,
    cout: usize,
    k: usize,
    stride: usize,
    pad: usize,
    /// Transposed: `out = (in − 1)·stride − 2·pad + k + out_pad`; else `⌊(in + 2·pad − k) / stride⌋ + 1`.
    transposed: Option<usize>,
    /// `[ky][kx][ci][co]` for a layer of three outputs or fewer (the lane kernel's), else empty
    /// (the packed weights are the only copy).
    weight: Vec<f32>,
    bias: Vec<f32>,
    /// The weights in channel blocks for this machine's row kernels.
    packed: kernel::Packed,
}

impl Layer {
    /// A convolution from its weights in the usual `[cout][cin][k][k]` layout, padded by
    /// `k / 2` on every side.
    pub fn conv(weight: &[f32], [cout, cin, k]: [usize; 3], bias: Vec<f32>, stride: usize) -> Self {
        assert_eq!(
            weight.len(),
            cout * cin * k * k,
            "weights of the wrong size"
        );
        assert_eq!(bias.len(), cout, "one bias per output");
        let weight = taps_last([k, cin, cout], |co, ci, tap| {
            weight[(co * cin + ci) * k * k + tap]
        });
        Self::new([cin, cout, k], stride, None, weight, bias)
    }

    /// A layer from weights in this module's `[ky][kx][ci][co]` order, padded by `k / 2`.
    fn new(
        [cin, cout, k]: [usize; 3],
        stride: usize,
        transposed: Option<usize>,
        weight: Vec<f32>,
        bias: Vec<f32>,
    ) -> Self {
        Self {
            cin,
            cout,
            k,
            stride,
            pad: k / 2,
            transposed,
            packed: kernel::Packed::new(&weight, [k * k * cin, cout], kernel::Isa::detect()),
            // One copy of the weights in memory, except for the small lane kernel's.
            weight: if cout <= 3 { weight } else { Vec::new() },
            bias,
        }
    }

    /// The weights in `[ky][kx][ci][co]` order.
    #[cfg(all(test, feature = "burn"))]
    fn plain_weight(&self) -> std::borrow::Cow<'_, [f32]> {
        if self.weight.is_empty() {
            self.packed.unpack().into()
        } else {
            self.weight.as_slice().into()
        }
    }

    /// A transposed convolution from its weights in the usual `[cin][cout][k][k]` layout,
    /// padded by `k / 2` with `stride − 1` rows and columns of output padding, so that it
    /// multiplies the size by `stride`.
    pub fn deconv(
        weight: &[f32],
        [cin, cout, k]: [usize; 3],
        bias: Vec<f32>,
        stride: usize,
    ) -> Self {
        assert_eq!(
            weight.len(),
            cout * cin * k * k,
            "weights of the wrong size"
        );
        assert_eq!(bias.len(), cout, "one bias per output");
        let weight = taps_last([k, cin, cout], |co, ci, tap| {
            weight[(ci * cout + co) * k * k + tap]
        });
        Self::new([cin, cout, k], stride, Some(stride - 1), weight, bias)
    }

    fn out_len(&self, len: usize) -> usize {
        match self.transposed {
            Some(out_pad) => (len - 1) * self.stride + self.k + out_pad - 2 * self.pad,
            None => (len + 2 * self.pad - self.k) / self.stride + 1,
        }
    }

    /// Runs the layer. Each output is `bias + Σ x·w` summed over kernel rows, kernel columns
    /// and input channels in that order, each product and sum rounded, whatever the machine.
    pub fn forward(&self, x: &Map) -> Map {
        kernel::run::<Separate>(self, x)
    }
}

/// Weights in this module's `[ky][kx][ci][co]` order, from `at(co, ci, ky·k + kx)` of the
/// backend's layout.
fn taps_last([k, cin, cout]: [usize; 3], at: impl Fn(usize, usize, usize) -> f32) -> Vec<f32> {
    (0..k * k * cin * cout)
        .map(|i| at(i % cout, i / cout % cin, i / (cout * cin)))
        .collect()
}

/// The hyper-synthesis on the host: ẑ (times the hyper gain) → `[scales | means]`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HyperSynthesis {
    pub layers: [Layer; 3],
    pub hyperprior: Hyperprior,
}

impl HyperSynthesis {
    /// `h_s(ẑ · gain)` for `z_hat` channels-first `[n][h][w]`, as `[scales | means]` (the
    /// scale-only hyperprior's means are zero).
    pub fn forward(&self, z_hat: &[f32], shape: [usize; 3], gain: &[f32]) -> Map {
        let x = Map::from_planar_gained(z_hat, shape, gain);
        let [l0, l1, l2] = &self.layers;
        let x = l0.forward(&x).activate(self.hyperprior);
        let x = l1.forward(&x).activate(self.hyperprior);
        let raw = l2.forward(&x);
        match self.hyperprior {
            Hyperprior::MeanScale => raw,
            Hyperprior::ScaleOnly => raw.relu().with_zero_means(),
        }
    }
}

/// A checkerboard context model on the host (see `context.rs` for what it computes).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Context {
    pub conv: Layer,
    pub params: [Layer; 3],
}

impl Context {
    /// The first pass: `hyper` corrected at the anchors, which see no decoded neighbour, so
    /// their context features are zero and no convolution runs. Elsewhere `hyper` unchanged.
    pub fn anchors(&self, hyper: &Map) -> Map {
        let positions = positions(hyper, true);
        let features = vec![0.0; positions.len() * self.conv.cout];
        self.correct(hyper, &positions, features)
    }

    /// The second pass: `hyper` corrected at the positions that are not anchors, with the
    /// context of `anchors` (the decoded latent, channels-first `[m][h][w]`, zero away from
    /// the anchors). At the anchors `hyper` unchanged.
    ///
    /// The context convolution runs only where it is used, and only over the taps that land
    /// on an anchor: the others read zeros, whose products leave the sums unchanged (up to
    /// the sign of a zero sum, see [`kernel`]). So this computes, for a quarter of the work,
    /// what the convolution over the whole map computes at these positions.
    pub fn rest(&self, hyper: &Map, anchors: &[f32]) -> Map {
        let (h, w, m) = (hyper.h, hyper.w, hyper.c / 2);
        assert_eq!(anchors.len(), m * h * w, "anchors are [m][h][w]");
        let conv = &self.conv;
        assert_eq!((conv.cin, conv.stride, conv.transposed), (m, 1, None));
        let cout = conv.cout;
        let x = kernel::Padded::new(
            conv,
            &Map::from_planar(anchors, [m, h, w]),
            [h, w],
            kernel::PIXELS * 2,
            false,
        );
        let mut map = vec![0.0f32; h * w * cout];
        map.par_chunks_mut(w * cout)
            .enumerate()
            .for_each(|(oy, row)| {
                kernel::checkerboard_row::<Separate>(conv, x.map(), x.before(), oy, row)
            });
        let positions = positions(hyper, false);
        let features = positions
            .iter()
            .flat_map(|&p| &map[p * cout..][..cout])
            .copied()
            .collect();
        self.correct(hyper, &positions, features)
    }

    /// `hyper` plus the pointwise network's correction at `positions` (`features` holds their
    /// context features, one row each); the other positions keep `hyper`.
    fn correct(&self, hyper: &Map, positions: &[usize], features: Vec<f32>) -> Map {
        if positions.is_empty() {
            // A 1×1 latent has no position outside the anchors.
            return hyper.clone();
        }
        let fc = self.conv.cout;
        let c = hyper.c + fc;
        let mut joined = Vec::with_capacity(positions.len() * c);
        for (&p, f) in positions.iter().zip(features.chunks_exact(fc)) {
            joined.extend_from_slice(&hyper.data[p * hyper.c..][..hyper.c]);
            joined.extend_from_slice(f);
        }
        // The pointwise layers compute each position on its own: rows of the selected
        // positions give the bits the whole map would, and spread the work over the threads.
        let (rows, len) = pointwise_rows(positions.len());
        joined.resize(rows * len * c, 0.0);
        let x = Map {
            h: rows,
            w: len,
            c,
            data: joined,
        };
        let [p0, p1, p2] = &self.params;
        let x = p0.forward(&x).leaky_relu();
        let x = p1.forward(&x).leaky_relu();
        let correction = p2.forward(&x);
        // (Positions past the last padded the last row; their outputs are not read.)
        let mut out = hyper.clone();
        for (&p, d) in positions.iter().zip(correction.data.chunks_exact(hyper.c)) {
            for (o, &dv) in out.data[p * hyper.c..][..hyper.c].iter_mut().zip(d) {
                *o += dv;
            }
        }
        out
    }
}

/// Rows and row length to lay `n` positions out in for the pointwise layers: rows of at most 64.
fn pointwise_rows(n: usize) -> (usize, usize) {
    let rows = n.div_ceil(64).max(1);
    (rows, n.div_ceil(rows).max(1))
}

/// The positions (row-major) of `map` that are anchors, or that are not.
fn positions(map: &Map, anchors: bool) -> Vec<usize> {
    (0..map.h * map.w)
        .filter(|&p| is_anchor(p / map.w, p % map.w) == anchors)
        .collect()
}

/// `(means, scales)`, channels-first, from a raw `[scales | means]` map.
pub(crate) fn split_params(raw: &Map) -> (Vec<f32>, Vec<f32>) {
    let planar = raw.to_planar();
    let half = planar.len() / 2;
    let scales = planar[..half].iter().map(|v| v.abs()).collect();
    (planar[half..].to_vec(), scales)
}

/// The bit patterns of `values`, to compare floats exactly.
#[cfg(all(test, feature = "burn"))]
pub(crate) fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// Against the burn network's layers, which the portable ones copy.
#[cfg(all(test, feature = "burn"))]
pub(crate) mod tests {
    use super::*;
    use crate::architecture::NetworkConfig;
    use crate::model::portable_copy::{conv_layer, deconv_layer, values};
    use crate::model::transforms::{conv, deconv};
    use burn::prelude::*;
    use burn::tensor::Distribution;

    /// A tensor of standard normal values.
    pub(crate) fn random(shape: [usize; 4], device: &Device) -> Tensor<4> {
        Tensor::random(shape, Distribution::Normal(0.0, 1.0), device)
    }

    fn close(host: &[f32], backend: Tensor<4>) {
        let want = values(backend);
        assert_eq!(host.len(), want.len());
        for (a, b) in host.iter().zip(&want) {
            assert!((a - b).abs() <= 1e-4 * (1.0 + b.abs()), "{a} against {b}");
        }
    }

    #[test]
    fn layers_compute_what_the_backend_computes() {
        let device = Device::flex();
        // 70 outputs: a full block of 64 and a remainder.
        for (k, s, h, w, cout) in [
            (5, 2, 7, 5, 10),
            (3, 1, 6, 4, 70),
            (1, 1, 3, 5, 10),
            (5, 1, 4, 6, 3),
        ] {
            let c = conv(6, cout, k, s, &device);
            let x = random([1, 6, h, w], &device);
            let host = conv_layer(&c).forward(&Map::from_planar(&values(x.clone()), [6, h, w]));
            assert_eq!((host.h, host.w, host.c), {
                let [_, c, h, w] = c.forward(x.clone()).dims();
                (h, w, c)
            });
            close(&host.to_planar(), c.forward(x));
        }
        for (h, w) in [(3, 4), (1, 1), (5, 2)] {
            let d = deconv(7, 9, 5, 2, &device);
            let x = random([1, 7, h, w], &device);
            let host = deconv_layer(&d).forward(&Map::from_planar(&values(x.clone()), [7, h, w]));
            assert_eq!((host.h, host.w), (2 * h, 2 * w));
            close(&host.to_planar(), d.forward(x));
        }
    }

    #[test]
    fn hyper_networks_compute_what_the_backend_computes() {
        use crate::model::hyper;
        let device = Device::flex();
        for hyperprior in [Hyperprior::MeanScale, Hyperprior::ScaleOnly] {
            let config = NetworkConfig::new(6, 8).with_hyperprior(hyperprior);
            let (h_a, h_s) = (
                hyper::HyperAnalysis::new(config, &device),
                hyper::HyperSynthesis::new(config, &device),
            );
            let y = random([1, 8, 8, 4], &device);
            let z = h_a
                .portable()
                .forward(&Map::from_planar(&values(y.clone()), [8, 8, 4]), &[1.0; 6]);
            close(&z.to_planar(), h_a.forward(y));
            let z_hat = random([1, 6, 2, 1], &device);
            let raw = h_s
                .portable()
                .forward(&values(z_hat.clone()), [6, 2, 1], &[1.0; 6]);
            assert_eq!(raw.c, 16, "[scales | means]");
            close(&raw.to_planar(), h_s.forward(z_hat));
            if hyperprior == Hyperprior::ScaleOnly {
                let (means, scales) = split_params(&raw);
                assert!(means.iter().all(|&m| m == 0.0));
                assert!(scales.iter().all(|&s| s >= 0.0) && scales.iter().any(|&s| s > 0.0));
            }
        }
    }

    /// The context model computed the direct way: the convolution over the whole map, the
    /// features zeroed at the anchors, the pointwise network at every position.
    fn context_on_the_whole_map(context: &Context, hyper: &Map, anchors: &[f32]) -> Map {
        let (h, w) = (hyper.h, hyper.w);
        let mut features = context
            .conv
            .forward(&Map::from_planar(anchors, [hyper.c / 2, h, w]));
        for (p, f) in features.data.chunks_exact_mut(features.c).enumerate() {
            if is_anchor(p / w, p % w) {
                f.fill(0.0);
            }
        }
        let c = hyper.c + features.c;
        let mut data = Vec::with_capacity(h * w * c);
        for (a, b) in hyper
            .data
            .chunks_exact(hyper.c)
            .zip(features.data.chunks_exact(features.c))
        {
            data.extend_from_slice(a);
            data.extend_from_slice(b);
        }
        let [p0, p1, p2] = &context.params;
        let x = p0.forward(&Map { h, w, c, data }).leaky_relu();
        let mut out = p2.forward(&p1.forward(&x).leaky_relu());
        for (o, &hv) in out.data.iter_mut().zip(&hyper.data) {
            *o += hv;
        }
        out
    }

    #[test]
    fn each_context_pass_gives_the_bits_of_the_whole_map_where_it_is_used() {
        let device = Device::flex();
        // 12 context features (one channel at a time) and 96 (the vector kernels' blocks).
        for (m, (h, w)) in [
            (6, (5, 7)),
            (6, (1, 1)),
            (6, (2, 9)),
            (6, (8, 3)),
            (48, (6, 30)),
        ] {
            let context = crate::model::Context::new(m, &device).portable();
            let hyper = Map::from_planar(&values(random([1, 2 * m, h, w], &device)), [2 * m, h, w]);
            let mut anchors = values(random([1, m, h, w], &device));
            for (i, v) in anchors.iter_mut().enumerate() {
                if !is_anchor(i / w % h, i % w) {
                    *v = 0.0;
                }
            }
            let zeros = vec![0.0; anchors.len()];
            for (pass, got, want) in [
                (
                    true,
                    context.anchors(&hyper),
                    context_on_the_whole_map(&context, &hyper, &zeros),
                ),
                (
                    false,
                    context.rest(&hyper, &anchors),
                    context_on_the_whole_map(&context, &hyper, &anchors),
                ),
            ] {
                for (p, (g, (wv, hv))) in got
                    .data
                    .chunks_exact(2 * m)
                    .zip(
                        want.data
                            .chunks_exact(2 * m)
                            .zip(hyper.data.chunks_exact(2 * m)),
                    )
                    .enumerate()
                {
                    let used = is_anchor(p / w, p % w) == pass;
                    assert_eq!(
                        bits(g),
                        bits(if used { wv } else { hv }),
                        "{h}x{w} pass {pass} at {p}"
                    );
                }
            }
        }
    }

    #[test]
    fn maps_convert_to_and_from_planar_order() {
        let planar: Vec<f32> = (0..24).map(|v| v as f32).collect();
        let map = Map::from_planar(&planar, [2, 3, 4]);
        // Element (channel 1, row 2, column 3) of the planar data.
        assert_eq!(map.data[(2 * 4 + 3) * 2 + 1], planar[12 + 2 * 4 + 3]);
        assert_eq!(map.to_planar(), planar);
    }

    /// What a table network's layer computes, by definition:
    /// each output the bias plus the products of the taps that land inside the input, in the
    /// order kernel row, kernel column, input channel, each product and sum rounded.
    fn definition(layer: &Layer, x: &Map) -> Map {
        let source = |o: usize, t: usize, len: usize| -> Option<usize> {
            let i = match layer.transposed {
                Some(_) => {
                    let s = (o + layer.pad).checked_sub(t)?;
                    (s % layer.stride == 0).then_some(s / layer.stride)?
                }
                None => (o * layer.stride + t).checked_sub(layer.pad)?,
            };
            (i < len).then_some(i)
        };
        let (h, w) = (layer.out_len(x.h), layer.out_len(x.w));
        let weight = layer.plain_weight();
        let mut data = Vec::with_capacity(h * w * layer.cout);
        for oy in 0..h {
            for ox in 0..w {
                for co in 0..layer.cout {
                    let mut acc = layer.bias[co];
                    for ky in 0..layer.k {
                        let Some(iy) = source(oy, ky, x.h) else {
                            continue;
                        };
                        for kx in 0..layer.k {
                            let Some(ix) = source(ox, kx, x.w) else {
                                continue;
                            };
                            for ci in 0..layer.cin {
                                let v = x.data[(iy * x.w + ix) * x.c + ci];
                                let tap = (ky * layer.k + kx) * layer.cin + ci;
                                acc += v * weight[tap * layer.cout + co];
                            }
                        }
                    }
                    data.push(acc);
                }
            }
        }
        Map {
            h,
            w,
            c: layer.cout,
            data,
        }
    }

    /// The blocked, vectorised kernel gives the definition's bits (a zero's sign aside), so
    /// table indexes, and with them streams, are those the definition gives.
    #[test]
    fn layers_give_the_bits_of_the_definition() {
        let device = Device::flex();
        for (layer, h, w) in [
            (conv_layer(&conv(19, 80, 3, 1, &device)), 5, 6),
            (conv_layer(&conv(7, 64, 5, 2, &device)), 9, 11),
            (deconv_layer(&deconv(13, 21, 5, 2, &device)), 5, 6),
            (deconv_layer(&deconv(16, 48, 5, 2, &device)), 4, 9),
            (deconv_layer(&deconv(12, 3, 5, 2, &device)), 3, 5),
        ] {
            let x = Map::from_planar(
                &values(random([1, layer.cin, h, w], &device)),
                [layer.cin, h, w],
            );
            // +0 for −0: the only difference padding with zeros can make.
            let bits = |m: &Map| {
                m.data
                    .iter()
                    .map(|v| (v + 0.0).to_bits())
                    .collect::<Vec<_>>()
            };
            assert_eq!(bits(&layer.forward(&x)), bits(&definition(&layer, &x)));
        }
    }

    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        let device = Device::flex();
        let layer = conv_layer(&conv(16, 24, 3, 1, &device));
        let x = Map::from_planar(&values(random([1, 16, 9, 7], &device)), [16, 9, 7]);
        let run = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| layer.forward(&x))
        };
        let one = run(1);
        for threads in [2, 5] {
            let other = run(threads);
            let bits = |m: &Map| m.data.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&one), bits(&other));
        }
    }
}
