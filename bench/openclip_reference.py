#!/usr/bin/python3
"""An independent reference for `mmcluster embed`: OpenCLIP's CLIP model in plain PyTorch.

A re-implementation of the classes OpenCLIP builds for its ViT-B models (mlfoundations/open_clip, src/open_clip/
model.py CLIP, transformer.py VisionTransformer, Transformer, ResidualAttentionBlock; model_configs/ViT-B-32.json)
with OpenCLIP's module names, so an OpenCLIP state dict loads with load_state_dict(strict=True) and this model's state
dict loads in OpenCLIP. Not the open_clip package (not installable here): written from its source for this check.

- image: conv1 (patchify, no bias), class token, positional embedding, ln_pre, pre-norm transformer, ln_post,
  class-token pooling, @ proj;
- text: token embedding, positional embedding, causal transformer (float mask, -inf above the diagonal), ln_final,
  the hidden state at the argmax token (the end token, CLIP's largest id), @ text_projection;
- blocks: x + attn(ln_1(x)), x + mlp(ln_2(x)); nn.MultiheadAttention (in_proj_weight, in_proj_bias, out_proj);
  mlp c_fc, nn.GELU (QuickGELU only for the -quickgelu variants), c_proj; LayerNorm eps 1e-5;
- images: OpenCLIP's eval transform (Resize shorter side bicubic, CenterCrop, RGB, ToTensor, Normalize with CLIP's
  mean and std), with torchvision when installed; texts: CLIP's BPE via bench/clip_tokenizer_reference.py (context 77).

No pretrained checkpoint can be downloaded here: `init` writes seeded random weights at OpenCLIP's initialization
scale (LayerNorm and bias terms perturbed so every tensor matters), which is what the equality check embeds.

    /usr/bin/python3 bench/openclip_reference.py init --preset ViT-B-32 --seed 1 --out weights.safetensors
    /usr/bin/python3 bench/openclip_reference.py embed --weights FILE [--preset NAME] [--images PNG...] [--texts T...]
        [--out FILE.safetensors] [--json]
    /usr/bin/python3 bench/openclip_reference.py fixture --out DIR      # the CI fixture (tests/.../Fixtures/openclip)
"""
import argparse
import json
import math
import os
import sys
from collections import OrderedDict

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

# model_configs/*.json as OpenCLIP has them (heads: vision width / 64, text as given; -quickgelu: OpenAI's activation);
# openclip-micro is this product's test-sized config of the same architecture (ClipConfig.OpenClipMicro).
PRESETS = {
    "ViT-B-32": dict(embed_dim=512, image_size=224, patch_size=32, vision_width=768, vision_layers=12, vision_heads=12,
                     context_length=77, vocab_size=49408, text_width=512, text_heads=8, text_layers=12),
    "ViT-B-16": dict(embed_dim=512, image_size=224, patch_size=16, vision_width=768, vision_layers=12, vision_heads=12,
                     context_length=77, vocab_size=49408, text_width=512, text_heads=8, text_layers=12),
    "ViT-B-32-quickgelu": dict(embed_dim=512, image_size=224, patch_size=32, vision_width=768, vision_layers=12,
                               vision_heads=12, context_length=77, vocab_size=49408, text_width=512, text_heads=8,
                               text_layers=12, quick_gelu=True),
    "ViT-B-16-quickgelu": dict(embed_dim=512, image_size=224, patch_size=16, vision_width=768, vision_layers=12,
                               vision_heads=12, context_length=77, vocab_size=49408, text_width=512, text_heads=8,
                               text_layers=12, quick_gelu=True),
    "openclip-micro": dict(embed_dim=24, image_size=32, patch_size=8, vision_width=32, vision_layers=2, vision_heads=2,
                           context_length=16, vocab_size=256, text_width=32, text_heads=2, text_layers=2),
}


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    def __init__(self, width, heads, mlp_ratio=4.0, act_layer=nn.GELU):
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.ln_2 = nn.LayerNorm(width)
        hidden = int(width * mlp_ratio)
        self.mlp = nn.Sequential(OrderedDict([
            ("c_fc", nn.Linear(width, hidden)),
            ("gelu", act_layer()),
            ("c_proj", nn.Linear(hidden, width)),
        ]))

    def attention(self, x, attn_mask=None):
        mask = attn_mask.to(x.dtype) if attn_mask is not None else None
        return self.attn(x, x, x, need_weights=False, attn_mask=mask)[0]

    def forward(self, x, attn_mask=None):
        x = x + self.attention(self.ln_1(x), attn_mask=attn_mask)
        x = x + self.mlp(self.ln_2(x))
        return x


