//! `ansel encode` / `decode` / `info` as a user meets them: round trips, standard input and
//! output, several inputs, `--force`, `--target-bpp`, the input policy, and every error case
//! (exit code, a message naming the file and the problem, no output left behind).
//!
//! The embedded model may be a placeholder: nothing here depends on its rate or quality
//! beyond the file size growing with quality.

mod common;
use common::photo_like;
use std::path::{Path, PathBuf};

use ansel::codec_format::{Container, Limits};
use assert_cmd::cargo::cargo_bin_cmd;
use assert_cmd::Command;
use predicates::prelude::*;
use predicates::str::contains;
use tempfile::TempDir;

fn ansel(dir: &Path) -> Command {
    let mut cmd = cargo_bin_cmd!("ansel");
    cmd.current_dir(dir);
    cmd
}

/// A temporary directory with `photo.png` (48×40) in it.
fn workdir() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    photo_like(48, 40)
        .save(dir.path().join("photo.png"))
        .unwrap();
    dir
}

/// The names in `dir`, sorted: checks that nothing (no output, no temporary file) was left.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A valid stream of `photo.png` in `dir`, written as `name`.
fn encoded(dir: &Path, name: &str) -> Vec<u8> {
    ansel(dir)
        .args(["encode", "photo.png", "-o", name])
        .assert()
        .success();
    std::fs::read(dir.join(name)).unwrap()
}

/// Runs `args` in `dir`, expects exit code 1 with every one of `messages` on stderr, no
/// panic or Debug output, nothing on stdout, and the directory unchanged.
fn fails(dir: &Path, args: &[&str], messages: &[&str]) {
    let before = listing(dir);
    let mut assert = ansel(dir).args(args).assert().code(1).stdout("");
    for m in messages {
        assert = assert.stderr(contains(*m));
    }
    assert
        .stderr(contains("panicked").not())
        .stderr(contains("Error {").not())
        .stderr(contains("Os {").not());
    assert_eq!(listing(dir), before, "{args:?} left files behind");
}

#[test]
fn encode_then_decode_round_trip_with_default_names() {
    let dir = workdir();
    let d = dir.path();
    ansel(d).args(["encode", "photo.png"]).assert().success();
    let stream = std::fs::read(d.join("photo.ansel")).unwrap();
    assert_eq!(&stream[..8], &ansel::codec_format::MAGIC);
    std::fs::remove_file(d.join("photo.png")).unwrap();
    ansel(d).args(["decode", "photo.ansel"]).assert().success();
    let decoded = image::open(d.join("photo.png")).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (48, 40));
    assert_eq!(listing(d), ["photo.ansel", "photo.png"]);
    // Outputs are ordinary files, readable like any other the user creates.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.join("photo.ansel"))
            .unwrap()
            .permissions()
            .mode();
        assert_ne!(
            mode & 0o777,
            0o600,
            "output kept the temporary file's private mode"
        );
    }

    ansel(d)
        .args(["info", "photo.ansel", "--json"])
        .assert()
        .success()
        .stdout(contains("\"width\": 48"))
        // Without -q the default quality, 5, is used.
        .stdout(contains("\"quality\": 5.0"));
}

/// `--refine N` codes what the library's `encode_with` codes with N steps, and a count that
/// is not a number is refused before any work.
#[test]
fn refine_passes_through_to_the_library() {
    let dir = workdir();
    let d = dir.path();
    ansel(d)
        .args([
            "encode",
            "photo.png",
            "-q",
            "7",
            "--refine",
            "3",
            "-o",
            "r.ansel",
        ])
        .assert()
        .success();
    let image = image::open(d.join("photo.png")).unwrap().to_rgb8();
    let codec = ansel::Codec::embedded().unwrap();
    let expected = codec
        .encode(
            &image,
            ansel::EncodeOptions::quality(7.0).refine(ansel::Refinement::steps(3)),
        )
        .unwrap()
        .bytes;
    // Only then does the comparison below show that the flag was passed on.
    assert_ne!(expected, codec.encode(&image, 7.0).unwrap().bytes);
    assert_eq!(std::fs::read(d.join("r.ansel")).unwrap(), expected);
    // A usage error: exit code 2, nothing written.
    ansel(d)
        .args(["encode", "photo.png", "--refine", "many"])
        .assert()
        .code(2)
        .stderr(contains("--refine"));
    assert_eq!(listing(d), ["photo.png", "r.ansel"]);
}

