//! The latent coder: what encoder and decoder compute alike, on the host, to code the
//! hyper-latent z and the latent y.
//!
//! z: symbols = round(z − median), coded with one table per channel. y: ẑ = symbols + median →
//! `h_s(ẑ·hgain⁻¹)` = (μ, σ) → table index per element = `scale_index(σ)` → symbols =
//! round(y − μ). A model with a checkerboard context codes y in two passes into the one y
//! stream: the anchors (latent positions whose row + column is even, all channels, in tensor
//! order) with (μ, σ) from `h_s(ẑ)` and the context model, then the other elements, in tensor
//! order, with (μ, σ) that also depend on the decoded anchors. The stream carries a checksum of
//! the table indexes in this coding order.
//!
//! Both directions derive (μ, σ) and the table indexes through [`LatentCoder::side_information`]
//! and [`LatentCoder::code_latent`], from the decoded ẑ and symbols, never from the encoder's
//! float z or y, in arithmetic that is the same on every machine ([`crate::portable`]).

use crate::architecture::is_anchor;
use crate::entropy::{self, CodingTables, ScaleQuantizer, TableSet};
use crate::package::{PackageError, PackageNetwork};
use crate::portable::{self, Map};
use crate::Error;

/// Tables and quantisation offsets of one model.
#[derive(Debug, Clone)]
pub(crate) struct LatentCoder {
    pub z_tables: CodingTables,
    pub y_tables: CodingTables,
    pub scales: ScaleQuantizer,
    pub z_medians: Vec<f32>,
}

/// The side information both directions derive from ẑ: the hyperprior's prediction and the
/// first pass's means and table indexes (of every element; the first pass codes the anchors
/// of a context model, every element of other models).
pub(crate) struct SideInfo {
    /// h_s(ẑ), `[scales | means]`.
    pub raw: Map,
    means: Vec<f32>,
    indexes: Vec<u16>,
}

/// The latent as both directions know it once every pass is coded.
pub(crate) struct CodedLatent {
    /// ŷ = symbol + μ of every element, in tensor order.
    pub values: Vec<f32>,
    /// Symbols in coding order (the order of the y stream).
    pub symbols: Vec<i32>,
    /// Table indexes in coding order.
    pub indexes: Vec<u16>,
}

impl LatentCoder {
    /// The tables of a package's network, checked against its shape.
    pub fn new(package: &PackageNetwork) -> Result<Self, PackageError> {
        let z_set = TableSet::from_bytes(&package.z_tables).map_err(PackageError::Tables)?;
        let y_set = TableSet::from_bytes(&package.y_tables).map_err(PackageError::Tables)?;
        let n = package.metadata.network.n;
        if z_set.tables.len() != n || y_set.tables.is_empty() {
            return Err(PackageError::TableCount {
                z: z_set.tables.len(),
                n,
                y: y_set.tables.len(),
            });
        }
        Ok(Self {
            z_tables: CodingTables::new(&z_set).map_err(PackageError::Tables)?,
            y_tables: CodingTables::new(&y_set).map_err(PackageError::Tables)?,
            scales: ScaleQuantizer::from_tables(&y_set),
            z_medians: z_set.tables.iter().map(|t| t.key).collect(),
        })
    }

    #[cfg(feature = "encode")]
    /// The symbols of the hyper-latent `z` (channels-first, `plane` elements a channel).
    pub fn z_symbols(&self, z: &[f32], plane: usize) -> Vec<i32> {
        z.iter()
            .enumerate()
            .map(|(i, &v)| (v - self.z_medians[i / plane]).round() as i32)
            .collect()
    }

    #[cfg(feature = "encode")]
    /// The z stream of `symbols` of a `[n, h, w]` hyper-latent.
    pub fn encode_z(&self, symbols: &[i32], [n, h, w]: [usize; 3]) -> Result<Vec<u8>, Error> {
        let indexes = entropy::channel_indexes(n, h * w);
        Ok(entropy::encode(symbols, &indexes, &self.z_tables)?)
    }

