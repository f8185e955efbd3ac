#!/bin/bash
# Run 19 (2026-12-04): run 17 (run h) again from the start on a new machine: the default (e61ace96)
# widened to M = 320 with a weight average. Phases are "lr steps ramp", counted from the run's start;
# each stops by --session-steps, so the script resumes a stopped run where it left off.
# Stop it between phases: touch ~/ansel-runs/STOP-h. Needs bin/ansel-tch (a --features tch build)
# and e61.anselpkg (a copy of that default) in ~/ansel-runs.
cd ~/ansel-runs
export LD_LIBRARY_PATH=~/ansel-runs/torch-venv/lib/python3.11/site-packages/torch/lib
export OMP_NUM_THREADS=${THREADS:-2} MKL_NUM_THREADS=${THREADS:-2}
PHASES=${PHASES:-"1e-4 4500 60000|1e-4 3500 8000|3e-5 1000 8000"}
IFS='|' read -ra P <<< "$PHASES"
for ph in "${P[@]}"; do
  read lr n ramp <<< "$ph"
  [ -e STOP-h ] && exit 0
  target=$(( ${done_steps:-0} + n )); done_steps=$target
  cur=$(cat h/checkpoints/LATEST 2>/dev/null | sed 's/[^0-9]//g' | sed 's/^0*//'); cur=${cur:-0}
  [ "$cur" -ge "$target" ] && continue
  echo "$(date) phase lr=$lr ramp=$ramp to step $target (from $cur)" >> h.out
  bin/ansel-tch train --data /work/shared/datasets/train --out ~/ansel-runs/h \
    --n 96 --m 320 --new-channel-ramp $ramp --batch 2 --patch 256 --lr $lr --steps 150000 --seed 5 \
    --straight-through-from 0 --resume --init ~/ansel-runs/e61.anselpkg --ema 0.999 \
    --checkpoint-minutes 4 --log-every 50 --device libtorch --lambdas default \
    --val-dir /work/shared/datasets/kodak --validate-every 100000 \
    --session-steps $(( target - cur )) >> h.out 2>&1 || { echo "exit $?" >> h.out; exit 1; }
done
echo "$(date) all phases done" >> h.out
