//! The Gaussian conditional of the latent y: a ladder of scales, one zero-mean table per scale,
//! and the mapping from a predicted scale σ to a table.
//!
//! Elements are coded as `round(y − μ)` with table `i` when σ lies in `(s[i−1], s[i]]` of the
//! scale ladder `s`. Unlike CompressAI, whose table `i` is built for `s[i]` (σ rounded up), our
//! table `i` is built for the geometric centre `√(s[i−1]·s[i])` of its interval, and the ladder
//! has 128 steps instead of 64: most latents sit in the low-σ tables, where the relative cost
//! of a too-wide table is largest.

use super::tables::{Table, TableSet};

/// Smallest scale of the ladder (and the lower bound of predicted scales).
pub const SCALE_MIN: f64 = 0.11;
/// Largest scale of the ladder.
pub const SCALE_MAX: f64 = 256.0;
/// Number of scales on the ladder.
pub const LEVELS: usize = 128;
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

/// One table per ladder step, keyed by the step's upper end `scales[i]` and built for the
/// geometric centre σ of `(scales[i−1], scales[i]]` (the first for `scales[0]`, the lower bound
/// of predicted scales): `P(k) = Φ((k+½)/σ) − Φ((k−½)/σ)` for `|k| ≤ ceil(6.1094·σ)`, the rest
/// of the mass on the escape symbol.
pub fn gaussian_tables(scales: &[f64]) -> TableSet {
    let tables = scales
        .iter()
        .enumerate()
        .map(|(i, &key)| {
            let s = if i == 0 {
                key
            } else {
                (scales[i - 1] * key).sqrt()
            };
            gaussian_table(key, s)
        })
        .collect();
    TableSet { tables }
}

/// CompressAI's scale table (`get_scale_table`): 64 log-spaced scales from 0.11 to 256.
pub fn compressai_scale_table() -> Vec<f64> {
    let (lo, hi, levels) = (SCALE_MIN.ln(), SCALE_MAX.ln(), 64);
    (0..levels)
        .map(|i| (lo + (hi - lo) * i as f64 / (levels - 1) as f64).exp())
        .collect()
}

/// One table per scale, built for the scale itself, so that a predicted σ is rounded up to
/// the next scale: how CompressAI's Gaussian conditional builds its tables.
pub fn gaussian_tables_at_keys(scales: &[f64]) -> TableSet {
    TableSet {
        tables: scales.iter().map(|&s| gaussian_table(s, s)).collect(),
    }
}

/// The table keyed `key` of a zero-mean Gaussian of scale `s`.
fn gaussian_table(key: f64, s: f64) -> Table {
    let c = (s * TAIL_SIGMAS).ceil() as i32;
    let pmf: Vec<f64> = (-c..=c)
        .map(|k| {
            // Evaluate on the left side, where Φ has full relative precision.
            let a = -(k.abs() as f64);
            phi((a + 0.5) / s) - phi((a - 0.5) / s)
        })
        .collect();
    let tail = 2.0 * phi(-(c as f64 + 0.5) / s);
    Table::from_pmf(key as f32, -c, &pmf, tail)
}

/// Picks the table of each latent element from its predicted scale.
///
/// **Hazard.** This is the one computation where encoder and decoder must agree bit for bit:
/// a σ that differs in the last bit and lands on the other side of a threshold picks another
/// table, and everything decoded after that element is garbage. So σ comes from the host copy
/// of the hyper-synthesis (`model::portable`, the same f32 operations in the same order on
/// every machine), never from a backend; the thresholds are stored f32 values (no `exp`/`ln`
/// at run time), the comparison is exact, and the stream carries a checksum of the indexes
/// ([`index_checksum`]) so a mismatch is still detected.
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
    #[cfg(all(test, feature = "train"))]
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
    fn ladder_is_log_spaced_from_0_11_to_256() {
        let s = scale_ladder();
        assert_eq!(s.len(), 128);
        assert!((s[0] - 0.11).abs() < 1e-12 && (s[127] - 256.0).abs() < 1e-9);
        // Log-spaced: each step is (256 / 0.11)^(1/127) ≈ 1.0629 times the last.
        assert!((s[1] - 0.11 * (256.0f64 / 0.11).powf(1.0 / 127.0)).abs() < 1e-12);
        assert!((s[1] / s[0] - 1.0629).abs() < 1e-4);
    }

    #[test]
    fn tables_are_deterministic_and_cover_their_range() {
        let a = gaussian_tables(&scale_ladder());
        let b = gaussian_tables(&scale_ladder());
        assert_eq!(a.to_bytes(), b.to_bytes());
        // 3 bins at 0.11; the last table is built for √(s[126]·256) ≈ 248.3: ±1517 bins.
        assert_eq!(a.tables[0].len(), 3);
        assert_eq!(a.tables[127].len(), 2 * 1517 + 1);
        assert_eq!(a.tables[127].key, 256.0);
        assert!(a.tables.iter().all(|t| t.freqs.iter().all(|&f| f > 0)));
    }

    #[test]
    fn golden_hash_of_default_tables() {
        // Changing how tables are built changes every model's id: do it on purpose only.
        let hash = gaussian_tables(&scale_ladder()).hash();
        let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, GOLDEN);
    }
    const GOLDEN: &str = "2da08bafe127fd3e3053f6fb76dec091c0187ea4c12da400cfeb27887bb71e12";

    #[test]
    fn index_is_the_ladder_interval_of_the_scale() {
        let q = ScaleQuantizer::from_tables(&gaussian_tables(&scale_ladder()));
        assert_eq!(q.index(0.0), 0);
        assert_eq!(q.index(0.11), 0);
        assert_eq!(q.index(0.1101), 1);
        assert_eq!(q.index(1e9), 127);
        assert_eq!(q.index(f32::NAN), 0);
        let t = q.thresholds[10];
        assert_eq!(q.index(t), 10);
        assert_eq!(q.index(f32::from_bits(t.to_bits() + 1)), 11);
    }
}
