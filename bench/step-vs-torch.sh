#!/usr/bin/env bash
# The single-process training step against PyTorch eager, side by side: `mmcluster bench step` (TorchSharp, libtorch)
# and bench/torch_clip_step.py (Debian's python3-torch 1.13 with OpenBLAS) on the same model, batch and thread count,
# alternating PAIRS times; prints each run, the medians and the ratio (TorchSharp / PyTorch: below 1 is faster).
# Usage: bench/step-vs-torch.sh [PAIRS [MODEL [BATCH [THREADS]]]]   (default: 3 clip-tiny 256 1)
set -euo pipefail
cd "$(dirname "$0")/.."
pairs="${1:-3}" model="${2:-clip-tiny}" batch="${3:-256}" threads="${4:-1}"
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
sharp=() torch=()
field() { python3 -c "import json,sys; print(json.loads(sys.stdin.readlines()[-1])['$1'])"; }
for ((r = 1; r <= pairs; r++)); do
  s=$(./mmcluster bench step --model "$model" --batch "$batch" --threads "$threads" --json | field ms_per_step_median)
  t=$(bench/torch_clip_step.py --model "$model" --batch "$batch" --threads "$threads" --json | field ms_per_step_median)
  sharp+=("$s") torch+=("$t")
  echo "pair $r: torchsharp $s ms/step, pytorch $t ms/step (load average $(cut -d' ' -f1-3 /proc/loadavg))"
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
ms=$(median "${sharp[@]}") mt=$(median "${torch[@]}")
echo "median torchsharp $ms ms/step, pytorch $mt ms/step: ratio $(python3 -c "print(f'{$ms/$mt:.2f}')")"
