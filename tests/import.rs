//! `ansel import compressai`: CompressAI checkpoints of both architectures become packages that
//! code as CompressAI codes them (within 1 % of its bytes and 0.05 dB of its PSNR); a state dict
//! of the zoo's full size imports; checkpoints of another architecture, with tensors missing,
//! left over or of the wrong shape, files that are not checkpoints and bad arguments are refused
//! with nothing written.
//!
//! The checkpoints are small CompressAI networks trained for a few hundred steps, made by
//! `tests/data/import/make.py`, which also wrote CompressAI's own results
//! (`compressai-results.json`) and its decode of `input.png`.

#[path = "support/torch_zip.rs"]
mod torch_zip;

use std::path::{Path, PathBuf};

use ansel::codec_format::Container;
use ansel::import::{self, Architecture, ImportError, Options, ScaleTable};
use ansel::{Codec, Hyperprior, LIMITS};
use assert_cmd::cargo::cargo_bin_cmd;
use predicates::str::contains;

const ARCHS: [(Architecture, &str); 2] = [
    (Architecture::Mbt2018Mean, "mbt2018-mean-small.pth.tar"),
    (
        Architecture::Bmshj2018Hyperprior,
        "bmshj2018-hyperprior-small.pth.tar",
    ),
];

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/import")
        .join(name)
}

fn psnr(a: &image::RgbImage, b: &image::RgbImage) -> f64 {
    let mse = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum::<f64>()
        / a.as_raw().len() as f64;
    10.0 * (255.0f64.powi(2) / mse).log10()
}

/// CompressAI's result for `image` under `arch`: (bytes of its strings, PSNR of its decode).
fn theirs(arch: Architecture, image: &str) -> (usize, f64) {
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data("compressai-results.json")).unwrap()).unwrap();
    let r = &json[arch.name()][image];
    (
        r["bytes"].as_u64().unwrap() as usize,
        r["psnr"].as_f64().unwrap(),
    )
}

/// Bytes of the coded latents of a stream (its sections, without the container's header).
fn payload(stream: &[u8]) -> usize {
    let container = Container::from_bytes(stream, &LIMITS).unwrap();
    container.tiles[0]
        .sections
        .iter()
        .map(|s| s.data.len())
        .sum()
}

fn imported(arch: Architecture, file: &str, scales: ScaleTable) -> Codec {
    let options = Options {
        scales,
        ..Options::new(arch, 0.013)
    };
    let package = import::compressai(&data(file), &options).unwrap();
    Codec::from_package(&package).unwrap()
}

#[test]
fn imported_networks_decode_what_compressai_decodes() {
    let input = image::open(data("input.png")).unwrap().to_rgb8();
    for (arch, file) in ARCHS {
        let codec = imported(arch, file, ScaleTable::Ansel);
        let config = codec.metadata().network;
        assert_eq!((config.n, config.m), (16, 24));
        assert_eq!(config.hyperprior, arch.hyperprior());
        // Gains of one: every quality codes the same latent.
        let stream = codec.encode(&input, 4.0).unwrap().bytes;
        assert_eq!(
            payload(&codec.encode(&input, 1.0).unwrap().bytes),
            payload(&stream)
        );
        let ours = codec.decode(&stream).unwrap();
        let decoded = image::open(data(&format!("compressai-{arch}.png")))
            .unwrap()
            .to_rgb8();
        // The same pixels up to f16 weights and the rare latent that rounds the other way.
        let against_theirs = psnr(&ours, &decoded);
        assert!(
            against_theirs > 40.0,
            "{arch}: {against_theirs:.2} dB from CompressAI's decode"
        );
        let (_, their_psnr) = theirs(arch, "input.png");
        let ours_psnr = psnr(&ours, &input);
        assert!(
            (ours_psnr - their_psnr).abs() < 0.05,
            "{arch}: {ours_psnr:.3} dB, CompressAI {their_psnr:.3} dB"
        );
    }
}

/// With CompressAI's scale table the imported networks code Kodak images within 1 % of
/// CompressAI's bytes; with ansel's ladder, in fewer bytes; the PSNR within 0.05 dB of
/// CompressAI's either way.
#[test]
fn imported_networks_code_kodak_like_compressai() {
    let kodak = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets/kodak");
    if !kodak.exists() {
        eprintln!("skipped: {} is absent", kodak.display());
        return;
    }
    for (arch, file) in ARCHS {
        let codecs = [ScaleTable::CompressAi, ScaleTable::Ansel].map(|s| imported(arch, file, s));
        for name in ["kodim01.png", "kodim05.png", "kodim23.png"] {
            let image = image::open(kodak.join(name)).unwrap().to_rgb8();
            let (their_bytes, their_psnr) = theirs(arch, name);
            let mut sizes = Vec::new();
            for (codec, scales) in codecs.iter().zip(["CompressAI's", "ansel's"]) {
                let stream = codec.encode(&image, 4.0).unwrap().bytes;
                let (bytes, db) = (
                    payload(&stream),
                    psnr(&codec.decode(&stream).unwrap(), &image),
                );
                eprintln!(
                    "{arch} {name}, {scales} scales: {bytes} bytes ({} in the file), {db:.3} dB; CompressAI {their_bytes} bytes, {their_psnr:.3} dB",
                    stream.len()
                );
                assert!(
                    (db - their_psnr).abs() < 0.05,
                    "{arch} {name}: {db:.3} dB vs {their_psnr:.3}"
                );
                sizes.push(bytes);
            }
            let ratio = sizes[0] as f64 / their_bytes as f64;
            assert!(
                (ratio - 1.0).abs() < 0.01,
                "{arch} {name}: {} bytes vs {their_bytes}",
                sizes[0]
            );
            assert!(
                sizes[1] < sizes[0],
                "{arch} {name}: ansel's ladder {} bytes, CompressAI's scales {}",
                sizes[1],
                sizes[0]
            );
        }
    }
}