class Transformer(nn.Module):
    def __init__(self, width, layers, heads, mlp_ratio=4.0, act_layer=nn.GELU):
        super().__init__()
        self.width = width
        self.layers = layers
        self.resblocks = nn.ModuleList([ResidualAttentionBlock(width, heads, mlp_ratio, act_layer) for _ in range(layers)])

    def forward(self, x, attn_mask=None):  # (B, T, W), batch first
        for block in self.resblocks:
            x = block(x, attn_mask=attn_mask)
        return x


class VisionTransformer(nn.Module):
    def __init__(self, image_size, patch_size, width, layers, heads, output_dim, act_layer=nn.GELU):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, kernel_size=patch_size, stride=patch_size, bias=False)
        scale = width ** -0.5
        grid = image_size // patch_size
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn(grid * grid + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = Transformer(width, layers, heads, act_layer=act_layer)
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, output_dim))

    def forward(self, x):
        x = self.conv1(x)                                        # (B, W, g, g)
        x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)  # (B, g*g, W)
        cls = self.class_embedding.view(1, 1, -1).expand(x.shape[0], -1, -1).to(x.dtype)
        x = torch.cat([cls, x], dim=1)                           # (B, g*g+1, W)
        x = x + self.positional_embedding.to(x.dtype)
        x = self.ln_pre(x)
        x = self.transformer(x)
        x = self.ln_post(x)                                      # pool_type 'tok', final_ln_after_pool False
        pooled = x[:, 0]
        return pooled @ self.proj


class CLIP(nn.Module):
    def __init__(self, embed_dim, image_size, patch_size, vision_width, vision_layers, vision_heads,
                 context_length, vocab_size, text_width, text_heads, text_layers, quick_gelu=False):
        super().__init__()
        act = QuickGELU if quick_gelu else nn.GELU
        self.visual = VisionTransformer(image_size, patch_size, vision_width, vision_layers, vision_heads, embed_dim, act)
        self.transformer = Transformer(text_width, text_layers, text_heads, act_layer=act)
        self.context_length = context_length
        self.vocab_size = vocab_size
        self.token_embedding = nn.Embedding(vocab_size, text_width)
        self.positional_embedding = nn.Parameter(torch.empty(context_length, text_width))
        self.ln_final = nn.LayerNorm(text_width)
        self.text_projection = nn.Parameter(torch.empty(text_width, embed_dim))
        self.logit_scale = nn.Parameter(torch.ones([]) * np.log(1 / 0.07))
        self.register_buffer("attn_mask", self.build_causal_mask(), persistent=False)
        self.init_parameters()

    def build_causal_mask(self):
        mask = torch.empty(self.context_length, self.context_length)
        mask.fill_(float("-inf"))
        mask.triu_(1)  # zero on and below the diagonal
        return mask

    def init_parameters(self):  # CLIP.init_parameters (the text tower)
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        nn.init.normal_(self.positional_embedding, std=0.01)
        width, layers = self.transformer.width, self.transformer.layers
        proj_std = (width ** -0.5) * ((2 * layers) ** -0.5)
        attn_std = width ** -0.5
        fc_std = (2 * width) ** -0.5
        for block in self.transformer.resblocks:
            nn.init.normal_(block.attn.in_proj_weight, std=attn_std)
            nn.init.normal_(block.attn.out_proj.weight, std=proj_std)
            nn.init.normal_(block.mlp.c_fc.weight, std=fc_std)
            nn.init.normal_(block.mlp.c_proj.weight, std=proj_std)
        nn.init.normal_(self.text_projection, std=width ** -0.5)

    def encode_image(self, image, normalize=False):
        features = self.visual(image)
        return nn.functional.normalize(features, dim=-1) if normalize else features

    def encode_text(self, text, normalize=False):
        x = self.token_embedding(text)                           # (B, T, W)
        x = x + self.positional_embedding
        x = self.transformer(x, attn_mask=self.attn_mask)
        x = self.ln_final(x)
        x = x[torch.arange(x.shape[0]), text.argmax(dim=-1)]    # text_global_pool 'argmax': the end token
        x = x @ self.text_projection
        return nn.functional.normalize(x, dim=-1) if normalize else x


