//! The convolution kernel of the host networks (see the parent module for why they exist).
//!
//! Each output is its own sum in a fixed order — bias, then kernel row, kernel column, input
//! channel — whose steps [`Arith`] defines: a multiply and an add rounded separately for the
//! networks that choose entropy-coding tables (the arithmetic existing streams depend on), one
//! fused multiply-add for the synthesis. Both are defined bit for bit by IEEE 754.
//!
//! Speed comes from blocking, which changes no sum: several output pixels share each weight
//! load (the pixels of one row that a strided kernel reaches through the same taps), and the
//! vector lanes run across output channels (or, for a layer with three outputs, across
//! output pixels). Inputs are zero-padded, so every output of a transposed convolution sums
//! over all the taps of its phase, zeros included; a zero product leaves a sum unchanged (up
//! to the sign of a zero sum, which no table index or pixel can show).

use std::ops::Range;

use rayon::prelude::*;

use super::{Layer, Map};

/// How one product joins its sum.
pub(crate) trait Arith {
    /// Whether the product and the sum are rounded once (else each on its own).
    const FUSED: bool;
    /// `acc` plus `v · w`.
    fn madd(v: f32, w: f32, acc: f32) -> f32;
}

/// A multiply, then an add, each rounded: the entropy-table networks.
pub(crate) struct Separate;

impl Arith for Separate {
    const FUSED: bool = false;
    #[inline(always)]
    fn madd(v: f32, w: f32, acc: f32) -> f32 {
        acc + v * w
    }
}

/// One fused multiply-add, rounded once: the synthesis. CPUs with FMA (every x86-64 one with
/// AVX2 in practice, every ARMv8 one) run it natively; elsewhere the C library's `fmaf`
/// computes the same bits, slowly.
pub(crate) struct Fused;

impl Arith for Fused {
    const FUSED: bool = true;
    #[inline(always)]
    fn madd(v: f32, w: f32, acc: f32) -> f32 {
        v.mul_add(w, acc)
    }
}

/// Most output pixels whose sums one pass over the weights advances together (the inputs
/// are padded for them).
pub(super) const PIXELS: usize = 12;
/// Output pixels (one vector lane each) of the small-output kernel's groups.
const LANES: usize = 64;

/// Runs `layer` with products joined as `A` says: outputs channels-last.
pub(super) fn run<A: Arith>(layer: &Layer, x: &Map) -> Map {
    assert_eq!(x.c, layer.cin, "input channels");
    let (h, w) = (layer.out_len(x.h), layer.out_len(x.w));
    let small = layer.cout == 3 && layer.transposed.is_some();
    // Columns a group of pixels (or lanes) reads past the last one it keeps.
    let spill = if small {
        LANES
    } else {
        PIXELS * layer.column_steps().1
    };
    let x = Padded::new(layer, x, [h, w], spill, small);
    let row_len = w * layer.cout;
    let mut data = vec![0.0f32; h * row_len];
    data.par_chunks_mut(row_len)
        .enumerate()
        .for_each(|(oy, row)| {
            if small {
                small_row_kernel::<A>(layer, &x, oy, row)
            } else {
                row_kernel::<A>(layer, &x.map, x.before, oy, row)
            }
        });
    Map {
        h,
        w,
        c: layer.cout,
        data,
    }
}

/// A zero-padded copy of a layer's input, channels-last or (for the small-output kernel)
/// channels-first.
pub(super) struct Padded {
    map: Map,
    /// Rows and columns of zeros before the input.
    before: [usize; 2],
}

