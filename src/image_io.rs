//! Glue between the `image` crate and the network: RGB8 pixels ↔ padded planar floats.
//!
//! The network downsamples by 64, so images are padded to a multiple of 64 by replicating the
//! edge pixels (kinder to the rate than zeros: the padding is flat and costs almost nothing)
//! and cropped back after decoding. The original size travels in the stream header.

use image::{DynamicImage, RgbImage};

use crate::model::DOWNSAMPLING;

/// `n` rounded up to a multiple of the network's downsampling factor (at least one block).
pub fn padded_len(n: u32) -> u32 {
    let d = DOWNSAMPLING as u32;
    n.div_ceil(d).max(1) * d
}

/// Planar `[3, H', W']` floats in `[0, 1]` of `img` padded by edge replication to
/// `(padded_len(h), padded_len(w))`.
pub fn to_padded_planes(img: &RgbImage) -> (Vec<f32>, usize, usize) {
    let (w, h) = img.dimensions();
    let (pw, ph) = (padded_len(w) as usize, padded_len(h) as usize);
    let plane = pw * ph;
    let mut out = vec![0f32; 3 * plane];
    let raw = img.as_raw();
    for y in 0..ph {
        let sy = y.min(h as usize - 1);
        for x in 0..pw {
            let sx = x.min(w as usize - 1);
            let i = (sy * w as usize + sx) * 3;
            for c in 0..3 {
                out[c * plane + y * pw + x] = raw[i + c] as f32 / 255.0;
            }
        }
    }
    (out, ph, pw)
}

/// Crops planar `[3, ph, pw]` floats back to `width × height` RGB8 (clamped to `[0, 1]`,
/// rounded half away from zero).
pub fn from_planes(planes: &[f32], ph: usize, pw: usize, width: u32, height: u32) -> RgbImage {
    let plane = ph * pw;
    debug_assert_eq!(planes.len(), 3 * plane);
    RgbImage::from_fn(width, height, |x, y| {
        let i = y as usize * pw + x as usize;
        let px = |c: usize| (planes[c * plane + i].clamp(0.0, 1.0) * 255.0).round() as u8;
        image::Rgb([px(0), px(1), px(2)])
    })
}

/// How an input image was converted to 8-bit RGB, for warnings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conversion {
    /// Already 8-bit RGB.
    None,
    /// Greyscale replicated to three channels (lossless).
    FromGrey,
    /// An alpha channel was dropped (the codec stores no transparency).
    DroppedAlpha,
    /// Samples deeper than 8 bits were rounded to 8 bits.
    ReducedDepth,
}

/// Converts any decoded image to 8-bit RGB, saying what was lost.
pub fn to_rgb8(img: DynamicImage) -> (RgbImage, Conversion) {
    use image::ColorType::*;
    let conv = match img.color() {
        Rgb8 => Conversion::None,
        L8 => Conversion::FromGrey,
        La8 | Rgba8 | La16 | Rgba16 | Rgba32F => Conversion::DroppedAlpha,
        _ => Conversion::ReducedDepth,
    };
    (img.into_rgb8(), conv)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_rounds_up_to_blocks() {
        assert_eq!(padded_len(1), 64);
        assert_eq!(padded_len(64), 64);
        assert_eq!(padded_len(65), 128);
        assert_eq!(padded_len(767), 768);
    }

    #[test]
    fn pad_then_crop_is_lossless_for_awkward_sizes() {
        for (w, h) in [(1, 1), (65, 33), (513, 767), (1, 100)] {
            let img = RgbImage::from_fn(w, h, |x, y| {
                image::Rgb([x as u8, y as u8, (x * 7 + y) as u8])
            });
            let (planes, ph, pw) = to_padded_planes(&img);
            assert_eq!((ph, pw), (padded_len(h) as usize, padded_len(w) as usize));
            // Edge replication: the padded corner equals the last real pixel.
            let last = img.get_pixel(w - 1, h - 1).0[0] as f32 / 255.0;
            assert_eq!(planes[ph * pw - 1], last);
            assert_eq!(from_planes(&planes, ph, pw, w, h), img);
        }
    }

    #[test]
    fn grey_and_alpha_are_reported() {
        let g = DynamicImage::ImageLuma8(image::GrayImage::new(2, 2));
        assert_eq!(to_rgb8(g).1, Conversion::FromGrey);
        let a = DynamicImage::ImageRgba8(image::RgbaImage::new(2, 2));
        assert_eq!(to_rgb8(a).1, Conversion::DroppedAlpha);
    }
}