def build(preset):
    if preset not in PRESETS:
        raise SystemExit(f"unknown preset '{preset}'; known: {', '.join(PRESETS)}")
    return CLIP(**PRESETS[preset])


def perturb(model, generator):
    """LayerNorm weights 1 + N(0, 0.1), every bias N(0, 0.02): a random model in which no tensor is a no-op."""
    with torch.no_grad():
        for name, tensor in model.named_parameters():
            if name.endswith("bias"):
                tensor.copy_(torch.randn(tensor.shape, generator=generator) * 0.02)
            elif name.endswith(".weight") and name.split(".")[-2].startswith("ln_"):
                tensor.copy_(1 + torch.randn(tensor.shape, generator=generator) * 0.1)


def random_model(preset, seed):
    torch.manual_seed(seed)
    model = build(preset)
    perturb(model, torch.Generator().manual_seed(seed + 1))
    return model.eval()


def signature(shapes):
    """What the names and shapes fix: patch conv, positions, vocabulary, projections and the layer counts."""
    def layers(prefix):
        return len({k.split(".")[prefix.count(".")] for k in shapes if k.startswith(prefix)})
    keys = ("visual.conv1.weight", "visual.positional_embedding", "visual.proj", "token_embedding.weight",
            "positional_embedding", "text_projection")
    missing = [k for k in keys if k not in shapes]
    if missing:
        raise SystemExit(f"not an OpenCLIP CLIP state dict: no {', '.join(missing)}")
    return tuple(tuple(shapes[k]) for k in keys) + (layers("visual.transformer.resblocks."), layers("transformer.resblocks."))


def preset_signature(config):
    c = config
    grid = c["image_size"] // c["patch_size"]
    shapes = {
        "visual.conv1.weight": (c["vision_width"], 3, c["patch_size"], c["patch_size"]),
        "visual.positional_embedding": (grid * grid + 1, c["vision_width"]),
        "visual.proj": (c["vision_width"], c["embed_dim"]),
        "token_embedding.weight": (c["vocab_size"], c["text_width"]),
        "positional_embedding": (c["context_length"], c["text_width"]),
        "text_projection": (c["text_width"], c["embed_dim"]),
    }
    shapes.update({f"visual.transformer.resblocks.{i}.x": () for i in range(c["vision_layers"])})
    shapes.update({f"transformer.resblocks.{i}.x": () for i in range(c["text_layers"])})
    return signature(shapes)


def infer_preset(state):
    found = signature({k: v.shape for k, v in state.items()})
    for name, config in PRESETS.items():
        if preset_signature(config) == found:
            return name
    raise SystemExit("the weights match no preset's shapes; pass --preset")


def load(path, preset=None):
    """The model of a safetensors state dict with OpenCLIP's names, loaded with strict=True."""
    state, _ = safetensors_io.read(path)
    preset = preset or infer_preset(state)
    model = build(preset)
    model.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    return model.eval(), preset


