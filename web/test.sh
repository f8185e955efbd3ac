#!/usr/bin/env bash
# The page's checks: the web crate's format, lints and tests; the wasm package; then the page
# in headless Chromium against the `ansel` CLI (web/test/browser.test.mjs). Installs what it
# needs: the wasm target and wasm-bindgen CLI (build.sh), Debian's chromium, the npm packages
# of package-lock.json. ANSEL_CLI names the CLI to test against (else it is built, debug).
set -euo pipefail
cd "$(dirname "$0")"
cargo fmt -- --check
cargo clippy --all-targets -- -D warnings
cargo clippy --target wasm32-unknown-unknown -- -D warnings
cargo test
bash build.sh
if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  echo "== installing chromium"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
npm ci --no-audit --no-fund
if [ -z "${ANSEL_CLI:-}" ]; then
  (cd .. && cargo build --features cli --bin ansel)
  export ANSEL_CLI="$PWD/../target/debug/ansel"
fi
node --test --test-reporter=spec test/
