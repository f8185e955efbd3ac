#!/bin/bash
# Full Kodak evaluation of a model package against the usual anchors and the shipped default.
# Usage: eval20.sh PKG OUTDIR   (writes kodak.json, kodak.md, kodak_psnr.png; ANSEL= picks the
# binary, target/release/ansel by default)
set -e
PKG=$1; OUT=$2; mkdir -p "$OUT"
B=/work/shared/baselines/kodak; C=/work/shared/compressai-kodak
"${ANSEL:-/work/main/target/release/ansel}" eval --model "$PKG" --dataset /work/shared/datasets/kodak --device cpu \
  --json "$OUT/kodak.json" --plot "$OUT/kodak_psnr.png" \
  --compare $B/jpeg.json $B/webp.json $B/avif444.json $B/jxl.json $C/bpg_444_x265_ycbcr.json $C/vtm.json \
    $C/compressai-bmshj2018-hyperprior_mse_cpu.json $C/compressai-mbt2018-mean_mse_cpu.json /work/main/docs/results/kodak.json \
  > "$OUT/kodak.md"
