//! An image's metadata (ICC profile, EXIF, XMP): carried by `.ansel` streams since format
//! 1.1, stored as given and covered by the checksum.
//!
//! The pixels are coded as the source stored them; EXIF's orientation stays a tag (as with
//! cwebp `-metadata all`, avifenc and cjxl), which viewers and [`image::ImageDecoder::orientation`]
//! apply. [`Codec::encode_with_metadata`] and [`Decoder::decode_with_metadata`] carry the
//! metadata through the codec, [`attach`] adds it to any stream, [`read_from_decoder`] takes
//! it from an image file and [`write_image`] puts it back into PNG, JPEG, WebP or TIFF.
//!
//! ```
//! use ansel::metadata::{exif_summary, Metadata};
//! let codec = ansel::Codec::embedded()?;
//! let picture = image::RgbImage::from_fn(40, 24, |x, y| image::Rgb([x as u8 * 6, y as u8 * 9, 80]));
//! // Little-endian EXIF whose IFD0 holds orientation 6.
//! let exif = b"II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0\x06\0\0\0\0\0\0\0".to_vec();
//! let metadata = Metadata { exif: Some(exif.clone()), ..Metadata::default() };
//! let stream = codec.encode_with_metadata(&picture, 4.0, &metadata)?.bytes;
//! let (image, back) = codec.decoder().decode_with_metadata(&stream)?;
//! assert_eq!((image.dimensions(), back.exif), ((40, 24), Some(exif)));
//! assert_eq!(exif_summary(&metadata.exif.unwrap()).orientation, Some(6));
//! # Ok::<(), ansel::Error>(())
//! ```

use codec_format::Container;
#[cfg(feature = "formats")]
use codec_format::SectionKind;
use image::RgbImage;

pub use codec_format::Metadata;

use crate::decode::Decoder;
use crate::limits::LIMITS;
use crate::Error;

/// `stream` with its metadata replaced by `metadata` (an empty one removes it). Each part is
/// checked (size limit, structure: see [`Metadata::validate`]) and a bad one is an error; the
/// image's sections are kept byte for byte.
pub fn attach(stream: &[u8], metadata: &Metadata) -> Result<Vec<u8>, Error> {
    let mut container = Container::from_bytes(stream, &LIMITS)?;
    container.set_metadata(metadata.clone())?;
    Ok(container.to_bytes()?)
}

/// The metadata of a stream, read from its container alone (no model needed); empty for a
/// 1.0 stream.
pub fn read(stream: &[u8]) -> Result<Metadata, Error> {
    Ok(Container::from_bytes(stream, &LIMITS)?.metadata())
}

#[cfg(feature = "encode")]
impl crate::Codec {
    /// Compresses `image` as [`Codec::encode`](crate::Codec::encode) does and stores
    /// `metadata` in the stream (a bad part is an error: check it with
    /// [`Metadata::validate`] first to drop it instead). A target size
    /// ([`EncodeOptions::bits_per_pixel`](crate::EncodeOptions::bits_per_pixel)) counts the
    /// image alone: the metadata's bytes come on top.
    pub fn encode_with_metadata(
        &self,
        image: &RgbImage,
        options: impl Into<crate::EncodeOptions>,
        metadata: &Metadata,
    ) -> Result<crate::Encoded, Error> {
        metadata.validate()?;
        let mut encoded = self.encode(image, options)?;
        if !metadata.is_empty() {
            encoded.bytes = attach(&encoded.bytes, metadata)?;
        }
        Ok(encoded)
    }
}

impl Decoder {
    /// Decompresses a stream (as [`Decoder::decode`]) and returns its metadata with the
    /// pixels.
    pub fn decode_with_metadata(&self, bytes: &[u8]) -> Result<(RgbImage, Metadata), Error> {
        let container = Container::from_bytes(bytes, self.limits())?;
        let image = self.decode_container(&container)?;
        Ok((image, container.metadata()))
    }
}

/// Bytes the metadata takes in a stream and what the image takes, for reports that keep them
/// apart: `(image, metadata)`, adding up to the stream's length. The metadata's share is its
/// payloads and their section entries.
pub fn split_size(stream_len: u64, metadata: &Metadata) -> (u64, u64) {
    let meta = metadata.encoded_len().min(stream_len);
    (stream_len - meta, meta)
}

/// What `ansel info` shows of EXIF: the orientation and the camera.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExifSummary {
    /// Tag 0x0112: 1 (as stored) to 8.
    pub orientation: Option<u16>,
    /// Tag 0x010F, the camera's maker.
    pub make: Option<String>,
    /// Tag 0x0110, the camera's model.
    pub model: Option<String>,
}

