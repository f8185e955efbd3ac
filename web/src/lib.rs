//! ansel in the browser: the codec built for `wasm32-unknown-unknown`, with the default model
//! embedded, behind a small JavaScript API made by wasm-bindgen.
//!
//! ```js
//! import init, { decode, encode, modelId } from "./pkg/ansel_web.js";
//! await init();
//! const stream = encode(imageData, 3.0);        // Uint8Array, an .ansel file
//! const decoded = decode(stream);               // width, height, quality, model, imageData
//! ```
//!
//! Errors (a corrupt stream, an image over the size limits, a quality out of range) are thrown
//! as JavaScript `Error`s carrying the library's message. The transforms run on the same host
//! kernels as the native build, so a stream decodes here to the pixels the CLI gives.

use std::cell::OnceCell;

use ansel::codec_format::{Container, MAGIC};
use ansel::{Codec, LIMITS};
use image::RgbImage;
use wasm_bindgen::prelude::*;
use web_sys::ImageData;

thread_local! {
    /// The codec of the embedded model, parsed on first use (about a tenth of a second).
    static CODEC: OnceCell<Codec> = const { OnceCell::new() };
}

/// Runs `f` with the embedded codec, loading it first if needed.
fn with_codec<R>(f: impl FnOnce(&Codec) -> Result<R, ansel::Error>) -> Result<R, ansel::Error> {
    CODEC.with(|cell| {
        if cell.get().is_none() {
            let _ = cell.set(Codec::embedded()?);
        }
        f(cell.get().expect("loaded above"))
    })
}

/// Reports Rust panics on the console with their message (a panic is a bug: every bad input
/// is an `Error`).
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// Loads the embedded model now rather than at the first encode or decode.
#[wasm_bindgen]
pub fn load() -> Result<(), JsError> {
    Ok(with_codec(|_| Ok(()))?)
}

/// The embedded model's identity, as streams record it: `arch <n>, hash <32 hex digits>`.
#[wasm_bindgen(js_name = modelId)]
pub fn model_id() -> Result<String, JsError> {
    Ok(with_codec(|codec| Ok(codec.id().to_string()))?)
}

/// Whether `bytes` start like an `.ansel` file.
#[wasm_bindgen(js_name = isAnsel)]
pub fn is_ansel(bytes: &[u8]) -> bool {
    bytes.starts_with(&MAGIC)
}

/// Throws if an image of `width × height` pixels is over the codec's limits (16,384 pixels a
/// side, 40 million in all), so a page can refuse it before reading its pixels.
#[wasm_bindgen(js_name = checkDimensions)]
pub fn check_dimensions(width: u32, height: u32) -> Result<(), JsError> {
    Ok(ansel::check_dimensions(width, height)?)
}

/// A decoded `.ansel` stream: its pixels and what its header says.
#[wasm_bindgen]
pub struct Decoded {
    image: ImageData,
    quality: f32,
    model: String,
}

#[wasm_bindgen]
impl Decoded {
    /// The pixels, opaque RGBA.
    #[wasm_bindgen(getter, js_name = imageData)]
    pub fn image_data(&self) -> ImageData {
        self.image.clone()
    }

    /// Width in pixels.
    #[wasm_bindgen(getter)]
    pub fn width(&self) -> u32 {
        self.image.width()
    }

    /// Height in pixels.
    #[wasm_bindgen(getter)]
    pub fn height(&self) -> u32 {
        self.image.height()
    }

    /// The quality the stream was coded at (1 to 8).
    #[wasm_bindgen(getter)]
    pub fn quality(&self) -> f32 {
        self.quality
    }

    /// The model the stream was made with (`arch <n>, hash <hex>`).
    #[wasm_bindgen(getter)]
    pub fn model(&self) -> String {
        self.model.clone()
    }
}

/// Decodes an `.ansel` stream made with the embedded model.
#[wasm_bindgen]
pub fn decode(bytes: &[u8]) -> Result<Decoded, JsError> {
    let (rgba, header) = decode_rgba(bytes)?;
    // Copied out of the module's memory: an ImageData made on a view of it would change
    // with the next call and could not be transferred to another thread.
    let data = js_sys::Uint8ClampedArray::new_with_length(rgba.len() as u32);
    data.copy_from(&rgba);
    let image = ImageData::new_with_js_u8_clamped_array_and_sh(&data, header.width, header.height)
        .map_err(|e| JsError::new(&format!("cannot make the decoded ImageData: {e:?}")))?;
    Ok(Decoded {
        image,
        quality: header.quality,
        model: header.model.to_string(),
    })
}

