#!/usr/bin/env bash
# First load of a long history in the browser (issue 14): writes a synthetic finished run with POINTS training points
# (metrics.jsonl) and a summary.json, serves it with `mmcluster dashboard --run-dir`, and opens the page RUNS times in
# Debian's chromium (puppeteer-core, installed into a temporary folder; no browser is downloaded), printing the time from
# navigation to the loss chart drawn with the history loaded. Not run by CI.
#
# Usage: bench/dashboard/first-load.sh [--points 100000] [--runs 4] [--port 5098]
set -euo pipefail
cd "$(dirname "$0")/../.."
points=100000 runs=4 port=5098
while [[ $# -gt 0 ]]; do
  case "$1" in
    --points) points="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    *) echo "first-load.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
work="$(mktemp -d /tmp/mmcluster-first-load-XXXXXX)"
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
python3 - "$work/run" "$points" <<'PY'
import json, math, os, sys
run, points = sys.argv[1], int(sys.argv[2])
os.makedirs(run)
with open(os.path.join(run, "metrics.jsonl"), "w") as f:
    for s in range(1, points + 1):
        p = {"time": "2026-12-06T00:00:00+00:00", "wall_s": s * 0.5, "stage": "clip", "step": s, "epoch": 0,
             "losses": {"loss": 4 + math.sin(s / 500) + (s % 7) / 10}, "lr": 1e-3 * (1 - s / points),
             "samples_per_s": 400 + (s % 13), "step_ms": 500, "collective_ms": 50, "skipped": {}, "generation": 1, "world_size": 2}
        if s % (points // 10) == 0:
            p["eval"] = {"zero_shot_top1": 0.5 + s / points / 4}
        f.write(json.dumps(p) + "\n")
summary = {"run_id": "first-load", "run_name": "first-load", "status": "succeeded", "world_size": 2,
           "stages": [{"name": "clip", "kind": "clip", "state": "done", "steps": points, "total_steps": points}],
           "ledger": [], "wall_s": points * 0.5}
json.dump(summary, open(os.path.join(run, "summary.json"), "w"))
PY
./mmcluster dashboard --run-dir "$work/run" --port "$port" > "$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 600); do grep -q "at http://" "$work/server.log" 2>/dev/null && break; sleep 0.5; done
grep "at http://" "$work/server.log" || { cat "$work/server.log"; exit 1; }
(cd "$work" && npm init -y >/dev/null && npm install --no-audit --no-fund --silent puppeteer-core@23 >/dev/null)
cp bench/dashboard/first-load.mjs "$work/"
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
node "$work/first-load.mjs" "http://127.0.0.1:$port/" "$runs" "$points"
