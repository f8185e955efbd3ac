#!/usr/bin/env bash
# Training steps per second of `ansel train` and of a PyTorch reference of the same network,
# loss and optimizer (reference.py), measured back to back in one run on this machine. By hand,
# not in CI; see docs/training/README.md for figures.
#
#   PYTHON=~/venvs/torch/bin/python ANSEL_TCH=target-tch/release/ansel benches/train_speed/run.sh
#
# PYTHON     an interpreter with torch (required)
# ANSEL      the default build (flex backend; default target/release/ansel; FLEX=0 skips it)
# ANSEL_TCH  a build with `--features cli,tch` (its libtorch on LD_LIBRARY_PATH); skipped if unset
# BASELINE_TCH, BASELINE  optional: other builds (an earlier commit) timed in the same rounds
# DATA       training photos (default ../shared/datasets/train)
# STEPS      timed steps per trainer (default 40), after WARMUP untimed ones (default 5)
# REPEAT     rounds (default 3): the trainers take turns in each round; medians are reported
# THREADS    threads per trainer (default 2)
# N, M, BATCH, PATCH   the network and batch (default 96, 192, 2, 256)
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${PYTHON:?set PYTHON to an interpreter with torch}"
ANSEL=${ANSEL:-target/release/ansel}
DATA=${DATA:-../shared/datasets/train}
STEPS=${STEPS:-40} WARMUP=${WARMUP:-5} THREADS=${THREADS:-2} REPEAT=${REPEAT:-3}
N=${N:-96} M=${M:-192} BATCH=${BATCH:-2} PATCH=${PATCH:-256}
if (( STEPS % WARMUP )); then echo "STEPS must be a multiple of WARMUP" >&2; exit 2; fi
export OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS RAYON_NUM_THREADS=$THREADS
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
results=$tmp/results.jsonl

# ansel NAME BINARY DEVICE [PRECISION]: logs every WARMUP steps; the first interval is not
# timed. Without PRECISION no --precision flag is passed (builds that predate it).
ansel() {
  local name=$1 bin=$2 device=$3
  local precision=(${4:+--precision "$4"})
  echo "== $name" >&2
  rm -rf "$tmp/$name"
  "$bin" train --data "$DATA" --out "$tmp/$name" --n "$N" --m "$M" --batch "$BATCH" \
    --patch "$PATCH" --steps $((WARMUP + STEPS)) --log-every "$WARMUP" --validate-every 0 \
    --checkpoint-minutes 100000 --device "$device" "${precision[@]}" 2>"$tmp/$name.err" \
    || { cat "$tmp/$name.err" >&2; return 1; }
  "$PYTHON" - "$tmp/$name/train.jsonl" "$name" "$WARMUP" >>"$results" <<'EOF'
import json, sys
path, name, warmup = sys.argv[1], sys.argv[2], int(sys.argv[3])
lines = [json.loads(l) for l in open(path)]
timed = [l for l in lines if l["step"] > warmup]
seconds = sum(warmup / l["steps_per_sec"] for l in timed)
print(json.dumps({"name": name, "steps_per_s": warmup * len(timed) / seconds}))
EOF
}

reference() {
  local name=$1 precision=$2
  echo "== $name" >&2
  "$PYTHON" benches/train_speed/reference.py --n "$N" --m "$M" --batch "$BATCH" \
    --patch "$PATCH" --steps "$STEPS" --warmup "$WARMUP" --threads "$THREADS" \
    --precision "$precision" | "$PYTHON" -c "
import json, sys
r = json.load(sys.stdin)
print(json.dumps({'name': '$name (torch ' + r['torch'] + ')', 'steps_per_s': r['steps_per_s']}))" \
    >>"$results"
}

for round in $(seq "$REPEAT"); do
  reference "pytorch f32" f32
  if [ -n "${ANSEL_TCH:-}" ]; then ansel "ansel libtorch f32" "$ANSEL_TCH" libtorch f32; fi
  reference "pytorch bf16 autocast" bf16
  if [ -n "${ANSEL_TCH:-}" ]; then ansel "ansel libtorch bf16" "$ANSEL_TCH" libtorch bf16; fi
  if [ -n "${BASELINE_TCH:-}" ]; then ansel "baseline libtorch f32" "$BASELINE_TCH" libtorch; fi
  if [ "${FLEX:-1}" = 1 ]; then ansel "ansel flex f32" "$ANSEL" cpu f32; fi
  if [ -n "${BASELINE:-}" ]; then ansel "baseline flex f32" "$BASELINE" cpu; fi
done

"$PYTHON" - "$results" <<EOF
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    runs.setdefault(r["name"], []).append(r["steps_per_s"])
median = {name: statistics.median(v) for name, v in runs.items()}
base = next(v for name, v in median.items() if name.startswith("pytorch f32"))
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"N={$N} M={$M}, batch {$BATCH} x {$PATCH}², Adam, {$THREADS} threads, {$STEPS} timed steps,"
      f" median of {$REPEAT} rounds; CPU: {cpu}")
print("| trainer | steps/s (median) | each round | vs pytorch f32 |")
print("|---|---:|---|---:|")
for name, v in median.items():
    rounds = ", ".join(f"{x:.2f}" for x in runs[name])
    print(f"| {name} | {v:.2f} | {rounds} | {v / base:.2f}x |")
EOF
