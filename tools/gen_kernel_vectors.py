"""Reference vectors for hf2mlx's quantization / cast kernels, produced by mlx itself (CPU).

Run with the pinned oracle (mlx 0.32.4 CPU, numpy):

    /root/.cache/hf2mlx/mlx-oracle/bin/python tools/gen_kernel_vectors.py [OUT_DIR] [--scale N] [--seed S]

OUT_DIR defaults to tests/fixtures/kernels/ next to this script's crate. Output is deterministic
(fixed seeds), so re-running must reproduce the files byte for byte with the same mlx.
``--scale N`` multiplies the number of rows of every random input and ``--seed S`` changes the
seeds: use both with another OUT_DIR for a large one-off check, then run the Rust tests against it
with ``HF2MLX_KERNEL_VECTORS=OUT_DIR cargo test --test kernels``.

Format
------
Each output is a plain safetensors file (8-byte little-endian header length, JSON header, raw
little-endian data; dtypes U8/U16/U32/F16/BF16/F32). Tensor values are stored with their exact mlx
bits. The header's ``__metadata__`` has one key, ``"cases"``, whose value is a JSON list (as a
string) describing the test cases; every case names the tensors it uses.

``affine.safetensors``
    ``x/<dtype>/<dist>``   input matrix (dtype = F32/F16/BF16 tensor, shape [rows, K])
    ``<id>/w``             U32   mx.quantize(x, gs, bits)[0]
    ``<id>/scales``        dtype mx.quantize(...)[1]
    ``<id>/biases``        dtype mx.quantize(...)[2]
    ``<id>/deq``           dtype mx.dequantize(w, scales, biases, gs, bits)   (only if case "deq")
    case: {"id", "x", "dtype": "float32|float16|bfloat16", "bits", "gs", "deq": bool}
    (dequantize is stored for gs 64 on a subset of inputs to keep the file small)

``fp.safetensors``
    ``x/<dtype>/<dist>``   input matrix
    ``<id>/w``             U32   mx.quantize(x, mode=...[, global_scale=g])[0]
    ``<id>/scales``        U8
    ``<id>/deq``           mx.dequantize(w, scales, mode=...[, global_scale=g][, dtype=out])
    case: {"id", "x", "dtype", "mode", "global_scale": float|"inf"|null, "deq_dtypes": ["float32", ...]}
    ``table/<mode>/<g>/codes``, ``/scales``: hand-built packed words and scale codes that cover every
    element code x a list of scale codes; ``table/.../deq/<dtype>``: their dequantization.
    table case: {"id", "table": true, "mode", "global_scale", "deq_dtypes": [...]}

``cast.safetensors``
    ``f32_bits``  U32 f32 bit patterns; ``f32_to_bf16`` / ``f32_to_f16`` U16: ``astype`` results.
    ``f16_bits`` U16 -> ``f16_to_f32`` U32, ``f16_to_bf16`` U16;
    ``bf16_bits`` U16 -> ``bf16_to_f32`` U32, ``bf16_to_f16`` U16.
    ``to_fp8_bf16grid`` U8: ``mx.to_fp8`` of every bf16 bit pattern i (as f32 ``i << 16``), i = 0..65535.
    ``from_fp8`` F32: ``mx.from_fp8(code, float32)`` for code = 0..255.
    cases: [] (the tensors are fixed).
"""
import json
import os
import struct
import sys

import mlx.core as mx
import numpy as np

mx.set_default_device(mx.cpu)

DTYPES = {"float32": mx.float32, "float16": mx.float16, "bfloat16": mx.bfloat16}
ST_DTYPE = {mx.float32: "F32", mx.float16: "F16", mx.bfloat16: "BF16", mx.uint32: "U32",
            mx.uint16: "U16", mx.uint8: "U8"}
RAW_VIEW = {mx.float32: mx.uint32, mx.float16: mx.uint16, mx.bfloat16: mx.uint16,
            mx.uint32: mx.uint32, mx.uint16: mx.uint16, mx.uint8: mx.uint8}


