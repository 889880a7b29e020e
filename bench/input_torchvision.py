#!/usr/bin/python3
"""The reference for `mmcluster bench input`: torchvision with Pillow on the same photos (the webdataset tars that
bench/make-photo-set.sh imported into the manifest: the same bytes), the same transform as OpenCLIP's evaluation
preprocess: Image.open(...).convert("RGB"), Resize(S, BICUBIC), CenterCrop(S), ToTensor(), Normalize(CLIP's mean and
std); a torch DataLoader with T worker processes and batches of B. The bytes are read into memory first, so the figure
is decode + transform + collate, as ours is. Pillow's JPEG draft mode (DCT-scaled decoding) is off by default because
neither torchvision's loader nor OpenCLIP's pipelines call Image.draft; --draft turns it on to show what it would give.
--golden prints the small pattern cases the C# resampler specs compare with.

Usage: bench/input_torchvision.py --tars DIR --image-size 224 --threads T [--batch 64] [--limit N] [--passes 3] [--draft] [--json]
"""
import argparse
import glob
import io
import json
import os
import statistics
import tarfile
import time

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms as T
from torchvision.transforms import InterpolationMode

MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)


class Photos(Dataset):
    def __init__(self, images, size, draft):
        self.images, self.size, self.draft = images, size, draft
        self.transform = T.Compose([
            T.Resize(size, interpolation=InterpolationMode.BICUBIC),
            T.CenterCrop(size),
            T.ToTensor(),
            T.Normalize(MEAN, STD),
        ])

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        image = Image.open(io.BytesIO(self.images[i]))
        if self.draft and image.format == "JPEG":
            short = min(image.size)
            image.draft("RGB", (-(-self.size * image.width // short), -(-self.size * image.height // short)))
        return self.transform(image.convert("RGB"))


def load(folder, limit):
    images = []
    for path in sorted(glob.glob(os.path.join(folder, "*.tar"))):
        with tarfile.open(path) as tar:
            for member in tar:
                if member.name.endswith((".jpg", ".jpeg", ".png", ".webp")):
                    images.append(tar.extractfile(member).read())
                    if limit and len(images) == limit:
                        return images
    return images


def golden():
    import numpy as np
    for w, h, s in [(9, 6, 4), (40, 30, 8)]:
        a = np.zeros((h, w, 3), dtype=np.uint8)
        for y in range(h):
            for x in range(w):
                a[y, x] = ((x * 29 + y * 7) % 256, (x * 13 + y * 31) % 256, (x * x + y * y * 5) % 256)
        t = T.Compose([T.Resize(s, interpolation=InterpolationMode.BICUBIC), T.CenterCrop(s), T.ToTensor()])
        print(w, h, s, (t(Image.fromarray(a)) * 255).round().int().flatten().tolist())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tars")
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--draft", action="store_true")
    parser.add_argument("--golden", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.golden:
        return golden()
    torch.set_num_threads(1)
    images = load(args.tars, args.limit)
    loader = DataLoader(Photos(images, args.image_size, args.draft), batch_size=args.batch, num_workers=args.threads,
                        persistent_workers=True)
    for _ in loader:  # workers start and import here, not timed
        break
    seconds, cpu = [], []
    for _ in range(args.passes):
        start, start_cpu = time.perf_counter(), cpu_seconds()
        checksum = 0.0
        for batch in loader:
            checksum += float(batch[-1, -1, -1, -1])
        seconds.append(time.perf_counter() - start)
        cpu.append(cpu_seconds() - start_cpu)
    median = statistics.median(seconds)
    median_cpu = statistics.median(cpu)
    total = sum(len(b) for b in images)
    result = {
        "measures": "Pillow decode + torchvision Resize(bicubic)/CenterCrop/ToTensor/Normalize + collate; bytes read before timing",
        "images": len(images), "image_size": args.image_size, "threads": args.threads, "batch": args.batch,
        "draft": args.draft, "passes": args.passes,
        "samples_per_s": round(len(images) / median, 1),
        "samples_per_s_per_thread": round(len(images) / median / args.threads, 1),
        "samples_per_cpu_s": round(len(images) / median_cpu, 1),
        "jpeg_mb_per_s": round(total / 1e6 / median, 1),
        "pass_seconds": [round(s, 3) for s in sorted(seconds)],
    }
    print(json.dumps(result) if args.json else
          f"{result['images']} images, {args.threads} worker(s), draft {args.draft}: {result['samples_per_s']} samples/s "
          f"({result['samples_per_cpu_s']} per CPU-second), {result['jpeg_mb_per_s']} MB/s")


def cpu_seconds():
    """CPU seconds of this process and its DataLoader workers (children still running are read from /proc)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    pids = [os.getpid()] + [int(p) for p in open(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read().split()]
    for pid in pids:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


if __name__ == "__main__":
    main()
