#!/usr/bin/env bash
# Builds the WebAssembly package and serves the page on http://127.0.0.1:${PORT:-8037}/ with
# Python's static file server (any static server will do).
set -euo pipefail
cd "$(dirname "$0")"
bash build.sh
port=${PORT:-8037}
echo "ansel in the browser: http://127.0.0.1:$port/"
exec python3 -m http.server --bind 127.0.0.1 --directory . "$port"
