//! `.ansel` files through the `image` crate: [`register_image_hook`].

use std::io::Read;
use std::sync::OnceLock;

use codec_format::{Container, MAGIC};
use image::error::{DecodingError, ImageFormatHint};
use image::{ColorType, ImageDecoder, ImageError, ImageResult};

use crate::codec::{Codec, LIMITS};
use crate::Error;

/// Teaches the `image` crate to read `.ansel` files with the embedded default model, so that
/// `image::open("photo.ansel")`, `image::ImageReader` and `image::load_from_memory` decode them
/// in any program that links ansel.
///
/// It registers a decoding hook for the extension `ansel` (any case) and a format detection
/// hook for the `.ansel` magic number (so content sniffing finds it whatever the file is
/// called). The image decodes as 8-bit RGB. A stream made with another model fails with an
/// [`image::ImageError::Decoding`] whose source is [`Error::WrongModel`].
///
/// Idempotent: only the first call registers anything, and every call returns the same
/// answer, `true` when ansel's hook is the one in place, `false` when another decoder had
/// already claimed the `ansel` extension (then only content sniffing reaches ansel's decoder).
///
/// ```
/// assert!(ansel::register_image_hook());
/// assert!(ansel::register_image_hook()); // a second call is harmless
///
/// let codec = ansel::Codec::embedded()?;
/// let picture = image::RgbImage::from_fn(40, 30, |x, y| image::Rgb([x as u8 * 6, y as u8 * 8, 90]));
/// let path = std::env::temp_dir().join(format!("ansel-hook-doc-{}.ansel", std::process::id()));
/// std::fs::write(&path, codec.encode(&picture, 4.0)?)?;
///
/// let opened = image::open(&path)?; // any program can now open .ansel files
/// assert_eq!((opened.width(), opened.height()), (40, 30));
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn register_image_hook() -> bool {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    *REGISTERED.get_or_init(|| {
        image::hooks::register_format_detection_hook("ansel".into(), &MAGIC, None);
        image::hooks::register_decoding_hook(
            "ansel".into(),
            Box::new(|mut reader| {
                let mut bytes = Vec::new();
                reader
                    .read_to_end(&mut bytes)
                    .map_err(ImageError::IoError)?;
                let container = Container::from_bytes(&bytes, &LIMITS)
                    .map_err(|e| decoding_error(Error::Format(e)))?;
                Ok(Box::new(AnselDecoder { container }))
            }),
        )
    })
}

/// The embedded codec, loaded on first use and shared by every decode through the hook.
fn embedded_codec() -> Result<&'static Codec, Error> {
    static CODEC: OnceLock<Codec> = OnceLock::new();
    if let Some(codec) = CODEC.get() {
        return Ok(codec);
    }
    let codec = Codec::embedded()?;
    Ok(CODEC.get_or_init(|| codec))
}

fn decoding_error(e: Error) -> ImageError {
    ImageError::Decoding(DecodingError::new(ImageFormatHint::Name("ansel".into()), e))
}

/// A parsed `.ansel` container, decoded when the `image` crate asks for the pixels.
struct AnselDecoder {
    container: Container,
}

impl ImageDecoder for AnselDecoder {
    fn dimensions(&self) -> (u32, u32) {
        (self.container.header.width, self.container.header.height)
    }

    fn color_type(&self) -> ColorType {
        ColorType::Rgb8
    }

    fn read_image(self, buf: &mut [u8]) -> ImageResult<()> {
        let codec = embedded_codec().map_err(decoding_error)?;
        let image = codec
            .decode_container(&self.container)
            .map_err(decoding_error)?;
        buf.copy_from_slice(image.as_raw());
        Ok(())
    }

    fn read_image_boxed(self: Box<Self>, buf: &mut [u8]) -> ImageResult<()> {
        (*self).read_image(buf)
    }
}
