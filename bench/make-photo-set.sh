#!/usr/bin/env bash
# A manifest of real photographs for `mmcluster bench input` and bench/input_torchvision.py: bench/make_photo_set.py
# cuts Debian's mate-backgrounds JPEGs (originals up to 5640x3172 plus crops 1920, 1024, 640 and 320 wide) into
# webdataset tars (KEY.jpg, KEY.txt, KEY.cls: the source photograph's index) and OUT_DIR/tars/classes.txt (their names),
# then `mmcluster manifest import-webdataset` imports them (KEY.cls into the label column). Generated, never committed.
# Usage: bench/make-photo-set.sh [OUT_DIR [PER_SIZE]]   (default: /tmp/photo-set 3; needs python3-pil, mate-backgrounds)
#        MMCLUSTER="dotnet /path/mmcluster.dll" runs another build of the CLI than ./mmcluster.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-/tmp/photo-set}" per_size="${2:-3}"
rm -rf "$out/tars" "$out/manifest"
/usr/bin/python3 bench/make_photo_set.py "$out/tars" --per-size "$per_size"
${MMCLUSTER:-./mmcluster} manifest import-webdataset --shards "$out/tars/*.tar" --out "$out/manifest"
echo "manifest: $out/manifest, classes: $out/tars/classes.txt"
