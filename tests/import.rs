//! `ansel import compressai`: a CompressAI checkpoint becomes a package whose streams decode
//! to what CompressAI decodes; checkpoints of another architecture, files that are not
//! checkpoints and bad arguments are refused with nothing written.
//!
//! The checkpoints are tiny CompressAI networks with random weights, made by
//! `tests/data/import/make.py`, which also wrote CompressAI's own decode of `input.png`.

use std::path::{Path, PathBuf};

use ansel::import::{self, Architecture, ImportError};
use ansel::Codec;
use assert_cmd::cargo::cargo_bin_cmd;
use predicates::str::contains;

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

#[test]
fn an_imported_network_decodes_what_compressai_decodes() {
    let package = import::compressai(
        &data("mbt2018-mean-tiny.pth.tar"),
        Architecture::Mbt2018Mean,
        0.0067,
    )
    .unwrap();
    assert_eq!(
        (package.metadata.network.n, package.metadata.network.m),
        (8, 12)
    );
    let codec = Codec::from_package(&package).unwrap();
    let input = image::open(data("input.png")).unwrap().to_rgb8();
    let theirs = image::open(data("compressai-decoded.png"))
        .unwrap()
        .to_rgb8();
    // Gains of one: every quality codes the same latent.
    let stream = codec.encode(&input, 4.0).unwrap().bytes;
    assert_eq!(codec.encode(&input, 1.0).unwrap().bytes.len(), stream.len());
    let ours = codec.decode(&stream).unwrap();
    // The image is coded badly (random weights); what matters is that both decoders agree,
    // up to f16 weights and the rare latent that rounds the other way.
    let against_theirs = psnr(&ours, &theirs);
    assert!(
        against_theirs > 30.0,
        "{against_theirs:.2} dB from CompressAI's decode"
    );
    assert!(
        psnr(&ours, &input) < 20.0,
        "random weights cannot code the image well"
    );
}

#[test]
fn a_training_checkpoint_imports_as_its_state_dict() {
    let bare = import::compressai(
        &data("mbt2018-mean-tiny.pth.tar"),
        Architecture::Mbt2018Mean,
        0.01,
    )
    .unwrap();
    let nested = import::compressai(
        &data("mbt2018-mean-tiny-checkpoint.pth.tar"),
        Architecture::Mbt2018Mean,
        0.01,
    )
    .unwrap();
    assert_eq!(bare.id(), nested.id());
}

#[test]
fn other_architectures_and_other_files_are_refused() {
    let mbt = Architecture::Mbt2018Mean;
    let bmshj = data("bmshj2018-hyperprior-tiny.pth.tar");
    assert!(matches!(
        import::compressai(&bmshj, mbt, 0.01),
        Err(ImportError::WrongArchitecture { .. })
    ));
    assert!(matches!(
        import::compressai(&bmshj, Architecture::Bmshj2018Hyperprior, 0.01),
        Err(ImportError::Unsupported { .. })
    ));
    assert!(matches!(
        import::compressai(
            &data("mbt2018-mean-tiny.pth.tar"),
            Architecture::Bmshj2018Hyperprior,
            0.01
        ),
        Err(ImportError::WrongArchitecture { .. })
    ));
    assert!(matches!(
        import::compressai(&data("input.png"), mbt, 0.01),
        Err(ImportError::NotACheckpoint { .. })
    ));
    assert!(matches!(
        import::compressai(&data("mbt2018-mean-tiny.pth.tar"), mbt, -1.0),
        Err(ImportError::Lambda(_))
    ));
    let missing = import::compressai(&data("no-such.pth.tar"), mbt, 0.01).unwrap_err();
    assert!(missing.to_string().contains("no-such.pth.tar"), "{missing}");
}

#[test]
fn the_command_writes_a_package_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tiny.anselpkg");
    let import = |checkpoint: &str, arch: &str| {
        let mut cmd = cargo_bin_cmd!("ansel");
        cmd.args([
            "import",
            "compressai",
            "--arch",
            arch,
            "--lambda",
            "0.0067",
            "-o",
        ])
        .arg(&out)
        .arg(data(checkpoint));
        cmd
    };
    import("bmshj2018-hyperprior-tiny.pth.tar", "mbt2018-mean")
        .assert()
        .failure()
        .stderr(contains(
            "a bmshj2018-hyperprior checkpoint, not mbt2018-mean",
        ));
    assert!(!out.exists());
    import("mbt2018-mean-tiny.pth.tar", "mbt2018-mean")
        .assert()
        .success()
        .stdout(contains("N = 8, M = 12"));
    let mut describe = cargo_bin_cmd!("ansel");
    describe
        .args(["model", "--model"])
        .arg(&out)
        .assert()
        .success()
        .stdout(contains("mbt2018-mean"));
    // An existing output is kept unless --force.
    import("mbt2018-mean-tiny.pth.tar", "mbt2018-mean")
        .assert()
        .failure();
}
