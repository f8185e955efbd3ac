//! Training pipeline: a tiny network learns, checkpoints resume exactly, export → load is
//! bit-identical, and an exported model codes images of awkward sizes through the container.

use std::path::{Path, PathBuf};

use ansel::model::{Ladder, NetworkConfig, COMPRESSAI_LADDER, DEFAULT_LADDER};
use ansel::train::{self, checkpoint, export, RunOptions, TrainConfig};
use ansel::Codec;
use ansel::Package;
use image::RgbImage;

/// Smooth synthetic photos: gradients plus a few edges, different per index.
fn write_images(dir: &Path, count: u32) {
    for i in 0..count {
        let img = RgbImage::from_fn(96 + 8 * i, 80 + 4 * i, |x, y| {
            let f = |a: u32, b: u32| ((a * (3 + i) + b * 2) % 256) as u8;
            let edge = if (x / 17 + y / 23 + i) % 2 == 0 {
                40
            } else {
                0
            };
            image::Rgb([
                f(x, y).saturating_add(edge),
                f(y, x),
                ((x + y) * 2 % 256) as u8,
            ])
        });
        img.save(dir.join(format!("img{i}.png"))).unwrap();
    }
}

/// A temporary directory holding `data/` with `count` synthetic photos.
fn fixture(count: u32) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir(&data).unwrap();
    write_images(&data, count);
    (tmp, data)
}

/// Network initialisation draws from the device's global random generator: tests that
/// initialise networks take turns so each run sees the sequence its seed promises.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn tiny_config(steps: u64) -> TrainConfig {
    TrainConfig {
        network: NetworkConfig::new(8, 8),
        steps,
        batch: 2,
        patch: 64,
        lr: 1e-3,
        warmup: 5,
        log_every: 10,
        validate_every: 0,
        straight_through_from: 20,
        checkpoint_minutes: 1e9,
        ..TrainConfig::default()
    }
}

fn options<'a>(
    data: &'a Path,
    out: &'a Path,
    resume: bool,
    session: Option<u64>,
) -> RunOptions<'a> {
    RunOptions {
        data,
        out,
        resume,
        init_weights: None,
        max_session_steps: session,
        progress: false,
        validation: None,
        device: burn::prelude::Device::flex(),
    }
}

#[test]
fn tiny_network_learns_and_resumes_exactly() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (tmp, data) = fixture(3);

    // One run of 60 steps.
    let straight = tmp.path().join("straight");
    let s = train::train(&tiny_config(60), &options(&data, &straight, false, None)).unwrap();
    let first = s.first.unwrap().loss;
    let last = s.last.clone().unwrap().loss;
    assert!(last < first * 0.8, "loss did not fall: {first} → {last}");

    // The same run stopped after 30 steps and resumed.
    let resumed = tmp.path().join("resumed");
    train::train(&tiny_config(60), &options(&data, &resumed, false, Some(30))).unwrap();
    assert_eq!(
        checkpoint::load_state(&checkpoint::latest(&resumed).unwrap())
            .unwrap()
            .step,
        30
    );
    // A run killed after logging past its last checkpoint: the resume drops that tail.
    let log = resumed.join("train.jsonl");
    let mut text = std::fs::read_to_string(&log).unwrap();
    text.push_str("{\"step\":40,\"loss\":1.0}\n");
    std::fs::write(&log, text).unwrap();
    let r = train::train(&tiny_config(60), &options(&data, &resumed, true, None)).unwrap();
    assert_eq!(r.step, 60);
    let steps: Vec<u64> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["step"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(steps, [10, 20, 30, 40, 50, 60], "one log entry per step");
    let a = s.last.unwrap();
    let b = r.last.unwrap();
    assert!(
        (a.loss - b.loss).abs() <= 1e-3 * a.loss.abs(),
        "resumed run diverged: {} vs {}",
        a.loss,
        b.loss
    );
    // The auxiliary loss is not part of the loss above: it catches an auxiliary optimizer
    // resumed with the wrong settings (it once came back with the main one's gradient clipping).
    assert!(
        (a.aux - b.aux).abs() <= 1e-3 * a.aux.abs(),
        "resumed auxiliary loss diverged: {} vs {}",
        a.aux,
        b.aux
    );
}