/// The orientation and camera in EXIF's first IFD; fields that are absent or unreadable are
/// `None` (never a panic, whatever the bytes).
pub fn exif_summary(exif: &[u8]) -> ExifSummary {
    let mut summary = ExifSummary::default();
    let big = match exif.get(..4) {
        Some(b"II*\0") => false,
        Some(b"MM\0*") => true,
        _ => return summary,
    };
    let u16_at = |at: usize| {
        let b: [u8; 2] = exif.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(if big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    };
    let u32_at = |at: usize| {
        let b: [u8; 4] = exif.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    let Some(ifd) = u32_at(4).map(|o| o as usize) else {
        return summary;
    };
    let count = u16_at(ifd).unwrap_or(0) as usize;
    let ascii = |entry: usize| -> Option<String> {
        let (kind, n) = (u16_at(entry + 2)?, u32_at(entry + 4)? as usize);
        if kind != 2 || n == 0 || n > 256 {
            return None;
        }
        let at = if n <= 4 {
            entry + 8
        } else {
            u32_at(entry + 8)? as usize
        };
        let text = exif.get(at..at.checked_add(n)?)?;
        let text = text.split(|&b| b == 0).next().unwrap_or(&[]);
        let text = String::from_utf8_lossy(text).trim().to_string();
        (!text.is_empty()).then_some(text)
    };
    for i in 0..count {
        let entry = ifd + 2 + 12 * i;
        match u16_at(entry) {
            Some(0x0112) if u16_at(entry + 2) == Some(3) => summary.orientation = u16_at(entry + 8),
            Some(0x010F) => summary.make = ascii(entry),
            Some(0x0110) => summary.model = ascii(entry),
            Some(_) => {}
            None => break,
        }
    }
    summary
}

/// What an EXIF orientation asks a viewer to do, in words.
pub fn orientation_words(orientation: u16) -> &'static str {
    match orientation {
        1 => "as stored",
        2 => "mirror horizontally",
        3 => "rotate 180°",
        4 => "mirror vertically",
        5 => "mirror horizontally, rotate 270° clockwise",
        6 => "rotate 90° clockwise",
        7 => "mirror horizontally, rotate 90° clockwise",
        8 => "rotate 270° clockwise",
        _ => "invalid",
    }
}

/// The description of an ICC profile (its `desc` tag, version 2 `desc` or version 4 `mluc`
/// text), if it has a readable one.
pub fn icc_description(icc: &[u8]) -> Option<String> {
    let be32 = |at: usize| -> Option<usize> {
        let b: [u8; 4] = icc.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(u32::from_be_bytes(b) as usize)
    };
    let count = be32(128)?;
    let (offset, size) = (0..count.min(1024)).find_map(|i| {
        let entry = 132 + 12 * i;
        (icc.get(entry..entry + 4)? == b"desc").then(|| Some((be32(entry + 4)?, be32(entry + 8)?)))
    })??;
    let tag = icc.get(offset..offset.checked_add(size)?)?;
    let text = match tag.get(..4)? {
        b"desc" => {
            let n = u32::from_be_bytes(tag.get(8..12)?.try_into().ok()?) as usize;
            let ascii = tag.get(12..12usize.checked_add(n)?)?;
            let ascii = ascii.split(|&b| b == 0).next().unwrap_or(&[]);
            String::from_utf8_lossy(ascii).into_owned()
        }
        b"mluc" => {
            let len = u32::from_be_bytes(tag.get(20..24)?.try_into().ok()?) as usize;
            let at = u32::from_be_bytes(tag.get(24..28)?.try_into().ok()?) as usize;
            let utf16: Vec<u16> = tag
                .get(at..at.checked_add(len)?)?
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16_lossy(&utf16)
        }
        _ => return None,
    };
    let text = text.trim_end_matches('\0').trim().to_string();
    (!text.is_empty()).then_some(text)
}

/// The metadata an image file carries, as its `image` decoder reports it (before the pixels
/// are read). Parts are taken as they are; [`Metadata::validate`] says whether the codec can
/// store them.
pub fn read_from_decoder(decoder: &mut impl image::ImageDecoder) -> image::ImageResult<Metadata> {
    Ok(Metadata {
        icc: decoder.icc_profile()?,
        exif: decoder.exif_metadata()?,
        xmp: decoder.xmp_metadata()?,
    })
}

/// The kinds of metadata part an image format holds, as [`write_image`] writes them.
#[cfg(feature = "formats")]
pub fn kept_by(format: image::ImageFormat) -> &'static [SectionKind] {
    use image::ImageFormat::*;
    match format {
        Png | Jpeg | WebP => &[SectionKind::Icc, SectionKind::Exif, SectionKind::Xmp],
        Tiff => &[SectionKind::Icc],
        _ => &[],
    }
}

