#!/usr/bin/env bash
# Samples/s of the dev cluster with 1 worker and with 2 workers (1 torch thread each), same per-worker batch.
# Throughput = global samples between step 20 and the last step / wall time between them (from metrics.jsonl),
# so start-up, evaluation and the first steps do not count. Usage: bench/scaling.sh [steps-from]
set -euo pipefail
cd "$(dirname "$0")/.."
from="${1:-20}"
throughput() {   # metrics.jsonl -> samples/s
  awk -v from="$from" -v b=100 -v w="$2" '
    match($0, /"wall_s":[0-9.eE+-]+/) { wall = substr($0, RSTART + 9, RLENGTH - 9) }
    match($0, /"step":[0-9]+/) { step = substr($0, RSTART + 7, RLENGTH - 7) + 0 }
    step >= from && !seen { s0 = step; t0 = wall; seen = 1 }
    { s1 = step; t1 = wall }
    END { printf "%.1f", (s1 - s0) * b * w / (t1 - t0) }' "$1"
}
for w in 1 2; do
  ./mmcluster dev --spec bench/clip-scaling.yaml --workers "$w" --run-dir "runs/scaling-w$w" --live false > "runs/scaling-w$w.log" 2>&1
  echo "workers=$w samples_per_s=$(throughput "runs/scaling-w$w/metrics.jsonl" "$w")"
done