impl Padded {
    pub(super) fn new(
        layer: &Layer,
        x: &Map,
        [h, w]: [usize; 2],
        spill: usize,
        planar: bool,
    ) -> Self {
        let (top, bottom) = layer.reach(x.h, h);
        let (left, right) = layer.reach(x.w, w);
        let (ph, pw) = (top + x.h + bottom, left + x.w + right + spill);
        let c = x.c;
        let mut data = vec![0.0f32; ph * pw * c];
        if planar {
            // Serial: one pass over the input (faster than a parallel pass per channel plane).
            for (y, src) in x.data.chunks_exact(x.w * c).enumerate() {
                for (xx, px) in src.chunks_exact(c).enumerate() {
                    for (ci, &v) in px.iter().enumerate() {
                        data[(ci * ph + y + top) * pw + left + xx] = v;
                    }
                }
            }
        } else {
            data[top * pw * c..]
                .par_chunks_mut(pw * c)
                .take(x.h)
                .enumerate()
                .for_each(|(y, row)| {
                    row[left * c..][..x.w * c].copy_from_slice(&x.data[y * x.w * c..][..x.w * c])
                });
        }
        Self {
            map: Map {
                h: ph,
                w: pw,
                c,
                data,
            },
            before: [top, left],
        }
    }
}

impl Layer {
    /// Rows (or columns) of zeros the input of length `len` needs before and after it so
    /// every tap of every output among `out` lands inside.
    fn reach(&self, len: usize, out: usize) -> (usize, usize) {
        let (mut lo, mut hi) = (0i64, len as i64 - 1);
        for o in 0..out {
            for (_, i) in self.taps(o) {
                lo = lo.min(i);
                hi = hi.max(i);
            }
        }
        ((-lo) as usize, (hi + 1 - len as i64) as usize)
    }

    /// `(tap, input position)` of every tap output `o` sums over, in tap order; positions may
    /// lie outside the input (those read zeros).
    pub(super) fn taps(&self, o: usize) -> impl Iterator<Item = (usize, i64)> + '_ {
        let (o, stride, pad) = (o as i64, self.stride as i64, self.pad as i64);
        (0..self.k).filter_map(move |t| match self.transposed {
            // o = i·stride − pad + t
            Some(_) => {
                let s = o + pad - t as i64;
                (s.rem_euclid(stride) == 0).then(|| (t, s.div_euclid(stride)))
            }
            // i = o·stride − pad + t
            None => Some((t, o * stride - pad + t as i64)),
        })
    }

    /// [`Layer::taps`] of output `o` with positions in an input padded by `before` zeros.
    fn padded_taps(&self, o: usize, before: usize) -> Vec<(usize, usize)> {
        self.taps(o)
            .map(|(t, i)| (t, (i + before as i64) as usize))
            .collect()
    }

    /// Output columns `o, o + step, …` read input columns `i, i + input_step, …` through
    /// each tap.
    fn column_steps(&self) -> (usize, usize) {
        match self.transposed {
            Some(_) => (self.stride, 1),
            None => (1, self.stride),
        }
    }
}

/// One output row into `row` (channels-last), on the widest vector unit of the machine.
/// `x` is padded, with `before` rows and columns of zeros before the input, so every tap of
/// every output (and of the pixels a last group computes and drops) lies inside.
pub(super) fn row_kernel<A: Arith>(
    layer: &Layer,
    x: &Map,
    before: [usize; 2],
    oy: usize,
    row: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has AVX-512F and FMA.
            return unsafe { row_avx512::<A>(layer, x, before, oy, row) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has AVX2 and FMA.
            return unsafe { row_avx2::<A>(layer, x, before, oy, row) };
        }
    }
    row_plain::<A>(layer, x, before, oy, row)
}

/// 32 registers of 16 lanes: blocks of 24 accumulators (3 × 8, 4 × 6 or 1 × 12 vectors ×
/// pixels), the rest for the weights and an input.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
fn row_avx512<A: Arith>(layer: &Layer, x: &Map, before: [usize; 2], oy: usize, row: &mut [f32]) {
    let cout = layer.cout;
    let (mut blocks, rest) = (Blocks::new(layer, x, before, oy, row), cout % 16);
    if cout % 48 == 0 {
        simd::avx512::<A, 8, 3>(&mut blocks, 0..cout);
    } else {
        let wide = cout / 64 * 64;
        simd::avx512::<A, 6, 4>(&mut blocks, 0..wide);
        simd::avx512::<A, 12, 1>(&mut blocks, wide..cout - rest);
    }
    row_body::<A, 1, 1>(layer, x, before, oy, cout - rest..cout, blocks.row);
}