/// Encodes an image at `quality` (1 to 8, fractions allowed) into an `.ansel` stream. Alpha is
/// dropped, as the command line does with an RGBA file.
#[wasm_bindgen]
pub fn encode(image: &ImageData, quality: f32) -> Result<Vec<u8>, JsError> {
    let (width, height) = (image.width(), image.height());
    ansel::check_dimensions(width, height)?;
    Ok(encode_rgba(&image.data(), width, height, quality)?)
}

/// The stream's header and its pixels as opaque RGBA.
fn decode_rgba(bytes: &[u8]) -> Result<(Vec<u8>, ansel::codec_format::Header), ansel::Error> {
    let header = Container::inspect(bytes, &LIMITS)?.header;
    let rgb = with_codec(|codec| codec.decode(bytes))?;
    Ok((rgb_to_rgba(&rgb), header))
}

/// The stream of `width × height` RGBA pixels at `quality`.
fn encode_rgba(
    rgba: &[u8],
    width: u32,
    height: u32,
    quality: f32,
) -> Result<Vec<u8>, ansel::Error> {
    ansel::check_dimensions(width, height)?;
    let rgb = rgba_to_rgb(rgba, width, height).ok_or(ansel::Error::Corrupt(
        "the pixel buffer does not hold width × height RGBA pixels",
    ))?;
    with_codec(|codec| Ok(codec.encode(&rgb, quality)?.bytes))
}

/// RGB samples with an opaque alpha after each pixel.
fn rgb_to_rgba(rgb: &RgbImage) -> Vec<u8> {
    rgb.pixels()
        .flat_map(|p| [p[0], p[1], p[2], u8::MAX])
        .collect()
}

/// The RGB samples of an RGBA buffer, alpha dropped; `None` if its length is not
/// `4 · width · height`.
fn rgba_to_rgb(rgba: &[u8], width: u32, height: u32) -> Option<RgbImage> {
    if rgba.len() as u64 != 4 * u64::from(width) * u64::from(height) {
        return None;
    }
    let rgb = rgba
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    RgbImage::from_raw(width, height, rgb)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picture(width: u32, height: u32) -> Vec<u8> {
        (0..width * height)
            .flat_map(|i| {
                let (x, y) = (i % width, i / width);
                [(x * 7) as u8, (y * 5) as u8, ((x + y) * 3) as u8, 200]
            })
            .collect()
    }

    /// What the page does, natively: RGBA in, a stream out, the same pixels as the library's
    /// own decode of that stream back, with the quality and model in the header.
    #[test]
    fn rgba_round_trip_matches_the_library() {
        let rgba = picture(37, 21);
        let stream = encode_rgba(&rgba, 37, 21, 3.5).unwrap();
        assert!(is_ansel(&stream));
        let (decoded, header) = decode_rgba(&stream).unwrap();
        let codec = Codec::embedded().unwrap();
        let reference = codec.decode(&stream).unwrap();
        assert_eq!(decoded, rgb_to_rgba(&reference));
        assert_eq!((header.width, header.height, header.quality), (37, 21, 3.5));
        assert_eq!(header.model, codec.id());
        assert!(decoded.chunks_exact(4).all(|p| p[3] == u8::MAX));
        // Alpha is dropped: the stream is the one of the RGB samples.
        let rgb = rgba_to_rgb(&rgba, 37, 21).unwrap();
        assert_eq!(stream, codec.encode(&rgb, 3.5).unwrap().bytes);
    }

    /// Bad input is an error with a message, never a panic.
    #[test]
    fn bad_input_is_an_error() {
        let rgba = picture(8, 8);
        assert!(encode_rgba(&rgba, 8, 9, 3.0).is_err());
        assert!(encode_rgba(&rgba, 8, 8, 9.0)
            .unwrap_err()
            .to_string()
            .contains("quality"));
        assert!(encode_rgba(&[], 16_385, 0, 3.0).is_err());
        let stream = encode_rgba(&rgba, 8, 8, 3.0).unwrap();
        for cut in [0, 7, stream.len() / 2, stream.len() - 1] {
            assert!(!decode_rgba(&stream[..cut])
                .unwrap_err()
                .to_string()
                .is_empty());
        }
        assert!(!is_ansel(b"\x89PNG\r\n\x1a\n"));
    }
}
