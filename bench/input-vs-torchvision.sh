#!/usr/bin/env bash
# The photo input pipeline against torchvision + Pillow, side by side on the same photos and threads: alternates
# `mmcluster bench input` (centre crop, as OpenCLIP evaluates) with bench/input_torchvision.py (OpenCLIP's eval
# preprocess in a DataLoader of THREADS workers) and, for reference, the same with Pillow's JPEG draft mode, PAIRS
# times; prints each run and the medians. Make the set first: bench/make-photo-set.sh DIR.
# Usage: bench/input-vs-torchvision.sh [DIR [THREADS [PAIRS [SIZE]]]]   (default: /tmp/photo-set 1 3 224)
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-/tmp/photo-set}" threads="${2:-1}" pairs="${3:-3}" size="${4:-224}"
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; $threads thread(s), ${size}x${size}"
ours=() tv=() draft=()
field() { python3 -c "import json,sys; print(json.loads(sys.stdin.readlines()[-1])['$1'])"; }
for ((r = 1; r <= pairs; r++)); do
  o=$(./mmcluster bench input --manifest "$dir/manifest" --image-size "$size" --threads "$threads" --json)
  t=$(/usr/bin/python3 bench/input_torchvision.py --tars "$dir/tars" --image-size "$size" --threads "$threads" --json)
  d=$(/usr/bin/python3 bench/input_torchvision.py --tars "$dir/tars" --image-size "$size" --threads "$threads" --draft --json)
  ours+=("$(field samples_per_s <<<"$o")") tv+=("$(field samples_per_s <<<"$t")") draft+=("$(field samples_per_s <<<"$d")")
  echo "pair $r: mmcluster $(field samples_per_s <<<"$o") samples/s ($(field samples_per_cpu_s <<<"$o")/CPU-s), torchvision $(field samples_per_s <<<"$t") ($(field samples_per_cpu_s <<<"$t")/CPU-s), torchvision+draft $(field samples_per_s <<<"$d") ($(field samples_per_cpu_s <<<"$d")/CPU-s); load average $(cut -d' ' -f1-3 /proc/loadavg)"
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
mo=$(median "${ours[@]}") mt=$(median "${tv[@]}") md=$(median "${draft[@]}")
echo "median samples/s: mmcluster $mo, torchvision $mt, torchvision+draft $md; mmcluster / torchvision $(python3 -c "print(f'{$mo/$mt:.2f}')"), / draft $(python3 -c "print(f'{$mo/$md:.2f}')")"