/// 16 registers of 8 lanes: blocks of 12 accumulators.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn row_avx2<A: Arith>(layer: &Layer, x: &Map, before: [usize; 2], oy: usize, row: &mut [f32]) {
    let cout = layer.cout;
    let (mut blocks, rest) = (Blocks::new(layer, x, before, oy, row), cout % 8);
    if cout % 24 == 0 {
        simd::avx2::<A, 4, 3>(&mut blocks, 0..cout);
    } else {
        let wide = cout / 16 * 16;
        simd::avx2::<A, 6, 2>(&mut blocks, 0..wide);
        simd::avx2::<A, 12, 1>(&mut blocks, wide..cout - rest);
    }
    row_body::<A, 1, 1>(layer, x, before, oy, cout - rest..cout, blocks.row);
}

/// One output row's work, shared by the blocks of channels that compute it.
#[cfg(target_arch = "x86_64")]
struct Blocks<'a> {
    layer: &'a Layer,
    x: &'a Map,
    row: &'a mut [f32],
    /// Output pixels in the row.
    width: usize,
    /// Output columns between a phase's pixels, input columns between theirs.
    steps: (usize, usize),
    /// Each phase's first column and runs of taps.
    phases: Vec<(usize, Vec<Run>)>,
}

#[cfg(target_arch = "x86_64")]
impl<'a> Blocks<'a> {
    fn new(
        layer: &'a Layer,
        x: &'a Map,
        [top, left]: [usize; 2],
        oy: usize,
        row: &'a mut [f32],
    ) -> Self {
        let width = row.len() / layer.cout;
        let rows = layer.padded_taps(oy, top);
        let steps = layer.column_steps();
        let phases = (0..steps.0.min(width))
            .map(|phase| {
                let columns = layer.padded_taps(phase, left);
                (phase, runs(&rows, &columns, layer.k, x.w, layer.cin))
            })
            .collect();
        Self {
            layer,
            x,
            row,
            width,
            steps,
            phases,
        }
    }
}

/// The blocked kernel in explicit vector instructions, one function per vector width: `P`
/// pixels × `V` vectors of channels of accumulators, each a chain of [`Arith`] steps in the
/// order of [`row_body`], so every width gives its bits.
#[cfg(target_arch = "x86_64")]
mod simd {
    use std::arch::x86_64::*;
    use std::ops::Range;

    use super::{Arith, Blocks};