class Writer:
    def __init__(self):
        self.tensors = {}
        self.cases = []

    def add(self, name, a):
        """Store an mlx array with its exact bits."""
        assert name not in self.tensors, name
        mx.eval(a)
        raw = np.array(a.view(RAW_VIEW[a.dtype]))
        self.tensors[name] = (ST_DTYPE[a.dtype], list(a.shape), raw.astype(raw.dtype.newbyteorder("<")).tobytes())

    def add_np(self, name, arr):
        kind = {np.dtype(np.uint32): "U32", np.dtype(np.uint16): "U16", np.dtype(np.uint8): "U8"}[arr.dtype]
        self.tensors[name] = (kind, list(arr.shape), arr.astype(arr.dtype.newbyteorder("<")).tobytes())

    def write(self, path):
        header = {"__metadata__": {"cases": json.dumps(self.cases, separators=(",", ":"))}}
        off = 0
        blobs = []
        for name in sorted(self.tensors):
            dt, shape, data = self.tensors[name]
            header[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(data)]}
            off += len(data)
            blobs.append(data)
        h = json.dumps(header, separators=(",", ":")).encode()
        h += b" " * (-len(h) % 8)
        with open(path, "wb") as f:
            f.write(struct.pack("<Q", len(h)))
            f.write(h)
            for b in blobs:
                f.write(b)
        return 8 + len(h) + off


def to_dtype(x, dt):
    """float32 numpy -> mlx array of dtype dt (mlx RNE astype)."""
    return mx.array(np.ascontiguousarray(x, np.float32)).astype(DTYPES[dt])


def finfo(dt):
    # (max finite, smallest normal, smallest subnormal)
    return {"float32": (3.4028235e38, 1.1754944e-38, 1.4e-45),
            "float16": (65504.0, 6.1035156e-05, 5.9604645e-08),
            "bfloat16": (3.3895314e38, 1.1754944e-38, 9.18355e-41)}[dt]


# ---------------------------------------------------------------- input distributions
def dist_affine(name, dt, rng, rows, k, gs_min=32):
    fmax, fnorm, fsub = finfo(dt)
    if name == "normal":
        x = rng.standard_normal((rows, k)) * 0.05
    elif name == "loguniform":
        lo, hi = (-7.0, 4.5) if dt == "float16" else (-8.0, 8.0)
        x = rng.choice([-1.0, 1.0], (rows, k)) * 10.0 ** rng.uniform(lo, hi, (rows, k))
    elif name == "allpos":
        x = np.abs(rng.standard_normal((rows, k))) * 0.3 + 0.01
    elif name == "allneg":
        x = -(np.abs(rng.standard_normal((rows, k))) * 0.3 + 0.01)
    elif name == "ties":
        # integer / half-integer / quarter grid: with range 2^b-1 many (x-bias)/scale hit exact .5
        x = rng.integers(-30, 31, (rows, k)) * 0.5
        g = x.reshape(-1, gs_min)
        lo = rng.integers(-16, 0, g.shape[0]).astype(np.float64)
        span = rng.choice([1, 3, 7, 15, 31, 63, 255], g.shape[0]).astype(np.float64)
        g[:] = np.clip(g, lo[:, None], (lo + span)[:, None])
        g[:, 0] = lo
        g[:, 1] = lo + span
        x = g.reshape(rows, k)
    elif name == "bits":
        # arbitrary f32 bit patterns (every exponent, NaN payloads, infs), then rounded to dt
        x = rng.integers(0, 1 << 32, (rows, k), dtype=np.uint64).astype(np.uint32).view(np.float32)
    else:
        raise ValueError(name)
    return x.astype(np.float32)


