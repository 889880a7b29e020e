#!/usr/bin/python3
"""An independent reference for MmCluster's CLIP tokenizer (src/Shared/Text/ClipTokenizer.cs).

A port of OpenCLIP's SimpleTokenizer and tokenize() (mlfoundations/open_clip, src/open_clip/tokenizer.py; originally
OpenAI's CLIP) with its default cleaning ('lower': html.unescape twice, strip, collapse whitespace, lower-case),
minus ftfy, which is not installed here (the C# tokenizer skips it too). Reads the same vocabulary file the product
embeds and prints, per text, one JSON line: the text and its ids up to and including the end token (the rest of the
77-long row is padding with 0).

    /usr/bin/python3 bench/clip_tokenizer_reference.py "a photo of a cat." "ΟΔΟΣ &amp; Ünïcödé"
    /usr/bin/python3 bench/clip_tokenizer_reference.py --bench N < captions.txt   # texts/s over N passes

Needs the `regex` module (Debian: python3-regex) for \\p{L} and \\p{N}.
"""
import gzip
import html
import json
import os
import sys
import time

import regex as re

VOCAB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "Shared", "Text", "Data",
                     "bpe_simple_vocab_16e6.txt.gz")
CONTEXT_LENGTH = 77


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def clean(text):
    text = html.unescape(html.unescape(text)).strip()
    return " ".join(text.split()).lower()


class Tokenizer:
    def __init__(self, path=VOCAB):
        self.byte_encoder = bytes_to_unicode()
        merges = gzip.open(path).read().decode("utf-8").split("\n")
        merges = [tuple(m.split()) for m in merges[1:49152 - 256 - 2 + 1]]
        vocab = list(self.byte_encoder.values())
        vocab = vocab + [v + "</w>" for v in vocab] + ["".join(m) for m in merges]
        special = ["<start_of_text>", "<end_of_text>"]
        vocab.extend(special)
        self.encoder = dict(zip(vocab, range(len(vocab))))
        self.ranks = dict(zip(merges, range(len(merges))))
        self.cache = {t: t for t in special}
        self.pat = re.compile("|".join(special) + r"""|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
                              re.IGNORECASE)
        self.sot = self.encoder["<start_of_text>"]
        self.eot = self.encoder["<end_of_text>"]

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = tuple(token[:-1]) + (token[-1] + "</w>",)
        while len(word) > 1:
            pairs = {(word[i], word[i + 1]) for i in range(len(word) - 1)}
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            merged, i = [], 0
            while i < len(word):
                if i < len(word) - 1 and word[i] == best[0] and word[i + 1] == best[1]:
                    merged.append(best[0] + best[1])
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = tuple(merged)
        result = " ".join(word)
        self.cache[token] = result
        return result

    def encode(self, text):
        ids = []
        for token in re.findall(self.pat, clean(text)):
            token = "".join(self.byte_encoder[b] for b in token.encode("utf-8"))
            ids.extend(self.encoder[t] for t in self.bpe(token).split(" "))
        return ids

    def tokenize(self, text):
        """The row's ids up to and including the end token (OpenCLIP pads the rest of the 77 with 0)."""
        ids = [self.sot] + self.encode(text) + [self.eot]
        if len(ids) > CONTEXT_LENGTH:
            ids = ids[:CONTEXT_LENGTH]
            ids[-1] = self.eot
        return ids


def main(argv):
    tokenizer = Tokenizer()
    if argv[:1] == ["--bench"]:
        passes = int(argv[1])
        texts = [line.rstrip("\n") for line in sys.stdin]
        start = time.perf_counter()
        tokens = 0
        for _ in range(passes):
            tokenizer.cache = {t: t for t in ("<start_of_text>", "<end_of_text>")}
            for text in texts:
                tokens += len(tokenizer.tokenize(text))
        seconds = time.perf_counter() - start
        print(json.dumps({"texts_per_s": passes * len(texts) / seconds, "tokens_per_s": tokens / seconds}))
        return
    for text in argv:
        print(json.dumps({"text": text, "ids": tokenizer.tokenize(text)}, ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1:])