    macro_rules! kernel {
        ($name:ident, $feature:literal, $vec:ty, $lanes:literal, $load:ident, $store:ident,
         $splat:ident, $fmadd:ident, $mul:ident, $add:ident) => {
            /// Channels `channels` (a multiple of `V` vectors) of the row in `blocks`.
            #[target_feature(enable = $feature)]
            pub(super) fn $name<A: Arith, const P: usize, const V: usize>(
                blocks: &mut Blocks,
                channels: Range<usize>,
            ) {
                const { assert!(P >= 1 && V >= 1) };
                let layer = blocks.layer;
                let (cin, cout) = (layer.cin, layer.cout);
                let (step, input_step) = blocks.steps;
                let (weights, inputs) = (layer.weight.as_slice(), blocks.x.data.as_slice());
                assert_eq!(channels.len() % (V * $lanes), 0, "whole blocks");
                for c0 in channels.step_by(V * $lanes) {
                    for (phase, runs) in &blocks.phases {
                        let count = (blocks.width - phase).div_ceil(step);
                        for g in (0..count).step_by(P) {
                            let mut acc = [[$splat(0.0); V]; P];
                            for v in 0..V {
                                // SAFETY: c0 + V·lanes ≤ cout = bias.len().
                                let b = unsafe { $load(layer.bias.as_ptr().add(c0 + v * $lanes)) };
                                for a in acc.iter_mut() {
                                    a[v] = b;
                                }
                            }
                            for run in runs {
                                let w0 = run.weight * cout + c0;
                                let first = run.input + g * input_step * cin;
                                let last = first + (P - 1) * input_step * cin + run.len;
                                // What the pointer arithmetic below reads, checked once.
                                assert!(w0 + (run.len - 1) * cout + V * $lanes <= weights.len());
                                assert!(last <= inputs.len());
                                let wp = weights[w0..].as_ptr();
                                let ip = inputs[first..].as_ptr();
                                for i in 0..run.len {
                                    // SAFETY: within the ranges asserted above.
                                    unsafe {
                                        let mut w = [$splat(0.0); V];
                                        for (v, w) in w.iter_mut().enumerate() {
                                            *w = $load(wp.add(i * cout + v * $lanes));
                                        }
                                        for (j, a) in acc.iter_mut().enumerate() {
                                            let s = $splat(*ip.add(j * input_step * cin + i));
                                            for (a, &w) in a.iter_mut().zip(&w) {
                                                *a = if A::FUSED {
                                                    $fmadd(s, w, *a)
                                                } else {
                                                    $add(*a, $mul(s, w))
                                                };
                                            }
                                        }
                                    }
                                }
                            }
                            for (j, a) in acc.iter().enumerate() {
                                let ox = phase + (g + j) * step;
                                if ox < blocks.width {
                                    let out = &mut blocks.row[ox * cout + c0..][..V * $lanes];
                                    for (v, a) in a.iter().enumerate() {
                                        // SAFETY: `out` holds V vectors.
                                        unsafe { $store(out.as_mut_ptr().add(v * $lanes), *a) };
                                    }
                                }
                            }
                        }
                    }
                }
            }
        };
    }

    kernel!(
        avx512,
        "avx512f,fma",
        __m512,
        16,
        _mm512_loadu_ps,
        _mm512_storeu_ps,
        _mm512_set1_ps,
        _mm512_fmadd_ps,
        _mm512_mul_ps,
        _mm512_add_ps
    );
    kernel!(
        avx2,
        "avx2,fma",
        __m256,
        8,
        _mm256_loadu_ps,
        _mm256_storeu_ps,
        _mm256_set1_ps,
        _mm256_fmadd_ps,
        _mm256_mul_ps,
        _mm256_add_ps
    );
}

/// Whatever vector unit the target has by default (SSE2, NEON): blocks of 16 channels.
fn row_plain<A: Arith>(layer: &Layer, x: &Map, before: [usize; 2], oy: usize, row: &mut [f32]) {
    let wide = layer.cout / 16 * 16;
    row_body::<A, 4, 16>(layer, x, before, oy, 0..wide, row);
    row_body::<A, 1, 1>(layer, x, before, oy, wide..layer.cout, row);
}

