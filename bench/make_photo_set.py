#!/usr/bin/python3
"""Cuts Debian's mate-backgrounds JPEG photographs into a test set of real photos at several sizes, as webdataset tars
(KEY.jpg + KEY.txt + KEY.cls) that `mmcluster manifest import-webdataset` turns into a manifest. Per photograph: the original
file's bytes unchanged (up to 5640x3172), then PER_SIZE crops at each width of WIDTHS (random position, aspect 16:9,
4:3, 1:1 or 3:4, Pillow bicubic down-scale, JPEG quality 90); every tenth crop is saved grey and every tenth (offset
five) as CMYK, so the set holds the colour models photos come in. Deterministic for a seed.

Classes: each sample's KEY.cls is the index of its source photograph in sorted path order (webdataset's class id, as
text), and OUT_DIR/classes.txt names them, one per line (line i+1 names class i), with the names the captions use (the
file name without extension; Elephants comes in three resolutions, three files and so three classes of one picture).

Usage: bench/make_photo_set.py OUT_DIR [--per-size 3] [--widths 1920,1024,640,320] [--per-tar 64] [--seed 17]
"""
import argparse
import glob
import io
import os
import random
import tarfile

from PIL import Image

SOURCE = "/usr/share/backgrounds/mate"
ASPECTS = [(16, 9), (4, 3), (1, 1), (3, 4)]


def members():
    photos = sorted(glob.glob(os.path.join(SOURCE, "**", "*.jpg"), recursive=True))
    if not photos:
        raise SystemExit(f"no JPEGs under {SOURCE}: apt-get install mate-backgrounds")
    return photos


def name_of(path):
    return os.path.splitext(os.path.basename(path))[0]


def crops(path, label, widths, per_size, rng, counter):
    with open(path, "rb") as f:
        original = f.read()
    image = Image.open(io.BytesIO(original))
    name = name_of(path)
    yield original, f"a photograph, {name}, the original {image.width}x{image.height}", label
    image = image.convert("RGB")
    for width in widths:
        for _ in range(per_size):
            aw, ah = rng.choice(ASPECTS)
            cw = min(image.width, image.height * aw // ah)
            cw = rng.randint(max(cw * 2 // 3, 1), cw)
            ch = cw * ah // aw
            x, y = rng.randint(0, image.width - cw), rng.randint(0, image.height - ch)
            out_w = min(width, cw)
            piece = image.crop((x, y, x + cw, y + ch)).resize((out_w, max(out_w * ah // aw, 1)), Image.BICUBIC)
            n = next(counter)
            mode = "L" if n % 10 == 0 else "CMYK" if n % 10 == 5 else "RGB"
            buffer = io.BytesIO()
            piece.convert(mode).save(buffer, "JPEG", quality=90)
            yield buffer.getvalue(), f"a photograph, {name}, cut {cw}x{ch} at {x},{y}, {piece.width}x{piece.height} {mode}", label


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--per-size", type=int, default=3)
    parser.add_argument("--widths", default="1920,1024,640,320")
    parser.add_argument("--per-tar", type=int, default=64)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    widths = [int(w) for w in args.widths.split(",")]
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    counter = iter(range(1 << 30))
    photos = members()
    samples = [s for label, p in enumerate(photos) for s in crops(p, label, widths, args.per_size, rng, counter)]
    rng.shuffle(samples)
    total = 0
    for shard in range(0, len(samples), args.per_tar):
        with tarfile.open(os.path.join(args.out, f"{shard // args.per_tar:05d}.tar"), "w") as tar:
            for i, (jpeg, caption, label) in enumerate(samples[shard:shard + args.per_tar], start=shard):
                for suffix, data in ((".jpg", jpeg), (".txt", caption.encode()), (".cls", str(label).encode())):
                    info = tarfile.TarInfo(f"{i:06d}{suffix}")
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
                total += len(jpeg)
    with open(os.path.join(args.out, "classes.txt"), "w") as f:
        f.writelines(name_of(p) + "\n" for p in photos)
    print(f"{len(samples)} photos ({total / 1e6:.1f} MB of JPEG) from {len(photos)} mate-backgrounds JPEGs in {args.out}, "
          f"{len(photos)} classes in {os.path.join(args.out, 'classes.txt')}")


if __name__ == "__main__":
    main()
