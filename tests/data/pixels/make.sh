#!/usr/bin/env bash
# Streams of tests/same_pixels.rs and the SHA-256 of the pixels they decode to: crops of three
# Kodak images coded by the default model (which has a checkerboard context model) at qualities
# 1, 4.5 and 8, and by a model without a context model (the M = 320 candidate) at quality 3. Run by hand from the repository root, with a release `ansel`
# and a Python with Pillow:
#   PYTHON=python3 ANSEL=target/release/ansel bash tests/data/pixels/make.sh
# The hashes are those of the build that runs it; every other build must decode the same.
set -euo pipefail
ansel=${ANSEL:-target/release/ansel}
kodak=${KODAK:-../shared/datasets/kodak}
out=tests/data/pixels
plain=assets/candidates/m320-6b40629c.anselpkg
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"${PYTHON:-python3}" - "$kodak" "$tmp" <<'PY'
import sys
from PIL import Image
for name, (x, y) in {"kodim03": (300, 200), "kodim13": (100, 60), "kodim23": (420, 120)}.items():
    Image.open(f"{sys.argv[1]}/{name}.png").convert("RGB").crop((x, y, x + 160, y + 112)).save(f"{sys.argv[2]}/{name}.ppm")
PY
: > "$out/SHA256SUMS"
for crop in "$tmp"/*.ppm; do
  name=$(basename "$crop" .ppm)
  for q in 1 4.5 8; do
    "$ansel" encode "$crop" -q "$q" -o "$out/$name-q$q.ansel" --force
  done
  "$ansel" encode "$crop" -q 3 --model "$plain" -o "$out/$name-plain-q3.ansel" --force
done
for stream in "$out"/*.ansel; do
  model=()
  [[ $stream == *-plain-* ]] && model=(--model "$plain")
  "$ansel" decode "$stream" "${model[@]}" -o "$tmp/out.ppm" --format ppm --force
  # The pixels after the PPM header (160 × 112 RGB).
  echo "$(tail -c $((160 * 112 * 3)) "$tmp/out.ppm" | sha256sum | cut -d' ' -f1)  $(basename "$stream")" >> "$out/SHA256SUMS"
done
cat "$out/SHA256SUMS"