def eval_transform(image_size):
    """OpenCLIP's image_transform(is_train=False): Resize(size, bicubic) on the shorter side, CenterCrop, ToTensor, Normalize."""
    from PIL import Image
    try:
        from torchvision import transforms as T
        pipeline = T.Compose([
            T.Resize(image_size, interpolation=T.InterpolationMode.BICUBIC),
            T.CenterCrop(image_size),
            lambda im: im.convert("RGB"),
            T.ToTensor(),
            T.Normalize(mean=CLIP_MEAN, std=CLIP_STD),
        ])
        return lambda path: pipeline(Image.open(path))
    except ImportError:
        pass

    def fallback(path):  # the same steps with PIL and torch only
        im = Image.open(path)
        w, h = im.size
        if min(w, h) != image_size:
            scale = image_size / min(w, h)
            im = im.resize((max(image_size, round(w * scale)), max(image_size, round(h * scale))), Image.BICUBIC)
            w, h = im.size
        left, top = int(round((w - image_size) / 2.0)), int(round((h - image_size) / 2.0))
        im = im.crop((left, top, left + image_size, top + image_size)).convert("RGB")
        x = torch.from_numpy(np.array(im)).permute(2, 0, 1).contiguous().float().div(255)
        mean = torch.tensor(CLIP_MEAN).view(3, 1, 1)
        std = torch.tensor(CLIP_STD).view(3, 1, 1)
        return (x - mean) / std
    return fallback


def tokenize(texts, context_length):
    import clip_tokenizer_reference
    tokenizer = clip_tokenizer_reference.Tokenizer()
    rows = torch.zeros(len(texts), context_length, dtype=torch.long)
    for i, text in enumerate(texts):
        ids = tokenizer.tokenize(text)
        if len(ids) > context_length:
            ids = ids[:context_length]
            ids[-1] = tokenizer.eot
        rows[i, :len(ids)] = torch.tensor(ids)
    return rows


def embed(args):
    torch.set_num_threads(max(1, args.threads))
    model, preset = load(args.weights, args.preset)
    config = PRESETS[preset]
    out = {}
    with torch.no_grad():
        if args.images:
            transform = eval_transform(config["image_size"])
            pixels = torch.stack([transform(p) for p in args.images])
            out["image_embeddings"] = model.encode_image(pixels, normalize=True)
        if args.texts:
            if config["vocab_size"] != 49408:
                raise SystemExit(f"preset {preset} has no CLIP BPE vocabulary for --texts")
            tokens = tokenize(args.texts, config["context_length"])
            out["text_embeddings"] = model.encode_text(tokens, normalize=True)
            out["text_ids"] = tokens
    if args.out:
        safetensors_io.write(args.out, out, {"preset": preset, "images": json.dumps(args.images or []),
                                             "texts": json.dumps(args.texts or [])})
    if args.json or not args.out:
        print(json.dumps({"preset": preset, **{k: v.tolist() for k, v in out.items()}}))


def init(args):
    model = random_model(args.preset, args.seed)
    safetensors_io.write(args.out, model.state_dict(), {"preset": args.preset, "seed": str(args.seed)})
    print(f"{args.out}: {args.preset}, {sum(p.numel() for p in model.parameters()):,} parameters, seed {args.seed}")


