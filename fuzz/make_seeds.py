#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (standard library only).

header: small, valid safetensors files (and a few near misses).
plan:   options byte + config.json + NUL + header JSON(s), from the test fixtures' real configs
        and headers.
"""
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "tests", "fixtures", "models")


def st_file(tensors, metadata=None):
    """tensors: [(name, dtype, shape, nbytes_per_elem)] laid out contiguously."""
    header, off, data = {}, 0, b""
    for name, dtype, shape, size in tensors:
        n = size
        for d in shape:
            n *= d
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + n]}
        data += bytes((i * 37) & 0xFF for i in range(n))
        off += n
    if metadata is not None:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(h)) + h + data


def write(d, name, b):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(b)


def header_seeds():
    d = os.path.join(HERE, "corpus", "header")
    write(d, "empty", st_file([]))
    write(d, "one_bf16", st_file([("w", "BF16", [2, 3], 2)], {"format": "pt"}))
    write(d, "mixed", st_file([
        ("a.weight", "F32", [4], 4),
        ("b.weight", "F16", [2, 2], 2),
        ("c", "I64", [], 8),
        ("d", "U8", [0, 5], 1),
        ("e", "F8_E4M3", [3], 1),
        ("f", "BOOL", [1], 1),
    ]))
    write(d, "metadata_only", st_file([], {"format": "mlx"}))
    # Near misses: overlap, gap, wrong size.
    h = b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}'
    write(d, "overlap", struct.pack("<Q", len(h)) + h + b"\0" * 8)
    h = b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}'
    write(d, "gap", struct.pack("<Q", len(h)) + h + b"\0" * 8)


def fixture_header(arch):
    p = os.path.join(FIX, arch, "hf", "model.safetensors")
    with open(p, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return f.read(n)


def plan_seeds():
    d = os.path.join(HERE, "corpus", "plan")
    for arch in sorted(os.listdir(FIX)):
        cfgp = os.path.join(FIX, arch, "hf", "config.json")
        if not os.path.exists(cfgp) or not os.path.exists(os.path.join(FIX, arch, "hf", "model.safetensors")):
            continue
        cfg = json.dumps(json.load(open(cfgp)), separators=(",", ":")).encode()
        head = fixture_header(arch)
        # bit 4: data length from the header; with and without -q, and small shards.
        write(d, f"{arch}_plain", bytes([16]) + cfg + b"\0" + head)
        write(d, f"{arch}_q4_small_shards", bytes([16 | 8 | 1]) + cfg + b"\0" + head)
    # A two-shard llama (header split in halves).
    cfg = json.dumps(json.load(open(os.path.join(FIX, "llama", "hf", "config.json"))), separators=(",", ":")).encode()
    hd = json.loads(fixture_header("llama"))
    hd.pop("__metadata__", None)
    items = sorted(hd.items(), key=lambda kv: kv[1]["data_offsets"][0])
    half = len(items) // 2
    parts = []
    for chunk in (items[:half], items[half:]):
        base = chunk[0][1]["data_offsets"][0]
        parts.append(json.dumps({k: dict(v, data_offsets=[v["data_offsets"][0] - base, v["data_offsets"][1] - base]) for k, v in chunk}, separators=(",", ":")).encode())
    write(d, "llama_two_shards", bytes([16 | 1]) + cfg + b"\0" + parts[0] + b"\0" + parts[1])


if __name__ == "__main__":
    header_seeds()
    plan_seeds()
    print("seeds written", file=sys.stderr)
