//! Tables of the hyper-latent z: one per channel, frozen from the learned factorized density
//! at export. Elements are coded as `round(z − median)` with their channel's table.

use super::tables::{Table, TableSet};

/// One table per channel from `(median, lowest offset, pmf of offsets lo, lo+1, …)`.
/// The mass the pmf misses goes to the escape symbol.
pub fn factorized_tables<'a>(
    channels: impl IntoIterator<Item = (f32, i32, &'a [f64])>,
) -> TableSet {
    let tables = channels
        .into_iter()
        .map(|(median, lo, pmf)| {
            let tail = (1.0 - pmf.iter().sum::<f64>()).max(0.0);
            Table::from_pmf(median, lo, pmf, tail)
        })
        .collect();
    TableSet { tables }
}

/// Table index of every element of a `[channels, plane]` array: its channel.
pub fn channel_indexes(channels: usize, plane: usize) -> Vec<u16> {
    (0..channels)
        .flat_map(|c| std::iter::repeat_n(c as u16, plane))
        .collect()
}
