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
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
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

/// A zero-padded copy of a layer's input, channels-last or (for the small-output kernel) one
/// plane row per channel in each row (`[y][c][x]`).
pub(super) struct Padded {
    map: Map,
    /// Rows and columns of zeros before the input.
    before: [usize; 2],
}

impl Padded {
    /// The padded map.
    pub(super) fn map(&self) -> &Map {
        &self.map
    }

    /// Rows and columns of zeros before the input.
    pub(super) fn before(&self) -> [usize; 2] {
        self.before
    }

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
            // Row by row: each padded row holds its channels one after the other.
            data[top * c * pw..]
                .par_chunks_mut(c * pw)
                .take(x.h)
                .enumerate()
                .for_each(|(y, rows)| {
                    let src = &x.data[y * x.w * c..][..x.w * c];
                    for (xx, px) in src.chunks_exact(c).enumerate() {
                        for (ci, &v) in px.iter().enumerate() {
                            rows[ci * pw + left + xx] = v;
                        }
                    }
                });
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

/// The vector unit the row kernels run on, detected once per layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Isa {
    /// x86-64 with AVX-512F and FMA: 32 registers of 16 lanes.
    #[cfg(target_arch = "x86_64")]
    Avx512,
    /// x86-64 with AVX2 and FMA: 16 registers of 8 lanes.
    #[cfg(target_arch = "x86_64")]
    Avx2,
    /// Whatever the target has by default (SSE2, NEON, wasm's SIMD), through LLVM's vectoriser.
    Plain,
}

impl Isa {
    /// The widest unit of this machine, or the one the environment variable `ANSEL_KERNELS`
    /// names (`plain`, `avx2`; plain where the machine lacks it): a switch for tests that
    /// check every unit gives the same pixels, as they do by construction.
    pub fn detect() -> Self {
        let units = Self::available();
        let named = match std::env::var("ANSEL_KERNELS").as_deref() {
            Ok("plain") => Some(Self::Plain),
            #[cfg(target_arch = "x86_64")]
            Ok("avx2") => Some(Self::Avx2),
            _ => None,
        };
        match named {
            Some(unit) if units.contains(&unit) => unit,
            Some(_) => Self::Plain,
            None => *units.last().expect("the plain unit"),
        }
    }

    /// Every unit this machine can run, narrowest first.
    fn available() -> Vec<Self> {
        #[allow(unused_mut)]
        let mut units = vec![Self::Plain];
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            if has!("avx2") && has!("fma") {
                units.push(Self::Avx2);
            }
            if has!("avx512f") && has!("fma") {
                units.push(Self::Avx512);
            }
        }
        units
    }

    /// How this unit's kernels cover `cout` output channels: blocks of a few register widths
    /// (blocks of one channel for what is left).
    fn widths(self, cout: usize) -> Vec<(Range<usize>, usize)> {
        // Widths in channels, widest first, that a block may take on this unit.
        let widths: &[usize] = match self {
            #[cfg(target_arch = "x86_64")]
            Self::Avx512 if cout.is_multiple_of(32) => &[32],
            #[cfg(target_arch = "x86_64")]
            Self::Avx512 => &[64, 16],
            #[cfg(target_arch = "x86_64")]
            Self::Avx2 if cout.is_multiple_of(24) => &[24],
            #[cfg(target_arch = "x86_64")]
            Self::Avx2 => &[16, 8],
            Self::Plain => &[16],
        };
        let mut out = Vec::new();
        let mut c0 = 0;
        for &w in widths.iter().chain(&[1]) {
            let end = c0 + (cout - c0) / w * w;
            if end > c0 {
                out.push((c0..end, w));
            }
            c0 = end;
        }
        out
    }
}

/// A layer's weights for one vector unit: its output channels in blocks ([`Isa::widths`]),
/// each block's weights contiguous, `[tap][ci][channel of the block]`, so a block streams
/// through them in order. The block at channel `c0` starts at `c0 · taps · cin`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Packed {
    isa: Isa,
    blocks: Vec<(Range<usize>, usize)>,
    weights: Vec<f32>,
}

impl Packed {
    /// `weight` (`[tap][ci][co]`, `rows` = taps · cin rows of `cout`) packed for `isa`.
    pub fn new(weight: &[f32], [rows, cout]: [usize; 2], isa: Isa) -> Self {
        assert_eq!(weight.len(), rows * cout, "weights of the wrong size");
        let blocks = isa.widths(cout);
        let mut weights = Vec::with_capacity(weight.len());
        for (channels, width) in &blocks {
            for c0 in channels.clone().step_by(*width) {
                for r in 0..rows {
                    weights.extend_from_slice(&weight[r * cout + c0..][..*width]);
                }
            }
        }
        Self {
            isa,
            blocks,
            weights,
        }
    }

