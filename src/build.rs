//! Build script: with the `tch` feature, compiles the small C++ shim that calls libtorch's
//! convolution backward (`src/model/ops/convolution_backward.cpp`) against the libtorch that
//! torch-sys found. Without it, does nothing.

fn main() {
    #[cfg(feature = "tch")]
    {
        const SHIM: &str = "src/model/ops/convolution_backward.cpp";
        println!("cargo:rerun-if-changed={SHIM}");
        // torch-sys (`links = "tch"`) passes its libtorch lib dir to direct dependents.
        let lib = std::path::PathBuf::from(
            std::env::var("DEP_TCH_LIBTORCH_LIB").expect("torch-sys reports its libtorch"),
        );
        let root = lib.parent().expect("libtorch's lib dir has a parent");
        let abi = std::env::var("LIBTORCH_CXX11_ABI").unwrap_or_else(|_| "1".to_owned());
        println!("cargo:rerun-if-env-changed=LIBTORCH_CXX11_ABI");
        cc::Build::new()
            .cpp(true)
            .pic(true)
            .warnings(false)
            .include(root.join("include"))
            .flag("-std=c++17")
            .flag(format!("-D_GLIBCXX_USE_CXX11_ABI={abi}"))
            .file(SHIM)
            .compile("ansel_convolution_backward");
    }
}