def fixture(args):
    """The CI fixture: random openclip-micro weights, a 32x32 PNG, token rows and the embeddings computed here."""
    from PIL import Image
    os.makedirs(args.out, exist_ok=True)
    model = random_model("openclip-micro", args.seed)
    config = PRESETS["openclip-micro"]
    g = torch.Generator().manual_seed(args.seed + 2)
    size = config["image_size"]
    # a smooth colour picture with noise, so neighbouring pixels differ
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    base = torch.stack([xx * 7, yy * 7, (xx + yy) * 3]).float() + torch.randint(0, 40, (3, size, size), generator=g)
    png = base.clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
    png_path = os.path.join(args.out, "image.png")
    Image.fromarray(png, "RGB").save(png_path)
    decoded = eval_transform(size)(png_path).unsqueeze(0)
    pixels = torch.randn(3, 3, size, size, generator=g)
    ctx, eot = config["context_length"], config["vocab_size"] - 1
    tokens = torch.zeros(3, ctx, dtype=torch.long)
    for row, length in enumerate((5, ctx, 9)):   # a short row, a full row (end token last), one more
        body = torch.randint(1, eot, (length - 1,), generator=g)
        tokens[row, :length - 1] = body
        tokens[row, length - 1] = eot
    with torch.no_grad():
        expected = {
            "input.pixels": pixels,
            "input.tokens": tokens,
            "expected.image": model.encode_image(pixels, normalize=True),
            "expected.text": model.encode_text(tokens, normalize=True),
            "expected.png_image": model.encode_image(decoded, normalize=True),
            "expected.logit_scale": model.logit_scale.detach().clone(),
        }
        quick = CLIP(**config, quick_gelu=True).eval()   # the same weights through QuickGELU (OpenAI's activation)
        quick.load_state_dict(model.state_dict(), strict=True)
        expected["expected.image_quickgelu"] = quick.encode_image(pixels, normalize=True)
        expected["expected.text_quickgelu"] = quick.encode_text(tokens, normalize=True)
    safetensors_io.write(os.path.join(args.out, "weights.safetensors"), model.state_dict(),
                         {"preset": "openclip-micro", "seed": str(args.seed)})
    safetensors_io.write(os.path.join(args.out, "expected.safetensors"), expected,
                         {"generator": "bench/openclip_reference.py fixture", "seed": str(args.seed)})
    print(f"{args.out}: weights.safetensors, expected.safetensors, image.png (seed {args.seed})")


def check_load(args):
    """Loads a file with strict=True (the round trip's Python side) and prints the tensor count and preset."""
    model, preset = load(args.weights, args.preset)
    print(json.dumps({"file": args.weights, "preset": preset, "tensors": len(model.state_dict()),
                      "parameters": sum(p.numel() for p in model.parameters())}))


def compare(args):
    """Largest absolute difference between the same-named tensors of two safetensors files."""
    a, _ = safetensors_io.read(args.a)
    b, _ = safetensors_io.read(args.b)
    names = sorted(set(a) & set(b))
    if not names or set(a) != set(b):
        raise SystemExit(f"tensor names differ: {args.a} has {sorted(a)}, {args.b} has {sorted(b)}")
    worst = 0.0
    for name in names:
        if a[name].shape != b[name].shape:
            raise SystemExit(f"tensor '{name}': shape {list(a[name].shape)} vs {list(b[name].shape)}")
        diff = (a[name].double() - b[name].double()).abs().max().item()
        print(f"{name}: {list(a[name].shape)} max abs difference {diff:.3e}")
        worst = max(worst, diff)
    print(f"max abs difference {worst:.3e}")
    if worst > args.tolerance:
        raise SystemExit(f"max abs difference {worst:.3e} exceeds {args.tolerance}")


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("init")
    p.add_argument("--preset", required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", required=True)
    p.set_defaults(run=init)
    p = sub.add_parser("embed")
    p.add_argument("--weights", required=True)
    p.add_argument("--preset")
    p.add_argument("--images", nargs="*")
    p.add_argument("--texts", nargs="*")
    p.add_argument("--out")
    p.add_argument("--json", action="store_true")
    p.add_argument("--threads", type=int, default=1)
    p.set_defaults(run=embed)
    p = sub.add_parser("fixture")
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=17)
    p.set_defaults(run=fixture)
    p = sub.add_parser("load")
    p.add_argument("--weights", required=True)
    p.add_argument("--preset")
    p.set_defaults(run=check_load)
    p = sub.add_parser("compare")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--tolerance", type=float, default=1e-4)
    p.set_defaults(run=compare)
    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main(sys.argv[1:])