#[test]
fn a_state_dict_of_the_zoo_size_imports() {
    // The zoo's key names and shapes at N = 128, M = 192 (qualities 1-5), random values.
    let dir = tempfile::tempdir().unwrap();
    for arch in [Architecture::Mbt2018Mean, Architecture::Bmshj2018Hyperprior] {
        let path = dir.path().join(format!("{arch}.pth.tar"));
        torch_zip::write(&path, &torch_zip::zoo_state_dict(arch, 128, 192));
        let package = import::compressai(&path, &Options::new(arch, 0.0067)).unwrap();
        let config = package.metadata.network;
        assert_eq!(
            (config.n, config.m, config.hyperprior),
            (128, 192, arch.hyperprior())
        );
        let codec = Codec::from_package(&package).unwrap();
        let image =
            image::RgbImage::from_fn(64, 64, |x, y| image::Rgb([x as u8 * 4, y as u8 * 4, 90]));
        let stream = codec.encode(&image, 3.0).unwrap().bytes;
        assert_eq!(codec.decode(&stream).unwrap().dimensions(), (64, 64));
    }
}

#[test]
fn malformed_checkpoints_are_refused() {
    let mbt = Architecture::Mbt2018Mean;
    let bmshj = Architecture::Bmshj2018Hyperprior;
    let (mbt_file, bmshj_file) = (data(ARCHS[0].1), data(ARCHS[1].1));
    let import = |path: &Path, arch, lambda| import::compressai(path, &Options::new(arch, lambda));
    let wrong = |path: &Path, arch| match import(path, arch, 0.01) {
        Err(ImportError::WrongArchitecture { found, .. }) => found,
        other => panic!("{other:?}"),
    };
    assert_eq!(wrong(&bmshj_file, mbt), "bmshj2018-hyperprior");
    assert_eq!(wrong(&mbt_file, bmshj), "mbt2018-mean");
    let tensors = |file: &str| match import(&data(file), mbt, 0.01) {
        Err(e @ ImportError::Tensors { .. }) => e.to_string(),
        other => panic!("{file}: {other:?}"),
    };
    let missing = tensors("malformed-missing.pth.tar");
    assert!(missing.contains("missing g_s.deconv3.bias"), "{missing}");
    let extra = tensors("malformed-extra.pth.tar");
    assert!(extra.contains("no place for g_s.7.weight"), "{extra}");
    let shape = tensors("malformed-shape.pth.tar");
    assert!(shape.contains("g_s.deconv0.weight"), "{shape}");
    assert!(matches!(
        import(&data("not-a-model.pth.tar"), mbt, 0.01),
        Err(ImportError::NoModel(_))
    ));
    assert!(matches!(
        import(&data("input.png"), mbt, 0.01),
        Err(ImportError::NotACheckpoint { .. })
    ));
    assert!(matches!(
        import(&mbt_file, mbt, -1.0),
        Err(ImportError::Lambda(_))
    ));
    let missing = import(&data("no-such.pth.tar"), mbt, 0.01).unwrap_err();
    assert!(missing.to_string().contains("no-such.pth.tar"), "{missing}");
}

#[test]
fn the_command_writes_a_package_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("small.anselpkg");
    let import = |checkpoint: &str, arch: &str| {
        let mut cmd = cargo_bin_cmd!("ansel");
        cmd.args([
            "import",
            "compressai",
            "--arch",
            arch,
            "--lambda",
            "0.013",
            "-o",
        ])
        .arg(&out)
        .arg(data(checkpoint));
        cmd
    };
    import(ARCHS[1].1, "mbt2018-mean")
        .assert()
        .failure()
        .stderr(contains(
            "a bmshj2018-hyperprior checkpoint, not mbt2018-mean",
        ));
    assert!(!out.exists());
    import("malformed-shape.pth.tar", "mbt2018-mean")
        .assert()
        .failure();
    assert!(!out.exists());
    import(ARCHS[1].1, "bmshj2018-hyperprior")
        .assert()
        .success()
        .stdout(contains("N = 16, M = 24"));
    let mut describe = cargo_bin_cmd!("ansel");
    describe
        .args(["model", "--model"])
        .arg(&out)
        .assert()
        .success()
        .stdout(contains("scale hyperprior (means zero)"))
        .stdout(contains("bmshj2018-hyperprior"));
    // An existing output is kept unless --force.
    import(ARCHS[0].1, "mbt2018-mean").assert().failure();
    let kept = ansel::Package::read(&out).unwrap();
    assert_eq!(kept.metadata.network.hyperprior, Hyperprior::ScaleOnly);
}
