//! The codec stage by stage, with the embedded model, for kernel work:
//! `cargo bench --bench stages --features bench,formats`.
//!
//! The image is `ANSEL_BENCH_IMAGE` (a Kodak image gives the figures the side-by-side script
//! compares, `benches/codec_speed/`), else `assets/sample.png`; the quality is
//! `ANSEL_BENCH_QUALITY`, else 3. Each stage runs alone on the inputs a whole encode gave it:
//! `g_a`, `h_a`, `h_s` with the choice of tables, the latent's entropy coding both ways, and
//! `g_s` with the conversion to pixels.

use std::hint::black_box;

use ansel::stages::Stages;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn bench(c: &mut Criterion) {
    let path = std::env::var("ANSEL_BENCH_IMAGE")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/assets/sample.png").into());
    let quality: f32 = std::env::var("ANSEL_BENCH_QUALITY")
        .map(|q| q.parse().expect("ANSEL_BENCH_QUALITY is a number"))
        .unwrap_or(3.0);
    let image = image::open(&path).expect("the bench image").to_rgb8();
    let stages = Stages::new(ansel::Codec::embedded().expect("embedded model"));
    let p = stages.prepare(&image, quality).expect("encodes");
    let (w, h) = image.dimensions();
    let mut group = c.benchmark_group(format!("stages {w}x{h} q{quality}"));
    group.sample_size(10);
    group.throughput(Throughput::Elements(u64::from(w * h)));
    group.bench_function("g_a", |b| b.iter(|| black_box(stages.g_a(&p))));
    group.bench_function("h_a", |b| b.iter(|| black_box(stages.h_a(&p))));
    group.bench_function("h_s", |b| b.iter(|| black_box(stages.h_s(&p))));
    group.throughput(Throughput::Bytes(p.latent_bytes() as u64));
    group.bench_function("entropy encode", |b| {
        b.iter(|| black_box(stages.entropy_encode(&p).expect("codes")))
    });
    group.bench_function("entropy decode", |b| {
        b.iter(|| black_box(stages.entropy_decode(&p).expect("decodes")))
    });
    group.throughput(Throughput::Elements(u64::from(w * h)));
    group.bench_function("g_s", |b| b.iter(|| black_box(stages.g_s(&p))));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