/// A 96×64 image of crossing colour ramps.
fn gradient_image() -> RgbImage {
    RgbImage::from_fn(96, 64, |x, y| {
        image::Rgb([
            (x * 2 % 256) as u8,
            (y * 3 % 256) as u8,
            ((x + y) % 256) as u8,
        ])
    })
}

/// Exports the latest checkpoint of run `out` to a package file at `path`; returns the package
/// and the run's state.
fn export_latest(out: &Path, path: &Path) -> (Package, checkpoint::RunState) {
    let dir = checkpoint::latest(out).unwrap();
    let state = checkpoint::load_state(&dir).unwrap();
    let device = burn::prelude::Device::flex();
    let net = checkpoint::load_network(&dir.join("network.bpk"), state.network, &device).unwrap();
    let prov = export::Provenance::default();
    let package = export::export(&net, state.network, &state.lambdas, &prov).unwrap();
    std::fs::write(path, package.to_bytes()).unwrap();
    (package, state)
}

#[test]
fn export_is_deterministic_and_codes_awkward_sizes() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (tmp, data) = fixture(2);
    let out = tmp.path().join("run");
    let fresh = train::train(&tiny_config(10), &options(&data, &out, false, None)).unwrap();

    let dir = checkpoint::latest(&out).unwrap();
    let device = burn::prelude::Device::flex();
    let state = checkpoint::load_state(&dir).unwrap();
    let network =
        checkpoint::load_network(&dir.join("network.bpk"), state.network, &device).unwrap();
    let prov = export::Provenance {
        steps: state.step,
        ..Default::default()
    };
    let a = export::export(&network, state.network, &state.lambdas, &prov).unwrap();
    let b = export::export(&network, state.network, &state.lambdas, &prov).unwrap();
    assert_eq!(a.to_bytes(), b.to_bytes(), "export must be deterministic");

    // Package bytes → load → re-export gives identical weights and tables.
    let bytes = a.to_bytes();
    let loaded = Package::from_bytes(&bytes).unwrap();
    assert_eq!(loaded, a);
    let reloaded =
        ansel::model::load_package_weights(&loaded.networks()[0].weights, state.network, &device)
            .unwrap();
    let c = export::export(&reloaded, state.network, &state.lambdas, &prov).unwrap();
    assert_eq!(
        c.to_bytes(),
        bytes,
        "weights and tables must survive a load bit for bit"
    );

    // The package seeds a new run (`ansel train --init model.anselpkg`): its first loss is the
    // trained network's, and a package of another shape is refused.
    let pkg = tmp.path().join("model.anselpkg");
    std::fs::write(&pkg, &bytes).unwrap();
    let (seeded_dir, refused_dir) = (tmp.path().join("seeded"), tmp.path().join("refused"));
    let mut opts = options(&data, &seeded_dir, false, Some(10));
    opts.init_weights = Some(&pkg);
    let seeded = train::train(&tiny_config(10), &opts).unwrap();
    let loss = |s: &train::TrainSummary| s.first.as_ref().unwrap().loss;
    assert!(
        loss(&seeded) < loss(&fresh),
        "a seeded run starts from the trained loss: {} vs {}",
        loss(&seeded),
        loss(&fresh)
    );
    let mut other = tiny_config(10);
    other.network = NetworkConfig::new(16, 8);
    let mut opts = options(&data, &refused_dir, false, Some(10));
    opts.init_weights = Some(&pkg);
    let err = train::train(&other, &opts).unwrap_err().to_string();
    assert!(err.contains("may grow"), "{err}");

    let codec = Codec::from_package(&Package::from_bytes(&bytes).unwrap()).unwrap();
    for (w, h) in [(1, 1), (65, 33), (513, 767)] {
        let img = RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
        });
        let stream = codec.encode(&img, 3.5).unwrap().bytes;
        let back = codec.decode(&stream).unwrap();
        assert_eq!(back.dimensions(), (w, h));
        // Decoding is deterministic on one machine.
        assert_eq!(codec.decode(&stream).unwrap(), back);
    }
}

