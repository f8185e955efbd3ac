//! Entropy-coder throughput on latent-like data: `cargo bench --bench entropy`.
//!
//! Symbols follow the tables they are coded with (scale indexes skewed to small scales, as in
//! real latents), so the measured speed is what the codec sees.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use ansel::entropy::{decode, encode, gaussian_tables, scale_ladder, CodingTables, PRECISION};

fn latent_like(n: usize) -> (Vec<i32>, Vec<u16>, CodingTables) {
    let set = gaussian_tables(&scale_ladder());
    let coding = CodingTables::new(&set).expect("valid tables");
    let mut rng = StdRng::seed_from_u64(7);
    // Scales log-uniform in [0.11, 20]: indexes 0..=81 of the 128-step ladder.
    let indexes: Vec<u16> = (0..n).map(|_| rng.random_range(0..=81u16)).collect();
    let values = indexes
        .iter()
        .map(|&t| {
            let table = &set.tables[t as usize];
            let mut r = rng.random_range(0..1u32 << PRECISION);
            for (s, &f) in table.freqs.iter().enumerate() {
                if r < f {
                    return table.offset + s.min(table.len() - 1) as i32;
                }
                r -= f;
            }
            0
        })
        .collect();
    (values, indexes, coding)
}

fn bench(c: &mut Criterion) {
    let n = 1_000_000;
    let (values, indexes, coding) = latent_like(n);
    let bytes = encode(&values, &indexes, &coding).expect("encodes");
    let mut g = c.benchmark_group("entropy");
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("encode", |b| {
        b.iter(|| encode(&values, &indexes, &coding).expect("encodes"))
    });
    g.bench_function("decode", |b| {
        b.iter_batched(
            || (),
            |_| decode(&bytes, &indexes, &coding).expect("decodes"),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
