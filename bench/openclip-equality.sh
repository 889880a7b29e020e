#!/usr/bin/env bash
# `mmcluster embed` against OpenCLIP's CLIP (bench/openclip_reference.py, a plain-PyTorch re-implementation with
# OpenCLIP's module names; Debian's python3-torch), with the same weights, a 224x224 image and the same texts:
#  1. Python writes seeded random weights with OpenCLIP's names; both embed; the largest absolute difference of the
#     L2-normalized embeddings must be <= 1e-4 (the token ids must be equal).
#  2. The other direction: `mmcluster model init` writes our weights; the reference loads them with
#     load_state_dict(strict=True); both embed them; the same bound.
# No pretrained checkpoint can be downloaded here, so the weights are random at OpenCLIP's initialization scale.
# Usage: bench/openclip-equality.sh [PRESET...]   (default: ViT-B-32; also ViT-B-16, ViT-B-32-quickgelu, ViT-B-16-quickgelu)
set -euo pipefail
cd "$(dirname "$0")/.."
presets=("${@:-ViT-B-32}")
python=/usr/bin/python3
reference=bench/openclip_reference.py
work=$(mktemp -d -t openclip-equality.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; $($python -c 'import torch; print("torch", torch.__version__)')"
./mmcluster --help >/dev/null   # builds the CLI once before anything is timed

# A 224x224 image (the eval transform's resize and crop are then the identity): the centre of a photograph from Debian's
# mate-backgrounds when installed, else a synthetic picture.
$python - "$work/photo.png" <<'EOF'
import glob, sys
import numpy as np
from PIL import Image
photos = sorted(glob.glob("/usr/share/backgrounds/mate/nature/*.jpg"))
if photos:
    im = Image.open(photos[0]).convert("RGB")
    w, h = im.size
    s = min(w, h)
    im = im.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s)).resize((224, 224), Image.BICUBIC)
    print(f"image: the centre of {photos[0]}, scaled to 224x224")
else:
    y, x = np.mgrid[0:224, 0:224]
    im = Image.fromarray(np.stack([x, y, (x + y) // 2], -1).astype(np.uint8), "RGB")
    print("image: synthetic 224x224 gradient")
im.save(sys.argv[1])
EOF
texts=("a photo of a cat." "A diagram: 3 colours & ÜNICODE, déjà vu!" "  runs   of    spaces, digits 1234567890 "
       "$(printf 'a very long caption %.0s' {1..20})")

compare() {  # $1 weights, $2 preset, $3 label
  $python $reference embed --weights "$1" --preset "$2" --images "$work/photo.png" --texts "${texts[@]}" --out "$work/python.safetensors" --threads "$(nproc)"
  ./mmcluster embed --checkpoint "$1" --preset "$2" --images "$work/photo.png" --texts "${texts[@]}" --out "$work/mmcluster.safetensors" 2>/dev/null
  echo "== $3"
  $python $reference compare "$work/python.safetensors" "$work/mmcluster.safetensors" --tolerance 1e-4
}

for preset in "${presets[@]}"; do
  $python $reference init --preset "$preset" --seed 7 --out "$work/openclip.safetensors"
  compare "$work/openclip.safetensors" "$preset" "$preset: weights written by the OpenCLIP reference, embedded by both"
  ./mmcluster model init --preset "$preset" --seed 11 --out "$work/ours.safetensors"
  $python $reference load --weights "$work/ours.safetensors" --preset "$preset"   # strict=True: every name and shape, nothing extra
  compare "$work/ours.safetensors" "$preset" "$preset: weights written by mmcluster model init, loaded strictly by the reference"
  rm -f "$work"/*.safetensors
done
echo "all within 1e-4"