#[test]
fn rung_balance_reweighs_the_loss_only() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (tmp, data) = fixture(2);
    // One step, logged before any update: both runs code the same crops with the same network.
    let first_step = |beta: f64, name: &str| {
        let mut config = tiny_config(1);
        config.log_every = 1;
        config.rung_balance = beta;
        let out = tmp.path().join(name);
        train::train(&config, &options(&data, &out, false, None))
            .unwrap()
            .first
            .unwrap()
    };
    let (plain, balanced) = (first_step(0.0, "plain"), first_step(1.0, "balanced"));
    assert_eq!(plain.bpp, balanced.bpp);
    assert_eq!(plain.psnr, balanced.psnr);
    assert!(
        (plain.loss - balanced.loss).abs() > 1e-3 * plain.loss,
        "β = 1 left the loss at {}",
        plain.loss
    );
}

/// `--init` from a package trained on another λ ladder moves its gains onto the run's ladder: a
/// rung with the same λ codes exactly as before, a lower λ codes smaller; the new package
/// records the new ladder, and resuming a run on another ladder is refused.
#[test]
fn a_new_ladder_moves_the_gains() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (tmp, data) = fixture(2);
    let out = tmp.path().join("old");
    let mut old = tiny_config(10);
    old.lambdas = COMPRESSAI_LADDER;
    train::train(&old, &options(&data, &out, false, None)).unwrap();

    let device = burn::prelude::Device::flex();
    let pkg_path = tmp.path().join("old.anselpkg");
    let (old_pkg, state) = export_latest(&out, &pkg_path);
    assert_eq!(state.lambdas, COMPRESSAI_LADDER);
    let prov = export::Provenance::default();

    let (moved, m) =
        checkpoint::load_init(&pkg_path, state.network, &DEFAULT_LADDER, &device).unwrap();
    assert_eq!(m, state.network.m);
    let new_pkg = export::export(&moved, state.network, &DEFAULT_LADDER, &prov).unwrap();
    assert_eq!(new_pkg.metadata().lambdas, DEFAULT_LADDER.to_vec());
    // A package of one network per quality seeds no run: training continues one network.
    let set_path = tmp.path().join("set.anselpkg");
    let set = ansel::Package::bundle([old_pkg.clone(), new_pkg.clone()]).unwrap();
    std::fs::write(&set_path, set.to_bytes()).unwrap();
    let err = checkpoint::load_init(&set_path, state.network, &DEFAULT_LADDER, &device)
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(err.contains("holds 2 networks"), "{err}");
    let (old_codec, new_codec) = (
        Codec::from_package(&old_pkg).unwrap(),
        Codec::from_package(&new_pkg).unwrap(),
    );
    let img = gradient_image();
    // Quality 8 is λ = 0.18 on both ladders: the same gains, the same pixels.
    let decode = |c: &Codec, q: f32| c.decode(&c.encode(&img, q).unwrap().bytes).unwrap();
    assert_eq!(decode(&old_codec, 8.0), decode(&new_codec, 8.0));
    // Quality 1 drops from λ = 0.0018 to 0.0003: coarser quantisation, fewer bytes.
    let size = |c: &Codec| c.encode(&img, 1.0).unwrap().bytes.len();
    let (new_size, old_size) = (size(&new_codec), size(&old_codec));
    assert!(new_size < old_size, "{new_size} vs {old_size}");

    // A run on the new ladder trains from the moved gains (they are fresh parameters).
    let new_out = tmp.path().join("new");
    assert_eq!(train_from(&pkg_path, &tiny_config(3), &data, &new_out), 3);

    let mut other = old.clone();
    other.lambdas = DEFAULT_LADDER;
    other.steps = 20;
    let err = train::train(&other, &options(&data, &out, true, None))
        .unwrap_err()
        .to_string();
    assert!(err.contains("λ ladder"), "{err}");
}

/// A package of a tiny network trained for 10 steps in `dir`: its path, itself, its run state.
fn narrow_package(dir: &Path, data: &Path) -> (PathBuf, Package, checkpoint::RunState) {
    let out = dir.join("narrow");
    train::train(&tiny_config(10), &options(data, &out, false, None)).unwrap();
    let pkg_path = dir.join("narrow.anselpkg");
    let (pkg, state) = export_latest(&out, &pkg_path);
    (pkg_path, pkg, state)
}

/// Trains a fresh run in `out` from the package at `init` (`ansel train --init`); returns the
/// step it reached.
fn train_from(init: &Path, config: &TrainConfig, data: &Path, out: &Path) -> u64 {
    let mut opts = options(data, out, false, None);
    opts.init_weights = Some(init);
    train::train(config, &opts).unwrap().step
}

