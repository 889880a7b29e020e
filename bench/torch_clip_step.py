#!/usr/bin/python3
"""PyTorch eager reference for `mmcluster bench step`: the same CLIP model, loss, optimizer and data shapes.

The model is the C# ClipModel (src/Worker/Model) layer for layer, in OpenCLIP's layout: a ViT image tower (patch conv
without bias, class token, positional embedding, ln_pre, pre-LN residual blocks, ln_post on the class token, proj) and a
causal text transformer (token + positional embedding, the same blocks, ln_final, feature at the EOT id = argmax,
text_projection), both L2-normalized; symmetric InfoNCE with exp(logit_scale) clamped at 100; gradient clipping at 1.0;
AdamW (lr 1e-3, betas 0.9/0.98, eps 1e-6, weight decay 0.05 on matrices only, as StageOptimizer groups them). Attention
is written out (q k^T, softmax, v): PyTorch 1.13 has no scaled_dot_product_attention.

Data as StepBenchmark.RandomBatch: Gaussian pixels, random ids below the EOT, each row ended by one EOT at a random
length. One thread (torch.set_num_threads(1)), WARMUP unmeasured steps, then the median of STEPS measured steps, and the
process CPU time per step beside it.

    bench/torch_clip_step.py [--model clip-tiny] [--batch 256] [--threads 1] [--warmup 3] [--steps 10] [--json]
    bench/step-vs-torch.sh [PAIRS]      # this and `mmcluster bench step`, alternating, with the ratio

Debian's python3-torch (1.13, CPU): run with /usr/bin/python3 (a pyenv python3 first on PATH does not see it), and with
OpenBLAS installed (`apt-get install libopenblas0-pthread`): without it Debian's libblas.so.3 is the netlib reference BLAS,
about 10x slower, and the comparison means nothing (the script says which BLAS torch reports).
"""

import argparse
import json
import math
import os
import statistics
import sys
import time

# OpenBLAS starts its own threads unless told: as many as --threads, like torch.set_num_threads (before torch loads).
_threads = sys.argv[sys.argv.index("--threads") + 1] if "--threads" in sys.argv[:-1] else "1"
os.environ.setdefault("OPENBLAS_NUM_THREADS", _threads)
os.environ.setdefault("OMP_NUM_THREADS", _threads)

import torch
import torch.nn as nn
import torch.nn.functional as F

PRESETS = {
    # ClipConfig: image 28x28x1, patch 4, width 128, heads 4, vocab 50,257, context 32, mlp ratio 4, embed 128.
    "clip-tiny": dict(vision_layers=4, text_layers=4),
    "clip-mini": dict(vision_layers=2, text_layers=2),
}