/// An image written with its metadata, and the parts its format could not hold.
#[cfg(feature = "formats")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The image file.
    pub bytes: Vec<u8>,
    /// Parts of the metadata not written, in ICC, EXIF, XMP order.
    pub dropped: Vec<SectionKind>,
}

/// Writes `image` in `format` with as much of `metadata` as the format holds ([`kept_by`]):
/// PNG `iCCP`, `eXIf` and an `iTXt` `XML:com.adobe.xmp` chunk; JPEG `APP2 ICC_PROFILE`,
/// `APP1 Exif` and `APP1` XMP segments (EXIF and XMP up to a segment's 64 KiB); WebP `ICCP`,
/// `EXIF` and `XMP ` chunks (lossless); TIFF the ICC profile. PNM and BMP hold none.
#[cfg(feature = "formats")]
pub fn write_image(
    image: &RgbImage,
    format: image::ImageFormat,
    metadata: &Metadata,
) -> image::ImageResult<Written> {
    use image::codecs::{jpeg::JpegEncoder, png::PngEncoder, tiff::TiffEncoder};
    use image::{ExtendedColorType, ImageEncoder, ImageFormat};

    let kept = kept_by(format);
    let mut dropped: Vec<SectionKind> = metadata
        .parts()
        .map(|(kind, _)| kind)
        .filter(|k| !kept.contains(k))
        .collect();
    // JPEG holds EXIF and XMP in one APP1 segment each (length u16, prefix included).
    let fits_app1 = |prefix: usize, data: &[u8]| data.len() + prefix + 2 <= 0xffff;
    let jpeg = format == ImageFormat::Jpeg;
    let exif = metadata
        .exif
        .clone()
        .filter(|e| (!jpeg || fits_app1(6, e)) && kept.contains(&SectionKind::Exif));
    let xmp = metadata
        .xmp
        .as_deref()
        .filter(|x| (!jpeg || fits_app1(XMP_NS.len(), x)) && kept.contains(&SectionKind::Xmp));
    for (kind, present) in [
        (SectionKind::Exif, exif.is_some()),
        (SectionKind::Xmp, xmp.is_some()),
    ] {
        if kept.contains(&kind) && metadata.get(kind).is_some() && !present {
            dropped.push(kind);
        }
    }
    dropped.sort_by_key(|k| k.code());
    let icc = metadata
        .icc
        .clone()
        .filter(|_| kept.contains(&SectionKind::Icc));

    let (w, h) = image.dimensions();
    let mut bytes = Vec::new();
    // The image through `encoder`, with the profile and EXIF it is to carry.
    fn write(
        mut encoder: impl ImageEncoder,
        icc: Option<Vec<u8>>,
        exif: Option<Vec<u8>>,
        image: &RgbImage,
    ) -> image::ImageResult<()> {
        let unsupported = image::ImageError::Unsupported;
        if let Some(icc) = icc {
            encoder.set_icc_profile(icc).map_err(unsupported)?;
        }
        if let Some(exif) = exif {
            encoder.set_exif_metadata(exif).map_err(unsupported)?;
        }
        let (w, h) = image.dimensions();
        encoder.write_image(image.as_raw(), w, h, ExtendedColorType::Rgb8)
    }
    match format {
        ImageFormat::Png => {
            write(PngEncoder::new(&mut bytes), icc, exif, image)?;
            if let Some(xmp) = xmp {
                bytes = png_with_xmp(&bytes, xmp);
            }
        }
        ImageFormat::Jpeg => {
            write(JpegEncoder::new(&mut bytes), icc, exif, image)?;
            if let Some(xmp) = xmp {
                bytes = jpeg_with_xmp(&bytes, xmp);
            }
        }
        ImageFormat::WebP => {
            write(
                image::codecs::webp::WebPEncoder::new_lossless(&mut bytes),
                icc,
                exif,
                image,
            )?;
            if let Some(xmp) = xmp {
                bytes = webp_with_xmp(&bytes, xmp, w, h);
            }
        }
        ImageFormat::Tiff => {
            // TIFF keeps the profile only (see `kept_by`).
            write(
                TiffEncoder::new(std::io::Cursor::new(&mut bytes)),
                icc,
                None,
                image,
            )?;
        }
        other => image.write_to(&mut std::io::Cursor::new(&mut bytes), other)?,
    }
    Ok(Written { bytes, dropped })
}

