"""Oracle check for outputs no mlx-lm command can produce (per-layer overrides, embedding bits,
mixed fp modes, re-quantization), run by tests/interop.rs with the oracle venv's python.

  check_quantized.py SOURCE OURS

For every layer of OURS: take the source values (a float tensor of SOURCE, or — when SOURCE is
an MLX-quantized model — `mx.dequantize` of its stored layer), cast them to the dtype our
config/scales imply, `mx.quantize` them with the settings our config.json records for that
layer (per-layer entry, else the global one), and require byte-identical weight/scales/biases.
Float layers must equal the source cast to their dtype. Then `mlx_lm.load` must load OURS and
run a forward pass. Prints a JSON summary; exits non-zero on any difference."""
import glob
import json
import os
import sys

import mlx.core as mx
from mlx_lm import load

mx.set_default_device(mx.cpu)


def tensors(d):
    out = {}
    for f in sorted(glob.glob(os.path.join(d, "*.safetensors"))):
        out.update(mx.load(f))
    return out


def spec_for(qcfg, layer):
    d = qcfg.get(layer)
    if not isinstance(d, dict):
        d = qcfg
    mode = d.get("mode", "affine") or "affine"
    defaults = {"affine": (64, 4), "mxfp4": (32, 4), "nvfp4": (16, 4), "mxfp8": (32, 8)}[mode]
    gs = d.get("group_size") or defaults[0]
    bits = d.get("bits") or defaults[1]
    return mode, gs, bits


src_dir, ours_dir = sys.argv[1], sys.argv[2]
src_cfg = json.load(open(os.path.join(src_dir, "config.json")))
our_cfg = json.load(open(os.path.join(ours_dir, "config.json")))
src, ours = tensors(src_dir), tensors(ours_dir)
src_q = src_cfg.get("quantization")
qcfg = our_cfg.get("quantization") or {}


def source_values(layer):
    """Float values of `layer.weight` in the source (dequantized if it is stored quantized)."""
    if src_q is not None and f"{layer}.scales" in src:
        mode, gs, bits = spec_for(src_q, layer)
        w = mx.dequantize(src[f"{layer}.weight"], src[f"{layer}.scales"], src.get(f"{layer}.biases"),
                          group_size=gs, bits=bits, mode=mode)
        return w
    return src[f"{layer}.weight"]


FLOATS = (mx.float16, mx.bfloat16, mx.float32)
model_dtype = next(a.dtype for n, a in ours.items()
                   if a.dtype in FLOATS and not n.endswith((".scales", ".biases")))
problems, checked = [], {"quantized": 0, "float": 0}
for name, arr in ours.items():
    if name.endswith(".scales") or name.endswith(".biases"):
        continue
    layer = name[: -len(".weight")] if name.endswith(".weight") else None
    if layer and f"{layer}.scales" in ours:
        mode, gs, bits = spec_for(qcfg, layer)
        scales = ours[f"{layer}.scales"]
        # affine scales carry the weight dtype; fp scales are uint8, so use the model's.
        x = source_values(layer).astype(scales.dtype if mode == "affine" else model_dtype)
        ref = mx.quantize(x, group_size=gs, bits=bits, mode=mode)
        names = ["weight", "scales"] + (["biases"] if mode == "affine" else [])
        for part, r in zip(names, ref):
            got = ours[f"{layer}.{part}"]
            if got.dtype != r.dtype or got.shape != r.shape or not mx.array_equal(got, r).item():
                problems.append(f"{layer}.{part}: differs from mx.quantize({mode}, gs={gs}, bits={bits})")
        checked["quantized"] += 1
    elif name in src:
        ref = src[name].astype(arr.dtype) if arr.dtype in FLOATS else src[name]
        if not mx.array_equal(arr, ref).item():
            problems.append(f"{name}: float tensor differs from the source cast to {arr.dtype}")
        checked["float"] += 1
    elif layer and src_q is not None and f"{layer}.scales" in src:
        # dequantized layer: compare with mx.dequantize (in our dtype)
        ref = source_values(layer).astype(arr.dtype)
        if not mx.array_equal(arr, ref).item():
            problems.append(f"{name}: differs from mx.dequantize of the source")
        checked["float"] += 1
    else:
        problems.append(f"{name}: not in the source")

model, tok = load(ours_dir)
logits = model(mx.array([[1, 2, 3, 4, 5, 6, 7, 8]]))
mx.eval(logits)
if not mx.isfinite(logits.astype(mx.float32)).all().item():
    problems.append("mlx_lm forward pass gives non-finite logits")
print(json.dumps({"checked": checked, "problems": problems[:20]}))
sys.exit(1 if problems else 0)
