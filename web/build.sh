#!/usr/bin/env bash
# Builds the page's WebAssembly package into web/pkg: the codec (encoder and decoder, the
# default model embedded) for wasm32-unknown-unknown, and wasm-bindgen's JavaScript bindings.
# Installs the wasm target and the wasm-bindgen CLI of the version in web/Cargo.lock if needed.
set -euo pipefail
cd "$(dirname "$0")"
version=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"$/\1/p')
rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || true
if [ "$(wasm-bindgen --version 2>/dev/null | cut -d' ' -f2)" != "$version" ]; then
  echo "== installing wasm-bindgen-cli $version"
  cargo install wasm-bindgen-cli --version "$version"
fi
cargo build --release --target wasm32-unknown-unknown
wasm-bindgen --target web --out-dir pkg \
  "${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/release/ansel_web.wasm"
wasm=pkg/ansel_web_bg.wasm
echo "built $wasm: $(stat -c %s "$wasm") bytes, $(gzip -9c "$wasm" | wc -c) gzipped"
