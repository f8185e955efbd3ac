//! The GPU backend run for real: encoding on wgpu, decoding on the host, a few training steps
//! on wgpu, and `--device auto` on a machine without a hardware GPU.
//!
//! Needs a wgpu adapter: a hardware GPU, or else Mesa's software Vulkan adapter (lavapipe,
//! Debian's `mesa-vulkan-drivers`), which only these tests take. Run with
//! `cargo test --features wgpu,cli --test wgpu -- --nocapture` to see timings and PSNRs.

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use ansel::backend::{DeviceChoice, SelectedDevice};
use ansel::eval::metrics::psnr_rgb;
use ansel::model::NetworkConfig;
use ansel::train::{self, checkpoint, export, RunOptions, TrainConfig};
use ansel::Codec;
use assert_cmd::cargo::cargo_bin_cmd;
use image::RgbImage;

/// A hardware adapter when there is one, else the software one.
fn gpu() -> SelectedDevice {
    SelectedDevice::select(DeviceChoice::Gpu)
        .or_else(|_| SelectedDevice::software_gpu())
        .expect("no wgpu adapter: install Mesa's Vulkan drivers (Debian: mesa-vulkan-drivers)")
}

/// Kodak images where the shared datasets are (the repository's parent), else two crops of the
/// sample photo: (name, image).
fn test_images() -> Vec<(String, RgbImage)> {
    let kodak = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets/kodak");
    let kodak: Vec<(String, RgbImage)> = ["kodim04", "kodim15", "kodim23"]
        .iter()
        .filter_map(|name| {
            let img = image::open(kodak.join(format!("{name}.png"))).ok()?;
            Some((name.to_string(), img.to_rgb8()))
        })
        .collect();
    if !kodak.is_empty() {
        return kodak;
    }
    eprintln!("Kodak is absent: coding crops of assets/sample.png instead");
    let full = image::open(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/sample.png"))
        .unwrap()
        .to_rgb8();
    [(0, 0), (256, 128)]
        .iter()
        .map(|&(x, y)| {
            let crop = image::imageops::crop_imm(&full, x, y, 256, 256).to_image();
            (format!("sample@{x},{y}"), crop)
        })
        .collect()
}

#[test]
fn gpu_encodes_decode_on_the_host_like_cpu_encodes() {
    let device = gpu();
    eprintln!("device: {}", device.description());
    let cpu = Codec::embedded().unwrap();
    let on_gpu = Codec::embedded().unwrap().on_device(&device);
    for (name, img) in test_images() {
        for quality in [2.0, 6.0] {
            let t = Instant::now();
            let a = cpu.encode(&img, quality).unwrap().bytes;
            let cpu_ms = t.elapsed().as_millis();
            let t = Instant::now();
            let b = on_gpu.encode(&img, quality).unwrap().bytes;
            let gpu_ms = t.elapsed().as_millis();
            // Both streams decode with the host decoder alone (it checks the table indices).
            let pa = psnr_rgb(&img, &cpu.decoder().decode(&a).unwrap()).unwrap();
            let pb = psnr_rgb(&img, &cpu.decoder().decode(&b).unwrap()).unwrap();
            eprintln!(
                "{name} q{quality}: cpu {} B {pa:.3} dB {cpu_ms} ms | wgpu {} B {pb:.3} dB {gpu_ms} ms",
                a.len(),
                b.len()
            );
            assert!(
                (pa - pb).abs() <= 0.05,
                "{name} q{quality}: PSNR {pa:.3} dB (cpu) vs {pb:.3} dB (wgpu)"
            );
            let rate = b.len() as f64 / a.len() as f64;
            assert!(
                (0.99..=1.01).contains(&rate),
                "{name} q{quality}: {} bytes (cpu) vs {} (wgpu)",
                a.len(),
                b.len()
            );
        }
    }
}

/// Writes `count` textured images to `dir`.
fn write_images(dir: &Path, count: u32) {
    for i in 0..count {
        common::photo_like(96 + 8 * i, 80 + 4 * i)
            .save(dir.join(format!("img{i}.png")))
            .unwrap();
    }
}

#[test]
fn training_steps_run_on_wgpu() {
    let device = gpu();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir(&data).unwrap();
    write_images(&data, 3);
    let out: PathBuf = tmp.path().join("run");
    let config = TrainConfig {
        network: NetworkConfig::new(8, 8),
        steps: 40,
        batch: 2,
        patch: 64,
        lr: 1e-3,
        warmup: 5,
        log_every: 10,
        validate_every: 0,
        straight_through_from: 20,
        checkpoint_minutes: 1e9,
        ..TrainConfig::default()
    };
    let options = RunOptions {
        data: &data,
        out: &out,
        resume: false,
        init_weights: None,
        max_session_steps: None,
        progress: false,
        validation: None,
        device: device.device().clone(),
    };
    let t = Instant::now();
    let summary = train::train(&config, &options).unwrap();
    let seconds = t.elapsed().as_secs_f64();
    let (first, last) = (summary.first.unwrap(), summary.last.unwrap());
    eprintln!(
        "{}: 40 steps in {seconds:.1} s, loss {:.3} → {:.3}",
        device.description(),
        first.loss,
        last.loss
    );
    assert_eq!(summary.step, 40);
    assert!(last.loss.is_finite() && last.loss < first.loss);

    // The checkpoint exports to a package whose codec round-trips an image on the host.
    let dir = checkpoint::latest(&out).unwrap();
    let state = checkpoint::load_state(&dir).unwrap();
    let cpu = burn::prelude::Device::flex();
    let network = checkpoint::load_network(&dir.join("network.bpk"), state.network, &cpu).unwrap();
    let package = export::export(
        &network,
        state.network,
        &state.lambdas,
        &export::Provenance::default(),
    )
    .unwrap();
    let codec = Codec::from_package(&package).unwrap();
    let img = common::photo_like(72, 56);
    let decoded = codec
        .decode(&codec.encode(&img, 4.0).unwrap().bytes)
        .unwrap();
    assert_eq!(decoded.dimensions(), img.dimensions());
}

#[test]
fn auto_takes_no_software_adapter_and_says_why() {
    let hardware = SelectedDevice::select(DeviceChoice::Gpu);
    let auto = SelectedDevice::select(DeviceChoice::Auto).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    common::photo_like(64, 48)
        .save(tmp.path().join("in.png"))
        .unwrap();
    let run = cargo_bin_cmd!("ansel")
        .current_dir(tmp.path())
        .args(["encode", "in.png", "-o", "out.ansel", "--device", "auto"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(tmp.path().join("out.ansel").exists());
    match hardware {
        Ok(gpu) => {
            eprintln!("hardware adapter present: {}", gpu.description());
            assert!(auto.is_gpu() && auto.fallback().is_none());
            assert!(!stderr.contains("note: running on the CPU"), "{stderr}");
        }
        Err(why) => {
            // Even with a software adapter present (as where these tests run on lavapipe).
            eprintln!(
                "software adapter: {}",
                SelectedDevice::software_gpu()
                    .map(|d| d.description().to_string())
                    .unwrap_or_else(|e| e.to_string())
            );
            assert!(!auto.is_gpu());
            assert_eq!(auto.fallback(), Some(why.to_string().as_str()));
            assert!(
                stderr.contains(&format!("ansel: note: running on the CPU ({why})")),
                "{stderr}"
            );
        }
    }
}
