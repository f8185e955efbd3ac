#!/bin/bash
# Run 12 (2026-12-03): a third cycle of the T = 96 default from assets/default.anselpkg (13bd4837),
# as an A/B of crop size run side by side, one thread each: NAME=a (8 × 128²) or NAME=b (2 × 256²,
# the same pixels per step). Seed 3: fresh crops (earlier runs from packages all began at seed 0).
# Each phase is "lr steps"; a phase stops by --session-steps, validates on Kodak and checkpoints.
# PHASES counts from the run's start, so appending phases continues a finished run: run 12b's
# fourth cycle was NAME=b THREADS=2 PHASES="…|1e-4 1500|3e-5 1100|1e-5 450" (two cores, alone).
#
# Run 13 (2026-12-04), the fifth cycle, was an A/B of crop size from there: NAME=b went on with
# 2 × 256² crops; NAME=c, a copy of run b's directory at step 8,100 (`cp -r b c`, Adam state
# included), with 1 × 384² crops (12 % more pixels per step; images under 384 px on a side drop
# out, 223 of 301 remain). With C4="1e-4 2500|3e-5 1700|1e-5 850|1e-4 1500|3e-5 1100|1e-5 450":
#   NAME=b PHASES="$C4|1e-4 2600|3e-5 1500|1e-5 800"
#   NAME=c PHASES="$C4|1e-4 1850|3e-5 1065|1e-5 570"
# c's phases are 71 % of b's for equal wall time: it measured 0.65 steps/s against b's 0.92.
cd ~/ansel-runs
export LD_LIBRARY_PATH=~/ansel-runs/torch-venv/lib/python3.11/site-packages/torch/lib
export OMP_NUM_THREADS=${THREADS:-1} MKL_NUM_THREADS=${THREADS:-1}
case $NAME in a) BATCH=8 PATCH=128 ;; b) BATCH=2 PATCH=256 ;; c) BATCH=1 PATCH=384 ;; *) exit 2 ;; esac
IFS='|' read -ra P <<< "$PHASES"
for ph in "${P[@]}"; do
  read lr n <<< "$ph"
  [ -e STOP-$NAME ] && exit 0
  target=$(( ${done_steps:-0} + n )); done_steps=$target
  cur=$(cat $NAME/checkpoints/LATEST 2>/dev/null | sed 's/[^0-9]//g' | sed 's/^0*//'); cur=${cur:-0}
  [ "$cur" -ge "$target" ] && continue
  echo "$(date) phase lr=$lr to step $target (from $cur)" >> $NAME.out
  bin/ansel-t128 train --data /work/shared/datasets/train --out ~/ansel-runs/$NAME \
    --n 96 --m 192 --batch $BATCH --patch $PATCH --lr $lr --steps 150000 --seed 3 \
    --straight-through-from 0 --resume --init ~/ansel-runs/t128-init.anselpkg \
    --checkpoint-minutes 4 --log-every 50 --device libtorch --lambdas default \
    --val-dir /work/shared/datasets/kodak --validate-every 100000 \
    --session-steps $(( target - cur )) >> $NAME.out 2>&1 || { echo "exit $?" >> $NAME.out; exit 1; }
done
echo "$(date) all phases done" >> $NAME.out
