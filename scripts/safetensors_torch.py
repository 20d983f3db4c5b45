"""Minimal safetensors reader/writer on torch alone, for the reference scripts.

Debian 12 has no python3-safetensors, and a GPU machine's torch may come
without numpy; the format is small enough to read here: an 8-byte
little-endian header length, a JSON header, then raw little-endian data.
"""
import json
import struct

import torch

_DTYPES = {
    "F32": torch.float32, "F64": torch.float64, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "U8": torch.uint8, "BOOL": torch.bool,
}
_NAMES = {v: k for k, v in _DTYPES.items()}


def load(path):
    """Returns ({name: tensor}, metadata dict), in file order."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    meta = header.pop("__metadata__", {}) or {}
    out = {}
    for name, e in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        b, end = e["data_offsets"]
        raw = bytearray(body[b:end])
        dt = _DTYPES[e["dtype"]]
        if len(raw) == 0:
            t = torch.empty(e["shape"], dtype=dt)
        else:
            t = torch.frombuffer(raw, dtype=torch.uint8).view(dt).reshape(e["shape"]).clone()
        out[name] = t
    return out, meta


def save(path, tensors, metadata=None):
    """Writes {name: tensor} (in the dict's order)."""
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    off = 0
    for name, t in tensors.items():
        t = t.detach().cpu().contiguous()
        flat = t.reshape(-1)
        raw = bytes(flat.view(torch.uint8).tolist()) if flat.numel() else b""
        header[name] = {"dtype": _NAMES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for raw in blobs:
            f.write(raw)