#[test]
fn decode_picks_the_format_by_extension_or_flag() {
    let dir = workdir();
    let d = dir.path();
    encoded(d, "photo.ansel");
    ansel(d)
        .args(["decode", "photo.ansel", "-o", "out.bmp"])
        .assert()
        .success();
    assert_eq!(&std::fs::read(d.join("out.bmp")).unwrap()[..2], b"BM");
    ansel(d)
        .args(["decode", "photo.ansel", "-o", "out.img", "--format", "ppm"])
        .assert()
        .success();
    assert_eq!(&std::fs::read(d.join("out.img")).unwrap()[..2], b"P6");
    for (name, magic) in [("out.ppm", b"P6"), ("out.pam", b"P7")] {
        ansel(d)
            .args(["decode", "photo.ansel", "-o", name])
            .assert()
            .success();
        assert_eq!(&std::fs::read(d.join(name)).unwrap()[..2], magic, "{name}");
    }
    fails(
        d,
        &["decode", "photo.ansel", "-o", "out.pgm"],
        &["out.pgm", ".ppm"],
    );
    // An extension that names no writable format fails before decoding.
    fails(
        d,
        &["decode", "photo.ansel", "-o", "out.xyz"],
        &["out.xyz", "format"],
    );
    fails(
        d,
        &["decode", "photo.ansel", "-o", "out.gif"],
        &["out.gif", "GIF"],
    );
}

#[test]
fn an_existing_output_is_kept_without_force() {
    let dir = workdir();
    let d = dir.path();
    std::fs::write(d.join("photo.ansel"), b"precious").unwrap();
    fails(
        d,
        &["encode", "photo.png", "-q", "2"],
        &["photo.ansel", "already exists", "--force"],
    );
    assert_eq!(std::fs::read(d.join("photo.ansel")).unwrap(), b"precious");
    ansel(d)
        .args(["encode", "photo.png", "-q", "2", "--force"])
        .assert()
        .success();
    let stream = std::fs::read(d.join("photo.ansel")).unwrap();
    assert_eq!(&stream[..8], &ansel::codec_format::MAGIC);

    std::fs::write(d.join("photo.png"), b"precious").unwrap();
    fails(
        d,
        &["decode", "photo.ansel"],
        &["photo.png", "already exists"],
    );
    ansel(d)
        .args(["decode", "photo.ansel", "-f"])
        .assert()
        .success();
    assert!(image::open(d.join("photo.png")).is_ok());
}

/// A device or FIFO given as the output (`-o /dev/null`) is written into, not replaced: the
/// temporary-file-and-rename that protects regular files would put a plain file in its place
/// (as root, /dev/null itself). A FIFO stands in for the device here.
#[cfg(unix)]
#[test]
fn a_fifo_output_is_written_into_not_replaced() {
    use std::os::unix::fs::FileTypeExt;
    let dir = workdir();
    let d = dir.path();
    let stream = encoded(d, "photo.ansel");
    for (args, check) in [
        (["encode", "photo.png", "-o", "pipe.ansel"], "stream"),
        (["decode", "photo.ansel", "-o", "pipe.png"], "image"),
    ] {
        let pipe = d.join(args[3]);
        let status = std::process::Command::new("mkfifo")
            .arg(&pipe)
            .status()
            .unwrap();
        assert!(status.success());
        // The reader is a child process, so a failing write cannot leave the test blocked in
        // the FIFO's open: the reader is killed instead.
        let mut reader = std::process::Command::new("cat")
            .arg(&pipe)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // No --force: writing into a device or FIFO overwrites no file.
        let out = ansel(d).args(args).output().unwrap();
        if !out.status.success() {
            reader.kill().unwrap();
        }
        let got = reader.wait_with_output().unwrap().stdout;
        assert!(out.status.success(), "{check}: {out:?}");
        let meta = std::fs::symlink_metadata(&pipe).unwrap();
        assert!(meta.file_type().is_fifo(), "{check}: the FIFO was replaced");
        if check == "stream" {
            assert_eq!(got, stream);
        } else {
            assert!(image::load_from_memory(&got).is_ok());
        }
        std::fs::remove_file(&pipe).unwrap();
    }
    assert_eq!(listing(d), ["photo.ansel", "photo.png"]);
}

