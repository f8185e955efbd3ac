//! Symbol arrays ↔ bytes.
//!
//! Each element `i` is coded with table `indexes[i]`. A value inside the table's range is coded
//! directly; any other value is coded as the escape symbol, and the value itself goes, as a
//! zigzag LEB128 varint, into an escape area after the ANS words. So any `i32` survives.
//!
//! Blob layout (little-endian): `u32` word count `n`, `n` ANS words (`u32`), escape varints in
//! element order. ANS is a stack: the encoder pushes elements in reverse so the decoder pops
//! them in order.

use constriction::stream::model::DefaultContiguousCategoricalEntropyModel;
use constriction::stream::stack::DefaultAnsCoder;
use constriction::stream::Decode;
use constriction::UnwrapInfallible;

use super::tables::{TableSet, PRECISION};
use super::EntropyError;

type Model = DefaultContiguousCategoricalEntropyModel;

/// Coder-ready form of a [`TableSet`], built once per model load.
#[derive(Clone)]
pub struct CodingTables {
    models: Vec<Model>,
    offsets: Vec<i32>,
    lens: Vec<u32>,
    /// `-log2 p` of every symbol of every table (for rate estimates).
    costs: Vec<Vec<f32>>,
}

impl std::fmt::Debug for CodingTables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodingTables")
            .field("tables", &self.models.len())
            .finish_non_exhaustive()
    }
}

impl CodingTables {
    /// Prepares the tables for coding. Tables from [`TableSet::from_bytes`] are valid; others
    /// are checked here too.
    pub fn new(set: &TableSet) -> Result<Self, EntropyError> {
        let mut models = Vec::with_capacity(set.tables.len());
        for t in &set.tables {
            let m = Model::from_nonzero_fixed_point_probabilities(t.freqs.iter().copied(), false)
                .map_err(|()| EntropyError::BadTables("frequencies invalid".into()))?;
            models.push(m);
        }
        let scale = (1u64 << PRECISION) as f64;
        Ok(Self {
            models,
            offsets: set.tables.iter().map(|t| t.offset).collect(),
            lens: set.tables.iter().map(|t| t.len() as u32).collect(),
            costs: set
                .tables
                .iter()
                .map(|t| {
                    t.freqs
                        .iter()
                        .map(|&f| -(f as f64 / scale).log2() as f32)
                        .collect()
                })
                .collect(),
        })
    }

    /// Number of tables.
    pub fn len(&self) -> usize {
        self.models.len()
    }

    /// Whether there are no tables.
    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }

    fn check(&self, indexes: &[u16]) -> Result<(), EntropyError> {
        match indexes.iter().find(|&&i| i as usize >= self.models.len()) {
            Some(&i) => Err(EntropyError::BadIndex {
                index: i as usize,
                count: self.models.len(),
            }),
            None => Ok(()),
        }
    }

    /// Symbol of `value` in table `t`, or `None` for the escape.
    #[inline]
    fn symbol(&self, t: usize, value: i32) -> Option<usize> {
        let s = (value as i64) - self.offsets[t] as i64;
        (s >= 0 && s < self.lens[t] as i64).then_some(s as usize)
    }
}

/// Encodes `values[i]` with table `indexes[i]`.
pub fn encode(
    values: &[i32],
    indexes: &[u16],
    tables: &CodingTables,
) -> Result<Vec<u8>, EntropyError> {
    if values.len() != indexes.len() {
        return Err(EntropyError::Corrupt("values and indexes differ in length"));
    }
    tables.check(indexes)?;
    let mut escapes = Vec::new();
    let symbols: Vec<usize> = values
        .iter()
        .zip(indexes)
        .map(|(&v, &t)| {
            let t = t as usize;
            tables.symbol(t, v).unwrap_or_else(|| {
                write_varint(&mut escapes, zigzag(v));
                tables.lens[t] as usize
            })
        })
        .collect();
    let mut coder = DefaultAnsCoder::new();
    coder
        .encode_symbols_reverse(
            symbols
                .iter()
                .zip(indexes)
                .map(|(&s, &t)| (s, &tables.models[t as usize])),
        )
        .map_err(|_| EntropyError::Corrupt("symbol has zero probability"))?;
    let words = coder.into_compressed().unwrap_infallible();
    let mut out = Vec::with_capacity(4 + 4 * words.len() + escapes.len());
    out.extend_from_slice(&(words.len() as u32).to_le_bytes());
    for w in &words {
        out.extend_from_slice(&w.to_le_bytes());
    }
    out.extend_from_slice(&escapes);
    Ok(out)
}

/// Decodes as many values as there are `indexes`. Corrupt input gives an error where it can
/// be detected (bad framing, words left over, escapes missing or left over), never a panic.
pub fn decode(
    bytes: &[u8],
    indexes: &[u16],
    tables: &CodingTables,
) -> Result<Vec<i32>, EntropyError> {
    let mut decoder = Decoder::new(bytes)?;
    let values = decoder.decode(indexes, tables)?;
    decoder.finish()?;
    Ok(values)
}