    /// The weights back in `[tap][ci][co]` order.
    #[cfg(all(test, feature = "burn"))]
    pub fn unpack(&self) -> Vec<f32> {
        let cout = self.blocks.last().map_or(0, |(channels, _)| channels.end);
        let rows = self.weights.len() / cout.max(1);
        let mut weight = vec![0.0; self.weights.len()];
        let mut at = 0;
        for (channels, width) in &self.blocks {
            for c0 in channels.clone().step_by(*width) {
                for r in 0..rows {
                    weight[r * cout + c0..][..*width]
                        .copy_from_slice(&self.weights[at..][..*width]);
                    at += width;
                }
            }
        }
        weight
    }
}

/// One output row into `row` (channels-last), on the vector unit the layer's weights are
/// packed for. `x` is padded, with `before` rows and columns of zeros before the input, so
/// every tap of every output (and of the pixels a last group computes and drops) lies inside.
pub(super) fn row_kernel<A: Arith>(
    layer: &Layer,
    x: &Map,
    before: [usize; 2],
    oy: usize,
    row: &mut [f32],
) {
    row_packed::<A>(&layer.packed, &mut Row::new(layer, x, before, oy, row))
}

/// [`row_kernel`] with weights `packed`.
fn row_packed<A: Arith>(packed: &Packed, row: &mut Row) {
    match packed.isa {
        // SAFETY: `Packed` is built for a unit only where the machine has it.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { row_avx512::<A>(packed, row) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { row_avx2::<A>(packed, row) },
        Isa::Plain => row_plain::<A>(packed, row),
    }
}

/// Blocks of 24 accumulators (2 vectors × 12 pixels, 4 × 6) or 12 (1 × 12), the rest of the
/// 32 registers for the weights and an input. Of the shapes timed, 2 × 12 was the fastest.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
fn row_avx512<A: Arith>(packed: &Packed, row: &mut Row) {
    for (channels, width) in &packed.blocks {
        let (w, c) = (&packed.weights[..], channels.clone());
        match width {
            32 => simd::avx512::<A, 12, 2>(row, w, c),
            64 => simd::avx512::<A, 6, 4>(row, w, c),
            16 => simd::avx512::<A, 12, 1>(row, w, c),
            _ => row_body::<A, 1, 1>(row, w, c),
        }
    }
}

/// Blocks of 12 accumulators (3 vectors × 4 pixels, 2 × 6, 1 × 12) of the 16 registers.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn row_avx2<A: Arith>(packed: &Packed, row: &mut Row) {
    for (channels, width) in &packed.blocks {
        let (w, c) = (&packed.weights[..], channels.clone());
        match width {
            24 => simd::avx2::<A, 4, 3>(row, w, c),
            16 => simd::avx2::<A, 6, 2>(row, w, c),
            8 => simd::avx2::<A, 12, 1>(row, w, c),
            _ => row_body::<A, 1, 1>(row, w, c),
        }
    }
}

/// Blocks of 16 channels × 4 pixels, vectorised by LLVM for the target's default unit.
fn row_plain<A: Arith>(packed: &Packed, row: &mut Row) {
    for (channels, width) in &packed.blocks {
        let (w, c) = (&packed.weights[..], channels.clone());
        match width {
            16 => row_body::<A, 4, 16>(row, w, c),
            _ => row_body::<A, 1, 1>(row, w, c),
        }
    }
}

/// One output row and what its kernels share: the input, the output, and the runs of taps of
/// each phase.
pub(super) struct Row<'a> {
    layer: &'a Layer,
    x: &'a Map,
    out: &'a mut [f32],
    /// Output pixels in the row.
    width: usize,
    /// Output columns between a phase's pixels, input columns between theirs.
    steps: (usize, usize),
    /// Each phase's first column and runs of taps.
    phases: Vec<(usize, Vec<Run>)>,
}

impl<'a> Row<'a> {
    /// Output row `oy` of `layer` into `out`; `x` is padded by `before` rows and columns.
    pub(super) fn new(
        layer: &'a Layer,
        x: &'a Map,
        [top, left]: [usize; 2],
        oy: usize,
        out: &'a mut [f32],
    ) -> Self {
        let width = out.len() / layer.cout;
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
            out,
            width,
            steps,
            phases,
        }
    }
}

