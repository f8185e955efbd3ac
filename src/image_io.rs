//! Input images: the image files of a directory, and any colour type → 8-bit RGB, saying what
//! the conversion lost.

use std::path::{Path, PathBuf};

use image::{DynamicImage, RgbImage};

/// File extensions (lower case) [`list_images`] takes for images.
pub const IMAGE_EXTENSIONS: [&str; 8] = ["png", "jpg", "jpeg", "ppm", "bmp", "tif", "tiff", "webp"];

/// The image files of `dir` (by extension, any case), in name order.
pub fn list_images(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let is_image = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
        if is_image && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
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

/// What converting an image of `color` to 8-bit RGB loses, as warnings for the user: the
/// alpha channel, and samples deeper than 8 bits.
pub fn conversion_warnings(color: image::ColorType) -> Vec<String> {
    let mut warnings = Vec::new();
    if color.has_alpha() {
        warnings.push(
            "alpha channel dropped (the codec stores no transparency; \
             transparent pixels keep their stored colour)"
                .to_string(),
        );
    }
    let bits = u32::from(color.bits_per_pixel()) / u32::from(color.channel_count());
    if bits > 8 {
        let kind = if matches!(color, image::ColorType::Rgb32F | image::ColorType::Rgba32F) {
            "32-bit float"
        } else {
            "16-bit"
        };
        warnings.push(format!("{kind} samples rounded to 8 bits"));
    }
    warnings
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
    fn grey_and_alpha_are_reported() {
        let g = DynamicImage::ImageLuma8(image::GrayImage::new(2, 2));
        assert_eq!(to_rgb8(g).1, Conversion::FromGrey);
        let a = DynamicImage::ImageRgba8(image::RgbaImage::new(2, 2));
        assert_eq!(to_rgb8(a).1, Conversion::DroppedAlpha);
    }
}
