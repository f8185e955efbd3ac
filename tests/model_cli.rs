//! `ansel model` describes the embedded model with the same identity the library reports.

use assert_cmd::cargo::cargo_bin_cmd;

#[test]
fn model_describes_the_embedded_package() {
    let out = cargo_bin_cmd!("ansel")
        .args(["model", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let codec = ansel::Codec::embedded().unwrap();
    assert_eq!(v["id"], codec.id().to_string());
    assert_eq!(v["parameters"], codec.parameter_count());
    assert!(codec.parameter_count() > 100_000);
    assert_eq!(v["lambdas"].as_array().unwrap().len(), 8);
    assert_eq!(v["package"], "embedded");
}

#[test]
fn model_names_a_missing_package() {
    cargo_bin_cmd!("ansel")
        .args(["model", "--model", "no/such.anselpkg"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("no/such.anselpkg"));
}

#[test]
fn converting_a_current_package_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.anselpkg");
    cargo_bin_cmd!("ansel")
        .args(["model", "convert", "assets/default.anselpkg", "-o"])
        .arg(&out)
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "model package version 2 is already current: only version-1 packages need converting",
        ));
    assert!(!out.exists(), "nothing written");
}

/// A reader that stops early (`ansel model | head -1`) ends the command quietly: no panic
/// about a broken pipe, and success, as `head` expects of its writer.
#[test]
fn a_closed_stdout_is_not_a_crash() {
    use std::process::{Command, Stdio};
    let mut child = Command::new(assert_cmd::cargo::cargo_bin!("ansel"))
        .arg("model")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close the read end before the command writes (it loads the model first).
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
}
