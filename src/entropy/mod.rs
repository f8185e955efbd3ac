//! Entropy coding: integer probability tables and ANS streams (with the `constriction` crate).
//!
//! Everything here works on plain integers and slices, never on tensors:
//! * [`tables`]: integer probability tables (`Table`, `TableSet`), built once at model export
//!   from float pmfs, stored in the model package, hashed. The decoder never rebuilds them.
//! * [`gaussian`]: the conditional of the latent y: one table per scale of a fixed scale ladder,
//!   and [`ScaleQuantizer`], which picks the table of each element (the one computation
//!   encoder and decoder must agree on bit for bit).
//! * [`factorized`]: tables of the hyper-latent z, one per channel, from the learned density.
//! * [`coder`]: symbol arrays ↔ bytes, with an escape so that any `i32` survives.

pub mod coder;
pub mod factorized;
pub mod gaussian;
pub mod tables;

pub use coder::{decode, encode, ideal_bits, CodingTables, Decoder};
pub use factorized::{channel_indexes, factorized_tables};
pub use gaussian::{
    compressai_scale_table, gaussian_tables, gaussian_tables_at_keys, index_checksum, scale_ladder,
    ScaleQuantizer,
};
pub use tables::{Table, TableSet, PRECISION};

use thiserror::Error;

/// Errors of table loading and stream decoding.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum EntropyError {
    /// A serialized table set is malformed.
    #[error("malformed entropy table set: {0}")]
    BadTables(String),
    /// An element names a table that does not exist.
    #[error("table index {index} out of range ({count} tables)")]
    BadIndex {
        /// Offending index.
        index: usize,
        /// Number of tables.
        count: usize,
    },
    /// A coded stream is malformed, truncated or has trailing data.
    #[error("corrupt entropy-coded stream: {0}")]
    Corrupt(&'static str),
}