class Attention(nn.Module):
    def __init__(self, width, heads, causal):
        super().__init__()
        self.heads, self.causal = heads, causal
        self.in_proj_weight = nn.Parameter(torch.empty(3 * width, width))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * width))
        self.out_proj = nn.Linear(width, width)

    def forward(self, x):
        b, t, w = x.shape
        qkv = F.linear(x, self.in_proj_weight, self.in_proj_bias).view(b, t, 3, self.heads, w // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(q.shape[-1]))
        if self.causal:
            att = att.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf"))
        y = att.softmax(-1) @ v
        return self.out_proj(y.transpose(1, 2).reshape(b, t, w))


class Block(nn.Module):
    def __init__(self, width, heads, causal):
        super().__init__()
        self.ln_1, self.attn, self.ln_2 = nn.LayerNorm(width), Attention(width, heads, causal), nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


def transformer(width, layers, heads, causal):
    blocks = nn.Sequential(*[Block(width, heads, causal) for _ in range(layers)])
    attn_std, proj_std, fc_std = width ** -0.5, width ** -0.5 * (2 * layers) ** -0.5, (2 * width) ** -0.5
    for block in blocks:
        nn.init.normal_(block.attn.in_proj_weight, std=attn_std)
        nn.init.normal_(block.attn.out_proj.weight, std=proj_std)
        nn.init.zeros_(block.attn.out_proj.bias)
        nn.init.normal_(block.mlp[0].weight, std=fc_std)
        nn.init.zeros_(block.mlp[0].bias)
        nn.init.normal_(block.mlp[2].weight, std=proj_std)
        nn.init.zeros_(block.mlp[2].bias)
    return blocks


class Clip(nn.Module):
    def __init__(self, vision_layers, text_layers, width=128, heads=4, image=28, patch=4, vocab=50257, context=32, embed=128):
        super().__init__()
        scale = width ** -0.5
        self.conv1 = nn.Conv2d(1, width, patch, patch, bias=False)
        self.class_embedding = nn.Parameter(torch.randn(width) * scale)
        self.visual_positional_embedding = nn.Parameter(torch.randn((image // patch) ** 2 + 1, width) * scale)
        self.ln_pre, self.ln_post = nn.LayerNorm(width), nn.LayerNorm(width)
        self.visual_transformer = transformer(width, vision_layers, heads, causal=False)
        self.proj = nn.Parameter(torch.randn(width, embed) * scale)
        self.token_embedding = nn.Embedding(vocab, width)
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        self.positional_embedding = nn.Parameter(torch.randn(context, width) * 0.01)
        self.text_transformer = transformer(width, text_layers, heads, causal=True)
        self.ln_final = nn.LayerNorm(width)
        self.text_projection = nn.Parameter(torch.randn(width, embed) * width ** -0.5)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def forward(self, images, tokens):
        b = images.shape[0]
        x = self.conv1(images).flatten(2).transpose(1, 2)
        x = torch.cat([self.class_embedding.expand(b, 1, -1), x], dim=1) + self.visual_positional_embedding
        x = self.visual_transformer(self.ln_pre(x))
        image = F.normalize(self.ln_post(x[:, 0]) @ self.proj, dim=-1)
        h = self.ln_final(self.text_transformer(self.token_embedding(tokens) + self.positional_embedding))
        text = F.normalize(h[torch.arange(b), tokens.argmax(-1)] @ self.text_projection, dim=-1)
        return image, text


def excluded_from_decay(name, p):
    return p.dim() < 2 or "ln_" in name or name.endswith("bias") or "logit_scale" in name or "embedding" in name


def random_batch(batch, generator, context=32, vocab=50257):
    images = torch.randn(batch, 1, 28, 28, generator=generator)
    tokens = torch.zeros(batch, context, dtype=torch.long)
    lengths = torch.randint(1, context, (batch,), generator=generator)
    for row, length in enumerate(lengths.tolist()):
        tokens[row, :length] = torch.randint(1, vocab - 1, (length,), generator=generator)
        tokens[row, length] = vocab - 1
    return images, tokens


def blas():
    """The BLAS behind libblas.so.3 (Debian's alternatives), as the dynamic linker resolved it."""
    try:
        with open("/proc/self/maps") as maps:
            libs = {line.split()[-1] for line in maps if "blas" in line.lower() and "/" in line}
        return ", ".join(sorted(os.path.realpath(lib) for lib in libs)) or "unknown"
    except OSError:
        return "unknown"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="clip-tiny", choices=sorted(PRESETS))
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = Clip(**PRESETS[args.model])
    named = list(model.named_parameters())
    optimizer = torch.optim.AdamW(
        [{"params": [p for n, p in named if not excluded_from_decay(n, p)], "weight_decay": 0.05},
         {"params": [p for n, p in named if excluded_from_decay(n, p)], "weight_decay": 0.0}],
        lr=1e-3, betas=(0.9, 0.98), eps=1e-6)
    images, tokens = random_batch(args.batch, torch.Generator().manual_seed(0))
    labels = torch.arange(args.batch)

    def step():
        optimizer.zero_grad(set_to_none=False)
        image, text = model(images, tokens)
        logits = model.logit_scale.exp().clamp(max=100) * image @ text.t()
        loss = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)) / 2
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        return loss.item()

    for _ in range(args.warmup):
        step()
    wall, cpu, loss = [], [], 0.0
    for _ in range(args.steps):
        c0, t0 = time.process_time(), time.perf_counter()
        loss = step()
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    parameters = sum(p.numel() for p in model.parameters())
    median = statistics.median(wall)
    if args.json:
        print(json.dumps({
            "model": args.model, "batch": args.batch, "threads": args.threads, "torch": torch.__version__, "blas": blas(),
            "parameters": parameters, "ms_per_step_median": round(median, 2),
            "samples_per_s": round(args.batch * 1000 / median, 1),
            "cpu_ms_per_step_median": round(statistics.median(cpu), 2),
            "ms_per_step": [round(t, 2) for t in wall], "last_loss": loss,
        }))
    else:
        print(f"{args.model} (torch {torch.__version__}, {blas()}): batch {args.batch}, {args.threads} thread(s), {parameters:,} parameters: "
              f"median {median:.1f} ms/step over {args.steps} steps (CPU {statistics.median(cpu):.1f} ms/step), last loss {loss:.3f}")


if __name__ == "__main__":
    main()