def edge_affine(dt, rng):
    """One edge case per 128-wide row."""
    fmax, fnorm, fsub = finfo(dt)
    k = 128
    rows = []
    def row(v):
        rows.append(np.asarray(v, np.float32).reshape(k))
    n = lambda: (rng.standard_normal(k) * 0.1).astype(np.float32)
    row(np.zeros(k))
    row(np.full(k, -0.0))
    row(np.where(rng.random(k) < 0.5, 0.0, -0.0))
    for c in (0.5, -0.5, 3.0, -3.0, 1e-8, -1e-8, 1e-7, 5e-8, 2e-7, -1.5e-7):
        row(np.full(k, c))
    row(rng.uniform(-1, 1, k) * fnorm)           # subnormal-ish magnitudes
    row(rng.integers(-40, 41, k) * fsub)         # exact subnormal multiples (0 for f16? no: fsub is T's)
    row(rng.uniform(0, 1e-7, k))                 # range below eps
    row(rng.uniform(-3e-7, 3e-7, k))
    v = n(); v[5] = np.nan; row(v)
    v = n(); v[::7] = np.nan; v[3] = -np.nan; row(v)
    row(np.full(k, np.nan))
    v = np.full(k, np.nan, np.float32); v[40] = 0.25; row(v)  # single finite element in a NaN sea
    v = n(); v[9] = np.inf; row(v)
    v = n(); v[70] = -np.inf; row(v)
    v = n(); v[1] = np.inf; v[2] = -np.inf; row(v)
    v = np.full(k, np.inf, np.float32); row(v)
    v = n(); v[0] = np.nan; v[1] = np.inf; row(v)
    big = 65000.0 if dt == "float16" else 1e37
    row(rng.choice([-big, big], k))
    row(rng.uniform(-big, big, k))
    v = n() * 0 + big; v[::2] = -big; row(v)
    row(np.full(k, big))
    row(np.full(k, -big))
    if dt == "float16":
        row(rng.choice([-65504.0, 65504.0], k))
        v = n(); v[0] = 65504.0; v[1] = -65504.0; row(v)
    v = np.zeros(k, np.float32); v[17] = 0.75; row(v)
    v = np.zeros(k, np.float32); v[17] = -0.75; row(v)
    v = n(); v[::3] = 0.0; row(v)
    row(np.linspace(-1, 1, k))
    row(np.linspace(0, 1, k))
    row(rng.uniform(0.999, 1.001, k))
    row(rng.uniform(-1e3, 1e-3, k))
    return np.stack(rows).astype(np.float32)


def dist_fp(name, dt, rng, rows, k):
    fmax, fnorm, fsub = finfo(dt)
    if name == "normal":
        return (rng.standard_normal((rows, k)) * 0.05).astype(np.float32)
    if name == "loguniform":
        lo, hi = (-7.0, 4.5) if dt == "float16" else (-30.0, 30.0)
        return (rng.choice([-1.0, 1.0], (rows, k)) * 10.0 ** rng.uniform(lo, hi, (rows, k))).astype(np.float32)
    if name == "limits":
        # groups of 16 built from format-limit values: E2M1 grid points and midpoints (ties), E4M3
        # max 448 and its neighbours, scaled by powers of two
        grid = np.array([0, .25, .5, .75, 1, 1.25, 1.5, 1.75, 2, 2.5, 3, 3.5, 4, 5, 6,
                         448, 464, 480, 416, 0.0625, 0.03125, 2 ** -7, 2 ** -9, 2 ** -10, 5.5, 7], np.float64)
        x = rng.choice(grid, (rows, k)) * rng.choice([-1.0, 1.0], (rows, k))
        g = x.reshape(-1, 16)
        kexp = rng.integers(-12, 12, g.shape[0])
        if dt == "float16":
            kexp = rng.integers(-10, 5, g.shape[0])
        g *= 2.0 ** kexp[:, None]
        # pin the group max at an exact limit for half of the groups
        pin = rng.choice([6.0, 448.0, 12.0, 3.0, 1.0], g.shape[0])
        sel = rng.random(g.shape[0]) < 0.5
        g[sel, 0] = (pin * 2.0 ** kexp)[sel]
        return g.reshape(rows, k).astype(np.float32)
    if name == "stress":
        # group max = maxval * 2^k * (1 +- 2^-n): exercises the exact ceil(log2) E8M0 rule
        x = rng.uniform(-1, 1, (rows, k))
        g = x.reshape(-1, 16)
        lo_k = -14 if dt != "float16" else -10
        hi_k = 10 if dt != "float16" else 2
        kexp = rng.integers(lo_k, hi_k, g.shape[0])
        maxv = rng.choice([6.0, 448.0], g.shape[0])
        nrel = rng.integers(3, 25 if dt == "float32" else 9, g.shape[0])
        sgn = rng.choice([-1.0, 0.0, 1.0], g.shape[0])
        amax = maxv * 2.0 ** kexp * (1 + sgn * 2.0 ** -nrel.astype(np.float64))
        g *= amax[:, None]
        g[:, rng.integers(0, 16)] = amax * rng.choice([-1, 1])
        return g.reshape(rows, k).astype(np.float32)
    if name == "bits":
        return rng.integers(0, 1 << 32, (rows, k), dtype=np.uint64).astype(np.uint32).view(np.float32)
    if name == "special":
        # one special case per 32-wide chunk (= 2 nvfp4 groups, 1 mx group)
        chunks = []
        def c(v):
            chunks.append(np.asarray(v, np.float32).reshape(32))
        n = lambda: (rng.standard_normal(32) * 0.1).astype(np.float32)
        c(np.zeros(32)); c(np.full(32, -0.0)); c(np.where(rng.random(32) < .5, 0.0, -0.0))
        v = n(); v[3] = np.nan; c(v)
        v = n(); v[3] = -np.nan; v[4] = 0.0; v[5] = -0.0; c(v)
        v = n(); v[20] = np.inf; v[4] = 0.0; v[5] = -0.0; c(v)
        v = n(); v[20] = -np.inf; v[21] = np.nan; c(v)
        c(np.full(32, np.nan)); c(np.full(32, -np.inf))
        c(rng.uniform(-1, 1, 32) * fsub * 8)      # subnormal scales
        c(rng.uniform(-1, 1, 32) * fnorm * 4)
        c(rng.integers(-9, 10, 32) * fsub)
        c(rng.uniform(-1, 1, 32) * 0.004)         # nvfp4 underflow (amax/6 < 2^-10)
        c(rng.uniform(-1, 1, 32) * 0.006)
        v = rng.uniform(-1, 1, 32) * 0.005; v[0] = 0.00586; c(v)
        c(rng.uniform(-1, 1, 32) * fmax)          # near the top of the dtype range
        v = n(); v[0] = fmax; c(v)
        v = n(); v[0] = -fmax; c(v)
        c(np.full(32, 6.0)); c(np.full(32, -448.0)); c(np.full(32, 1e-3))
        c(np.array([0.25, -0.25, 0.75, -0.75, 1.25, -1.25, 1.75, -1.75, 2.5, -2.5, 3.5, -3.5, 5, -5, 6, -6] * 2))
        c(np.array([-0.1, -0.2, -0.24, -0.26, 0.1, 0.2, 0.26, -0.0] * 3 + [6] * 8))
        v = n(); v[0] = 3000.0; c(v)
        v = n(); v[0] = 1e5 if dt != "float16" else 6e4; c(v)
        n_rows = len(chunks) * 32 // k + 1
        out = np.zeros((n_rows * k,), np.float32)
        flat = np.concatenate(chunks)
        out[: len(flat)] = flat
        out[len(flat):] = rng.standard_normal(len(out) - len(flat)) * 3
        return out.reshape(n_rows, k)
    raise ValueError(name)