/// A stream written by [`encode`], decoded in parts: values whose tables depend on the values
/// decoded before them (the second pass of a context model) are decoded once those are known.
/// Decoding `a` then `b` gives what decoding `a ++ b` at once would.
pub struct Decoder<'a> {
    coder: DefaultAnsCoder,
    escapes: &'a [u8],
}

impl<'a> Decoder<'a> {
    /// Reads the framing of a stream.
    pub fn new(bytes: &'a [u8]) -> Result<Self, EntropyError> {
        let mut reader = codec_format::Reader::new(bytes);
        let n = reader
            .u32("word count")
            .map_err(|_| EntropyError::Corrupt("missing word count"))? as usize;
        if n > reader.remaining() / 4 {
            return Err(EntropyError::Corrupt("word count exceeds the data"));
        }
        let words = (0..n)
            .map(|_| reader.u32("word"))
            .collect::<Result<Vec<u32>, _>>()
            .expect("the words are present");
        let coder = DefaultAnsCoder::from_compressed(words)
            .map_err(|_| EntropyError::Corrupt("trailing zero word"))?;
        Ok(Self {
            coder,
            escapes: &bytes[reader.position()..],
        })
    }

    /// Decodes the next `indexes.len()` values, value `i` with table `indexes[i]`.
    pub fn decode(
        &mut self,
        indexes: &[u16],
        tables: &CodingTables,
    ) -> Result<Vec<i32>, EntropyError> {
        tables.check(indexes)?;
        let mut out = Vec::with_capacity(indexes.len());
        for &t in indexes {
            let t = t as usize;
            let s = self
                .coder
                .decode_symbol(&tables.models[t])
                .unwrap_infallible();
            if s == tables.lens[t] as usize {
                out.push(unzigzag(read_varint(&mut self.escapes)?));
            } else {
                out.push(tables.offsets[t].wrapping_add(s as i32));
            }
        }
        Ok(out)
    }

    /// Checks that the stream held nothing after the last value decoded.
    pub fn finish(self) -> Result<(), EntropyError> {
        if !self.coder.is_empty() {
            return Err(EntropyError::Corrupt(
                "data left over after the last symbol",
            ));
        }
        if !self.escapes.is_empty() {
            return Err(EntropyError::Corrupt("escape data left over"));
        }
        Ok(())
    }
}

/// Ideal code length in bits of `values` under the tables (escapes counted with their varint
/// bytes): what [`encode`] achieves up to a word of ANS overhead.
pub fn ideal_bits(values: &[i32], indexes: &[u16], tables: &CodingTables) -> f64 {
    values
        .iter()
        .zip(indexes)
        .map(|(&v, &t)| {
            let t = t as usize;
            match tables.symbol(t, v) {
                Some(s) => tables.costs[t][s] as f64,
                None => {
                    let mut buf = Vec::new();
                    write_varint(&mut buf, zigzag(v));
                    tables.costs[t][tables.lens[t] as usize] as f64 + 8.0 * buf.len() as f64
                }
            }
        })
        .sum()
}

fn zigzag(v: i32) -> u32 {
    ((v << 1) ^ (v >> 31)) as u32
}

fn unzigzag(u: u32) -> i32 {
    ((u >> 1) as i32) ^ -((u & 1) as i32)
}

fn write_varint(out: &mut Vec<u8>, mut u: u32) {
    while u >= 0x80 {
        out.push((u as u8) | 0x80);
        u >>= 7;
    }
    out.push(u as u8);
}

fn read_varint(data: &mut &[u8]) -> Result<u32, EntropyError> {
    let mut u: u32 = 0;
    for shift in (0..35).step_by(7) {
        let (&b, rest) = data
            .split_first()
            .ok_or(EntropyError::Corrupt("escape data missing"))?;
        *data = rest;
        if shift == 28 && b > 0x0f {
            return Err(EntropyError::Corrupt("escape value overflows"));
        }
        u |= ((b & 0x7f) as u32) << shift;
        if b < 0x80 {
            return Ok(u);
        }
    }
    Err(EntropyError::Corrupt("escape value overflows"))
}

#[cfg(test)]
mod tests {
    use super::super::{gaussian_tables, scale_ladder, ScaleQuantizer, Table};
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn default_tables() -> (TableSet, CodingTables) {
        let set = gaussian_tables(&scale_ladder());
        let coding = CodingTables::new(&set).unwrap();
        (set, coding)
    }

    /// A value drawn from table `t`'s own distribution (escape → a far outlier).
    fn sample(set: &TableSet, t: usize, rng: &mut StdRng) -> i32 {
        let table = &set.tables[t];
        let mut r = rng.random_range(0..1u32 << PRECISION);
        for (s, &f) in table.freqs.iter().enumerate() {
            if r < f {
                return if s == table.len() {
                    100_000
                } else {
                    table.offset + s as i32
                };
            }
            r -= f;
        }
        unreachable!()
    }

