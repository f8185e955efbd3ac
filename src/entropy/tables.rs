//! Integer probability tables.
//!
//! A [`Table`] gives fixed-point probabilities (summing to exactly `2^PRECISION`, each ≥ 1) to
//! the integers `offset..offset + len` plus one escape symbol that stands for every other
//! integer. Tables are made from float pmfs by [`Table::from_pmf`], a deterministic
//! quantisation that only does f64 arithmetic on its input, and are serialized as integers.

use sha2::{Digest, Sha256};

use super::EntropyError;

/// Bits of precision of the fixed-point probabilities (constriction's default coder).
pub const PRECISION: u32 = 24;
const TOTAL: u64 = 1 << PRECISION;
/// Largest alphabet a table may have (keeps loading bounded for hostile packages).
const MAX_SYMBOLS: usize = 1 << 16;

/// One integer probability table.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// A float the table stands for: the scale of a Gaussian table, the median of a z channel.
    pub key: f32,
    /// Smallest value coded directly.
    pub offset: i32,
    /// Frequencies of `offset, offset+1, …` then, last, of the escape symbol.
    pub freqs: Vec<u32>,
}

impl Table {
    /// Quantises `pmf` (probabilities of `offset..offset+pmf.len()`) and `tail` (the mass of
    /// all other values) to fixed point. Every symbol gets at least one count; rounding errors
    /// are settled on the largest bins, ties broken by position, so the result is a pure
    /// function of the inputs.
    pub fn from_pmf(key: f32, offset: i32, pmf: &[f64], tail: f64) -> Table {
        assert!(!pmf.is_empty() && pmf.len() < MAX_SYMBOLS, "pmf length");
        let probs: Vec<f64> = pmf
            .iter()
            .chain(std::iter::once(&tail))
            .map(|&p| if p.is_finite() && p > 0.0 { p } else { 0.0 })
            .collect();
        let sum: f64 = probs.iter().sum();
        let mut freqs: Vec<u64> = probs
            .iter()
            .map(|&p| ((p / sum) * TOTAL as f64).round().max(1.0) as u64)
            .collect();
        let mut total: u64 = freqs.iter().sum();
        // Largest bins first (stable on position): they absorb the rounding error.
        let mut order: Vec<usize> = (0..freqs.len()).collect();
        order.sort_by(|&a, &b| freqs[b].cmp(&freqs[a]).then(a.cmp(&b)));
        if total < TOTAL {
            freqs[order[0]] += TOTAL - total;
        } else {
            for &i in &order {
                if total == TOTAL {
                    break;
                }
                let take = (freqs[i] - 1).min(total - TOTAL);
                freqs[i] -= take;
                total -= take;
            }
        }
        Table {
            key,
            offset,
            freqs: freqs.into_iter().map(|f| f as u32).collect(),
        }
    }

    /// Number of values coded directly (the escape symbol not counted).
    pub fn len(&self) -> usize {
        self.freqs.len() - 1
    }

    /// Whether the table codes no value directly (never true for a valid table).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn validate(&self) -> Result<(), EntropyError> {
        let bad = |m: &str| Err(EntropyError::BadTables(m.to_string()));
        if self.freqs.len() < 2 || self.freqs.len() > MAX_SYMBOLS {
            return bad("table size out of range");
        }
        if self.freqs.contains(&0) {
            return bad("zero frequency");
        }
        if self.freqs.iter().map(|&f| f as u64).sum::<u64>() != TOTAL {
            return bad("frequencies do not sum to 2^24");
        }
        if self.offset.checked_add(self.len() as i32).is_none() {
            return bad("offset overflows");
        }
        Ok(())
    }
}

/// An ordered set of tables; elements of a stream select one by index.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TableSet {
    /// The tables.
    pub tables: Vec<Table>,
}

impl TableSet {
    /// Little-endian serialization: `u32` count, then per table `f32` key, `i32` offset,
    /// `u32` number of frequencies, the frequencies as `u32`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&(self.tables.len() as u32).to_le_bytes());
        for t in &self.tables {
            out.extend_from_slice(&t.key.to_le_bytes());
            out.extend_from_slice(&t.offset.to_le_bytes());
            out.extend_from_slice(&(t.freqs.len() as u32).to_le_bytes());
            for f in &t.freqs {
                out.extend_from_slice(&f.to_le_bytes());
            }
        }
        out
    }

    /// Parses and validates [`TableSet::to_bytes`] output.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, EntropyError> {
        if !bytes.len().is_multiple_of(4) {
            return Err(EntropyError::BadTables("length not a multiple of 4".into()));
        }
        let mut reader = codec_format::Reader::new(bytes);
        let mut next = || {
            reader
                .u32("table word")
                .map_err(|_| EntropyError::BadTables("truncated".into()))
        };
        let count = next()? as usize;
        let mut tables = Vec::new();
        for _ in 0..count {
            let key = f32::from_bits(next()?);
            let offset = next()? as i32;
            let n = next()? as usize;
            if n > MAX_SYMBOLS {
                return Err(EntropyError::BadTables("table too large".into()));
            }
            let freqs = (0..n).map(|_| next()).collect::<Result<Vec<u32>, _>>()?;
            let t = Table { key, offset, freqs };
            t.validate()?;
            tables.push(t);
        }
        if next().is_ok() {
            return Err(EntropyError::BadTables("trailing bytes".into()));
        }
        Ok(Self { tables })
    }

    /// SHA-256 of the serialized tables.
    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.to_bytes()).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantised_tables_are_exact_and_nonzero() {
        for pmf in [
            vec![1.0],
            vec![0.5, 0.5],
            vec![1e-30, 1.0 - 1e-30, 0.0],
            vec![0.2; 7],
        ] {
            let t = Table::from_pmf(1.0, -3, &pmf, 1e-9);
            t.validate().unwrap();
            assert_eq!(t.len(), pmf.len());
        }
    }

    #[test]
    fn serialization_round_trips_and_rejects_damage() {
        let set = TableSet {
            tables: vec![
                Table::from_pmf(0.5, -2, &[0.1, 0.2, 0.4, 0.2, 0.1], 1e-6),
                Table::from_pmf(2.0, 0, &[0.9, 0.1], 1e-6),
            ],
        };
        let bytes = set.to_bytes();
        assert_eq!(TableSet::from_bytes(&bytes).unwrap(), set);
        for cut in 0..bytes.len() {
            assert!(TableSet::from_bytes(&bytes[..cut]).is_err(), "prefix {cut}");
        }
        let mut zero = set.clone();
        zero.tables[0].freqs[1] = 0;
        assert!(TableSet::from_bytes(&zero.to_bytes()).is_err());
        let mut sum = set.clone();
        sum.tables[1].freqs[0] += 1;
        assert!(TableSet::from_bytes(&sum.to_bytes()).is_err());
        assert_ne!(set.hash(), sum.hash());
    }
}