# ---------------------------------------------------------------- affine
def gen_affine(out_dir):
    w = Writer()
    rng = np.random.default_rng(1234 + SEED)
    rows, k = 2 * SCALE, 256
    inputs = {}
    for dt in DTYPES:
        for dist in ("normal", "loguniform", "allpos", "allneg", "ties", "bits"):
            with np.errstate(all="ignore"):
                xa = to_dtype(dist_affine(dist, dt, rng, rows, k), dt)
            name = f"x/{dt}/{dist}"
            w.add(name, xa)
            inputs[name] = (dt, xa)
        xa = to_dtype(edge_affine(dt, rng), dt)
        name = f"x/{dt}/edge"
        w.add(name, xa)
        inputs[name] = (dt, xa)
    for name, (dt, xa) in inputs.items():
        for bits in (1, 2, 3, 4, 5, 6, 8):
            for gs in (32, 64, 128):
                cid = f"{name[2:]}/b{bits}/g{gs}"
                wq, s, b = mx.quantize(xa, group_size=gs, bits=bits, mode="affine")
                w.add(cid + "/w", wq)
                w.add(cid + "/scales", s)
                w.add(cid + "/biases", b)
                # dequantize does not depend on gs beyond indexing: store it for gs 64 only, for
                # the inputs with the widest value ranges, and for the (large) edge-case matrix only
                # for bits 3/8 (fixture size)
                dist = name.rsplit("/", 1)[1]
                want_deq = gs == 64 and (dist in ("normal", "loguniform", "bits")
                                         or (dist == "edge" and bits in (3, 8)))
                if want_deq:
                    deq = mx.dequantize(wq, s, b, group_size=gs, bits=bits, mode="affine")
                    w.add(cid + "/deq", deq)
                w.cases.append({"id": cid, "x": name, "dtype": dt, "bits": bits, "gs": gs, "deq": want_deq})
    return w.write(os.path.join(out_dir, "affine.safetensors"))


