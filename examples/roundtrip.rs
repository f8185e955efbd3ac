//! Compresses an image with the embedded model, decompresses it, and says what it cost.
//!
//! ```sh
//! cargo run --example roundtrip -- photo.png [QUALITY]
//! ```
//!
//! Writes `roundtrip.ansel` and `roundtrip.png` into the current directory.

use std::process::ExitCode;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("roundtrip: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let input = args.next().ok_or("usage: roundtrip IMAGE [QUALITY]")?;
    let quality: f32 = match args.next() {
        Some(q) => q.parse().map_err(|_| format!("`{q}` is not a number"))?,
        None => 4.0,
    };

    // Load the model once; it encodes and decodes any number of images.
    let codec = ansel::Codec::embedded()?;
    let image = image::open(&input)
        .map_err(|e| format!("{input}: {e}"))?
        .to_rgb8();

    // Encode to bytes (`ansel::EncodeOptions` also aims at a size or refines the latent).
    let stream = codec.encode(&image, quality)?.bytes;
    std::fs::write("roundtrip.ansel", &stream)?;

    // Decode from bytes (or from any `Read` with `codec.decoder().decode_from`).
    let decoded = codec.decode(&stream)?;
    decoded.save("roundtrip.png")?;

    let (w, h) = image.dimensions();
    let bpp = 8.0 * stream.len() as f64 / (w as f64 * h as f64);
    let mse = image
        .as_raw()
        .iter()
        .zip(decoded.as_raw())
        .map(|(&a, &b)| (a as f64 - b as f64).powi(2))
        .sum::<f64>()
        / image.as_raw().len() as f64;
    let psnr = 10.0 * (255.0 * 255.0 / mse.max(1e-10)).log10();
    println!(
        "{input}: {w}×{h} at quality {quality} → {} bytes ({bpp:.3} bpp), PSNR {psnr:.2} dB",
        stream.len()
    );

    // With the hook registered, any code using the `image` crate opens .ansel files.
    ansel::register_image_hook();
    let reopened = image::open("roundtrip.ansel")?.to_rgb8();
    assert_eq!(reopened, decoded);
    println!("wrote roundtrip.ansel and roundtrip.png");
    Ok(())
}
