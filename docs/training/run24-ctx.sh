#!/bin/bash
# Run 24 (2026-12-05): a checkerboard context model added to the default (e61ace96) and the
# whole network trained jointly at 3e-5 with the weight average (run 18's ctx ran at 1e-4, at
# which this model's raw transforms lose ~0.6 dB at quality 8). Resumable. Stop: touch STOP-ctx.
cd ~/ansel-runs
export LD_LIBRARY_PATH=~/ansel-runs/torch-venv/lib/python3.11/site-packages/torch/lib
export OMP_NUM_THREADS=${THREADS:-2} MKL_NUM_THREADS=${THREADS:-2}
PHASES=${PHASES:-"3e-5 40000"}
IFS='|' read -ra P <<< "$PHASES"
for ph in "${P[@]}"; do
  read lr n <<< "$ph"
  [ -e STOP-ctx ] && exit 0
  target=$(( ${done_steps:-0} + n )); done_steps=$target
  cur=$(cat ctx/checkpoints/LATEST 2>/dev/null | sed 's/[^0-9]//g' | sed 's/^0*//'); cur=${cur:-0}
  [ "$cur" -ge "$target" ] && continue
  echo "$(date) phase lr=$lr to step $target (from $cur)" >> ctx.out
  bin/ansel-tch train --data /work/shared/datasets/train --out ~/ansel-runs/ctx \
    --n 96 --m 192 --context --batch 2 --patch 256 --lr $lr --steps 150000 --seed 10 \
    --straight-through-from 0 --resume --init ~/ansel-runs/default-e61ace96.anselpkg --ema 0.999 \
    --checkpoint-minutes 4 --log-every 50 --device libtorch --lambdas default \
    --val-dir /work/shared/datasets/kodak --validate-every 100000 \
    --session-steps $(( target - cur )) >> ctx.out 2>&1 || { echo "exit $?" >> ctx.out; exit 1; }
done
echo "$(date) all phases done" >> ctx.out
