#!/bin/bash
# Run 23 (2026-12-05): the M = 320 line on a new machine, from its committed candidate
# (assets/candidates/m320-6b40629c.anselpkg, run h's step 15,839; run h's later steps were
# machine-local and lost). Fresh Adam (500 warm-up steps), then 1e-5 with the weight average.
# Phases are "lr steps", counted from this run's start; resumable. Stop: touch ~/ansel-runs/STOP-h2.
cd ~/ansel-runs
export LD_LIBRARY_PATH=~/ansel-runs/torch-venv/lib/python3.11/site-packages/torch/lib
export OMP_NUM_THREADS=${THREADS:-2} MKL_NUM_THREADS=${THREADS:-2}
PHASES=${PHASES:-"1e-5 30000"}
IFS='|' read -ra P <<< "$PHASES"
for ph in "${P[@]}"; do
  read lr n <<< "$ph"
  [ -e STOP-h2 ] && exit 0
  target=$(( ${done_steps:-0} + n )); done_steps=$target
  cur=$(cat h2/checkpoints/LATEST 2>/dev/null | sed 's/[^0-9]//g' | sed 's/^0*//'); cur=${cur:-0}
  [ "$cur" -ge "$target" ] && continue
  echo "$(date) phase lr=$lr to step $target (from $cur)" >> h2.out
  bin/ansel-tch train --data /work/shared/datasets/train --out ~/ansel-runs/h2 \
    --n 96 --m 320 --batch 2 --patch 256 --lr $lr --steps 150000 --seed 9 \
    --straight-through-from 0 --resume --init ~/ansel-runs/m320-6b40629c.anselpkg --ema 0.999 \
    --checkpoint-minutes 4 --log-every 50 --device libtorch --lambdas default \
    --val-dir /work/shared/datasets/kodak --validate-every 100000 \
    --session-steps $(( target - cur )) >> h2.out 2>&1 || { echo "exit $?" >> h2.out; exit 1; }
done
echo "$(date) all phases done" >> h2.out
