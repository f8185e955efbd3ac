//! The library API: round trips of awkward sizes, determinism, streaming, the rate search,
//! size limits, the input conversions and the `image` crate hook.
//!
//! Nothing here depends on the embedded model's quality: only on dimensions, determinism and
//! the behaviour of the API.

mod common;
use ansel::codec_format::{Container, Limits};
use ansel::image_io::{to_rgb8, Conversion};
use ansel::{Codec, Error};
use common::{bpp, photo_like};
use image::{DynamicImage, RgbImage};

#[test]
fn awkward_sizes_round_trip_deterministically() {
    let codec = Codec::embedded().unwrap();
    for (w, h) in [(1, 1), (1, 1000), (65, 65), (769, 513)] {
        let img = photo_like(w, h);
        let stream = codec.encode(&img, 4.0).unwrap().bytes;
        assert_eq!(
            codec.encode(&img, 4.0).unwrap().bytes,
            stream,
            "{w}×{h}: encoding is not deterministic"
        );
        let decoded = codec.decode(&stream).unwrap();
        assert_eq!(decoded.dimensions(), (w, h));
        assert_eq!(
            codec.decode(&stream).unwrap(),
            decoded,
            "{w}×{h}: decoding is not deterministic"
        );
        let header = Container::from_bytes(&stream, &Limits::default())
            .unwrap()
            .header;
        assert_eq!((header.width, header.height), (w, h));
        assert_eq!(header.model, codec.id());
    }
}

#[test]
fn streaming_matches_bytes() {
    let codec = Codec::embedded().unwrap();
    let img = photo_like(70, 40);
    let bytes = codec.encode(&img, 2.5).unwrap().bytes;
    // The image crate's encoder writes the same stream.
    let mut written = Vec::new();
    image::ImageEncoder::write_image(
        ansel::AnselEncoder::new(&mut written, &codec, 2.5),
        img.as_raw(),
        70,
        40,
        image::ExtendedColorType::Rgb8,
    )
    .unwrap();
    assert_eq!(written, bytes);
    // decode_from reads exactly one file: two files back to back decode one after the other.
    let mut two = bytes.clone();
    two.extend_from_slice(&bytes);
    let mut reader = std::io::Cursor::new(two);
    let decoder = codec.decoder();
    let first = decoder.decode_from(&mut reader).unwrap();
    let second = decoder.decode_from(&mut reader).unwrap();
    assert_eq!(first, codec.decode(&bytes).unwrap());
    assert_eq!(first, second);
}

#[test]
fn quality_out_of_range_is_refused() {
    let codec = Codec::embedded().unwrap();
    let img = photo_like(8, 8);
    for q in [0.0, 0.99, 8.01, f32::NAN, f32::INFINITY] {
        assert!(
            matches!(codec.encode(&img, q), Err(Error::Quality(_))),
            "q {q}"
        );
    }
}

#[test]
fn target_bpp_search_lands_near_a_reachable_rate() {
    let codec = Codec::embedded().unwrap();
    let img = photo_like(128, 96);
    let reference = codec.encode(&img, 6.5).unwrap().bytes;
    let target = bpp(&reference, &img);
    let ansel::Encoded {
        bytes: stream,
        quality,
    } = codec
        .encode(&img, ansel::EncodeOptions::bits_per_pixel(target))
        .unwrap();
    let achieved = bpp(&stream, &img);
    assert!(
        (achieved / target - 1.0).abs() < 0.1,
        "target {target} bpp, got {achieved} bpp at quality {quality}"
    );
    // The stream is exactly the one the returned quality gives.
    assert_eq!(codec.encode(&img, quality).unwrap().bytes, stream);
    assert_eq!(codec.decode(&stream).unwrap().dimensions(), (128, 96));
    // Deterministic.
    assert_eq!(
        codec
            .encode(&img, ansel::EncodeOptions::bits_per_pixel(target))
            .unwrap()
            .bytes,
        stream
    );
}

#[test]
fn target_bpp_outside_the_range_clamps_to_the_ends() {
    let codec = Codec::embedded().unwrap();
    let img = photo_like(64, 64);
    let ansel::Encoded {
        bytes: _,
        quality: q,
    } = codec
        .encode(&img, ansel::EncodeOptions::bits_per_pixel(1e-6))
        .unwrap();
    assert_eq!(q, ansel::quality::QUALITY_MIN);
    let ansel::Encoded {
        bytes: _,
        quality: q,
    } = codec
        .encode(&img, ansel::EncodeOptions::bits_per_pixel(1e6))
        .unwrap();
    assert_eq!(q, ansel::quality::QUALITY_MAX);
}

#[test]
fn target_bpp_must_be_positive() {
    let codec = Codec::embedded().unwrap();
    let img = photo_like(8, 8);
    for t in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert!(
            matches!(
                codec.encode(&img, ansel::EncodeOptions::bits_per_pixel(t)),
                Err(Error::TargetRate(_))
            ),
            "target {t}"
        );
    }
}

