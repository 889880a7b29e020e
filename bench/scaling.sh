#!/usr/bin/env bash
# Distributed overhead: samples/s of the dev cluster with 1 worker and with 2 workers (1 torch thread each), the same
# per-worker batch. Throughput = global samples between step FROM and the last training step / wall time between them
# (from metrics.jsonl; evaluation points excluded), so start-up, evaluation and the first steps do not count.
# The runs alternate (1, 2, 1, 2, ...) REPEATS times; the medians and their ratio are printed last. Each run also prints
# the cores its processes used over the same steps (bench/cpu_split.py: utime+stime per coordinator and worker).
#
# --overlap compares 2 workers with the gradient all-reduce overlapped with backward (the default) against 2 workers
# with it after backward (the spec with `gradient_overlap: false` added to every stage), alternating the same way.
# MMCLUSTER_COLLECTIVE_TRANSPORT=tcp (or grpc) in the environment turns the shared-memory lanes off for the workers.
#
# Usage: bench/scaling.sh [--overlap] [SPEC [REPEATS [FROM]]]   (default: bench/clip-scaling.yaml 3 20)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=scaling
if [[ "${1:-}" == "--overlap" ]]; then mode=overlap; shift; fi
spec="${1:-bench/clip-scaling.yaml}"
repeats="${2:-3}"
from="${3:-20}"
name="$(basename "$spec" .yaml)"
throughput() {   # metrics.jsonl workers -> samples/s (global batch = per-worker batch x workers, from the spec's batch_size)
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
if [[ $mode == overlap ]]; then
  # The same spec beside the original (relative manifest paths still resolve), every stage with the overlap off.
  off="$(dirname "$spec")/.$name-no-overlap.yaml"
  sed -E 's/^([[:space:]]*)batch_size:(.*)$/\1batch_size:\2\n\1gradient_overlap: false/' "$spec" > "$off"
  trap 'rm -f "$off"' EXIT
  variants=(on off)
else
  variants=(1 2)
fi
declare -A runs
for ((r = 1; r <= repeats; r++)); do
  for v in "${variants[@]}"; do
    case $v in
      on) w=2 s="$spec" ;;
      off) w=2 s="$off" ;;
      *) w=$v s="$spec" ;;
    esac
    dir="runs/$name-$mode-$v-r$r"
    rm -rf "$dir"
    ./mmcluster dev --spec "$s" --workers "$w" --run-dir "$dir" --live false > "$dir.log" 2>&1 &
    dev=$!
    python3 bench/cpu_split.py sample "$dev" "$dir.cpu.jsonl" &
    wait "$dev"
    wait
    t=$(throughput "$dir/metrics.jsonl" "$w")
    runs[$v]="${runs[$v]:-} $t"
    echo "run $r $mode=$v workers=$w samples_per_s=$t (load average $(cut -d' ' -f1-3 /proc/loadavg)); $(python3 bench/cpu_split.py report "$dir.cpu.jsonl" "$dir/metrics.jsonl" "$from")"
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
a=$(echo "${runs[${variants[0]}]}" | median)
b=$(echo "${runs[${variants[1]}]}" | median)
if [[ $mode == overlap ]]; then
  echo "median 2 workers overlap on $a samples/s; off $b samples/s; on/off $(python3 -c "print(f'{$a/$b:.2f}')")x"
else
  echo "median workers=1 $a samples/s; workers=2 $b samples/s; speed-up $(python3 -c "print(f'{$b/$a:.2f}')")x"
fi