    #[test]
    fn round_trips_every_table_with_escapes() {
        let (set, coding) = default_tables();
        let mut rng = StdRng::seed_from_u64(1);
        let mut values = Vec::new();
        let mut indexes = Vec::new();
        for t in 0..set.tables.len() {
            for _ in 0..200 {
                indexes.push(t as u16);
                values.push(sample(&set, t, &mut rng));
            }
            for v in [
                i32::MIN,
                i32::MAX,
                -1_000_000,
                5000,
                set.tables[t].offset - 1,
            ] {
                indexes.push(t as u16);
                values.push(v);
            }
        }
        let bytes = encode(&values, &indexes, &coding).unwrap();
        assert_eq!(decode(&bytes, &indexes, &coding).unwrap(), values);
    }

    #[test]
    fn empty_and_single_streams() {
        let (_, coding) = default_tables();
        let e = encode(&[], &[], &coding).unwrap();
        assert_eq!(decode(&e, &[], &coding).unwrap(), Vec::<i32>::new());
        for v in [0, 7, -123_456] {
            let b = encode(&[v], &[5], &coding).unwrap();
            assert_eq!(decode(&b, &[5], &coding).unwrap(), vec![v]);
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "a million symbols, too slow to interpret")]
    fn efficiency_within_half_a_percent_of_ideal() {
        let (set, coding) = default_tables();
        let mut rng = StdRng::seed_from_u64(2);
        let n = 1_000_000;
        let indexes: Vec<u16> = (0..n).map(|_| rng.random_range(0..40u16)).collect();
        let values: Vec<i32> = indexes
            .iter()
            .map(|&t| sample(&set, t as usize, &mut rng))
            .collect();
        let bytes = encode(&values, &indexes, &coding).unwrap();
        let ideal = ideal_bits(&values, &indexes, &coding);
        let actual = 8.0 * bytes.len() as f64;
        assert!(
            actual <= ideal * 1.005 && actual >= ideal * 0.999,
            "actual {actual} ideal {ideal}"
        );
    }

    #[test]
    fn off_by_one_index_is_rejected_or_garbled() {
        // The hazard of `ScaleQuantizer`: a decoder that picks another table for one element.
        let (set, coding) = default_tables();
        let q = ScaleQuantizer::from_tables(&set);
        let mut rng = StdRng::seed_from_u64(3);
        let sigmas: Vec<f32> = (0..5000).map(|_| rng.random_range(0.1..20.0f32)).collect();
        let indexes = q.indexes(&sigmas);
        let values: Vec<i32> = indexes
            .iter()
            .map(|&t| sample(&set, t as usize, &mut rng))
            .collect();
        let bytes = encode(&values, &indexes, &coding).unwrap();
        let mut wrong = indexes.clone();
        wrong[2500] += 1;
        match decode(&bytes, &wrong, &coding) {
            Err(_) => {}
            Ok(v) => assert_ne!(
                v, values,
                "a wrong table must not decode silently to the input"
            ),
        }
        assert_ne!(
            super::super::index_checksum(&wrong),
            super::super::index_checksum(&indexes)
        );
    }

    #[test]
    fn corrupt_input_never_panics() {
        let (set, coding) = default_tables();
        let mut rng = StdRng::seed_from_u64(4);
        let indexes: Vec<u16> = (0..300).map(|_| rng.random_range(0..64u16)).collect();
        let values: Vec<i32> = indexes
            .iter()
            .map(|&t| sample(&set, t as usize, &mut rng))
            .collect();
        let bytes = encode(&values, &indexes, &coding).unwrap();
        // Every cut and bit natively; a sample under Miri, which interprets each decode.
        let (step, junk_streams) = if cfg!(miri) { (13, 20) } else { (1, 200) };
        for cut in (0..bytes.len()).step_by(step) {
            let _ = decode(&bytes[..cut], &indexes, &coding);
        }
        for bit in (0..bytes.len() * 8).step_by(step) {
            let mut b = bytes.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            let _ = decode(&b, &indexes, &coding);
        }
        for _ in 0..junk_streams {
            let junk: Vec<u8> = (0..rng.random_range(0..64)).map(|_| rng.random()).collect();
            let _ = decode(&junk, &indexes, &coding);
        }
        assert!(decode(&bytes, &[64], &coding).is_err());
    }

    #[test]
    fn small_tables_are_valid() {
        let t = TableSet {
            tables: vec![Table::from_pmf(0.0, 0, &[1.0], 0.0)],
        };
        let c = CodingTables::new(&t).unwrap();
        let b = encode(&[0, 0, 3], &[0, 0, 0], &c).unwrap();
        assert_eq!(decode(&b, &[0, 0, 0], &c).unwrap(), vec![0, 0, 3]);
    }
}
