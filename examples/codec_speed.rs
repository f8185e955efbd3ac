//! Encode and decode times of ansel per image, in process (no model load, no file I/O): one
//! JSON line per image, `{"image", "encode_ms", "decode_ms", "bytes"}`, each time the median
//! of `--repeat` runs after one untimed run. Used by `benches/codec_speed/run.sh`.
//!
//! `cargo run --release --example codec_speed --features formats -- [--quality Q] [--repeat R]
//! [--model PACKAGE] IMAGE...`

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut quality = 3.0f32;
    let mut repeat = 3usize;
    let mut model = None;
    let mut images = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--quality" => quality = value()?.parse()?,
            "--repeat" => repeat = value()?.parse()?,
            "--model" => model = Some(value()?),
            _ => images.push(arg),
        }
    }
    if images.is_empty() || repeat == 0 {
        return Err(
            "usage: codec_speed [--quality Q] [--repeat R] [--model PACKAGE] IMAGE...".into(),
        );
    }
    let codec = match model {
        Some(path) => {
            ansel::Codec::from_package(&ansel::Package::from_bytes(&std::fs::read(path)?)?)?
        }
        None => ansel::Codec::embedded()?,
    };
    for path in &images {
        let image = image::open(path)?.to_rgb8();
        let mut stream = codec.encode(&image, quality)?.bytes;
        codec.decode(&stream)?;
        let (mut encode, mut decode) = (Vec::new(), Vec::new());
        for _ in 0..repeat {
            let start = Instant::now();
            stream = codec.encode(&image, quality)?.bytes;
            encode.push(start.elapsed().as_secs_f64() * 1e3);
            let start = Instant::now();
            std::hint::black_box(codec.decode(&stream)?);
            decode.push(start.elapsed().as_secs_f64() * 1e3);
        }
        println!(
            "{{\"image\": {:?}, \"encode_ms\": {:.2}, \"decode_ms\": {:.2}, \"bytes\": {}}}",
            path,
            median(&mut encode),
            median(&mut decode),
            stream.len()
        );
    }
    Ok(())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}
