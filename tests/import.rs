//! `ansel import compressai`: CompressAI checkpoints of both architectures become packages that
//! code as CompressAI codes them (within 1 % of its bytes and 0.05 dB of its PSNR); a state dict
//! of the zoo's full size imports; checkpoints of another architecture, with tensors missing,
//! left over or of the wrong shape, files that are not checkpoints and bad arguments are refused
//! with nothing written.
//!
//! Several checkpoints of one architecture make one package of one network per quality, ordered
//! by λ: quality k codes exactly as the k-th network's own package codes.
//!
//! The checkpoints are small CompressAI networks trained for a few hundred steps, made by
//! `tests/data/import/make.py`, which also wrote CompressAI's own results
//! (`compressai-results.json`) and its decode of `input.png`.

#[path = "support/torch_zip.rs"]
mod torch_zip;

use std::path::{Path, PathBuf};

use ansel::codec_format::Container;
use ansel::import::{self, Architecture, ImportError, Options, ScaleTable};
use ansel::{Codec, EncodeOptions, Error, Hyperprior, Package, PackageError, Refinement, LIMITS};
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
        let config = package.metadata().network;
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
    assert_eq!(kept.metadata().network.hyperprior, Hyperprior::ScaleOnly);
}

/// The fixture of `arch` with its latent scaled by `s`, written to `out`: `g_a`'s last layer
/// and `h_s`'s (μ and σ, or σ) times `s`, `g_s`'s and `h_a`'s first layer's weights over `s`.
/// Quantising `s·y` in unit steps quantises y in steps of `1/s`, so the network codes the
/// fixture's latent at a higher rate for `s > 1`, a lower one for `s < 1`, with the same z.
fn rescaled(file: &str, s: f32, out: &Path) {
    use burn::store::pytorch_reader::{DType, PytorchReader};
    let path = data(file);
    let reader = PytorchReader::new(&path).unwrap();
    let reader = if reader.get("g_a.0.weight").is_some() {
        reader
    } else {
        PytorchReader::with_top_level_key(&path, "state_dict").unwrap()
    };
    let mut entries: Vec<torch_zip::Entry> = Vec::new();
    let mut names = reader.keys();
    names.sort();
    for name in names {
        let tensor = reader.get(&name).unwrap();
        // Only the learned tensors: the import derives CompressAI's table buffers itself.
        if tensor.dtype() != DType::F32 {
            continue;
        }
        let factor = match name.as_str() {
            "g_a.6.weight" | "g_a.6.bias" | "h_s.4.weight" | "h_s.4.bias" => s,
            "g_s.0.weight" | "h_a.0.weight" => 1.0 / s,
            _ => 1.0,
        };
        let values = tensor
            .read()
            .unwrap()
            .chunks_exact(4)
            .map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]]) * factor)
            .collect();
        entries.push((
            name,
            tensor.shape().to_vec(),
            torch_zip::Values::F32(values),
        ));
    }
    torch_zip::write(out, &entries);
}

/// Four checkpoints of `arch` in `dir`, with their λ, out of rate order: the fixture, the
/// fixture at a higher and a lower rate ([`rescaled`]), and random weights of another size
/// (N = 8, M = 16) given the smallest λ.
fn four_checkpoints(arch: Architecture, file: &str, dir: &Path) -> Vec<(PathBuf, f64)> {
    let (finer, coarser, random) = (
        dir.join(format!("{arch}-finer.pth.tar")),
        dir.join(format!("{arch}-coarser.pth.tar")),
        dir.join(format!("{arch}-random.pth.tar")),
    );
    rescaled(file, 2.0, &finer);
    rescaled(file, 0.5, &coarser);
    torch_zip::write(&random, &torch_zip::zoo_state_dict(arch, 8, 16));
    vec![
        (finer, 0.05),
        (data(file), 0.013),
        (random, 0.0018),
        (coarser, 0.0035),
    ]
}