/// The package at `path` loaded as `--init` for a run of shape `to`, exported again; and the
/// latent channels it came with.
fn widened_package(path: &Path, to: NetworkConfig, lambdas: &Ladder) -> (Package, usize) {
    let device = burn::prelude::Device::flex();
    let (wide, m) = checkpoint::load_init(path, to, lambdas, &device).unwrap();
    let prov = export::Provenance::default();
    (export::export(&wide, to, lambdas, &prov).unwrap(), m)
}

/// Both packages code the test image to the same pixels, at low and high quality.
fn assert_decodes_alike(narrow_pkg: &Package, wide_pkg: &Package) {
    let (narrow_codec, wide_codec) = (
        Codec::from_package(narrow_pkg).unwrap(),
        Codec::from_package(wide_pkg).unwrap(),
    );
    let img = gradient_image();
    for quality in [1.0, 8.0] {
        let decode = |c: &Codec| c.decode(&c.encode(&img, quality).unwrap().bytes).unwrap();
        let (a, b) = (decode(&narrow_codec), decode(&wide_codec));
        // Float sums may group differently with the extra (zero) channels, so a pixel
        // may round the other way; nothing more.
        let worst = a
            .as_raw()
            .iter()
            .zip(b.as_raw())
            .map(|(&p, &q)| p.abs_diff(q))
            .max();
        assert!(
            worst <= Some(1),
            "quality {quality}: pixels differ by {worst:?}"
        );
    }
}

/// `--init` from a package with fewer latent channels widens it: the wider package decodes
/// what the narrow one did (the new channels start unused), and training continues from it.
#[test]
fn init_widens_a_narrower_latent() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (tmp, data) = fixture(2);
    let (pkg_path, narrow_pkg, state) = narrow_package(tmp.path(), &data);
    let wide_config = NetworkConfig::new(8, 12);
    let (wide_pkg, m) = widened_package(&pkg_path, wide_config, &state.lambdas);
    assert_eq!(m, state.network.m);
    assert_eq!(wide_pkg.metadata().network, wide_config);
    assert_decodes_alike(&narrow_pkg, &wide_pkg);

    // Training continues from it, and the run remembers where the new channels start (their
    // rate ramps in over `new_channel_ramp` steps, across resumes).
    let mut wider = tiny_config(3);
    wider.network = wide_config;
    wider.new_channel_ramp = 10;
    let wide_out = tmp.path().join("wide");
    assert_eq!(train_from(&pkg_path, &wider, &data, &wide_out), 3);
    let state = checkpoint::load_state(&checkpoint::latest(&wide_out).unwrap()).unwrap();
    assert_eq!(state.widened_from, Some(8));
    assert_eq!(wider.new_channel_rate_weight(state.step), 0.3);

    // A ramp in a run with no new channels is a mistake, refused before any training.
    let mut unwidened = tiny_config(3);
    unwidened.new_channel_ramp = 10;
    let plain_out = tmp.path().join("plain");
    let err = train::train(&unwidened, &options(&data, &plain_out, false, None)).unwrap_err();
    assert!(
        matches!(&err, train::TrainError::Config(m) if m.contains("new-channel ramp")),
        "{err}"
    );
    assert!(checkpoint::latest(&plain_out).is_none());
}

/// `--init` with wider transforms (`--transform-n`) widens their hidden layers: the package
/// decodes what the narrow one did, training continues from it with no new latent channels,
/// and the wider package cannot be narrowed back.
#[test]
fn init_widens_narrower_transforms() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (tmp, data) = fixture(2);
    let (pkg_path, narrow_pkg, state) = narrow_package(tmp.path(), &data);
    let wide_config = state.network.with_transform_n(16);
    let (wide_pkg, _) = widened_package(&pkg_path, wide_config, &state.lambdas);
    assert_eq!(wide_pkg.metadata().network.transform_channels(), 16);
    assert_decodes_alike(&narrow_pkg, &wide_pkg);

    let mut wider = tiny_config(3);
    wider.network = wide_config;
    let wide_out = tmp.path().join("wide");
    assert_eq!(train_from(&pkg_path, &wider, &data, &wide_out), 3);
    let state = checkpoint::load_state(&checkpoint::latest(&wide_out).unwrap()).unwrap();
    assert_eq!((state.network, state.widened_from), (wide_config, None));

    let wide_path = tmp.path().join("wide.anselpkg");
    export_latest(&wide_out, &wide_path);
    let narrow_config = wide_config.with_transform_n(8);
    let device = burn::prelude::Device::flex();
    let err = checkpoint::load_init(&wide_path, narrow_config, &state.lambdas, &device)
        .map(|_| ())
        .expect_err("narrowing is refused")
        .to_string();
    assert!(err.contains("may grow"), "{err}");
}

