#!/usr/bin/python3
"""Converts an OpenCLIP (or OpenAI CLIP) PyTorch checkpoint to a safetensors state dict for MmCluster.

    /usr/bin/python3 bench/openclip_convert.py IN.pt OUT.safetensors [--float32]

Handles what OpenCLIP's load_checkpoint handles: a bare state dict, a training checkpoint {"state_dict": ...}, the
"module." prefix of DistributedDataParallel, and OpenAI's TorchScript archives (their "input_resolution",
"context_length" and "vocab_size" entries are dropped). Names are kept as they are: they are already the product's
(`mmcluster model info --preset ViT-B-32`). --float32 widens half-precision tensors (the product also loads F16 and
BF16 files, widening them itself). Then check the file: `/usr/bin/python3 bench/openclip_reference.py load --weights
OUT.safetensors` (strict names and shapes) and `mmcluster embed --checkpoint OUT.safetensors --images ... --texts ...`.
Note: OpenAI's weights (pretrained='openai') were trained with QuickGELU; this product's ViT-B presets use nn.GELU like
OpenCLIP's ViT-B-32 config, so their embeddings match OpenCLIP's GELU models (e.g. laion2b_s34b_b79k), not OpenAI's.
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402

OPENAI_EXTRAS = ("input_resolution", "context_length", "vocab_size")


def load_state_dict(path):
    try:
        checkpoint = torch.load(path, map_location="cpu")
    except RuntimeError:  # a TorchScript archive (OpenAI's releases)
        checkpoint = torch.jit.load(path, map_location="cpu").state_dict()
    if isinstance(checkpoint, dict) and "state_dict" in checkpoint:
        checkpoint = checkpoint["state_dict"]
    if not isinstance(checkpoint, dict):
        raise SystemExit(f"{path}: holds a {type(checkpoint).__name__}, not a state dict")
    state = {}
    for name, value in checkpoint.items():
        if not torch.is_tensor(value) or name in OPENAI_EXTRAS:
            continue
        state[name[len("module."):] if name.startswith("module.") else name] = value
    return state


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source")
    parser.add_argument("target")
    parser.add_argument("--float32", action="store_true", help="widen F16/BF16 tensors to float32")
    args = parser.parse_args(argv)
    state = load_state_dict(args.source)
    if args.float32:
        state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    safetensors_io.write(args.target, state, {"source": os.path.basename(args.source)})
    count = sum(v.numel() for v in state.values())
    print(f"{args.target}: {len(state)} tensors, {count:,} values from {args.source}")


if __name__ == "__main__":
    main(sys.argv[1:])
