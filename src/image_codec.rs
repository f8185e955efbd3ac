//! ansel as an `image` crate codec: [`AnselDecoder`] (an [`ImageDecoder`] with limits),
//! [`AnselEncoder`] (an [`ImageEncoder`]), and [`register_image_hook`], which lets
//! `image::open` read `.ansel` files.

use std::io::Read;
use std::sync::{Arc, OnceLock};

use codec_format::{Container, MAGIC};
use image::error::{DecodingError, ImageFormatHint, LimitError, LimitErrorKind};
use image::{ColorType, ImageDecoder, ImageError, ImageResult};

use crate::decode::Decoder;
use crate::pixels::padded_len;
use crate::Error;

/// An `.ansel` stream as an [`image::ImageDecoder`]: the header is read when it is made, the
/// pixels when the `image` crate asks for them. Decodes as 8-bit RGB. The stream's ICC
/// profile, EXIF (and with it the orientation) and XMP are returned by the trait's metadata
/// methods.
///
/// ```
/// use image::ImageDecoder;
/// let codec = ansel::Codec::embedded()?;
/// let picture = image::RgbImage::from_fn(40, 30, |x, y| image::Rgb([x as u8 * 6, y as u8 * 8, 90]));
/// let stream = codec.encode(&picture, 4.0)?.bytes;
///
/// let mut decoder = ansel::AnselDecoder::new(stream.as_slice())?;
/// assert_eq!(decoder.dimensions(), (40, 30));
/// let mut limits = image::Limits::default();
/// limits.max_image_width = Some(32);
/// assert!(decoder.set_limits(limits).is_err());
/// let image = image::DynamicImage::from_decoder(ansel::AnselDecoder::new(stream.as_slice())?)?;
/// assert_eq!(image.width(), 40);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct AnselDecoder<R> {
    container: Container,
    decoder: Arc<Decoder>,
    _reader: std::marker::PhantomData<R>,
}

impl<R: Read> AnselDecoder<R> {
    /// Reads the stream's container from `reader` (exactly its bytes), to decode with the
    /// embedded default model.
    pub fn new(reader: R) -> Result<Self, Error> {
        Self::with_decoder(reader, embedded()?)
    }

    /// Reads the stream's container from `reader`, to decode with `decoder`.
    pub fn with_decoder(reader: R, decoder: Arc<Decoder>) -> Result<Self, Error> {
        Ok(Self {
            container: Container::read_from(reader, decoder.limits())?,
            decoder,
            _reader: std::marker::PhantomData,
        })
    }

    /// Bytes decoding holds besides its output: the latent and the synthesis' widest band
    /// activations (two of them, input and output of a layer).
    fn working_bytes(&self) -> u64 {
        let h = &self.container.header;
        let (ph, pw) = (
            u64::from(padded_len(h.height)),
            u64::from(padded_len(h.width)),
        );
        let config = self
            .decoder
            .network(h.quality)
            .map_or(self.decoder.metadata(), |n| &n.metadata)
            .network;
        let latent = (ph / 16) * (pw / 16) * config.m as u64 * 4;
        let widest = (ph / 2) * (pw / 2) * config.transform_channels() as u64 * 4;
        latent + 2 * widest.min(self.decoder.band_bytes as u64)
    }
}

impl<R: Read> ImageDecoder for AnselDecoder<R> {
    fn dimensions(&self) -> (u32, u32) {
        (self.container.header.width, self.container.header.height)
    }

    fn color_type(&self) -> ColorType {
        ColorType::Rgb8
    }

    /// The stream's ICC profile (format 1.1), byte for byte as the encoder was given it.
    fn icc_profile(&mut self) -> ImageResult<Option<Vec<u8>>> {
        Ok(self.container.metadata().icc)
    }

    /// The stream's EXIF, which also gives [`ImageDecoder::orientation`]: the pixels are
    /// stored as the source stored them, and the orientation says how to show them.
    fn exif_metadata(&mut self) -> ImageResult<Option<Vec<u8>>> {
        Ok(self.container.metadata().exif)
    }

    /// The stream's XMP packet.
    fn xmp_metadata(&mut self) -> ImageResult<Option<Vec<u8>>> {
        Ok(self.container.metadata().xmp)
    }

