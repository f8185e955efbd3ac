#!/bin/bash
# Run 26 (2026-12-07): run 25's recipe (the default network with its checkerboard context model,
# trained jointly at 3e-5 with the weight average, on the native libtorch backward),
# resumed from the shipped default 87d5fe20 (run 25's step 58,829) on a machine without run 25's
# checkpoints. Resumable. Stop: touch ~/ansel-runs/STOP-r26.
cd ~/ansel-runs
export LD_LIBRARY_PATH=~/ansel-runs/torch-venv/lib/python3.11/site-packages/torch/lib
export OMP_NUM_THREADS=${THREADS:-2} MKL_NUM_THREADS=${THREADS:-2}
[ -e default-87d5fe20.anselpkg ] || cp /work/main/assets/default.anselpkg default-87d5fe20.anselpkg
# bf16 only where the CPU has bf16 instructions: without them libtorch's bf16 matrix products
# take a scalar fallback, many times slower than f32.
PRECISION=f32; grep -qw avx512_bf16 /proc/cpuinfo && PRECISION=bf16
[ -e STOP-r26 ] && exit 0
echo "$(date) run 26 ($PRECISION)" >> r26.out
exec bin/ansel-tch train --data /work/shared/datasets/train --out ~/ansel-runs/r26 \
  --n 96 --m 192 --context --batch 2 --patch 256 --lr 3e-5 --steps 150000 --seed 13 \
  --straight-through-from 0 --resume --init ~/ansel-runs/default-87d5fe20.anselpkg --ema 0.999 \
  --checkpoint-minutes 4 --log-every 50 --device libtorch --precision $PRECISION --lambdas default \
  --validate-every 0 >> r26.out 2>&1
