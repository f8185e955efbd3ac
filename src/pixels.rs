//! RGB8 pixels ↔ the network's padded float planes.
//!
//! The network downsamples by 64, so images are padded to a multiple of 64 by replicating the
//! edge pixels (kinder to the rate than zeros: the padding is flat and costs almost nothing)
//! and cropped back after decoding. The original size travels in the stream header.

use image::RgbImage;

use crate::architecture::DOWNSAMPLING;

/// `n` rounded up to a multiple of the network's downsampling factor (at least one block).
pub fn padded_len(n: u32) -> u32 {
    let d = DOWNSAMPLING as u32;
    n.div_ceil(d).max(1) * d
}

/// Planar `[3, H', W']` floats in `[0, 1]` of `img` padded by edge replication to
/// `(padded_len(h), padded_len(w))`.
#[cfg(feature = "burn")]
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

/// `img` padded by edge replication to `(padded_len(h), padded_len(w))`, channels-last, in
/// `[0, 1]`: the values of [`to_padded_planes`] in the host kernels' layout.
#[cfg(feature = "encode")]
pub fn to_padded_map(img: &RgbImage) -> crate::portable::Map {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let (pw, ph) = (
        padded_len(img.width()) as usize,
        padded_len(img.height()) as usize,
    );
    let raw = img.as_raw();
    let mut data = Vec::with_capacity(ph * pw * 3);
    for y in 0..ph {
        let row = &raw[y.min(h - 1) * w * 3..][..w * 3];
        for x in 0..pw {
            let p = &row[x.min(w - 1) * 3..][..3];
            data.extend(p.iter().map(|&v| v as f32 / 255.0));
        }
    }
    crate::portable::Map {
        h: ph,
        w: pw,
        c: 3,
        data,
    }
}

/// Writes decoded rows into `img`: `rows` holds RGB floats channels-last, `pw` pixels a row
/// (the padded width), starting at image row `first_row`. Clamped to `[0, 1]` and rounded half
/// away from zero; the padding (columns past the width, rows past the height) is dropped.
pub fn put_rows(img: &mut RgbImage, first_row: usize, rows: &[f32], pw: usize) {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let to_u8 = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    for (i, row) in rows.chunks_exact(3 * pw).enumerate() {
        let y = first_row + i;
        if y >= h {
            break;
        }
        let raw: &mut [u8] = img;
        let out = &mut raw[y * w * 3..][..w * 3];
        for (o, &v) in out.iter_mut().zip(&row[..w * 3]) {
            *o = to_u8(v);
        }
    }
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

    #[cfg(feature = "burn")]
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
            // Back channels-last, written in two pieces of rows.
            let last = crate::portable::Map::from_planar(&planes, [3, ph, pw]).data;
            let mut back = RgbImage::new(w, h);
            let split = (h as usize / 2).max(1);
            put_rows(&mut back, 0, &last[..split * pw * 3], pw);
            put_rows(&mut back, split, &last[split * pw * 3..], pw);
            assert_eq!(back, img);
        }
    }
}