/// Output row `oy`, channels `channels` (a multiple of `B` of them), in blocks of `B` channels
/// × `P` pixels whose accumulators stay in registers; a block's weights (a few hundred KB)
/// stay in the L2 cache across the row.
///
/// A kernel row's taps that read consecutive input columns (all of them for a convolution,
/// one at a time for a transposed one) form one run over (column, input channel): weights
/// and inputs are both contiguous there, and the sum's order (column, then channel) is kept.
#[inline(always)]
fn row_body<A: Arith, const P: usize, const B: usize>(
    layer: &Layer,
    x: &Map,
    [top, left]: [usize; 2],
    oy: usize,
    channels: Range<usize>,
    row: &mut [f32],
) {
    if channels.is_empty() {
        return;
    }
    let (cin, cout, k) = (layer.cin, layer.cout, layer.k);
    let width = row.len() / cout;
    let rows = layer.padded_taps(oy, top);
    let (step, input_step) = layer.column_steps();
    let phases: Vec<(usize, Vec<Run>)> = (0..step.min(width))
        .map(|phase| {
            (
                phase,
                runs(&rows, &layer.padded_taps(phase, left), k, x.w, cin),
            )
        })
        .collect();
    for c0 in channels.step_by(B) {
        let bias: &[f32; B] = layer.bias[c0..][..B].try_into().expect("B bias values");
        for (phase, runs) in &phases {
            let count = (width - phase).div_ceil(step);
            for g in (0..count).step_by(P) {
                let mut acc = [*bias; P];
                for run in runs {
                    let taps = &layer.weight[run.weight * cout + c0..];
                    let inputs: [&[f32]; P] = std::array::from_fn(|j| {
                        &x.data[run.input + (g + j) * input_step * cin..][..run.len]
                    });
                    for (i, w) in taps.chunks(cout).take(run.len).enumerate() {
                        let w: &[f32; B] = w[..B].try_into().expect("B weights");
                        for (a, input) in acc.iter_mut().zip(&inputs) {
                            let v = input[i];
                            for (a, &w) in a.iter_mut().zip(w) {
                                *a = A::madd(v, w, *a);
                            }
                        }
                    }
                }
                for (j, a) in acc.iter().enumerate() {
                    let ox = phase + (g + j) * step;
                    if ox < width {
                        row[ox * cout + c0..][..B].copy_from_slice(a);
                    }
                }
            }
        }
    }
}

/// A stretch of taps whose weights (`[tap][ci]`, rows of `cout`) and inputs (`[column][ci]`)
/// are both contiguous: `len` values from weight row `weight` and input value `input` (of
/// the group's first pixel).
struct Run {
    weight: usize,
    input: usize,
    len: usize,
}

/// The runs of one output: its kernel rows `rows` (`(ky, padded input row)`) by its columns'
/// taps `columns` (`(kx, padded input column)`), in the order of the sum.
fn runs(
    rows: &[(usize, usize)],
    columns: &[(usize, usize)],
    k: usize,
    w: usize,
    cin: usize,
) -> Vec<Run> {
    let mut out = Vec::new();
    for &(ky, iy) in rows {
        let mut i = 0;
        while i < columns.len() {
            let (kx, ix) = columns[i];
            let mut n = 1;
            while i + n < columns.len() && columns[i + n] == (kx + n, ix + n) {
                n += 1;
            }
            out.push(Run {
                weight: (ky * k + kx) * cin,
                input: (iy * w + ix) * cin,
                len: n * cin,
            });
            i += n;
        }
    }
    out
}

/// One output row of a transposed convolution with three outputs (the last layer, which makes
/// pixels) into `row` (channels-last). `x` is channels-first: the vector lanes run over
/// consecutive output pixels of one phase, which read consecutive inputs.
fn small_row_kernel<A: Arith>(layer: &Layer, x: &Padded, oy: usize, row: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has AVX-512F and FMA.
            return unsafe { small_row_avx512::<A>(layer, x, oy, row) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has AVX2 and FMA.
            return unsafe { small_row_avx2::<A>(layer, x, oy, row) };
        }
    }
    small_row_body::<A>(layer, x, oy, row)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
