#!/bin/bash
# Run 25 (2026-12-06): run 24's recipe (a checkerboard context model added to the default
# e61ace96, the whole network trained jointly at 3e-5 with the weight average) on the native
# libtorch convolution backward. Arm "f32" and arm "bf16" take the same first 1,000 steps from
# the same start (same seed, same batches) as the precision check; the bf16 arm goes on.
# Resumable. Stop: touch ~/ansel-runs/STOP-r25.
cd ~/ansel-runs
export LD_LIBRARY_PATH=~/ansel-runs/torch-venv/lib/python3.11/site-packages/torch/lib
export OMP_NUM_THREADS=${THREADS:-2} MKL_NUM_THREADS=${THREADS:-2}
step() { local s; s=$(cat "$1"/checkpoints/LATEST 2>/dev/null | sed 's/[^0-9]//g; s/^0*//'); echo "${s:-0}"; }
train() { # ARM PRECISION TARGET_STEP
  local cur; cur=$(step r25-$1)
  [ -e STOP-r25 ] || [ "$cur" -ge "$3" ] && return 0
  echo "$(date) arm $1 ($2) to step $3 (from $cur)" >> r25.out
  bin/ansel-tch train --data /work/shared/datasets/train --out ~/ansel-runs/r25-$1 \
    --n 96 --m 192 --context --batch 2 --patch 256 --lr 3e-5 --steps 150000 --seed 12 \
    --straight-through-from 0 --resume --init ~/ansel-runs/default-e61ace96.anselpkg --ema 0.999 \
    --checkpoint-minutes 4 --log-every 50 --device libtorch --precision $2 --lambdas default \
    --validate-every 0 --session-steps $(( $3 - cur )) >> r25.out 2>&1 || { echo "exit $?" >> r25.out; exit 1; }
}
train f32 f32 1000
train bf16 bf16 1000
[ -e r25-bf16-1000.anselpkg ] || bin/ansel-tch export --run r25-bf16 -o r25-bf16-1000.anselpkg >> r25.out 2>&1
[ -e r25-f32-1000.anselpkg ] || bin/ansel-tch export --run r25-f32 -o r25-f32-1000.anselpkg >> r25.out 2>&1
train bf16 bf16 150000
