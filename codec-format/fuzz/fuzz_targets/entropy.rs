//! The entropy decoder alone: an arbitrary stream, decoded with arbitrary table indexes into
//! the embedded model's tables of y (and of z). An error or symbols, never a panic or a hang.
#![no_main]

use std::sync::OnceLock;

use ansel::entropy::{decode, CodingTables, TableSet};
use ansel::Package;
use libfuzzer_sys::fuzz_target;

static DEFAULT: &[u8] = include_bytes!("../../../assets/default.anselpkg");

/// The tables of y and of z.
fn tables() -> &'static [CodingTables; 2] {
    static TABLES: OnceLock<[CodingTables; 2]> = OnceLock::new();
    TABLES.get_or_init(|| {
        let package = Package::from_bytes(DEFAULT).unwrap();
        let network = &package.networks()[0];
        [&network.y_tables, &network.z_tables]
            .map(|bytes| CodingTables::new(&TableSet::from_bytes(bytes).unwrap()).unwrap())
    })
}

fuzz_target!(|data: &[u8]| {
    // First byte: which tables; next two: how many symbols; then an index a byte (wrapping
    // past the last table, which the decoder must refuse or take); the rest is the stream.
    let [which, n0, n1, rest @ ..] = data else {
        return;
    };
    let tables = &tables()[usize::from(*which & 1)];
    let count = usize::from(u16::from_le_bytes([*n0, *n1]) % 4096).min(rest.len());
    let (indexes, stream) = rest.split_at(count);
    let indexes: Vec<u16> = indexes.iter().map(|&i| u16::from(i) * 2).collect();
    if let Ok(symbols) = decode(stream, &indexes, tables) {
        assert_eq!(symbols.len(), indexes.len());
    }
});