/// `--init` with `--context` adds a checkerboard context model that changes nothing: the
/// package decodes what the plain one did, through two passes; training continues from it,
/// and its exports code and decode; a resumed run must keep the context.
#[test]
fn init_adds_a_context_model() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (tmp, data) = fixture(2);
    let (pkg_path, plain_pkg, state) = narrow_package(tmp.path(), &data);
    let context_config = state.network.with_context(true);
    let (context_pkg, _) = widened_package(&pkg_path, context_config, &state.lambdas);
    assert!(context_pkg.metadata().network.context);
    assert_decodes_alike(&plain_pkg, &context_pkg);

    let mut config = tiny_config(3);
    config.network = context_config;
    let out = tmp.path().join("context");
    assert_eq!(train_from(&pkg_path, &config, &data, &out), 3);
    let trained_path = tmp.path().join("context.anselpkg");
    let (trained, _) = export_latest(&out, &trained_path);
    assert!(trained.metadata().network.context);
    let codec = Codec::from_package(&trained).unwrap();
    let img = gradient_image();
    let decoded = codec
        .decode(&codec.encode(&img, 5.0).unwrap().bytes)
        .unwrap();
    assert_eq!(decoded.dimensions(), img.dimensions());

    let mut without = tiny_config(4);
    without.network = state.network;
    let err = train::train(&without, &options(&data, &out, true, None)).unwrap_err();
    assert!(err.to_string().contains("context: true"), "{err}");

    // Training the context alone moves its weights (the last in visiting order) and no other.
    let device = burn::prelude::Device::flex();
    let (start, _) =
        checkpoint::load_init(&pkg_path, context_config, &state.lambdas, &device).unwrap();
    let only = TrainConfig {
        only_context: true,
        lr: 1e-2,
        ..config.clone()
    };
    let only_out = tmp.path().join("only-context");
    train_from(&pkg_path, &only, &data, &only_out);
    let dir = checkpoint::latest(&only_out).unwrap();
    let (trained, _) = checkpoint::load_for_export(&dir, context_config, &device, true).unwrap();
    use burn::module::Module;
    let context_params = start
        .context_model()
        .expect("--context adds one")
        .num_params();
    let (start, trained) = (parameters(&start), parameters(&trained));
    let cut = start.len() - context_params;
    assert_eq!(
        start[..cut],
        trained[..cut],
        "weights outside the context moved"
    );
    assert!(max_difference(&start[cut..], &trained[cut..]) > 0.0);
    // A network without a context model has nothing to train alone.
    let mut plain = only.clone();
    plain.network = state.network;
    let err = train::train(&plain, &options(&data, &tmp.path().join("x"), false, None));
    assert!(err.unwrap_err().to_string().contains("--context"));
}

/// Every float parameter of a network, flattened in visiting order.
fn parameters(network: &ansel::model::Network) -> Vec<f32> {
    use burn::module::{Module, ModuleVisitor, Param};
    use burn::prelude::Tensor;
    struct Flat(Vec<f32>);
    impl ModuleVisitor for Flat {
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
            self.0
                .extend(p.val().into_data().try_to_vec::<f32>().unwrap());
        }
    }
    let mut flat = Flat(Vec::new());
    network.visit(&mut flat);
    flat.0
}

