#!/usr/bin/env python3
"""Tiny conformance fixtures for architectures without a shared one, from arch-survey cases.

Run with the oracle python (mlx 0.32.4, mlx-lm 0.32.2):

    PY=$(tools/mlx-oracle.sh | tail -1); $PY tools/gen_arch_fixtures.py CASE [CASE ...]

For each case of `tests/fixtures/arch_survey/CASE.json` (written by `tools/arch_survey.py`: the
config and the Hugging Face tensor names and shapes of a tiny model, which mlx-lm's own sanitize
turns into exactly the model's parameters) it writes `tests/fixtures/models/CASE/hf/`: that
config (plus `torch_dtype: bfloat16`), a `model.safetensors` holding those tensors as random
bfloat16 N(0, 0.02) values (seeded by the case name), and the llama fixture's tokenizer. Then it
runs `mlx_lm.convert` with the shared fixtures' variants and records each output with
`tools/manifest.py describe` in `tests/fixtures/models/CASE/expected/VARIANT.json` (or the error
mlx-lm raised), which `tests/conformance.rs` replays.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SURVEY = ROOT / "tests" / "fixtures" / "arch_survey"
MODELS = ROOT / "tests" / "fixtures" / "models"
TOKENIZER = MODELS / "llama" / "hf"

VARIANTS = {
    "plain": [],
    "q4": ["-q"],
    "mxfp4": ["-q", "--q-mode", "mxfp4"],
    "mixed_3_6": ["-q", "--quant-predicate", "mixed_3_6"],
}


def bf16_bytes(x: np.ndarray) -> bytes:
    """float32 -> bfloat16 (round to nearest even), little-endian bytes."""
    u = x.astype(np.float32).view(np.uint32)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    return r.astype("<u2").tobytes()


def fp8_codes(rng, n: int) -> bytes:
    """Random E4M3 codes, NaN codes (0x7F, 0xFF) replaced by zero."""
    c = rng.integers(0, 256, n, dtype=np.uint8)
    c[(c & 0x7F) == 0x7F] = 0
    return c.tobytes()


STORED = {  # safetensors dtype -> float32 values to bytes
    "BF16": bf16_bytes,
    "F16": lambda x: x.astype("<f2").tobytes(),
    "F32": lambda x: x.astype("<f4").tobytes(),
}


def write_safetensors(path: Path, tensors: list[tuple[str, list[int]]], seed: int,
                      dtype: str = "BF16") -> None:
    """N(0, 0.02) tensors stored as `dtype`; an fp8 checkpoint's `X.weight_scale_inv` are
    float32 inverse scales (~1e-4) and their `X.weight` random F8_E4M3 codes."""
    rng = np.random.default_rng(seed)
    names = {n for n, _ in tensors}
    header, blobs, off = {}, [], 0
    for name, shape in sorted(tensors):
        n = int(np.prod(shape)) if shape else 1
        if name.endswith("_scale_inv"):
            stored, data = "F32", rng.uniform(0.5e-4, 2e-4, n).astype("<f4").tobytes()
        elif name + "_scale_inv" in names:
            stored, data = "F8_E4M3", fp8_codes(rng, n)
        else:
            stored, data = dtype, STORED[dtype](rng.normal(0.0, 0.02, n))
        header[name] = {"dtype": stored, "shape": shape, "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def make(case: str) -> None:
    """`CASE` (bfloat16 tensors) or `CASE@F16` / `CASE@F32`: tensors stored in that dtype while
    config.json still says bfloat16 (value transforms then run in the stored dtype, then the
    cast), written to `models/CASE-f16` / `models/CASE-f32`."""
    case, _, dtype = case.partition("@")
    dtype = dtype or "BF16"
    survey = json.loads((SURVEY / f"{case}.json").read_text())
    out = MODELS / (case if dtype == "BF16" else f"{case}-{dtype.lower()}")
    if out.exists():
        shutil.rmtree(out)
    hf = out / "hf"
    hf.mkdir(parents=True)
    config = dict(survey["config"], torch_dtype="bfloat16")
    (hf / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    seed = int.from_bytes(hashlib.sha256(case.encode()).digest()[:4], "little")
    write_safetensors(hf / "model.safetensors", [(n, s) for n, s in survey["inputs"]], seed,
                      dtype)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(TOKENIZER / f, hf / f)
    expected = out / "expected"
    expected.mkdir()
    for variant, flags in VARIANTS.items():
        command = " ".join(["mlx_lm.convert", *flags])
        with tempfile.TemporaryDirectory() as tmp:
            dst = Path(tmp) / "out"
            r = subprocess.run(
                [sys.executable, "-m", "mlx_lm", "convert", "--hf-path", str(hf), "--mlx-path",
                 str(dst), *flags],
                capture_output=True, text=True,
            )
            if r.returncode != 0:
                last = [l for l in r.stderr.strip().splitlines() if l.strip()][-1:]
                manifest = {"command": command, "error": last}
            else:
                d = subprocess.run(
                    [sys.executable, str(ROOT / "tools" / "manifest.py"), "describe", str(dst)],
                    capture_output=True, text=True, check=True,
                )
                manifest = dict(command=command, **json.loads(d.stdout))
        (expected / f"{variant}.json").write_text(json.dumps(manifest, indent=1) + "\n")
        print(f"{out.name}: {variant}: {'error ' + str(manifest['error']) if 'error' in manifest else 'ok'}")


if __name__ == "__main__":
    for c in sys.argv[1:]:
        make(c)