/// Output row `oy` of a stride-1 convolution (`layer`, on `x` padded by `before`) at the
/// positions a checkerboard context reads the anchors from: the columns whose row + column is
/// odd (every other one), through the taps whose row + column is odd (the ones that land on
/// anchors: row + column even), in the order of the sum. The other columns of `out` are left
/// as they are.
pub(super) fn checkerboard_row<A: Arith>(
    layer: &Layer,
    x: &Map,
    [top, left]: [usize; 2],
    oy: usize,
    out: &mut [f32],
) {
    assert_eq!(
        (layer.stride, layer.transposed),
        (1, None),
        "a stride-1 convolution"
    );
    let (k, pad, cin) = (layer.k, layer.pad, layer.cin);
    let width = out.len() / layer.cout;
    let phase = (oy + 1) % 2;
    if phase >= width {
        return;
    }
    let mut runs = Vec::new();
    for ky in 0..k {
        for kx in (0..k).filter(|kx| (ky + kx) % 2 == 1) {
            // Padded input row and column of tap (ky, kx) for output (oy, phase).
            let (iy, ix) = (oy + top + ky - pad, phase + left + kx - pad);
            runs.push(Run {
                weight: (ky * k + kx) * cin,
                input: (iy * x.w + ix) * cin,
                len: cin,
            });
        }
    }
    let mut row = Row {
        layer,
        x,
        out,
        width,
        steps: (2, 2),
        phases: vec![(phase, runs)],
    };
    row_packed::<A>(&layer.packed, &mut row);
}

/// The blocked kernel in explicit vector instructions, one function per vector width: `P`
/// pixels × `V` vectors of channels of accumulators, each a chain of [`Arith`] steps in the
/// order of [`row_body`], so every width gives its bits.
#[cfg(target_arch = "x86_64")]
mod simd {
    use std::arch::x86_64::*;
    use std::ops::Range;

    use super::{Arith, Row};