fn max_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn a_weight_average_is_checkpointed_resumed_and_exported() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (tmp, data) = fixture(3);
    let config = TrainConfig {
        ema: 0.99,
        ..tiny_config(40)
    };
    let device = burn::prelude::Device::flex();
    let load = |out: &Path, raw: bool| {
        let dir = checkpoint::latest(out).unwrap();
        let state = checkpoint::load_state(&dir).unwrap();
        checkpoint::load_for_export(&dir, state.network, &device, raw).unwrap()
    };

    let straight = tmp.path().join("straight");
    train::train(&config, &options(&data, &straight, false, None)).unwrap();
    let (average, averaged) = load(&straight, false);
    let (raw, is_average) = load(&straight, true);
    assert!(averaged && !is_average);
    let (average, raw) = (parameters(&average), parameters(&raw));
    // At lr 10⁻³ the weights move on every step, and an average over ~100 steps lags behind.
    let lag = max_difference(&average, &raw);
    assert!(
        lag > 1e-4,
        "the average is the raw weights (largest difference {lag})"
    );

    // Stopped half way and resumed, the average goes on from its saved state; restarted from
    // the step-20 weights instead, it would hold them at 0.99²⁰ ≈ 0.82 instead of the start's
    // 0.99⁴⁰ ≈ 0.67, and be off by a good part of the lag above.
    let resumed = tmp.path().join("resumed");
    train::train(&config, &options(&data, &resumed, false, Some(20))).unwrap();
    train::train(&config, &options(&data, &resumed, true, None)).unwrap();
    let again = parameters(&load(&resumed, false).0);
    let drift = max_difference(&average, &again);
    assert!(
        drift < lag / 10.0,
        "resumed average drifted by {drift} (lag {lag})"
    );

    // A decay of 1 would never move: refused with an error, not a panic.
    let bad = TrainConfig {
        ema: 1.0,
        ..tiny_config(10)
    };
    let err = train::train(&bad, &options(&data, &tmp.path().join("bad"), false, None));
    assert!(err.unwrap_err().to_string().contains("[0, 1)"));

    // A run without an average exports its trained weights.
    let plain = tmp.path().join("plain");
    train::train(&tiny_config(10), &options(&data, &plain, false, None)).unwrap();
    assert!(!load(&plain, false).1);
}

/// From the shell: `--ema` trains a run with a weight average, `export` takes the average
/// unless `--raw-weights`, and says which it took; a decay outside [0, 1) is refused.
#[test]
fn the_cli_exports_the_average_unless_asked_for_the_raw_weights() {
    use assert_cmd::cargo::cargo_bin_cmd;
    let (tmp, data) = fixture(2);
    let run = tmp.path().join("run");
    let train = |ema: &str| {
        let mut cmd = cargo_bin_cmd!("ansel");
        cmd.arg("train")
            .arg("--data")
            .arg(&data)
            .arg("--out")
            .arg(&run);
        cmd.args([
            "--n", "8", "--m", "8", "--batch", "1", "--patch", "64", "--steps", "30",
        ]);
        cmd.args(["--lr", "1e-2", "--checkpoint-minutes", "100"]);
        cmd.args(["--validate-every", "0", "--device", "cpu", "--ema", ema]);
        cmd
    };
    train("1.5")
        .assert()
        .failure()
        .stderr(predicates::str::contains("not a decay in [0, 1)"));
    train("0.9").assert().success();
    let export = |name: &str, raw: bool| {
        let path = tmp.path().join(name);
        let mut cmd = cargo_bin_cmd!("ansel");
        cmd.arg("export")
            .arg("--run")
            .arg(&run)
            .arg("-o")
            .arg(&path);
        if raw {
            cmd.arg("--raw-weights");
        }
        let out = cmd.assert().success().get_output().stderr.clone();
        let said_average = String::from_utf8(out).unwrap().contains("(weight average)");
        (std::fs::read(&path).unwrap(), said_average)
    };
    let (average, said_average) = export("average.anselpkg", false);
    let (raw, said_raw_average) = export("raw.anselpkg", true);
    assert!(said_average && !said_raw_average);
    assert_ne!(average, raw, "the average is the raw weights");
    // An existing package is kept unless --force, like every other output.
    let again = |force: bool| {
        let mut cmd = cargo_bin_cmd!("ansel");
        cmd.args(["export", "--raw-weights", "--run"]).arg(&run);
        cmd.arg("-o").arg(tmp.path().join("average.anselpkg"));
        if force {
            cmd.arg("--force");
        }
        cmd.assert()
    };
    again(false)
        .failure()
        .stderr(predicates::str::contains("already exists (use --force"));
    assert_eq!(
        std::fs::read(tmp.path().join("average.anselpkg")).unwrap(),
        average
    );
    again(true).success();
    assert_eq!(
        std::fs::read(tmp.path().join("average.anselpkg")).unwrap(),
        raw
    );
}