#[test]
fn several_checkpoints_make_one_network_per_quality() {
    let input = image::open(data("input.png")).unwrap().to_rgb8();
    let pixels = f64::from(input.width() * input.height());
    let dir = tempfile::tempdir().unwrap();
    for (arch, file) in ARCHS {
        let checkpoints = four_checkpoints(arch, file, dir.path());
        let set: Vec<(PathBuf, Options)> = checkpoints
            .iter()
            .map(|(path, lambda)| (path.clone(), Options::new(arch, *lambda)))
            .collect();
        let package = import::compressai_set(&set).unwrap();
        // Ordered by λ; networks of different sizes side by side.
        let networks = package.networks();
        let lambdas: Vec<f64> = networks.iter().map(|n| n.metadata.lambdas[0]).collect();
        assert_eq!(lambdas, [0.0018, 0.0035, 0.013, 0.05]);
        let sizes: Vec<(usize, usize)> = networks
            .iter()
            .map(|n| (n.metadata.network.n, n.metadata.network.m))
            .collect();
        assert_eq!(sizes, [(8, 16), (16, 24), (16, 24), (16, 24)]);
        assert_eq!(Package::from_bytes(&package.to_bytes()).unwrap(), package);
        let codec = Codec::from_package(&package).unwrap();
        assert_eq!(codec.decoder().network_count(), 4);

        // Quality k codes as network k's own package codes at any quality: the same sections.
        let mut ordered = checkpoints.clone();
        ordered.sort_by(|a, b| a.1.total_cmp(&b.1));
        let mut streams = Vec::new();
        for (k, (path, lambda)) in ordered.iter().enumerate() {
            let q = (k + 1) as f32;
            let alone = Codec::from_package(
                &import::compressai(path, &Options::new(arch, *lambda)).unwrap(),
            )
            .unwrap();
            let (ours, theirs) = (
                codec.encode(&input, q).unwrap().bytes,
                alone.encode(&input, 1.0).unwrap().bytes,
            );
            let (a, b) = (
                Container::from_bytes(&ours, &LIMITS).unwrap(),
                Container::from_bytes(&theirs, &LIMITS).unwrap(),
            );
            assert_eq!(a.tiles, b.tiles, "{arch}, quality {q}");
            assert_eq!((a.header.quality, a.header.model), (q, codec.id()));
            assert_eq!(codec.decode(&ours).unwrap(), alone.decode(&theirs).unwrap());
            streams.push(ours);
        }
        // The trained networks: more bytes as quality rises, and on a photograph (where the
        // small networks were trained to code well) a better picture.
        let bytes: Vec<usize> = streams[1..].iter().map(|s| payload(s)).collect();
        assert!(bytes.windows(2).all(|w| w[0] < w[1]), "{arch}: {bytes:?}");
        let kodak = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets/kodak");
        if let Ok(photo) = image::open(kodak.join("kodim23.png")) {
            let photo = photo.to_rgb8();
            let rd: Vec<(usize, f64)> = (2..=4)
                .map(|q| {
                    let s = codec.encode(&photo, q as f32).unwrap().bytes;
                    (payload(&s), psnr(&codec.decode(&s).unwrap(), &photo))
                })
                .collect();
            eprintln!("{arch}: (bytes, PSNR) of qualities 2-4 on kodim23: {rd:?}");
            assert!(
                rd.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1),
                "{arch}: {rd:?}"
            );
        }

        // Refinement runs the burn network of the quality's own size (network 1: N = 8).
        let refined = codec
            .encode(
                &input,
                EncodeOptions::quality(1.0).refine(Refinement::steps(1)),
            )
            .unwrap()
            .bytes;
        assert_eq!(
            codec.decode(&refined).unwrap().dimensions(),
            input.dimensions()
        );

        // Only whole qualities 1..=4 name a network.
        for q in [2.5, 1.01, 5.0] {
            match codec.encode(&input, q) {
                Err(e @ Error::NetworkQuality { .. }) => {
                    let message = e.to_string();
                    assert!(message.contains("4 networks"), "{message}");
                    assert!(message.contains("gain units"), "{message}");
                }
                other => panic!("quality {q}: {other:?}"),
            }
        }
        assert!(matches!(
            codec.encode(&input, 9.0),
            Err(Error::NetworkQuality { .. })
        ));

        // A target rate lands on the network whose stream is closest.
        let bpp = |s: &[u8]| 8.0 * s.len() as f64 / pixels;
        for k in [2, 3] {
            let found = codec
                .encode(
                    &input,
                    EncodeOptions::bits_per_pixel(bpp(&streams[k]) * 1.001),
                )
                .unwrap();
            assert_eq!(found.quality, (k + 1) as f32, "{arch}");
            assert_eq!(found.bytes, streams[k]);
        }
        let top = codec
            .encode(
                &input,
                EncodeOptions::bits_per_pixel(bpp(&streams[3]) * 10.0),
            )
            .unwrap();
        assert_eq!(top.quality, 4.0);
    }
}