    macro_rules! kernel {
        ($name:ident, $feature:literal, $vec:ty, $lanes:literal, $load:ident, $store:ident,
         $splat:ident, $fmadd:ident, $mul:ident, $add:ident) => {
            /// Channels `channels` (blocks of `V` vectors) of `row`, with `packed` weights.
            #[target_feature(enable = $feature)]
            pub(super) fn $name<A: Arith, const P: usize, const V: usize>(
                row: &mut Row,
                packed: &[f32],
                channels: Range<usize>,
            ) {
                const { assert!(P >= 1 && V >= 1) };
                let layer = row.layer;
                let (cin, cout, taps) = (layer.cin, layer.cout, layer.k * layer.k);
                let (step, input_step) = row.steps;
                let inputs = row.x.data.as_slice();
                let block = V * $lanes;
                assert_eq!(channels.len() % block, 0, "whole blocks");
                for c0 in channels.step_by(block) {
                    let weights = &packed[c0 * taps * cin..][..taps * cin * block];
                    for (phase, runs) in &row.phases {
                        let count = (row.width - phase).div_ceil(step);
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
                                let first = run.input + g * input_step * cin;
                                // What the pointer arithmetic below reads, checked once.
                                assert!(
                                    first + (P - 1) * input_step * cin + run.len <= inputs.len()
                                );
                                let wp = weights[run.weight * block..][..run.len * block].as_ptr();
                                let ip = inputs[first..].as_ptr();
                                for i in 0..run.len {
                                    // SAFETY: within the ranges sliced and asserted above.
                                    unsafe {
                                        let mut w = [$splat(0.0); V];
                                        for (v, w) in w.iter_mut().enumerate() {
                                            *w = $load(wp.add(i * block + v * $lanes));
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
                                if ox < row.width {
                                    let out = &mut row.out[ox * cout + c0..][..block];
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

/// Channels `channels` of `row` (blocks of `B`, with `packed` weights), in blocks of `B`
/// channels × `P` pixels whose accumulators LLVM keeps in registers: the portable kernel
/// (and the reference the vector kernels must match).
///
/// A kernel row's taps that read consecutive input columns (all of them for a convolution,
/// one at a time for a transposed one) form one run over (column, input channel): weights
/// and inputs are both contiguous there, and the sum's order (column, then channel) is kept.
#[inline(always)]
fn row_body<A: Arith, const P: usize, const B: usize>(
    row: &mut Row,
    packed: &[f32],
    channels: Range<usize>,
) {
    let layer = row.layer;
    let (cin, cout, taps) = (layer.cin, layer.cout, layer.k * layer.k);
    let (step, input_step) = row.steps;
    for c0 in channels.step_by(B) {
        let weights = &packed[c0 * taps * cin..][..taps * cin * B];
        let bias: &[f32; B] = layer.bias[c0..][..B].try_into().expect("B bias values");
        for (phase, runs) in &row.phases {
            let count = (row.width - phase).div_ceil(step);
            for g in (0..count).step_by(P) {
                let mut acc = [*bias; P];
                for run in runs {
                    let w = &weights[run.weight * B..][..run.len * B];
                    let inputs: [&[f32]; P] = std::array::from_fn(|j| {
                        &row.x.data[run.input + (g + j) * input_step * cin..][..run.len]
                    });
                    for (i, w) in w.chunks_exact(B).enumerate() {
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
                    if ox < row.width {
                        row.out[ox * cout + c0..][..B].copy_from_slice(a);
                    }
                }
            }
        }
    }
}

/// A stretch of taps whose weights and inputs (`[column][ci]`) are both contiguous: `len`
/// values from weight row `weight` (`tap · cin + ci`) and input value `input` (of the
/// group's first pixel).
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
/// pixels) into `row` (channels-last). `x` holds each row channel by channel: the vector lanes run over
/// consecutive output pixels of one phase, which read consecutive inputs.
fn small_row_kernel<A: Arith>(layer: &Layer, x: &Padded, oy: usize, row: &mut [f32]) {
    match layer.packed.isa {
        // SAFETY: `Packed` is built for a unit only where the machine has it.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { small_row_avx512::<A>(layer, x, oy, row) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { small_row_avx2::<A>(layer, x, oy, row) },
        Isa::Plain => small_row_body::<A>(layer, x, oy, row),
    }
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
                        let input: &[f32; LANES] = map.data[(iy * map.c + ci) * map.w + ix + g..]
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
    use crate::model::portable_copy::{conv_layer, deconv_layer, values};
    use crate::model::transforms::{conv, deconv};
    use crate::portable::bits;
    use crate::portable::tests::random;
    use burn::prelude::*;

    /// Every vector unit of the machine and every block width gives the same bits: the
    /// dispatched kernel, the others the machine can run (the plain one always), and (for
    /// three outputs) the lane kernels.
    #[test]
    fn kernels_of_every_width_give_the_same_bits() {
        every_kernel_gives_the_same_bits::<Separate>();
        every_kernel_gives_the_same_bits::<Fused>();
    }

    fn every_kernel_gives_the_same_bits<A: Arith>() {
        let device = Device::flex();
        let units = Isa::available();
        // Channel counts that take every block width of every unit, and a remainder.
        let deconvs = [
            (16, 32, 5, 7),
            (24, 48, 3, 9),
            (12, 64, 3, 5),
            (20, 3, 6, 70),
            (8, 17, 4, 5),
            (10, 16, 3, 4),
            (6, 8, 4, 3),
            (16, 96, 3, 4),
            (9, 88, 3, 5),
        ]
        .map(|(cin, cout, h, w)| (deconv_layer(&deconv(cin, cout, 5, 2, &device)), h, w));
        // Convolutions, whose taps of a kernel row merge into one run.
        let convs = [
            (16, 96, 3, 1, 7, 30),
            (3, 48, 5, 2, 9, 40),
            (24, 40, 5, 2, 6, 50),
            (12, 72, 1, 1, 3, 20),
        ]
        .map(|(cin, cout, k, s, h, w)| (conv_layer(&conv(cin, cout, k, s, &device)), h, w));
        for (layer, h, w) in deconvs.into_iter().chain(convs) {
            let (cin, cout) = (layer.cin, layer.cout);
            let x = Map::from_planar(&values(random([1, cin, h, w], &device)), [cin, h, w]);
            let fast = run::<A>(&layer, &x);
            let spill = PIXELS * layer.column_steps().1;
            let padded = Padded::new(&layer, &x, [fast.h, fast.w], spill, false);
            let row_len = fast.w * cout;
            for &unit in &units {
                let weight = layer.plain_weight();
                let packed = Packed::new(&weight, [layer.k * layer.k * cin, cout], unit);
                assert_eq!(packed.unpack(), *weight, "{unit:?} packing");
                for (oy, want) in fast.data.chunks_exact(row_len).enumerate() {
                    let mut out = vec![0.0; row_len];
                    let (map, before) = (&padded.map, padded.before);
                    row_packed::<A>(&packed, &mut Row::new(&layer, map, before, oy, &mut out));
                    assert_eq!(bits(&out), bits(want), "{unit:?}, {cin}→{cout}, row {oy}");
                }
            }
            #[cfg(target_arch = "x86_64")]
            if cout == 3 && units.contains(&Isa::Avx2) {
                let planar = Padded::new(&layer, &x, [fast.h, fast.w], LANES, true);
                for (oy, want) in fast.data.chunks_exact(row_len).enumerate() {
                    let mut out = vec![0.0; row_len];
                    // SAFETY: the CPU has AVX2 and FMA.
                    unsafe { small_row_avx2::<A>(&layer, &planar, oy, &mut out) };
                    assert_eq!(bits(&out), bits(want), "AVX2 lanes, row {oy}");
                    small_row_body::<A>(&layer, &planar, oy, &mut out);
                    assert_eq!(bits(&out), bits(want), "plain lanes, row {oy}");
                }
            }
        }
    }
}
