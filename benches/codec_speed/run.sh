#!/usr/bin/env bash
# Encode and decode times per image of ansel and of CompressAI (PyTorch f32 and bf16 autocast),
# measured in turns in one run on this machine: medians over the images, and the ratios. By
# hand, not in CI; see docs/design-notes.md for figures.
#
#   PYTHON=~/venvs/compressai/bin/python benches/codec_speed/run.sh
#
# PYTHON    an interpreter with torch and compressai (without it only ansel is timed)
# ANSEL     the timing program (default: built here, `--example codec_speed --features formats`)
# BASELINE  optional: another build of the same program (an earlier commit), timed in the same rounds
# IMAGES    the images (default ../shared/datasets/kodak/*.png)
# QUALITY   ansel's quality (default 3); CAI_QUALITY CompressAI's (default 3)
# REPEAT    timed runs per image and coder (default 3); THREADS threads (default 2)
set -euo pipefail
cd "$(dirname "$0")/../.."
QUALITY=${QUALITY:-3} CAI_QUALITY=${CAI_QUALITY:-3} REPEAT=${REPEAT:-3} THREADS=${THREADS:-2}
export OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS RAYON_NUM_THREADS=$THREADS
if [ -z "${ANSEL:-}" ]; then
  cargo build --release --example codec_speed --features formats >&2
  ANSEL=target/release/examples/codec_speed
fi
if [ -n "${IMAGES:-}" ]; then read -ra images <<<"$IMAGES"; else images=(../shared/datasets/kodak/*.png); fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Each coder takes every image in turn, so that a slow minute of the machine hits all alike.
for image in "${images[@]}"; do
  echo "== $(basename "$image")" >&2
  "$ANSEL" --quality "$QUALITY" --repeat "$REPEAT" "$image" >>"$tmp/ansel.jsonl"
  if [ -n "${BASELINE:-}" ]; then
    "$BASELINE" --quality "$QUALITY" --repeat "$REPEAT" "$image" >>"$tmp/baseline.jsonl"
  fi
  if [ -n "${PYTHON:-}" ]; then
    for precision in f32 bf16; do
      flag=(); [ $precision = bf16 ] && flag=(--bf16)
      "$PYTHON" benches/codec_speed/reference.py --quality "$CAI_QUALITY" --repeat "$REPEAT" \
        --threads "$THREADS" "${flag[@]}" "$image" 2>/dev/null >>"$tmp/compressai-$precision.jsonl"
    done
  fi
done

python3 - "$tmp" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" <<'PY'
import json, os, statistics, sys
tmp, cpu = sys.argv[1], sys.argv[2]
rows = [("ansel", "ansel.jsonl"), ("ansel (baseline build)", "baseline.jsonl"),
        ("CompressAI mbt2018-mean, PyTorch f32", "compressai-f32.jsonl"),
        ("the same, bf16 autocast", "compressai-bf16.jsonl")]
medians = {}
for name, file in rows:
    path = os.path.join(tmp, file)
    if os.path.exists(path):
        lines = [json.loads(l) for l in open(path)]
        medians[name] = (len(lines), statistics.median(l["encode_ms"] for l in lines),
                         statistics.median(l["decode_ms"] for l in lines))
print(f"CPU: {cpu}, {os.environ.get('THREADS', '2')} threads; medians over images\n")
print("| coder | images | encode (ms) | decode (ms) | encode vs ansel | decode vs ansel |")
print("|---|---:|---:|---:|---:|---:|")
_, ae, ad = medians["ansel"]
for name, (n, e, d) in medians.items():
    print(f"| {name} | {n} | {e:.0f} | {d:.0f} | {e / ae:.2f}x | {d / ad:.2f}x |")
PY