#[test]
fn a_set_of_checkpoints_is_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    let (arch, file) = ARCHS[0];
    let finer = dir.path().join("finer.pth.tar");
    rescaled(file, 2.0, &finer);
    let with = |lambdas: &[f64]| -> Vec<(PathBuf, Options)> {
        [data(file), finer.clone()]
            .into_iter()
            .zip(lambdas)
            .map(|(p, &l)| (p, Options::new(arch, l)))
            .collect()
    };
    match import::compressai_set(&with(&[0.013, 0.013])) {
        Err(e @ ImportError::SameLambda { .. }) => {
            assert!(e.to_string().contains("finer.pth.tar"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        import::compressai_set(&with(&[0.013, -1.0])),
        Err(ImportError::Lambda(_))
    ));
    // One architecture per package.
    let mixed = [
        (data(ARCHS[0].1), Options::new(ARCHS[0].0, 0.01)),
        (data(ARCHS[1].1), Options::new(ARCHS[1].0, 0.02)),
    ];
    assert!(matches!(
        import::compressai_set(&mixed),
        Err(ImportError::Package(
            PackageError::MixedArchitectures { .. }
        ))
    ));
    let nine: Vec<_> = (1..=9)
        .map(|i| (data(file), Options::new(arch, 0.001 * f64::from(i))))
        .collect();
    assert!(matches!(
        import::compressai_set(&nine),
        Err(ImportError::Package(PackageError::NetworkCount(9)))
    ));
    // One checkpoint: the package `compressai` makes.
    let one = import::compressai_set(&with(&[0.013])).unwrap();
    let alone = import::compressai(&data(file), &Options::new(arch, 0.013)).unwrap();
    assert_eq!(one.to_bytes(), alone.to_bytes());
}

#[test]
fn the_command_imports_several_checkpoints_into_one_package() {
    let dir = tempfile::tempdir().unwrap();
    let (arch, file) = ARCHS[0];
    let (finer, coarser) = (
        dir.path().join("finer.pth.tar"),
        dir.path().join("coarser.pth.tar"),
    );
    rescaled(file, 2.0, &finer);
    rescaled(file, 0.5, &coarser);
    let pkg = dir.path().join("set.anselpkg");
    let import = |lambdas: &str| {
        let mut cmd = cargo_bin_cmd!("ansel");
        cmd.args([
            "import",
            "compressai",
            "--arch",
            arch.name(),
            "--lambda",
            lambdas,
        ])
        .arg("-o")
        .arg(&pkg)
        .arg(&finer)
        .arg(data(file))
        .arg(&coarser);
        cmd
    };
    import("0.05,0.013")
        .assert()
        .failure()
        .stderr(contains("3 checkpoints and 2 λ"));
    import("0.05,0.013,0.05")
        .assert()
        .failure()
        .stderr(contains("both given λ = 0.05"));
    assert!(!pkg.exists());
    let out = import("0.05,0.013,0.0035")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    let at = |s: &str| out.find(s).unwrap_or_else(|| panic!("{s:?} not in {out}"));
    assert!(at("quality 1: ") < at("coarser.pth.tar"), "{out}");
    assert!(at("coarser.pth.tar") < at("quality 2: "), "{out}");
    assert!(at("quality 3: ") < at("finer.pth.tar"), "{out}");

    let model = |json: bool| {
        let mut cmd = cargo_bin_cmd!("ansel");
        cmd.args(["model", "--model"]).arg(&pkg);
        if json {
            cmd.arg("--json");
        }
        String::from_utf8(cmd.assert().success().get_output().stdout.clone()).unwrap()
    };
    let text = model(false);
    for line in [
        "networks   3, one per quality 1..3",
        "quality 1  ",
        "quality 3  ",
        "N=16 M=24",
        "λ 0.0035",
    ] {
        assert!(text.contains(line), "{line:?} not in {text}");
    }
    let json: serde_json::Value = serde_json::from_str(&model(true)).unwrap();
    let networks = json["networks"].as_array().unwrap();
    assert_eq!(networks.len(), 3);
    assert_eq!(networks[2]["quality"], 3);
    assert_eq!(networks[2]["lambdas"][0], 0.05);

    // A fractional quality: a clear error, nothing written; a whole one codes.
    let stream = dir.path().join("out.ansel");
    let encode = |args: &[&str]| {
        let mut cmd = cargo_bin_cmd!("ansel");
        cmd.args(["encode", "--model"])
            .arg(&pkg)
            .args(args)
            .arg(data("input.png"))
            .arg("-o")
            .arg(&stream);
        cmd
    };
    encode(&["-q", "2.5"])
        .assert()
        .failure()
        .stderr(contains("3 networks, one per quality 1 to 3"))
        .stderr(contains("quality 2.5 is none of them"));
    assert!(!stream.exists());
    encode(&["-q", "2"]).assert().success();
    let codec = Codec::from_package(&Package::read(&pkg).unwrap()).unwrap();
    let input = image::open(data("input.png")).unwrap().to_rgb8();
    let bytes = std::fs::read(&stream).unwrap();
    assert_eq!(bytes, codec.encode(&input, 2.0).unwrap().bytes);
    // Without -q: the default quality's place on the scale, quality 2 of 3.
    encode(&["--force"]).assert().success();
    assert_eq!(std::fs::read(&stream).unwrap(), bytes);
    // --target-bpp at quality 3's rate finds it.
    let bpp = 8.0 * codec.encode(&input, 3.0).unwrap().bytes.len() as f64
        / f64::from(input.width() * input.height());
    encode(&["--force", "--target-bpp", &bpp.to_string(), "-v"])
        .assert()
        .success()
        .stderr(contains("quality 3.000"));

    // `ansel eval` codes each network's quality unless told otherwise.
    let dataset = dir.path().join("dataset");
    std::fs::create_dir(&dataset).unwrap();
    // MS-SSIM needs a shorter side of at least 161 pixels.
    image::RgbImage::from_fn(176, 176, |x, y| {
        image::Rgb([(x * 3 / 2) as u8, (y + x / 4) as u8, ((x * y) % 97) as u8])
    })
    .save(dataset.join("im.png"))
    .unwrap();
    let results = dir.path().join("results.json");
    cargo_bin_cmd!("ansel")
        .args(["eval", "--dataset"])
        .arg(&dataset)
        .arg("--model")
        .arg(&pkg)
        .arg("--json")
        .arg(&results)
        .assert()
        .success();
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&results).unwrap()).unwrap();
    assert_eq!(
        json["results"]["quality"],
        serde_json::json!([1.0, 2.0, 3.0])
    );
    let bpp = json["results"]["bpp"].as_array().unwrap();
    assert!(
        bpp[0].as_f64() < bpp[1].as_f64() && bpp[1].as_f64() < bpp[2].as_f64(),
        "{bpp:?}"
    );
}
