//! ICC profiles, EXIF and XMP through `ansel encode` / `decode` / `info` and the library: a
//! PNG and a JPEG carrying all three keep them byte for byte, the orientation stays a tag
//! (the pixels as stored), `--strip` and `--metadata` choose, formats that cannot hold a part
//! say so, and a stream with a malformed or oversized section is refused.

mod common;
use std::path::Path;

use ansel::codec_format::{Container, Limits, Section, SectionKind};
use ansel::Metadata;
use assert_cmd::cargo::cargo_bin_cmd;
use assert_cmd::Command;
use common::{
    exif_orientation_6, icc_profile, jpeg_with_metadata, metadata_of, photo_like,
    png_with_metadata, XMP,
};
use image::metadata::Orientation;
use image::ImageDecoder;
use predicates::prelude::*;
use predicates::str::contains;

fn ansel(dir: &Path) -> Command {
    let mut cmd = cargo_bin_cmd!("ansel");
    cmd.current_dir(dir);
    cmd
}

/// The metadata every fixture carries.
fn fixture_metadata() -> Metadata {
    Metadata {
        icc: Some(icc_profile("Display P3 (ansel test)")),
        exif: Some(exif_orientation_6()),
        xmp: Some(XMP.as_bytes().to_vec()),
    }
}

/// A directory with `photo.png` and `photo.jpg` (64×48), each with an ICC profile, EXIF
/// (orientation 6) and XMP.
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let image = photo_like(64, 48);
    let m = fixture_metadata();
    let (icc, exif) = (m.icc.unwrap(), m.exif.unwrap());
    let png = png_with_metadata(&image, &icc, &exif, XMP);
    let jpeg = jpeg_with_metadata(&image, &icc, &exif, XMP);
    // The fixtures hold what they should, as the `image` crate reads them.
    assert_eq!(metadata_of(&png), fixture_metadata());
    assert_eq!(metadata_of(&jpeg), fixture_metadata());
    std::fs::write(dir.path().join("photo.png"), png).unwrap();
    std::fs::write(dir.path().join("photo.jpg"), jpeg).unwrap();
    dir
}

fn orientation_of(bytes: &[u8]) -> Orientation {
    let mut decoder = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .unwrap()
        .into_decoder()
        .unwrap();
    decoder.orientation().unwrap()
}

#[test]
fn png_and_jpeg_keep_icc_exif_and_xmp_through_encode_and_decode() {
    let dir = workdir();
    let d = dir.path();
    for input in ["photo.png", "photo.jpg"] {
        let stream_name = format!("{input}.ansel");
        let out = ansel(d)
            .args(["encode", "-v", input, "-o", &stream_name])
            .assert()
            .success()
            .get_output()
            .stderr
            .clone();
        let stderr = String::from_utf8(out).unwrap();
        let m = fixture_metadata();
        let (icc, exif, xmp) = (
            m.icc.as_ref().unwrap().len(),
            m.exif.as_ref().unwrap().len(),
            m.xmp.as_ref().unwrap().len(),
        );
        let meta = icc + exif + xmp + 3 * 5;
        assert!(
            stderr.contains(&format!("metadata: ICC {icc}, EXIF {exif}, XMP {xmp})"))
                && stderr.contains(&format!("+ {meta} metadata")),
            "{stderr}"
        );
        let stream = std::fs::read(d.join(&stream_name)).unwrap();
        let info = Container::inspect(&stream, &Limits::default()).unwrap();
        assert_eq!(info.version.to_string(), "1.1");
        assert_eq!(ansel::metadata::read(&stream).unwrap(), fixture_metadata());

        // Decoded into every format that holds all three: byte-identical parts, the
        // orientation tag kept and the pixels as stored (64×48, not rotated).
        for ext in ["png", "jpg", "webp"] {
            let out_name = format!("{input}.out.{ext}");
            ansel(d)
                .args(["decode", &stream_name, "-o", &out_name])
                .assert()
                .success()
                .stderr("");
            let bytes = std::fs::read(d.join(&out_name)).unwrap();
            assert_eq!(metadata_of(&bytes), fixture_metadata(), "{input} → {ext}");
            assert_eq!(orientation_of(&bytes), Orientation::Rotate90, "{ext}");
            let decoded = image::load_from_memory(&bytes).unwrap();
            assert_eq!((decoded.width(), decoded.height()), (64, 48));
        }
        // TIFF keeps the profile and says what it cannot keep.
        let tif = format!("{input}.out.tif");
        ansel(d)
            .args(["decode", &stream_name, "-o", &tif])
            .assert()
            .success()
            .stderr(contains("TIFF cannot hold the EXIF; not written"))
            .stderr(contains("TIFF cannot hold the XMP; not written"))
            .stderr(contains(
                "the EXIF orientation 6 (rotate 90° clockwise) is lost with it",
            ));
        // The profile is in the file whole (image 0.25.10's TIFF reader does not return it,
        // so look for its bytes).
        let bytes = std::fs::read(d.join(&tif)).unwrap();
        let icc = fixture_metadata().icc.unwrap();
        assert!(bytes.windows(icc.len()).any(|w| w == icc.as_slice()));
    }
}