#[test]
fn dash_reads_stdin_and_writes_stdout() {
    let dir = workdir();
    let d = dir.path();
    let file_stream = encoded(d, "photo.ansel");
    let png = std::fs::read(d.join("photo.png")).unwrap();

    // Encode: stdin to stdout by default, format recognised from the content.
    let out = ansel(d)
        .args(["encode", "-"])
        .write_stdin(png.clone())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(out, file_stream);
    // stdin to a file, and a file to stdout.
    ansel(d)
        .args(["encode", "-", "-o", "in.ansel"])
        .write_stdin(png)
        .assert()
        .success()
        .stdout("");
    assert_eq!(std::fs::read(d.join("in.ansel")).unwrap(), file_stream);
    ansel(d)
        .args(["encode", "photo.png", "-o", "-"])
        .assert()
        .success()
        .stdout(file_stream.clone());

    // Decode: PNG on stdout unless --format.
    let out = ansel(d)
        .args(["decode", "-"])
        .write_stdin(file_stream.clone())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let img = image::load_from_memory_with_format(&out, image::ImageFormat::Png).unwrap();
    assert_eq!((img.width(), img.height()), (48, 40));
    ansel(d)
        .args(["decode", "-", "--format", "ppm"])
        .write_stdin(file_stream.clone())
        .assert()
        .success()
        .stdout(predicate::function(|o: &[u8]| o.starts_with(b"P6")));

    // info reads stdin too.
    ansel(d)
        .args(["info", "-"])
        .write_stdin(file_stream)
        .assert()
        .success()
        .stdout(contains("48×40"));

    // Errors on stdin name it, and write nothing to stdout.
    fails(d, &["decode", "-"], &["<stdin>", "empty"]);
    ansel(d)
        .args(["encode", "-"])
        .write_stdin(b"not an image at all".to_vec())
        .assert()
        .code(1)
        .stdout("")
        .stderr(contains("<stdin>").and(contains("not an image")));
}

#[test]
fn several_inputs_go_to_out_dir_in_parallel() {
    let dir = workdir();
    let d = dir.path();
    photo_like(20, 70).save(d.join("tall.png")).unwrap();
    ansel(d)
        .args([
            "encode",
            "photo.png",
            "tall.png",
            "--out-dir",
            "out",
            "-j",
            "2",
            "-v",
        ])
        .assert()
        .success()
        .stderr(contains("bpp").and(contains("encode")));
    assert_eq!(listing(&d.join("out")), ["photo.ansel", "tall.ansel"]);
    ansel(d)
        .args([
            "decode",
            "out/photo.ansel",
            "out/tall.ansel",
            "--out-dir",
            "dec",
        ])
        .assert()
        .success();
    assert_eq!(listing(&d.join("dec")), ["photo.png", "tall.png"]);
    let tall = image::open(d.join("dec/tall.png")).unwrap();
    assert_eq!((tall.width(), tall.height()), (20, 70));
    // Without --out-dir, each output goes beside its input.
    ansel(d)
        .args([
            "decode",
            "out/photo.ansel",
            "out/tall.ansel",
            "--format",
            "bmp",
        ])
        .assert()
        .success();
    assert!(d.join("out/photo.bmp").exists() && d.join("out/tall.bmp").exists());
}

#[test]
fn one_failing_input_does_not_stop_the_others() {
    let dir = workdir();
    let d = dir.path();
    std::fs::write(d.join("junk.png"), b"junk").unwrap();
    ansel(d)
        .args([
            "encode",
            "junk.png",
            "photo.png",
            "missing.png",
            "--out-dir",
            "out",
        ])
        .assert()
        .code(1)
        .stderr(
            contains("junk.png: not an image")
                .and(contains("missing.png"))
                .and(contains("2 of 3 inputs failed")),
        );
    assert_eq!(listing(&d.join("out")), ["photo.ansel"]);
}

#[test]
fn inconsistent_arguments_are_refused_before_any_work() {
    let dir = workdir();
    let d = dir.path();
    fails(
        d,
        &["encode", "photo.png", "photo.png", "--out-dir", "out"],
        &["photo.png", "both be written to"],
    );
    fails(d, &["encode", "photo.png", "-"], &["standard input"]);
    fails(
        d,
        &["encode", "photo.png", "photo.png", "-o", "x.ansel"],
        &["--out-dir"],
    );
    // Usage errors exit with 2.
    ansel(d)
        .args(["encode", "photo.png", "-q", "9"])
        .assert()
        .code(2)
        .stderr(contains("1 to 8"));
    ansel(d)
        .args(["encode", "photo.png", "-q", "3", "--target-bpp", "1"])
        .assert()
        .code(2)
        .stderr(contains("cannot be used with"));
    ansel(d)
        .args(["encode", "photo.png", "--target-bpp=0"])
        .assert()
        .code(2)
        .stderr(contains("bits per pixel"));
    assert_eq!(listing(d), ["photo.png"]);
}