/// The namespace that opens a JPEG `APP1` XMP segment.
#[cfg(feature = "formats")]
const XMP_NS: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";

/// `png` with an uncompressed `iTXt` XMP chunk right after `IHDR` (the PNG encoder writes
/// `IHDR` first, 8 + 25 bytes into the file).
#[cfg(feature = "formats")]
fn png_with_xmp(png: &[u8], xmp: &[u8]) -> Vec<u8> {
    let mut data = b"XML:com.adobe.xmp\0\0\0\0\0".to_vec();
    data.extend_from_slice(xmp);
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    chunk.extend_from_slice(b"iTXt");
    chunk.extend_from_slice(&data);
    chunk.extend_from_slice(&crc32(&chunk[4..]).to_be_bytes());
    let at = 8 + 25;
    [&png[..at], &chunk, &png[at..]].concat()
}

/// `jpeg` with an `APP1` XMP segment after `SOI` and any `APP0`/`APP1`/`APP2` segments the
/// encoder wrote (so JFIF stays first).
#[cfg(feature = "formats")]
fn jpeg_with_xmp(jpeg: &[u8], xmp: &[u8]) -> Vec<u8> {
    let mut at = 2;
    while let Some(&[0xff, marker, hi, lo]) = jpeg.get(at..at + 4) {
        if !(0xe0..=0xe2).contains(&marker) {
            break;
        }
        at += 2 + usize::from(u16::from_be_bytes([hi, lo]));
    }
    let len = (2 + XMP_NS.len() + xmp.len()) as u16;
    let mut segment = vec![0xff, 0xe1];
    segment.extend_from_slice(&len.to_be_bytes());
    segment.extend_from_slice(XMP_NS);
    segment.extend_from_slice(xmp);
    [&jpeg[..at], &segment, &jpeg[at..]].concat()
}

/// `webp` (a simple or extended RIFF file) with an `XMP ` chunk at its end and the XMP flag
/// of its `VP8X` chunk set, a `VP8X` chunk added if there was none.
#[cfg(feature = "formats")]
fn webp_with_xmp(webp: &[u8], xmp: &[u8], width: u32, height: u32) -> Vec<u8> {
    const XMP_FLAG: u8 = 0x04;
    let mut out = webp[..12].to_vec();
    if &webp[12..16] == b"VP8X" {
        out.extend_from_slice(&webp[12..]);
        out[20] |= XMP_FLAG;
    } else {
        out.extend_from_slice(b"VP8X");
        out.extend_from_slice(&10u32.to_le_bytes());
        out.extend_from_slice(&[XMP_FLAG, 0, 0, 0]);
        out.extend_from_slice(&(width - 1).to_le_bytes()[..3]);
        out.extend_from_slice(&(height - 1).to_le_bytes()[..3]);
        out.extend_from_slice(&webp[12..]);
    }
    out.extend_from_slice(b"XMP ");
    out.extend_from_slice(&(xmp.len() as u32).to_le_bytes());
    out.extend_from_slice(xmp);
    if xmp.len() % 2 == 1 {
        out.push(0);
    }
    let riff = (out.len() - 8) as u32;
    out[4..8].copy_from_slice(&riff.to_le_bytes());
    out
}

/// The CRC-32 of PNG chunks (ISO 3309, reflected 0xEDB88320).
#[cfg(feature = "formats")]
fn crc32(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |crc, &b| {
        (0..8).fold(crc ^ u32::from(b), |c, _| {
            (c >> 1) ^ (0xedb8_8320 & (c & 1).wrapping_neg())
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_never_panic_on_damaged_bytes() {
        let exif = b"MM\0*\0\0\0\x08\0\x03\x01\x0f\0\x02\0\0\0\x04Foo\0\x01\x10\0\x02\0\0\0\x08\0\0\0\x32\x01\x12\0\x03\0\0\0\x01\0\x08\0\0\0\0\0\0Bar 5\0\0\0";
        let full = exif_summary(exif);
        assert_eq!(full.make.as_deref(), Some("Foo"));
        assert_eq!(full.model.as_deref(), Some("Bar 5"));
        assert_eq!(full.orientation, Some(8));
        for n in 0..exif.len() {
            let _ = exif_summary(&exif[..n]);
            let mut flipped = exif.to_vec();
            flipped[n] ^= 0xff;
            let _ = exif_summary(&flipped);
            let _ = icc_description(&exif[..n]);
        }
    }

    #[cfg(feature = "formats")]
    #[test]
    fn crc32_is_the_png_crc() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }
}
