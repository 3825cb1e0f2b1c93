"""Minimal safetensors reader and writer (there is no `safetensors` Python package on this machine).

The format, as the safetensors project specifies it:
  - 8 bytes: N, the header length, unsigned 64-bit little-endian;
  - N bytes: a UTF-8 JSON object mapping each tensor name to {"dtype", "shape", "data_offsets": [begin, end]},
    plus an optional "__metadata__" map of string to string;
  - the data buffer: every tensor's bytes, little-endian, C order, at [begin, end) relative to the buffer start.
We pad the header with spaces so the data buffer starts 8-byte aligned (the reference writer does the same,
and readers that map the file as typed arrays rely on it).
"""
import os
import json
import struct
from collections import OrderedDict

import torch

# safetensors dtype names for the torch dtypes we write; F32 and I64 are all the fixtures need.
_TORCH_TO_ST = {
    torch.float32: "F32",
    torch.float64: "F64",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}
_ST_TO_TORCH = {v: k for k, v in _TORCH_TO_ST.items()}
_ITEMSIZE = {"F32": 4, "F64": 8, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I8": 1, "U8": 1, "BOOL": 1}


def _as_bytes(t):
    """A contiguous little-endian view of the tensor's bytes (no copy when it is already contiguous)."""
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16: reinterpret the 2-byte words
        t = t.view(torch.int16)
    return memoryview(t.numpy()).cast("B")


def build_header(tensors, metadata=None):
    """The padded JSON header bytes for an ordered {name: tensor} map; offsets follow insertion order."""
    header = OrderedDict()
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    offset = 0
    for name, t in tensors.items():
        if t.dtype not in _TORCH_TO_ST:
            raise ValueError(f"{name}: dtype {t.dtype} has no safetensors name here")
        nbytes = t.numel() * t.element_size()
        header[name] = {
            "dtype": _TORCH_TO_ST[t.dtype],
            "shape": list(t.shape),
            "data_offsets": [offset, offset + nbytes],
        }
        offset += nbytes
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * ((8 - len(raw) % 8) % 8)
    return raw


def save_file(tensors, path, metadata=None):
    """Writes an ordered {name: tensor} map; the file is written to path + '.tmp' then renamed (whole or absent)."""
    header = build_header(tensors, metadata)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(header)))
        f.write(header)
        for t in tensors.values():
            f.write(_as_bytes(t))
    os.replace(tmp, path)


def read_header(path):
    """(header dict without __metadata__, metadata dict, byte offset of the data buffer)."""
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) != 8:
            raise ValueError(f"{path}: too short to be a safetensors file")
        (n,) = struct.unpack("<Q", head)
        size = os.fstat(f.fileno()).st_size
        if n > size - 8:  # checked before reading: a garbage length would otherwise allocate gigabytes
            raise ValueError(f"{path}: header length {n} exceeds the file's {size} bytes; not a safetensors file")
        header = json.loads(f.read(n).decode("utf-8"), object_pairs_hook=OrderedDict)
    if not isinstance(header, dict):
        raise ValueError(f"{path}: header is not a JSON object; not a safetensors file")
    metadata = header.pop("__metadata__", {}) or {}
    return header, metadata, 8 + n


def load_file(path):
    """Reads every tensor into an ordered {name: tensor} map (the tensors share one buffer read from disk)."""
    header, metadata, start = read_header(path)

    # readinto a preallocated buffer: f.read() then bytearray() would hold the file twice at the peak.
    buf = bytearray(os.path.getsize(path) - start)
    with open(path, "rb") as f:
        f.seek(start)
        f.readinto(buf)
    out = OrderedDict()
    for name, info in header.items():
        dtype = info["dtype"]
        if dtype not in _ITEMSIZE:
            raise ValueError(f"{path}: {name} has dtype {dtype}, which this reader does not handle")
        begin, end = info["data_offsets"]
        count = (end - begin) // _ITEMSIZE[dtype]
        shape = info["shape"]
        if dtype == "BF16":
            t = torch.frombuffer(buf, dtype=torch.int16, count=count, offset=begin).view(torch.bfloat16)
        elif count == 0:
            t = torch.empty(0, dtype=_ST_TO_TORCH[dtype])
        else:
            t = torch.frombuffer(buf, dtype=_ST_TO_TORCH[dtype], count=count, offset=begin)
        out[name] = t.reshape(shape)
    return out, metadata