fn small_row_avx512<A: Arith>(layer: &Layer, x: &Padded, oy: usize, row: &mut [f32]) {
    small_row_body::<A>(layer, x, oy, row)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn small_row_avx2<A: Arith>(layer: &Layer, x: &Padded, oy: usize, row: &mut [f32]) {
    small_row_body::<A>(layer, x, oy, row)
}

#[inline(always)]
fn small_row_body<A: Arith>(layer: &Layer, x: &Padded, oy: usize, row: &mut [f32]) {
    const C: usize = 3;
    let (cin, k) = (layer.cin, layer.k);
    let map = &x.map;
    let [top, left] = x.before;
    let width = row.len() / C;
    let rows = layer.padded_taps(oy, top);
    let (step, _) = layer.column_steps();
    let bias: [f32; C] = layer.bias[..C].try_into().expect("three outputs");
    for phase in 0..step.min(width) {
        let columns = layer.padded_taps(phase, left);
        let count = (width - phase).div_ceil(step);
        for g in (0..count).step_by(LANES) {
            let mut acc = bias.map(|b| [b; LANES]);
            for &(ky, iy) in &rows {
                for &(kx, ix) in &columns {
                    let taps = &layer.weight[(ky * k + kx) * cin * C..][..cin * C];
                    for ci in 0..cin {
                        let input: &[f32; LANES] = map.data[(ci * map.h + iy) * map.w + ix + g..]
                            [..LANES]
                            .try_into()
                            .expect("LANES inputs");
                        for (a, &w) in acc.iter_mut().zip(&taps[ci * C..][..C]) {
                            for (a, &v) in a.iter_mut().zip(input) {
                                *a = A::madd(v, w, *a);
                            }
                        }
                    }
                }
            }
            for l in 0..LANES {
                let ox = phase + (g + l) * step;
                if ox < width {
                    for (c, a) in acc.iter().enumerate() {
                        row[ox * C + c] = a[l];
                    }
                }
            }
        }
    }
}

#[cfg(all(test, feature = "burn"))]
mod tests {
    use super::*;
    use crate::model::portable_copy::{deconv_layer, values};
    use crate::model::transforms::deconv;
    use crate::portable::bits;
    use crate::portable::tests::random;
    use burn::prelude::*;

    /// Every kernel and vector width gives the same bits: the dispatched one, the plain
    /// one-pixel one-channel loop, and (for three outputs) the lane kernel.
    #[test]
    fn kernels_of_every_width_give_the_same_bits() {
        every_kernel_gives_the_same_bits::<Separate>();
        every_kernel_gives_the_same_bits::<Fused>();
    }

    fn every_kernel_gives_the_same_bits<A: Arith>() {
        let device = Device::flex();
        for (cin, cout, h, w) in [
            (16, 32, 5, 7),
            (24, 48, 3, 9),
            (12, 64, 3, 5),
            (20, 3, 6, 70),
            (8, 17, 4, 5),
            (10, 16, 3, 4),
            (6, 8, 4, 3),
            (16, 96, 3, 4),
        ] {
            let layer = deconv_layer(&deconv(cin, cout, 5, 2, &device));
            let x = Map::from_planar(&values(random([1, cin, h, w], &device)), [cin, h, w]);
            let fast = run::<A>(&layer, &x);
            let padded = Padded::new(&layer, &x, [fast.h, fast.w], PIXELS * 2, false);
            let planar = Padded::new(&layer, &x, [fast.h, fast.w], LANES, true);
            let (map, before) = (&padded.map, padded.before);
            let row_len = fast.w * cout;
            for (oy, want) in fast.data.chunks_exact(row_len).enumerate() {
                let run = |kernel: &dyn Fn(&mut [f32])| {
                    let mut row = vec![0.0; row_len];
                    kernel(&mut row);
                    bits(&row)
                };
                let plain = run(&|row| row_body::<A, 1, 1>(&layer, map, before, oy, 0..cout, row));
                assert_eq!(plain, bits(want), "{cin}→{cout}, row {oy}");
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: the CPU has AVX2 and FMA.
                    let avx2 = run(&|row| unsafe { row_avx2::<A>(&layer, map, before, oy, row) });
                    assert_eq!(avx2, bits(want), "AVX2, {cin}→{cout}, row {oy}");
                    if cout == 3 {
                        // SAFETY: as above.
                        let lanes =
                            run(&|row| unsafe { small_row_avx2::<A>(&layer, &planar, oy, row) });
                        assert_eq!(lanes, bits(want), "AVX2 lanes, row {oy}");
                    }
                }
            }
        }
    }
}
