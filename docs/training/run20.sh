#!/bin/bash
# Run 20 (2026-12-04): the default e61ace96 continued at low learning rates with a weight average,
# two arms side by side on one libtorch thread each:
#   NAME=d20a ./run20.sh                                                  (run 20a)
#   NAME=d20b BIN=bin/ansel-tch20 EXTRA="--min-scale 0.5" ./run20.sh      (run 20b, stopped at 4,500)
# NAME names the run directory; PHASES are "lr steps" counted from the run's start; each stops
# by --session-steps, so the script resumes a stopped run where it left off. EXTRA: more flags.
# Stop it between phases: touch ~/ansel-runs/STOP-$NAME.
cd ~/ansel-runs
export LD_LIBRARY_PATH=~/ansel-runs/torch-venv/lib/python3.11/site-packages/torch/lib
export OMP_NUM_THREADS=${THREADS:-1} MKL_NUM_THREADS=${THREADS:-1}
NAME=${NAME:-d20a}
PHASES=${PHASES:-"3e-5 4500|1e-5 1000"}
IFS='|' read -ra P <<< "$PHASES"
for ph in "${P[@]}"; do
  read lr n <<< "$ph"
  [ -e STOP-$NAME ] && exit 0
  target=$(( ${done_steps:-0} + n )); done_steps=$target
  cur=$(cat $NAME/checkpoints/LATEST 2>/dev/null | sed 's/[^0-9]//g' | sed 's/^0*//'); cur=${cur:-0}
  [ "$cur" -ge "$target" ] && continue
  echo "$(date) phase lr=$lr to step $target (from $cur)" >> $NAME.out
  ${BIN:-bin/ansel-tch} train --data /work/shared/datasets/train --out ~/ansel-runs/$NAME \
    --n 96 --m 192 --batch 2 --patch 256 --lr $lr --steps 150000 --seed ${SEED:-8} \
    --straight-through-from 0 --resume --init ~/ansel-runs/e61.anselpkg --ema 0.999 \
    --checkpoint-minutes 4 --log-every 50 --device libtorch \
    --val-dir /work/shared/datasets/kodak --validate-every 100000 $EXTRA \
    --session-steps $(( target - cur )) >> $NAME.out 2>&1 || { echo "exit $?" >> $NAME.out; exit 1; }
done
echo "$(date) all phases done" >> $NAME.out
