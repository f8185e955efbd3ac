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