# ---------------------------------------------------------------- fp modes
def gen_fp(out_dir):
    w = Writer()
    rng = np.random.default_rng(5678 + SEED)
    rows, k = 4 * SCALE, 128
    variants = [("mxfp4", None), ("mxfp8", None), ("nvfp4", None), ("nvfp4", 1.0), ("nvfp4", 37.5)]
    for dt in DTYPES:
        for dist in ("normal", "loguniform", "limits", "stress", "special", "bits"):
            x = dist_fp(dist, dt, rng, rows if dist != "bits" else 2, k)
            with np.errstate(all="ignore"):
                xa = to_dtype(x, dt)
            name = f"x/{dt}/{dist}"
            w.add(name, xa)
            # odd global scales (negative, zero, inf, tiny) only where non-finite values abound
            extra = [("nvfp4", -2.0), ("nvfp4", 0.0), ("nvfp4", float("inf")), ("nvfp4", 1e-30)]
            for mode, g in variants + (extra if dist in ("special", "bits") else []):
                gsa = None if g is None else mx.array(g, dtype=mx.float32)
                wq, s = mx.quantize(xa, mode=mode, global_scale=gsa)
                gtag = "none" if g is None else repr(g)
                cid = f"{name[2:]}/{mode}/{gtag}"
                gjson = g if g is None or np.isfinite(g) else repr(g)  # JSON has no inf
                w.add(cid + "/w", wq)
                w.add(cid + "/scales", s)
                # default output dtype (bfloat16) everywhere; all three for the normal inputs
                if (mode, g) in extra and dist != "special":
                    deq_dts = []
                elif dist == "normal" and g is None:
                    deq_dts = ["bfloat16", "float16", "float32"]
                else:
                    deq_dts = ["bfloat16"]
                for odt in deq_dts:
                    deq = mx.dequantize(wq, s, mode=mode, global_scale=gsa, dtype=DTYPES[odt])
                    w.add(cid + f"/deq/{odt}", deq)
                w.cases.append({"id": cid, "x": name, "dtype": dt, "mode": mode, "global_scale": gjson,
                                "deq_dtypes": deq_dts})
    # dequantization tables: every element code under many scale codes
    for mode, g in variants + [("nvfp4", -3.0)]:
        if g == 1.0:
            continue
        gs = 16 if mode == "nvfp4" else 32
        bits = 8 if mode == "mxfp8" else 4
        if mode != "nvfp4":
            scodes = np.array([0, 1, 2, 3, 7, 100, 103, 118, 120, 126, 127, 128, 133, 140, 142, 143, 144,
                               157, 200, 250, 252, 253, 254, 255], np.uint8)  # even count: 64-wide rows
            per = np.arange(256 if bits == 8 else 32, dtype=np.uint32) % (1 << bits)
        else:
            scodes = np.arange(256, dtype=np.uint8)
            per = np.tile(np.arange(16, dtype=np.uint32), gs // 16)     # 1 group per scale code
        ngroups_per_scale = len(per) // gs
        codes = np.tile(per, len(scodes))
        scales = np.repeat(scodes, ngroups_per_scale)
        # packed words (rows of 64 elements so that N*K % 32 == 0 for nvfp4)
        if bits == 4:
            c = codes.reshape(-1, 8)
            words = np.zeros(c.shape[0], np.uint32)
            for j in range(8):
                words |= c[:, j].astype(np.uint32) << (4 * j)
        else:
            c = codes.reshape(-1, 4)
            words = (c[:, 0] | c[:, 1] << 8 | c[:, 2] << 16 | c[:, 3] << 24).astype(np.uint32)
        kw = 64 * bits // 32
        words = words.reshape(-1, kw)
        scales = scales.reshape(words.shape[0], -1)
        gtag = "none" if g is None else repr(g)
        tid = f"table/{mode}/{gtag}"
        w.add_np(tid + "/words", words)
        w.add_np(tid + "/scales", scales)
        gsa = None if g is None else mx.array(g, dtype=mx.float32)
        # with a global scale the output is float32 whatever dtype= says: one dtype is enough
        deq_dts = list(DTYPES) if g is None else ["bfloat16"]
        for odt in deq_dts:
            deq = mx.dequantize(mx.array(words), mx.array(scales), mode=mode, global_scale=gsa, dtype=DTYPES[odt])
            w.add(tid + f"/deq/{odt}", deq)
        w.cases.append({"id": tid, "table": True, "mode": mode, "global_scale": g, "deq_dtypes": deq_dts})
    return w.write(os.path.join(out_dir, "fp.safetensors"))


# ---------------------------------------------------------------- casts
def gen_cast(out_dir):
    w = Writer()
    rng = np.random.default_rng(91011 + SEED)
    vals = []
    # specials: zeros, infs, NaNs with payloads and signs, limits
    for s in (0, 0x80000000):
        for m in (0, 1, 0x3FFFFF, 0x400000, 0x400001, 0x7FFFFF, 0x200000, 0x1000, 0x2000, 0x100000, 0xFFFF, 0x10000):
            vals.append(s | 0x7F800000 | m)
        vals += [s, s | 1, s | 0x7FFFFF, s | 0x00800000, s | 0x7F7FFFFF]
    # bf16 ties / near-ties at many exponents
    exps = rng.integers(0, 255, 600)
    for e in exps:
        hi = rng.integers(0, 128)
        for lo in (0x7FFF, 0x8000, 0x8001, 0x0000, 0xFFFF):
            for odd in (0, 1):
                vals.append(int(rng.integers(0, 2)) << 31 | int(e) << 23 | int(hi & 0x7E | odd) << 16 | lo)
    # f16 ties / near-ties, normal + subnormal + overflow boundary
    for e in range(90, 160):
        for _ in range(12):
            hi = int(rng.integers(0, 1 << 10))
            for lo in (0xFFF, 0x1000, 0x1001, 0x0, 0x1FFF):
                vals.append(int(rng.integers(0, 2)) << 31 | e << 23 | hi << 13 | lo)
    for v in (65504.0, 65519.0, 65519.996, 65520.0, 65536.0, 6.1035156e-05, 5.9604645e-08, 2.9802322e-08,
              2.9802326e-08, 1e-8, 8.940697e-08, 1e5, 3.0517578e-05):
        for s in (1, -1):
            vals.append(int(np.array([s * v], np.float32).view(np.uint32)[0]))
    vals += list(rng.integers(0, 1 << 32, 4000, dtype=np.uint64))
    u = np.array(vals, dtype=np.uint64).astype(np.uint32)
    a = mx.array(u).view(mx.float32)
    w.add_np("f32_bits", u)
    w.add("f32_to_bf16", a.astype(mx.bfloat16))
    w.add("f32_to_f16", a.astype(mx.float16))
    # 16-bit sources: every NaN/inf pattern + every 16th pattern
    h = np.array(sorted(set(list(range(0x7C00, 0x8000)) + list(range(0xFC00, 0x10000)) + list(range(0, 1 << 16, 61)) +
                            list(range(0, 0x400)))), np.uint16)
    ha = mx.array(h).view(mx.float16)
    w.add_np("f16_bits", h)
    w.add("f16_to_f32", ha.astype(mx.float32))
    w.add("f16_to_bf16", ha.astype(mx.bfloat16))
    b = np.array(sorted(set(list(range(0x7F80, 0x8000)) + list(range(0xFF80, 0x10000)) + list(range(0, 1 << 16, 61)))), np.uint16)
    ba = mx.array(b).view(mx.bfloat16)
    w.add_np("bf16_bits", b)
    w.add("bf16_to_f32", ba.astype(mx.float32))
    w.add("bf16_to_f16", ba.astype(mx.float16))
    grid = mx.array((np.arange(1 << 16, dtype=np.uint32) << 16)).view(mx.float32)
    w.add("to_fp8_bf16grid", mx.to_fp8(grid))
    w.add("from_fp8", mx.from_fp8(mx.arange(256, dtype=mx.uint8), mx.float32))
    return w.write(os.path.join(out_dir, "cast.safetensors"))


SCALE = 1
SEED = 0


def main():
    global SCALE, SEED
    args = sys.argv[1:]
    for opt in ("--scale", "--seed"):
        if opt in args:
            i = args.index(opt)
            val = int(args[i + 1])
            del args[i:i + 2]
            if opt == "--scale":
                SCALE = val
            else:
                SEED = val
    here = os.path.dirname(os.path.abspath(__file__))
    out_dir = args[0] if args else os.path.join(here, "..", "tests", "fixtures", "kernels")
    os.makedirs(out_dir, exist_ok=True)
    total = 0
    for gen in (gen_affine, gen_fp, gen_cast):
        n = gen(out_dir)
        print(f"{gen.__name__}: {n} bytes")
        total += n
    print(f"total {total} bytes")


if __name__ == "__main__":
    main()
