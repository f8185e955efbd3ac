//! Whole-codec speed with the embedded model on a Kodak-sized (768×512) image:
//! `cargo bench --bench codec`. Encode and decode include the network on the CPU backend,
//! entropy coding and the container; image file I/O is not included. `encode q6 refine 10`
//! is the slow encoder of `--refine 10` (see `docs/refine.md`).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use image::RgbImage;

/// A photo-like test image: smooth gradients with some texture, so the latents are not empty.
fn photo_like(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let fx = x as f32 / w as f32;
        let fy = y as f32 / h as f32;
        let tex = ((x * 13 + y * 7) % 17) as f32;
        image::Rgb([
            (200.0 * fx + tex) as u8,
            (180.0 * fy + tex) as u8,
            (120.0 * (1.0 - fx * fy) + tex) as u8,
        ])
    })
}

fn bench(c: &mut Criterion) {
    let codec = ansel::Codec::embedded().expect("embedded model");
    let image = photo_like(768, 512);
    let mut group = c.benchmark_group("codec 768x512");
    group.sample_size(10);
    group.throughput(Throughput::Elements(768 * 512));
    for q in [2.0f32, 6.0] {
        let stream = codec.encode(&image, q).expect("encodes").bytes;
        group.bench_function(format!("encode q{q}"), |b| {
            b.iter(|| codec.encode(&image, q).expect("encodes").bytes)
        });
        group.bench_function(format!("decode q{q}"), |b| {
            b.iter(|| codec.decode(&stream).expect("decodes"))
        });
    }
    let refine = ansel::Refinement::steps(10);
    group.bench_function("encode q6 refine 10", |b| {
        b.iter(|| {
            codec
                .encode(&image, ansel::EncodeOptions::quality(6.0).refine(refine))
                .expect("encodes")
                .bytes
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
