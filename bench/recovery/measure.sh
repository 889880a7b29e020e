#!/usr/bin/env bash
# Recovery from a killed worker, measured on the README's main job (issue 13). Not run by CI: the default takes 30+ min.
#
# First one undisturbed baseline run, then RUNS runs of
#   ./mmcluster dev --spec SPEC --workers 2 --run-dir DIR --chaos "kill worker-1 at step N"
# with N drawn uniformly (from SEED) between 10 % and 90 % of the baseline's steps. From each run's summary.json it
# prints the status, the zero-shot top-1, each epoch's duplicates/missing (ran epochs only), the wall time and, when the
# summary has them, the `recoveries` entries; from chaos.jsonl the kill (the step it fired at and its time since the
# workers started). Runs go to OUT/baseline and OUT/kill-<i>-step-<N> (console output in OUT/*.log); the lines are
# also written to OUT/results.txt.
#
# A lost worker fails a run whose spec has no `recovery:` section, so when SPEC has none the runs use a copy of it with
# `recovery: RECOVERY` appended (written beside SPEC, so relative paths still resolve, and removed at exit). The
# baseline uses the same copy. `--steps S` trains S steps instead of the spec's `epochs:`/`steps:` (one-stage specs;
# keep S x global batch a multiple of the train rows, else the last epoch shows rows missing that no step reached).
#
# Usage: bench/recovery/measure.sh [--quick] [--spec FILE] [--runs R] [--seed S] [--steps S] [--recovery YAML] [--out DIR]
#   defaults: --spec examples/fashion-mnist-clip.yaml --runs 5 --seed 1 --recovery "{ min_workers: 1, replacement_wait: 30s }"
#             --out runs/recovery-measure
#   --quick   one epoch of Fashion-MNIST (--steps 300, 200 rows a step) and 3 runs
set -euo pipefail
cd "$(dirname "$0")/../.."

spec=examples/fashion-mnist-clip.yaml
runs=5
seed=1
steps=
recovery="{ min_workers: 1, replacement_wait: 30s }"
out=runs/recovery-measure
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) steps="${steps:-300}"; runs=3; shift ;;
    --spec) spec="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --recovery) recovery="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "measure.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ -f "$spec" ]] || { echo "measure.sh: no spec at $spec" >&2; exit 2; }
mkdir -p "$out"

# The spec the runs use: SPEC itself, or a copy beside it with the recovery section and the step count.
run_spec="$spec"
if [[ -n "$steps" ]] || ! grep -q '^recovery:' "$spec"; then
  run_spec="$(dirname "$spec")/.measure-recovery-$$.yaml"
  trap 'rm -f "$run_spec"' EXIT
  python3 - "$spec" "$run_spec" "$steps" "$recovery" <<'PY'
import re, sys
source, target, steps, recovery = sys.argv[1:]
text = open(source).read()
if steps:
    if len(re.findall(r"^\s*-\s*name:", text, re.M)) != 1:
        sys.exit("measure.sh: --steps needs a spec with one stage")
    text, n = re.subn(r"^(\s+)(epochs|steps):\s*\d+\s*$", rf"\g<1>steps: {steps}", text, count=1, flags=re.M)
    if n != 1:
        sys.exit("measure.sh: the spec's stage has no 'epochs:' or 'steps:' line to replace")
if not re.search(r"^recovery:", text, re.M):
    text = text.rstrip("\n") + f"\nrecovery: {recovery}\n"
open(target, "w").write(text)
PY
fi

# summary.json (+ chaos.jsonl) -> one line.
report() {
  python3 - "$1" "$2" <<'PY'
import json, os, sys
label, run = sys.argv[1], sys.argv[2]
try:
    s = json.load(open(os.path.join(run, "summary.json")))
except (OSError, ValueError) as e:
    print(f"{label:<22} no summary.json ({e.__class__.__name__})"); sys.exit()
parts = [f"{label:<22}", f"status={s.get('status')}"]
kills = []
chaos = os.path.join(run, "chaos.jsonl")
if os.path.exists(chaos):
    kills = [r for r in map(json.loads, filter(str.strip, open(chaos))) if r.get("action") == "kill"]
for k in kills:
    parts.append(f"kill@step={k.get('step')} t={k.get('elapsed_s')}s ({k.get('result')})")
stages = s.get("stages") or [{}]
parts.append(f"steps={stages[-1].get('steps')}")
top1 = (s.get("eval") or {}).get("zero_shot_top1")
parts.append(f"top1={top1:.4f}" if isinstance(top1, (int, float)) else "top1=-")
ledger = [l for l in s.get("ledger", []) if l.get("ran", True)]
parts.append("ledger=" + (" ".join(f"e{l['epoch']}:dup{l['duplicates']}/miss{l['missing']}" for l in ledger) or "-"))
parts.append(f"wall={s.get('wall_s', 0):.1f}s")
if "recoveries" in s:
    parts.append(f"recoveries={json.dumps(s['recoveries'], separators=(',', ':'))}")
if s.get("error"):
    parts.append(f"error={s['error'][:200]!r}")
print("  ".join(parts))
PY
}

results="$out/results.txt"
: > "$results"
dev() {   # dev DIR [--chaos PLAN]: one run, its console in DIR.log; a failed run is reported, not fatal
  local dir="$1"; shift
  rm -rf "$dir"
  ./mmcluster dev --spec "$run_spec" --workers 2 --run-dir "$dir" --live false "$@" > "$dir.log" 2>&1 || true
}

echo "spec $spec${steps:+ (steps $steps)}; runs in $out; load average $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$results"
dev "$out/baseline"
report baseline "$out/baseline" | tee -a "$results"
total=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['stages'][-1]['steps'])" "$out/baseline/summary.json" 2>/dev/null || true)
[[ "$total" =~ ^[0-9]+$ && "$total" -ge 4 ]] || { echo "measure.sh: the baseline did not train (see $out/baseline.log)" >&2; exit 1; }

mapfile -t kill_steps < <(python3 -c "
import random, sys
total, runs, seed = map(int, sys.argv[1:])
r = random.Random(seed)
lo, hi = max(1, total // 10), max(1, total * 9 // 10)
print('\n'.join(str(r.randint(lo, hi)) for _ in range(runs)))" "$total" "$runs" "$seed")
for i in "${!kill_steps[@]}"; do
  n="${kill_steps[$i]}"
  dir="$out/kill-$((i + 1))-step-$n"
  dev "$dir" --chaos "kill worker-1 at step $n"
  report "kill $((i + 1)) at step $n" "$dir" | tee -a "$results"
done