#[test]
fn encode_errors_name_the_file_and_the_problem() {
    let dir = workdir();
    let d = dir.path();
    fails(
        d,
        &["encode", "missing.png"],
        &["missing.png", "No such file"],
    );
    std::fs::create_dir(d.join("folder.png")).unwrap();
    fails(d, &["encode", "folder.png"], &["folder.png", "cannot read"]);
    std::fs::write(d.join("notes.png"), "just some text\n").unwrap();
    fails(d, &["encode", "notes.png"], &["notes.png", "not an image"]);
    std::fs::write(d.join("empty.png"), b"").unwrap();
    fails(d, &["encode", "empty.png"], &["empty.png", "empty"]);
    let png = std::fs::read(d.join("photo.png")).unwrap();
    std::fs::write(d.join("cut.png"), &png[..png.len() / 2]).unwrap();
    fails(d, &["encode", "cut.png"], &["cut.png", "cannot decode"]);
    // Over the size limit: refused from the header, before decoding the pixels.
    image::RgbImage::new(16_385, 1)
        .save(d.join("wide.png"))
        .unwrap();
    fails(
        d,
        &["encode", "wide.png"],
        &["wide.png", "16385x1", "exceeds the limits"],
    );
    fails(
        d,
        &["encode", "photo.png", "--model", "none.anselpkg"],
        &["none.anselpkg"],
    );
    fails(
        d,
        &["encode", "photo.png", "-o", "nowhere/photo.ansel"],
        &["nowhere/photo.ansel", "No such file"],
    );
}

#[test]
fn decode_errors_name_the_file_and_the_problem() {
    let dir = workdir();
    let d = dir.path();
    let stream = encoded(d, "good.ansel");
    let write = |name: &str, bytes: &[u8]| std::fs::write(d.join(name), bytes).unwrap();

    fails(
        d,
        &["decode", "missing.ansel"],
        &["missing.ansel", "No such file"],
    );

    // A file of another format.
    let png = std::fs::read(d.join("photo.png")).unwrap();
    write("foreign.ansel", &png);
    fails(
        d,
        &["decode", "foreign.ansel"],
        &["foreign.ansel", "not an .ansel file"],
    );

    write("empty.ansel", b"");
    fails(d, &["decode", "empty.ansel"], &["empty.ansel", "empty"]);

    write("truncated.ansel", &stream[..stream.len() - 10]);
    fails(
        d,
        &["decode", "truncated.ansel"],
        &["truncated.ansel", "truncated"],
    );

    let mut flipped = stream.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x10;
    write("corrupt.ansel", &flipped);
    fails(
        d,
        &["decode", "corrupt.ansel"],
        &["corrupt.ansel", "corrupt"],
    );

    // Made with another model: a valid container naming another model id.
    let mut container = Container::from_bytes(&stream, &Limits::default()).unwrap();
    container.header.model.hash[0] ^= 0xff;
    write("other-model.ansel", &container.to_bytes().unwrap());
    fails(
        d,
        &["decode", "other-model.ansel"],
        &["other-model.ansel", "made with model", "--model"],
    );

    // From a newer major version of the format (the version follows the 8-byte magic).
    let mut newer = stream.clone();
    newer[8] = ansel::codec_format::VERSION.major + 1;
    write("newer.ansel", &newer);
    fails(
        d,
        &["decode", "newer.ansel"],
        &["newer.ansel", "unsupported .ansel format version 2"],
    );
    fails(d, &["info", "newer.ansel"], &["newer.ansel", "version"]);

    // A header claiming an image over the size limit.
    let mut huge = Container::from_bytes(&stream, &Limits::default()).unwrap();
    huge.header.width = 20_000;
    huge.header.tile_width = 20_000;
    write("huge.ansel", &huge.to_bytes().unwrap());
    fails(
        d,
        &["decode", "huge.ansel"],
        &["huge.ansel", "exceeds the limits"],
    );

    // The valid file still decodes.
    ansel(d).args(["decode", "good.ansel"]).assert().success();
}

