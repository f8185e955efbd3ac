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

/// A small, valid ICC version 2 display profile named `description`: D50 white point,
/// Display P3 primaries (adapted to D50) and one gamma-2.2 curve for the three channels.
pub fn icc_profile(description: &str) -> Vec<u8> {
    let s15 = |v: f64| ((v * 65536.0).round() as i32).to_be_bytes();
    let xyz = |x: f64, y: f64, z: f64| {
        let mut t = b"XYZ \0\0\0\0".to_vec();
        for v in [x, y, z] {
            t.extend_from_slice(&s15(v));
        }
        t
    };
    let mut desc = b"desc\0\0\0\0".to_vec();
    desc.extend_from_slice(&(description.len() as u32 + 1).to_be_bytes());
    desc.extend_from_slice(description.as_bytes());
    desc.push(0);
    desc.extend_from_slice(&[0; 4 + 4 + 2 + 1 + 67]); // no Unicode, no ScriptCode
    let curve = b"curv\0\0\0\0\0\0\0\x01\x02\x33\0\0".to_vec(); // gamma 2.2 (u8Fixed8)
    let tags: Vec<(&[u8; 4], Vec<u8>)> = vec![
        (b"desc", desc),
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz(0.5151, 0.2412, -0.0011)),
        (b"gXYZ", xyz(0.2920, 0.6922, 0.0419)),
        (b"bXYZ", xyz(0.1571, 0.0666, 0.7841)),
        (b"rTRC", curve.clone()),
        (b"gTRC", curve.clone()),
        (b"bTRC", curve),
        (b"cprt", b"text\0\0\0\0No copyright, use freely\0".to_vec()),
    ];
    let mut header = vec![0u8; 128];
    header[8..12].copy_from_slice(&[2, 0x10, 0, 0]);
    header[12..16].copy_from_slice(b"mntr");
    header[16..20].copy_from_slice(b"RGB ");
    header[20..24].copy_from_slice(b"XYZ ");
    header[36..40].copy_from_slice(b"acsp");
    header[68..80].copy_from_slice(&[0, 0, 0xf6, 0xd6, 0, 1, 0, 0, 0, 0, 0xd3, 0x2d]); // D50
    let mut table = (tags.len() as u32).to_be_bytes().to_vec();
    let mut data = Vec::new();
    let mut offset = 128 + 4 + 12 * tags.len();
    for (sig, tag) in &tags {
        table.extend_from_slice(*sig);
        table.extend_from_slice(&(offset as u32).to_be_bytes());
        table.extend_from_slice(&(tag.len() as u32).to_be_bytes());
        let padded = tag.len().div_ceil(4) * 4;
        data.extend_from_slice(tag);
        data.resize(data.len() + padded - tag.len(), 0);
        offset += padded;
    }
    let mut icc = [header, table, data].concat();
    let len = icc.len() as u32;
    icc[..4].copy_from_slice(&len.to_be_bytes());
    icc
}

/// Big-endian EXIF (as cameras write it) whose IFD0 holds the camera's make and model and
/// orientation 6: rotate 90° clockwise to display.
pub fn exif_orientation_6() -> Vec<u8> {
    let mut exif = b"MM\0*\0\0\0\x08\0\x03".to_vec();
    let strings_at = 8 + 2 + 3 * 12 + 4;
    exif.extend_from_slice(&[0x01, 0x0f, 0, 2, 0, 0, 0, 6]);
    exif.extend_from_slice(&(strings_at as u32).to_be_bytes()); // Make
    exif.extend_from_slice(&[0x01, 0x10, 0, 2, 0, 0, 0, 9]);
    exif.extend_from_slice(&(strings_at as u32 + 6).to_be_bytes()); // Model
    exif.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]); // Orientation
    exif.extend_from_slice(&[0; 4]);
    exif.extend_from_slice(b"Ansel\0Tester 1\0");
    exif
}

/// An XMP packet naming its creator tool.
pub const XMP: &str = "<?xpacket begin='\u{feff}' id='W5M0MpCehiHzreSzNTczkc9d'?>\
<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>\
<rdf:Description xmlns:xmp='http://ns.adobe.com/xap/1.0/' xmp:CreatorTool='ansel tests'/>\
</rdf:RDF></x:xmpmeta><?xpacket end='w'?>";

/// `image` as a PNG with `icc` (`iCCP`) and `exif` (`eXIf`) written by the `image` crate, and
/// the XMP packet in an `iTXt` chunk added here.
pub fn png_with_metadata(image: &RgbImage, icc: &[u8], exif: &[u8], xmp: &str) -> Vec<u8> {
    use image::ImageEncoder;
    let mut png = Vec::new();
    let mut encoder = image::codecs::png::PngEncoder::new(&mut png);
    encoder.set_icc_profile(icc.to_vec()).unwrap();
    encoder.set_exif_metadata(exif.to_vec()).unwrap();
    encoder
        .write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    let mut data = b"XML:com.adobe.xmp\0\0\0\0\0".to_vec();
    data.extend_from_slice(xmp.as_bytes());
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    chunk.extend_from_slice(b"iTXt");
    chunk.extend_from_slice(&data);
    let crc = !chunk[4..].iter().fold(!0u32, |crc, &b| {
        (0..8).fold(crc ^ u32::from(b), |c, _| {
            (c >> 1) ^ (0xedb8_8320 & (c & 1).wrapping_neg())
        })
    });
    chunk.extend_from_slice(&crc.to_be_bytes());
    [&png[..33], &chunk, &png[33..]].concat()
}

/// `image` as a JPEG with `icc` (`APP2`) and `exif` (`APP1`) written by the `image` crate,
/// and the XMP packet in an `APP1` segment added after them here.
pub fn jpeg_with_metadata(image: &RgbImage, icc: &[u8], exif: &[u8], xmp: &str) -> Vec<u8> {
    use image::ImageEncoder;
    let mut jpeg = Vec::new();
    let mut encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90);
    encoder.set_icc_profile(icc.to_vec()).unwrap();
    encoder.set_exif_metadata(exif.to_vec()).unwrap();
    encoder
        .write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    let ns = b"http://ns.adobe.com/xap/1.0/\0";
    let mut segment = vec![0xff, 0xe1];
    segment.extend_from_slice(&((2 + ns.len() + xmp.len()) as u16).to_be_bytes());
    segment.extend_from_slice(ns);
    segment.extend_from_slice(xmp.as_bytes());
    [&jpeg[..2], &segment, &jpeg[2..]].concat()
}

/// The ICC profile, EXIF and XMP that the `image` crate reads from an image file.
pub fn metadata_of(bytes: &[u8]) -> ansel::Metadata {
    let mut decoder = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .unwrap()
        .into_decoder()
        .unwrap();
    ansel::metadata::read_from_decoder(&mut decoder).unwrap()
}