    /// The symbols of a `[n, h, w]` hyper-latent from its stream.
    pub fn decode_z(&self, stream: &[u8], [n, h, w]: [usize; 3]) -> Result<Vec<i32>, Error> {
        let indexes = entropy::channel_indexes(n, h * w);
        Ok(entropy::decode(stream, &indexes, &self.z_tables)?)
    }

    /// ẑ from the z symbols, then the hyperprior's prediction h_s(ẑ), and from it (μ, σ) and
    /// the table index of every y element for the first pass.
    pub fn side_information(
        &self,
        model: &portable::Model,
        z_symbols: &[i32],
        [n, zh, zw]: [usize; 3],
        quality: f32,
    ) -> SideInfo {
        let plane = zh * zw;
        let z_hat: Vec<f32> = z_symbols
            .iter()
            .enumerate()
            .map(|(i, &s)| s as f32 + self.z_medians[i / plane])
            .collect();
        let raw = model
            .hyper
            .forward(&z_hat, [n, zh, zw], &model.hyper_gain_inv(quality));
        let first = model.context.as_ref().map(|c| c.anchors(&raw));
        let (means, scales) = portable::split_params(first.as_ref().unwrap_or(&raw));
        SideInfo {
            raw,
            means,
            indexes: self.scales.indexes(&scales),
        }
    }

    #[cfg(feature = "encode")]
    /// The encoder's side of [`LatentCoder::code_latent`]: the symbols of its latent `y`
    /// (channels-first `[m, h, w]`) are `round(y − μ)`.
    pub fn quantise_latent(
        &self,
        model: &portable::Model,
        side: SideInfo,
        shape: [usize; 3],
        y: &[f32],
    ) -> Result<CodedLatent, Error> {
        self.code_latent(model, side, shape, |positions, means, _| {
            Ok(positions
                .iter()
                .map(|&p| (y[p] - means[p]).round() as i32)
                .collect())
        })
    }

    /// Codes the latent `[m, h, w]` pass by pass: for each pass, `symbols(positions, means,
    /// indexes)` gives the symbols of the elements at `positions` (tensor order), whose means
    /// are `means[p]` (every element's, indexed by position) and whose tables are `indexes`
    /// (this pass's, in coding order). The encoder rounds its latent, the decoder reads the
    /// stream. Without a context model there is one pass over every element; with one, two:
    /// the anchors, then the rest, whose (μ, σ) depend on the anchors decoded in the first.
    pub fn code_latent(
        &self,
        model: &portable::Model,
        side: SideInfo,
        [m, h, w]: [usize; 3],
        mut symbols: impl FnMut(&[usize], &[f32], &[u16]) -> Result<Vec<i32>, Error>,
    ) -> Result<CodedLatent, Error> {
        let all = m * h * w;
        let passes: Vec<Vec<usize>> = if model.context.is_some() {
            let (anchors, rest) = (0..all).partition(|&p| is_anchor(p / w % h, p % w));
            vec![anchors, rest]
        } else {
            vec![(0..all).collect()]
        };
        let mut latent = CodedLatent {
            values: vec![0.0; all],
            symbols: Vec::with_capacity(all),
            indexes: Vec::with_capacity(all),
        };
        let (mut means, mut indexes) = (side.means, side.indexes);
        for (pass, positions) in passes.iter().enumerate() {
            if let (true, Some(context)) = (pass > 0, &model.context) {
                // `values` holds the decoded anchors and zeros elsewhere.
                let (mu, sigma) = portable::split_params(&context.rest(&side.raw, &latent.values));
                means = mu;
                indexes = self.scales.indexes(&sigma);
            }
            let pass_indexes: Vec<u16> = positions.iter().map(|&p| indexes[p]).collect();
            let pass_symbols = symbols(positions, &means, &pass_indexes)?;
            if pass_symbols.len() != positions.len() {
                return Err(Error::Corrupt("latent pass of the wrong length"));
            }
            for (&p, &s) in positions.iter().zip(&pass_symbols) {
                latent.values[p] = s as f32 + means[p];
            }
            latent.symbols.extend(pass_symbols);
            latent.indexes.extend(pass_indexes);
        }
        Ok(latent)
    }
}