#[test]
fn grey_alpha_and_16_bit_inputs_follow_the_input_policy() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    image::GrayImage::from_fn(30, 20, |x, y| image::Luma([(x * 8 + y) as u8]))
        .save(d.join("grey.png"))
        .unwrap();
    image::RgbaImage::from_fn(30, 20, |x, y| {
        image::Rgba([x as u8 * 8, y as u8 * 9, 40, 128])
    })
    .save(d.join("alpha.png"))
    .unwrap();
    image::ImageBuffer::<image::Rgb<u16>, _>::from_fn(30, 20, |x, y| {
        image::Rgb([x as u16 * 2000, y as u16 * 3000, 12345])
    })
    .save(d.join("deep.png"))
    .unwrap();
    image::GrayImage::from_fn(30, 20, |x, _| image::Luma([x as u8 * 8]))
        .save(d.join("grey.pgm"))
        .unwrap();

    ansel(d)
        .args(["encode", "grey.png"])
        .assert()
        .success()
        .stderr("");
    ansel(d)
        .args(["encode", "grey.pgm", "-o", "pgm.ansel"])
        .assert()
        .success()
        .stderr("");
    ansel(d)
        .args(["encode", "alpha.png"])
        .assert()
        .success()
        .stderr(contains("alpha.png: warning: alpha channel dropped"));
    ansel(d)
        .args(["encode", "deep.png"])
        .assert()
        .success()
        .stderr(contains(
            "deep.png: warning: 16-bit samples rounded to 8 bits",
        ));
    for name in ["grey", "alpha", "deep"] {
        ansel(d)
            .args([
                "decode",
                &format!("{name}.ansel"),
                "-o",
                &format!("{name}.out.png"),
            ])
            .assert()
            .success();
        let img = image::open(d.join(format!("{name}.out.png"))).unwrap();
        assert_eq!(img.color(), image::ColorType::Rgb8, "{name}");
        assert_eq!((img.width(), img.height()), (30, 20), "{name}");
    }
    ansel(d)
        .args(["encode", "--help"])
        .assert()
        .success()
        .stdout(contains("alpha channel is dropped").and(contains("rounded to 8 bits")));
}

#[test]
fn verbose_prints_timings_and_bpp() {
    let dir = workdir();
    let d = dir.path();
    ansel(d)
        .args(["encode", "photo.png", "-v", "-q", "3"])
        .assert()
        .success()
        .stderr(
            contains("model")
                .and(contains("load"))
                .and(contains("encode"))
                .and(contains("write"))
                .and(contains("bpp")),
        );
    ansel(d)
        .args(["decode", "photo.ansel", "-o", "back.png", "-v"])
        .assert()
        .success()
        .stderr(
            contains("read")
                .and(contains("decode"))
                .and(contains("bpp")),
        );
}

/// `--target-bpp` on a Kodak image: the target is the rate quality 2.5 reaches (so it is
/// reachable whatever the model), and the search starts elsewhere.
#[test]
fn target_bpp_lands_within_10_percent_on_kodak() {
    let kodak = PathBuf::from("../shared/datasets/kodak/kodim23.png");
    if !kodak.exists() {
        eprintln!("skipped: {} is absent", kodak.display());
        return;
    }
    let kodak = kodak.canonicalize().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pixels = 768.0 * 512.0;
    let kodak = kodak.to_str().unwrap();
    ansel(d)
        .args(["encode", kodak, "-q", "2.5", "-o", "ref.ansel"])
        .assert()
        .success();
    let target = 8.0 * std::fs::metadata(d.join("ref.ansel")).unwrap().len() as f64 / pixels;
    ansel(d)
        .args([
            "encode",
            kodak,
            "--target-bpp",
            &target.to_string(),
            "-o",
            "t.ansel",
            "-v",
        ])
        .assert()
        .success()
        .stderr(contains("target"));
    let achieved = 8.0 * std::fs::metadata(d.join("t.ansel")).unwrap().len() as f64 / pixels;
    assert!(
        (achieved / target - 1.0).abs() < 0.1,
        "target {target:.4} bpp, achieved {achieved:.4} bpp"
    );
}

/// Decoding runs on the host whatever `--device` says: a GPU request (in a build without a
/// GPU backend, where `encode --device gpu` fails) still decodes, with a note, to the same
/// pixels.
#[test]
fn decode_ignores_device_and_says_so() {
    let dir = workdir();
    let d = dir.path();
    encoded(d, "photo.ansel");
    ansel(d)
        .args(["decode", "photo.ansel", "-o", "plain.png"])
        .assert()
        .success()
        .stderr("");
    ansel(d)
        .args(["decode", "photo.ansel", "-o", "gpu.png", "--device", "gpu"])
        .assert()
        .success()
        .stderr(contains("--device is ignored"));
    let pixels = |name: &str| image::open(d.join(name)).unwrap().to_rgb8();
    assert!(pixels("plain.png") == pixels("gpu.png"));
}
