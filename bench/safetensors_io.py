#!/usr/bin/python3
"""A minimal safetensors reader and writer for PyTorch tensors, without the `safetensors` package.

The format (huggingface/safetensors, "Format"): an 8-byte little-endian header length N, N bytes of JSON
({"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}, padded with spaces to a
multiple of 8), then the tensors' raw little-endian bytes, offsets relative to the end of the header. The same layout
the product writes (src/Worker/Checkpoints/SafeTensorsFile.cs) and `safetensors.torch.save_file` writes.
"""
import json
import struct
import sys

import numpy as np
import torch

METADATA = "__metadata__"

# safetensors dtype -> (numpy dtype read from the bytes, torch dtype of the tensor)
_READ = {
    "F64": (np.float64, torch.float64), "F32": (np.float32, torch.float32), "F16": (np.float16, torch.float16),
    "BF16": (np.int16, torch.bfloat16), "I64": (np.int64, torch.int64), "I32": (np.int32, torch.int32),
    "I16": (np.int16, torch.int16), "I8": (np.int8, torch.int8), "U8": (np.uint8, torch.uint8),
    "BOOL": (np.bool_, torch.bool),
}
_WRITE = {torch_dtype: name for name, (_, torch_dtype) in _READ.items()}


def _check_little_endian():
    if sys.byteorder != "little":
        raise SystemExit("safetensors data is little-endian; this host is big-endian")


def read(path):
    """Returns ({name: tensor}, {metadata}) for a safetensors file; every range is checked against the file."""
    _check_little_endian()
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: {len(data)} bytes, too short for a safetensors header")
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise ValueError(f"{path}: header length {n} does not fit a file of {len(data)} bytes")
    header = json.loads(data[8:8 + n].decode("utf-8"))
    metadata = header.pop(METADATA, {}) or {}
    body = memoryview(data)[8 + n:]
    tensors = {}
    for name, entry in header.items():
        dtype = entry["dtype"]
        if dtype not in _READ:
            raise ValueError(f"{path}: tensor '{name}' has unsupported dtype {dtype}")
        np_dtype, torch_dtype = _READ[dtype]
        begin, end = entry["data_offsets"]
        shape = list(entry["shape"])
        count = int(np.prod(shape)) if shape else 1
        if end - begin != count * np.dtype(np_dtype).itemsize or end > len(body):
            raise ValueError(f"{path}: tensor '{name}' ({dtype} {shape}) does not match data_offsets {begin}..{end}")
        array = np.frombuffer(body[begin:end], dtype=np_dtype).copy().reshape(shape)
        tensor = torch.from_numpy(array)
        if torch_dtype == torch.bfloat16:
            tensor = tensor.view(torch.bfloat16)
        tensors[name] = tensor
    return tensors, metadata


def write(path, tensors, metadata=None):
    """Writes {name: tensor} (contiguous copies, CPU, little-endian), names sorted, data aligned to 8 bytes."""
    _check_little_endian()
    header, chunks, offset = {}, [], 0
    if metadata:
        header[METADATA] = {str(k): str(v) for k, v in metadata.items()}
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous()
        if tensor.dtype not in _WRITE:
            raise ValueError(f"tensor '{name}': dtype {tensor.dtype} has no safetensors name here")
        raw = (tensor.view(torch.int16) if tensor.dtype == torch.bfloat16 else tensor).numpy().tobytes()
        header[name] = {"dtype": _WRITE[tensor.dtype], "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    encoded += b" " * ((8 - len(encoded) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(encoded)))
        f.write(encoded)
        for chunk in chunks:
            f.write(chunk)
