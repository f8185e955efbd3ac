//! The Gaussian conditional of the latent y: a ladder of scales, one zero-mean table per scale,
//! and the mapping from a predicted scale σ to a table.
//!
//! Elements are coded as `round(y − μ)` with the table of the first ladder scale ≥ σ
//! (rounding σ up, as CompressAI does: a slightly too wide table costs little, a too narrow
//! one costs a lot).

use super::tables::{Table, TableSet};

/// Smallest scale of the ladder (and the lower bound of predicted scales).
pub const SCALE_MIN: f64 = 0.11;
/// Largest scale of the ladder.
pub const SCALE_MAX: f64 = 256.0;
/// Number of scales on the ladder.
pub const LEVELS: usize = 64;
/// Tables cover `±ceil(TAIL_SIGMAS · σ)`: the mass outside is 1e-9 and goes to the escape.
const TAIL_SIGMAS: f64 = 6.1094;

/// The scale ladder: `LEVELS` log-spaced values from `SCALE_MIN` to `SCALE_MAX`.
///
/// Only used at export: the resulting f32 keys are stored in the model package, and
/// [`ScaleQuantizer`] reads them from there, so platform differences of `exp` cannot reach
/// the decoder.
pub fn scale_ladder() -> Vec<f64> {
    let (lo, hi) = (SCALE_MIN.ln(), SCALE_MAX.ln());
    (0..LEVELS)
        .map(|i| (lo + (hi - lo) * i as f64 / (LEVELS - 1) as f64).exp())
        .collect()
}

/// Standard normal cdf with a tail-accurate erfc.
fn phi(x: f64) -> f64 {
    0.5 * libm::erfc(-x * std::f64::consts::FRAC_1_SQRT_2)
}

/// One table per scale: `P(k) = Φ((k+½)/σ) − Φ((k−½)/σ)` for `|k| ≤ ceil(6.1094·σ)`, the rest
/// of the mass on the escape symbol.
pub fn gaussian_tables(scales: &[f64]) -> TableSet {
    let tables = scales
        .iter()
        .map(|&s| {
            let c = (s * TAIL_SIGMAS).ceil() as i32;
            let pmf: Vec<f64> = (-c..=c)
                .map(|k| {
                    // Evaluate on the left side, where Φ has full relative precision.
                    let a = -(k.abs() as f64);
                    phi((a + 0.5) / s) - phi((a - 0.5) / s)
                })
                .collect();
            let tail = 2.0 * phi(-(c as f64 + 0.5) / s);
            Table::from_pmf(s as f32, -c, &pmf, tail)
        })
        .collect();
    TableSet { tables }
}

/// Picks the table of each latent element from its predicted scale.
///
/// **Hazard.** This is the one computation where encoder and decoder must agree bit for bit:
/// σ comes out of the float hyper-synthesis, and if another machine or backend computes a σ
/// that differs in the last bit and lands on the other side of a threshold, it picks another
/// table and everything decoded after that element is garbage. The thresholds themselves are
/// stored f32 values (no `exp`/`ln` at run time), the comparison is exact, and the stream
/// carries a checksum of the indexes ([`index_checksum`]) so a mismatch is detected. A
/// platform-proof σ (integer hyper-synthesis) would replace the input of this type, not it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScaleQuantizer {
    thresholds: Vec<f32>,
}

impl ScaleQuantizer {
    /// A quantiser over the keys (scales) of a Gaussian table set, in ascending order.
    pub fn from_tables(tables: &TableSet) -> Self {
        Self {
            thresholds: tables.tables.iter().map(|t| t.key).collect(),
        }
    }

    /// Number of tables.
    pub fn levels(&self) -> usize {
        self.thresholds.len()
    }

    /// Index of the first threshold ≥ σ (σ below the first maps to 0, above the last to the
    /// last, NaN to 0).
    #[inline]
    pub fn index(&self, sigma: f32) -> u16 {
        let i = self.thresholds.partition_point(|&t| t < sigma);
        i.min(self.thresholds.len() - 1) as u16
    }

    /// The same quantiser with threshold `i` moved to `t`: stands in for a machine whose
    /// hyper-synthesis rounds differently, in tests of the mismatch check.
    #[cfg(test)]
    pub(crate) fn with_threshold(&self, i: usize, t: f32) -> Self {
        let mut thresholds = self.thresholds.clone();
        thresholds[i] = t;
        Self { thresholds }
    }

    /// [`ScaleQuantizer::index`] of every element.
    pub fn indexes(&self, sigmas: &[f32]) -> Vec<u16> {
        sigmas.iter().map(|&s| self.index(s)).collect()
    }
}

/// CRC-32C of an index array (little-endian u16s), stored per tile in the stream.
pub fn index_checksum(indexes: &[u16]) -> u32 {
    let bytes: Vec<u8> = indexes.iter().flat_map(|i| i.to_le_bytes()).collect();
    crc32c::crc32c(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ladder_matches_compressai() {
        let s = scale_ladder();
        assert_eq!(s.len(), 64);
        assert!((s[0] - 0.11).abs() < 1e-12 && (s[63] - 256.0).abs() < 1e-9);
        assert!((s[1] - 0.1244).abs() < 1e-4);
    }

    #[test]
    fn tables_are_deterministic_and_cover_their_range() {
        let a = gaussian_tables(&scale_ladder());
        let b = gaussian_tables(&scale_ladder());
        assert_eq!(a.to_bytes(), b.to_bytes());
        // CompressAI's sizes: 3 bins at 0.11, 3131 at 256.
        assert_eq!(a.tables[0].len(), 3);
        assert_eq!(a.tables[63].len(), 3131);
        assert!(a.tables.iter().all(|t| t.freqs.iter().all(|&f| f > 0)));
    }

    #[test]
    fn golden_hash_of_default_tables() {
        // Changing how tables are built changes every model's id: do it on purpose only.
        let hash = gaussian_tables(&scale_ladder()).hash();
        let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, GOLDEN);
    }
    const GOLDEN: &str = "ebd056b66c3c9e0d55e94ef354a2f047610071b9d375acf2df4ad3f609fd1797";

    #[test]
    fn index_rounds_scales_up() {
        let q = ScaleQuantizer::from_tables(&gaussian_tables(&scale_ladder()));
        assert_eq!(q.index(0.0), 0);
        assert_eq!(q.index(0.11), 0);
        assert_eq!(q.index(0.1101), 1);
        assert_eq!(q.index(1e9), 63);
        assert_eq!(q.index(f32::NAN), 0);
        let t = q.thresholds[10];
        assert_eq!(q.index(t), 10);
        assert_eq!(q.index(f32::from_bits(t.to_bits() + 1)), 11);
    }
}
