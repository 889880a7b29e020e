#!/usr/bin/env bash
# Distributed overhead: samples/s of the dev cluster with 1 worker and with 2 workers (1 torch thread each), the same
# per-worker batch. Throughput = global samples between step FROM and the last training step / wall time between them
# (from metrics.jsonl; evaluation points excluded), so start-up, evaluation and the first steps do not count.
# The runs alternate (1, 2, 1, 2, ...) REPEATS times; the medians and their ratio are printed last.
# Usage: bench/scaling.sh [SPEC [REPEATS [FROM]]]   (default: bench/clip-scaling.yaml 3 20)
set -euo pipefail
cd "$(dirname "$0")/.."
spec="${1:-bench/clip-scaling.yaml}"
repeats="${2:-3}"
from="${3:-20}"
name="$(basename "$spec" .yaml)"
throughput() {   # metrics.jsonl -> samples/s (global batch = per-worker batch x workers, read from the spec's batch_size)
  python3 - "$1" "$2" "$from" "$spec" <<'PY'
import json, re, sys
path, workers, start, spec = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
batch = int(re.search(r"batch_size:\s*(\d+)", open(spec).read()).group(1))
points = [json.loads(l) for l in open(path) if l.strip()]
train = [p for p in points if p["step"] >= start and "eval" not in p]
a, b = train[0], train[-1]
print(f"{(b['step'] - a['step']) * batch * workers / (b['wall_s'] - a['wall_s']):.1f}")
PY
}
mkdir -p runs
declare -A runs
for ((r = 1; r <= repeats; r++)); do
  for w in 1 2; do
    dir="runs/$name-w$w-r$r"
    ./mmcluster dev --spec "$spec" --workers "$w" --run-dir "$dir" --live false > "$dir.log" 2>&1
    t=$(throughput "$dir/metrics.jsonl" "$w")
    runs[$w]="${runs[$w]:-} $t"
    echo "run $r workers=$w samples_per_s=$t (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
m1=$(echo "${runs[1]}" | median)
m2=$(echo "${runs[2]}" | median)
echo "median workers=1 $m1 samples/s; workers=2 $m2 samples/s; speed-up $(python3 -c "print(f'{$m2/$m1:.2f}')")x"
