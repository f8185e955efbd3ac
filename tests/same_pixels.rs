//! The same pixels on every machine: committed streams (Kodak crops at several qualities, with
//! and without the checkerboard context model) decode to the pixels whose SHA-256 the x86-64
//! build that made them recorded (`tests/data/pixels/make.sh`). CI runs this on every kernel
//! path of x86-64 (`ANSEL_KERNELS=plain`, `avx2`, the widest) and on aarch64 under qemu.

use std::path::Path;

use ansel::{Decoder, Package};
use sha2::{Digest, Sha256};

#[test]
fn committed_streams_decode_to_the_recorded_pixels() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("tests/data/pixels");
    let sums = std::fs::read_to_string(dir.join("SHA256SUMS")).unwrap();
    let context = Decoder::embedded().unwrap();
    assert!(context.metadata().network.context);
    let plain_package = root.join("assets/candidates/m320-6b40629c.anselpkg");
    let plain = Decoder::from_package(&Package::read(&plain_package).unwrap()).unwrap();
    assert!(!plain.metadata().network.context);
    let mut checked = 0;
    for line in sums.lines() {
        let (want, name) = line.split_once("  ").unwrap();
        let stream = std::fs::read(dir.join(name)).unwrap();
        let decoder = if name.contains("-plain-") {
            &plain
        } else {
            &context
        };
        let image = decoder.decode(&stream).unwrap();
        let got: String = Sha256::digest(image.as_raw())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(got, want, "{name}");
        checked += 1;
    }
    assert_eq!(checked, 12);
}