#[test]
fn info_lists_the_metadata_and_its_bytes() {
    let dir = workdir();
    let d = dir.path();
    ansel(d)
        .args(["encode", "photo.jpg", "-o", "photo.ansel"])
        .assert()
        .success();
    let m = fixture_metadata();
    let icc = m.icc.as_ref().unwrap().len();
    ansel(d)
        .args(["info", "photo.ansel"])
        .assert()
        .success()
        .stdout(contains("ansel 1.1 file"))
        .stdout(contains(format!(
            "icc      {icc} B, \"Display P3 (ansel test)\""
        )))
        .stdout(contains(format!(
            "exif     {} B, orientation 6 (rotate 90° clockwise), camera Ansel Tester 1",
            m.exif.as_ref().unwrap().len()
        )))
        .stdout(contains(format!("xmp      {} B", XMP.len())))
        .stdout(contains("metadata"))
        .stdout(contains("ICC profile"));
    let json = ansel(d)
        .args(["info", "--json", "photo.ansel"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(v["metadata"]["icc"]["bytes"], icc);
    assert_eq!(v["metadata"]["exif"]["orientation"], 6);
    assert_eq!(v["metadata"]["exif"]["make"], "Ansel");
    assert_eq!(v["metadata"]["xmp"]["bytes"], XMP.len());
    assert_eq!(
        v["metadata"]["bytes"],
        m.encoded_len(),
        "payloads and their section entries"
    );
}

#[test]
fn strip_and_metadata_choose_what_is_kept() {
    let dir = workdir();
    let d = dir.path();
    ansel(d)
        .args(["encode", "--strip", "photo.png", "-o", "stripped.ansel"])
        .assert()
        .success();
    let stripped = std::fs::read(d.join("stripped.ansel")).unwrap();
    assert!(ansel::metadata::read(&stripped).unwrap().is_empty());
    // Without metadata a stream is a 1.0 file.
    let info = Container::inspect(&stripped, &Limits::default()).unwrap();
    assert_eq!(info.version.to_string(), "1.0");
    ansel(d)
        .args(["info", "stripped.ansel"])
        .assert()
        .success()
        .stdout(contains("icc").not())
        .stdout(contains("exif").not());

    ansel(d)
        .args([
            "encode",
            "--metadata",
            "icc,xmp",
            "photo.png",
            "-o",
            "some.ansel",
        ])
        .assert()
        .success();
    let some = ansel::metadata::read(&std::fs::read(d.join("some.ansel")).unwrap()).unwrap();
    let all = fixture_metadata();
    assert_eq!(
        some,
        Metadata {
            exif: None,
            ..all.clone()
        }
    );
    // The same pixels with or without metadata: the image's sections are identical.
    let with = Container::from_bytes(
        &std::fs::read(d.join("some.ansel")).unwrap(),
        &Limits::default(),
    )
    .unwrap();
    let without = Container::from_bytes(&stripped, &Limits::default()).unwrap();
    for kind in [SectionKind::HyperLatent, SectionKind::Latent] {
        assert_eq!(with.tiles[0].section(kind), without.tiles[0].section(kind));
    }

    ansel(d)
        .args(["encode", "--metadata", "gps", "photo.png", "-o", "x.ansel"])
        .assert()
        .code(2)
        .stderr(contains("`gps` is not a kind of metadata"));

    // decode --strip writes none.
    ansel(d)
        .args(["encode", "photo.png", "-o", "all.ansel"])
        .assert()
        .success();
    ansel(d)
        .args(["decode", "--strip", "all.ansel", "-o", "bare.png"])
        .assert()
        .success();
    assert!(metadata_of(&std::fs::read(d.join("bare.png")).unwrap()).is_empty());
}

/// A stream of `photo.png` with its `kind` section replaced by `data`, resealed: what a
/// damaged or hostile writer could produce.
fn stream_with_section(d: &Path, kind: SectionKind, data: Vec<u8>) -> Vec<u8> {
    ansel(d)
        .args(["encode", "photo.png", "-o", "base.ansel", "--force"])
        .assert()
        .success();
    let mut c = Container::from_bytes(
        &std::fs::read(d.join("base.ansel")).unwrap(),
        &Limits::default(),
    )
    .unwrap();
    let at = c.tiles[0]
        .sections
        .iter()
        .position(|s| s.kind == kind)
        .unwrap();
    // Written as an unknown kind (the writer does not look inside), then patched back.
    c.tiles[0].sections[at] = Section {
        kind: SectionKind::Unknown(200),
        data,
    };
    let mut bytes = c.to_bytes().unwrap();
    let entry = 59 + 6 + 5 * at;
    assert_eq!(bytes[entry], 200);
    bytes[entry] = kind.code();
    bytes[9] = 1;
    let n = bytes.len();
    let crc = crc32c(&bytes[..n - 4]);
    bytes[n - 4..].copy_from_slice(&crc.to_le_bytes());
    bytes
}

/// CRC-32C, as the container computes it.
fn crc32c(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |crc, &b| {
        (0..8).fold(crc ^ u32::from(b), |c, _| {
            (c >> 1) ^ (0x82f6_3b78 & (c & 1).wrapping_neg())
        })
    })
}

#[test]
fn malformed_or_oversized_sections_are_refused() {
    let dir = workdir();
    let d = dir.path();
    let mut bad_icc = icc_profile("x");
    bad_icc[36..40].copy_from_slice(b"xxxx");
    let cases = [
        (
            stream_with_section(d, SectionKind::Icc, bad_icc),
            "malformed ICC profile section: no 'acsp' profile signature at offset 36",
        ),
        (
            stream_with_section(d, SectionKind::Exif, b"Exif\0\0MM\0*".to_vec()),
            "malformed EXIF section: it does not start with a TIFF header",
        ),
        (
            stream_with_section(d, SectionKind::Xmp, vec![b' '; (4 << 20) + 1]),
            "the XMP section is 4194305 bytes long, more than the limit of 4194304 bytes",
        ),
    ];
    for (i, (bytes, message)) in cases.into_iter().enumerate() {
        let name = format!("bad{i}.ansel");
        std::fs::write(d.join(&name), &bytes).unwrap();
        let out = format!("bad{i}.png");
        ansel(d)
            .args(["decode", &name, "-o", &out])
            .assert()
            .code(1)
            .stderr(contains(format!("{name}: {message}")));
        assert!(!d.join(&out).exists(), "no output for a refused stream");
        ansel(d)
            .args(["info", &name])
            .assert()
            .code(1)
            .stderr(contains(message));
        assert!(ansel::Decoder::embedded().unwrap().decode(&bytes).is_err());
        assert!(ansel::AnselDecoder::new(bytes.as_slice()).is_err());
    }

    // An input whose profile the format would refuse is encoded without it, with a warning.
    let image = photo_like(32, 32);
    let mut short_icc = icc_profile("y");
    short_icc.truncate(100);
    let png = png_with_metadata(&image, &short_icc, &exif_orientation_6(), XMP);
    std::fs::write(d.join("odd.png"), png).unwrap();
    ansel(d)
        .args(["encode", "odd.png"])
        .assert()
        .success()
        .stderr(contains(
            "odd.png: warning: ICC profile not kept: malformed ICC profile section",
        ));
    let kept = ansel::metadata::read(&std::fs::read(d.join("odd.ansel")).unwrap()).unwrap();
    assert_eq!(
        (kept.icc, kept.exif.is_some(), kept.xmp.is_some()),
        (None, true, true)
    );
}

#[test]
fn formats_without_metadata_say_what_they_lose() {
    let dir = workdir();
    let d = dir.path();
    ansel(d)
        .args(["encode", "photo.jpg", "-o", "photo.ansel"])
        .assert()
        .success();
    for (ext, name) in [("bmp", "BMP"), ("ppm", "PNM")] {
        ansel(d)
            .args(["decode", "photo.ansel", "-o", &format!("out.{ext}")])
            .assert()
            .success()
            .stderr(contains(format!("{name} cannot hold the ICC profile")))
            .stderr(contains(format!("{name} cannot hold the XMP")))
            .stderr(contains("orientation 6 (rotate 90° clockwise) is lost"));
    }
}

#[test]
fn library_and_image_hook_return_the_metadata() {
    let codec = ansel::Codec::embedded().unwrap();
    let image = photo_like(40, 32);
    let stream = codec
        .encode_with_metadata(&image, 4.0, &fixture_metadata())
        .unwrap()
        .bytes;
    let (decoded, metadata) = codec.decoder().decode_with_metadata(&stream).unwrap();
    assert_eq!(decoded, codec.decode(&stream).unwrap());
    assert_eq!(metadata, fixture_metadata());

    let mut hook = ansel::AnselDecoder::new(stream.as_slice()).unwrap();
    assert_eq!(hook.icc_profile().unwrap(), fixture_metadata().icc);
    assert_eq!(hook.orientation().unwrap(), Orientation::Rotate90);
    assert_eq!(hook.xmp_metadata().unwrap(), fixture_metadata().xmp);

    // A malformed part is an error of the library encoder, naming it.
    let bad = Metadata {
        xmp: Some(vec![0xff]),
        ..Metadata::default()
    };
    let err = codec.encode_with_metadata(&image, 4.0, &bad).unwrap_err();
    assert_eq!(
        err.to_string(),
        "malformed XMP section: the packet is not UTF-8"
    );
    // attach replaces, and an empty Metadata removes.
    let bare = ansel::metadata::attach(&stream, &Metadata::default()).unwrap();
    assert!(ansel::metadata::read(&bare).unwrap().is_empty());
    assert_eq!(
        bare.len() as u64,
        stream.len() as u64 - fixture_metadata().encoded_len()
    );

    // Streams from before format 1.1 decode, with no metadata.
    let old = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/sample-q3.ansel"
    ))
    .unwrap();
    assert_eq!(
        Container::inspect(&old, &Limits::default())
            .unwrap()
            .version
            .to_string(),
        "1.0"
    );
    let (_, none) = ansel::Decoder::embedded()
        .unwrap()
        .decode_with_metadata(&old)
        .unwrap();
    assert!(none.is_empty());
    let mut hook = ansel::AnselDecoder::new(old.as_slice()).unwrap();
    assert_eq!(hook.icc_profile().unwrap(), None);
    assert_eq!(hook.orientation().unwrap(), Orientation::NoTransforms);
}
