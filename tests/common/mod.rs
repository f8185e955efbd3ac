//! Helpers shared by the integration tests.
#![allow(dead_code)]

use image::RgbImage;

/// A deterministic image with some texture.
pub fn photo_like(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let v = |a: u32, b: u32| ((a * 7 + b * 3 + (a * b) % 23) % 256) as u8;
        image::Rgb([v(x, y), v(y, x), ((x + y) * 2 % 256) as u8])
    })
}

/// A 160×128 crop of `assets/sample.png`, a real photo.
pub fn photo() -> RgbImage {
    let full = image::open(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/sample.png"))
        .unwrap()
        .to_rgb8();
    image::imageops::crop_imm(&full, 220, 140, 160, 128).to_image()
}

/// Bits per pixel of `stream` for `image`.
pub fn bpp(stream: &[u8], image: &RgbImage) -> f64 {
    8.0 * stream.len() as f64 / (f64::from(image.width()) * f64::from(image.height()))
}