    fn set_limits(&mut self, mut limits: image::Limits) -> ImageResult<()> {
        limits.check_support(&image::LimitSupport::default())?;
        let (width, height) = self.dimensions();
        limits.check_dimensions(width, height)?;
        limits.reserve(self.total_bytes())?;
        limits.reserve(self.working_bytes()).map_err(|_| {
            ImageError::Limits(LimitError::from_kind(LimitErrorKind::InsufficientMemory))
        })
    }

    fn read_image(self, buf: &mut [u8]) -> ImageResult<()> {
        let image = self
            .decoder
            .decode_container(&self.container)
            .map_err(decoding_error)?;
        buf.copy_from_slice(image.as_raw());
        Ok(())
    }

    fn read_image_boxed(self: Box<Self>, buf: &mut [u8]) -> ImageResult<()> {
        (*self).read_image(buf)
    }
}

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
/// std::fs::write(&path, codec.encode(&picture, 4.0)?.bytes)?;
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
            Box::new(|reader| {
                let decoder = AnselDecoder::new(reader).map_err(decoding_error)?;
                Ok(Box::new(decoder))
            }),
        )
    })
}

/// The embedded model's decoder, loaded on first use and shared by every decode through the
/// hook.
fn embedded() -> Result<Arc<Decoder>, Error> {
    static DECODER: OnceLock<Arc<Decoder>> = OnceLock::new();
    if let Some(decoder) = DECODER.get() {
        return Ok(decoder.clone());
    }
    let decoder = Arc::new(Decoder::embedded()?);
    Ok(DECODER.get_or_init(|| decoder).clone())
}

fn decoding_error(e: Error) -> ImageError {
    ImageError::Decoding(DecodingError::new(ImageFormatHint::Name("ansel".into()), e))
}

#[cfg(feature = "encode")]
pub use encoder::AnselEncoder;

#[cfg(feature = "encode")]
mod encoder {
    use std::io::Write;

    use image::error::{EncodingError, ImageFormatHint, UnsupportedError, UnsupportedErrorKind};
    use image::{ExtendedColorType, ImageEncoder, ImageError, ImageResult, RgbImage};

    use crate::encode::{Codec, EncodeOptions};

    /// An [`image::ImageEncoder`] that writes an `.ansel` stream: 8-bit RGB or greyscale in
    /// (greyscale is replicated to RGB, exactly).
    ///
    /// ```
    /// use image::ImageEncoder;
    /// let codec = ansel::Codec::embedded()?;
    /// let picture = image::RgbImage::from_fn(40, 30, |x, y| image::Rgb([x as u8 * 6, y as u8 * 8, 90]));
    /// let mut out = Vec::new();
    /// ansel::AnselEncoder::new(&mut out, &codec, 5.0)
    ///     .write_image(picture.as_raw(), 40, 30, image::ExtendedColorType::Rgb8)?;
    /// assert_eq!(codec.decode(&out)?.dimensions(), (40, 30));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub struct AnselEncoder<'a, W> {
        writer: W,
        codec: &'a Codec,
        options: EncodeOptions,
    }

    impl<'a, W: Write> AnselEncoder<'a, W> {
        /// An encoder writing into `writer` with `codec` at `options` (a quality, or
        /// [`EncodeOptions`]).
        pub fn new(writer: W, codec: &'a Codec, options: impl Into<EncodeOptions>) -> Self {
            Self {
                writer,
                codec,
                options: options.into(),
            }
        }
    }

    impl<W: Write> ImageEncoder for AnselEncoder<'_, W> {
        fn write_image(
            mut self,
            buf: &[u8],
            width: u32,
            height: u32,
            color: ExtendedColorType,
        ) -> ImageResult<()> {
            let pixels = match color {
                ExtendedColorType::Rgb8 => buf.to_vec(),
                ExtendedColorType::L8 => buf.iter().flat_map(|&v| [v, v, v]).collect(),
                other => {
                    return Err(ImageError::Unsupported(
                        UnsupportedError::from_format_and_kind(
                            ImageFormatHint::Name("ansel".into()),
                            UnsupportedErrorKind::Color(other),
                        ),
                    ))
                }
            };
            let image = RgbImage::from_raw(width, height, pixels)
                .expect("a buffer of width × height pixels");
            let encoded = self.codec.encode(&image, self.options).map_err(|e| {
                ImageError::Encoding(EncodingError::new(ImageFormatHint::Name("ansel".into()), e))
            })?;
            self.writer
                .write_all(&encoded.bytes)
                .map_err(ImageError::IoError)
        }
    }
}
