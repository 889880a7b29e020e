#!/usr/bin/env bash
# A manifest of real photographs for `mmcluster bench input` and bench/input_torchvision.py: bench/make_photo_set.py
# cuts Debian's mate-backgrounds JPEGs (originals up to 5640x3172 plus crops 1920, 1024, 640 and 320 wide) into
# webdataset tars, then `mmcluster manifest import-webdataset` imports them. Generated, never committed.
# Usage: bench/make-photo-set.sh [OUT_DIR [PER_SIZE]]   (default: /tmp/photo-set 3; needs python3-pil, mate-backgrounds)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-/tmp/photo-set}" per_size="${2:-3}"
rm -rf "$out/tars" "$out/manifest"
/usr/bin/python3 bench/make_photo_set.py "$out/tars" --per-size "$per_size"
./mmcluster manifest import-webdataset --shards "$out/tars/*.tar" --out "$out/manifest"
echo "manifest: $out/manifest"