#[test]
fn size_limits_are_checked_before_coding() {
    use ansel::check_dimensions;
    assert!(check_dimensions(1, 1).is_ok());
    assert!(check_dimensions(16_384, 1).is_ok());
    assert!(check_dimensions(6_000, 6_000).is_ok());
    assert!(check_dimensions(0, 5).is_err());
    assert!(check_dimensions(16_385, 1).is_err());
    assert!(check_dimensions(1, 16_385).is_err());
    assert!(check_dimensions(10_000, 10_000).is_err()); // 100 MP > 40 MP
    let err = check_dimensions(16_385, 1).unwrap_err().to_string();
    assert!(err.contains("16385x1"), "{err}");

    let codec = Codec::embedded().unwrap();
    let wide = RgbImage::new(16_385, 1);
    assert!(matches!(codec.encode(&wide, 4.0), Err(Error::Format(_))));
}

#[test]
fn grey_alpha_and_deep_inputs_convert_to_rgb8() {
    let grey = image::GrayImage::from_fn(9, 7, |x, y| image::Luma([(x * 20 + y) as u8]));
    let (rgb, conv) = to_rgb8(DynamicImage::ImageLuma8(grey.clone()));
    assert_eq!(conv, Conversion::FromGrey);
    for (x, y, p) in rgb.enumerate_pixels() {
        let g = grey.get_pixel(x, y).0[0];
        assert_eq!(p.0, [g, g, g]);
    }

    let rgba = image::RgbaImage::from_fn(9, 7, |x, y| image::Rgba([x as u8, y as u8, 3, 0]));
    let (rgb, conv) = to_rgb8(DynamicImage::ImageRgba8(rgba));
    assert_eq!(conv, Conversion::DroppedAlpha);
    // Dropped, not composited: a fully transparent pixel keeps its colour.
    assert_eq!(rgb.get_pixel(4, 5).0, [4, 5, 3]);

    let deep =
        image::ImageBuffer::<image::Rgb<u16>, _>::from_pixel(3, 3, image::Rgb([0xffff, 0x8080, 0]));
    let (rgb, conv) = to_rgb8(DynamicImage::ImageRgb16(deep));
    assert_eq!(conv, Conversion::ReducedDepth);
    assert_eq!(rgb.get_pixel(1, 1).0, [255, 128, 0]);

    // Grey and alpha images code like any other once converted.
    let codec = Codec::embedded().unwrap();
    let stream = codec.encode(&rgb, 4.0).unwrap().bytes;
    assert_eq!(codec.decode(&stream).unwrap().dimensions(), (3, 3));
}

#[test]
fn image_crate_opens_ansel_files_through_the_hook() {
    assert!(ansel::register_image_hook());
    assert!(
        ansel::register_image_hook(),
        "registering twice is harmless"
    );

    let codec = Codec::embedded().unwrap();
    let img = photo_like(33, 17);
    let stream = codec.encode(&img, 4.0).unwrap().bytes;
    let expected = codec.decode(&stream).unwrap();

    let dir = tempfile::tempdir().unwrap();
    for name in ["photo.ansel", "PHOTO.ANSEL"] {
        let path = dir.path().join(name);
        std::fs::write(&path, &stream).unwrap();
        let opened = image::open(&path).unwrap();
        assert_eq!(opened.color(), image::ColorType::Rgb8);
        assert_eq!(opened.to_rgb8(), expected, "{name}");
    }

    // Content sniffing finds it whatever the name.
    let renamed = dir.path().join("photo.bin");
    std::fs::write(&renamed, &stream).unwrap();
    let sniffed = image::ImageReader::open(&renamed)
        .unwrap()
        .with_guessed_format()
        .unwrap()
        .decode()
        .unwrap();
    assert_eq!(sniffed.to_rgb8(), expected);
    assert_eq!(
        image::load_from_memory(&stream).unwrap().to_rgb8(),
        expected
    );
    let (w, h) = image::ImageReader::open(dir.path().join("photo.ansel"))
        .unwrap()
        .into_dimensions()
        .unwrap();
    assert_eq!((w, h), (33, 17));

    // Broken files are errors, not panics.
    let corrupt = dir.path().join("corrupt.ansel");
    let mut bad = stream.clone();
    bad.truncate(bad.len() / 2);
    std::fs::write(&corrupt, &bad).unwrap();
    assert!(matches!(
        image::open(&corrupt),
        Err(image::ImageError::Decoding(_))
    ));

    // A stream from another model fails with the wrong-model error as the source.
    let mut container = Container::from_bytes(&stream, &Limits::default()).unwrap();
    container.header.model.hash[0] ^= 0xff;
    let foreign = dir.path().join("foreign.ansel");
    std::fs::write(&foreign, container.to_bytes().unwrap()).unwrap();
    let err = image::open(&foreign).unwrap_err();
    let source = std::error::Error::source(&err).expect("a source");
    assert!(
        matches!(
            source.downcast_ref::<Error>(),
            Some(Error::WrongModel { .. })
        ),
        "{err}"
    );
}
