#!/usr/bin/env python3
"""Reference vectors for hf2mlx's GGUF dequantization kernels, produced by the `gguf` package.

Run with a Python that has `gguf`, `numpy` and `safetensors`:

    /root/.cache/hf2mlx/gguf-tools/bin/python tools/gen_gguf_vectors.py [OUT_FILE]

OUT_FILE defaults to tests/fixtures/gguf/dequant.safetensors. Output is deterministic (fixed
seed). For every GGML type `T` the file holds:

    ``T/raw``  U8   encoded blocks, shape [rows, row_bytes]
    ``T/deq``  F32  ``gguf.quants.dequantize(raw, T)``, shape [rows, row_elems]

The encoded blocks are ``gguf.quants.quantize`` of random normal data where the package can
quantize the type (F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0), followed by rows of random bytes
(every bit pattern of the packed fields, negative and tiny scales) for every type; the k-quants
have no Python quantizer, so they are random bytes only. Scale fields of random rows are set to
finite f16 values so that no NaN/Inf payload comparison is involved.
"""
import os
import sys

import gguf
import numpy as np
from gguf import GGMLQuantizationType as T
from safetensors.numpy import save_file

QUANTIZABLE = [T.F16, T.BF16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0]
ALL = QUANTIZABLE + [T.F32, T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K]

# Byte offsets of the f16 scale fields inside one block, per type.
F16_FIELDS = {
    T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0],
    T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208],
}


def random_rows(rng, qtype, rows, elems):
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    if qtype == T.F32:
        return rng.standard_normal((rows, elems)).astype(np.float32).view(np.uint8)
    if qtype in (T.F16, T.BF16):
        # Finite half/bfloat16 bit patterns of every magnitude (exponent field never all ones).
        bits = rng.integers(0, 1 << 16, size=(rows, elems), dtype=np.uint16)
        exp_mask = 0x7C00 if qtype == T.F16 else 0x7F80
        bits[(bits & exp_mask) == exp_mask] &= ~np.uint16(0x4000)
        return bits.view(np.uint8)
    raw = rng.integers(0, 256, size=(rows * elems // block, size), dtype=np.uint8)
    for off in F16_FIELDS[qtype]:
        scale = (rng.standard_normal(raw.shape[0]) * 0.05).astype(np.float16)
        raw[:, off:off + 2] = scale.view(np.uint8).reshape(-1, 2)
    return raw.reshape(rows, -1)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "tests", "fixtures", "gguf", "dequant.safetensors")
    rng = np.random.default_rng(20261122)
    tensors = {}
    for qtype in ALL:
        block, _ = gguf.GGML_QUANT_SIZES[qtype]
        elems = 512 if block == 256 else 96
        parts = []
        if qtype in QUANTIZABLE:
            x = rng.standard_normal((6, elems)).astype(np.float32)
            x[1] *= 1e-3
            x[2] = np.abs(x[2]) + 3.0  # all positive: min offset path of Q4_1/Q5_1
            x[3] = 0.0  # zero scale
            parts.append(gguf.quants.quantize(x, qtype).view(np.uint8).reshape(6, -1))
        parts.append(random_rows(rng, qtype, 6, elems))
        raw = np.ascontiguousarray(np.concatenate(parts, axis=0))
        deq = gguf.quants.dequantize(raw, qtype).astype(np.float32).reshape(raw.shape[0], elems)
        assert np.isfinite(deq).all(), qtype.name
        tensors[f"{qtype.name}/raw"] = raw
        tensors[f"{qtype.name}/deq"] = np.ascontiguousarray(deq)
    save_file(tensors, out)
    print(f"wrote {out}: {len(ALL)} types")


if __name__ == "__main__":
    main()
