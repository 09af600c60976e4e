"""Oracle check for `--quant-method` outputs, run by tests/quant_method.rs with the oracle venv.

  check_method.py OURS DEQUANTIZED RTN

OURS is a model quantized with a non-default method, DEQUANTIZED is `hf2mlx convert -d` of it, RTN
the same conversion with --quant-method rtn. Requires: mlx_lm.load opens OURS; every quantized
layer's `mx.dequantize` equals our dequantization exactly and is finite; config.json is RTN's
(the method is not recorded there); the method changed some layer; a forward pass is finite."""
import glob
import json
import os
import sys

import mlx.core as mx
from mlx.utils import tree_flatten
from mlx_lm import load

mx.set_default_device(mx.cpu)


def tensors(d):
    out = {}
    for f in sorted(glob.glob(os.path.join(d, "*.safetensors"))):
        out.update(mx.load(f))
    return out


ours_dir, deq_dir, rtn_dir = sys.argv[1:4]
problems = []
cfg = json.load(open(os.path.join(ours_dir, "config.json")))
if cfg != json.load(open(os.path.join(rtn_dir, "config.json"))):
    problems.append("config.json differs from the rtn output's")
q = cfg["quantization"]
model, tok = load(ours_dir)
params = dict(tree_flatten(model.parameters()))
deq, rtn = tensors(deq_dir), tensors(rtn_dir)
layers = [k[: -len(".scales")] for k in params if k.endswith(".scales")]
changed = 0
for layer in layers:
    spec = q.get(layer, q)
    w, s, b = (params[f"{layer}.{n}"] for n in ("weight", "scales", "biases"))
    y = mx.dequantize(w, s, b, group_size=spec["group_size"], bits=spec["bits"])
    if not bool(mx.all(mx.isfinite(y))):
        problems.append(f"{layer}: non-finite dequantized values")
    ref = deq[f"{layer}.weight"]
    if y.dtype != ref.dtype or not bool(mx.array_equal(y, ref)):
        problems.append(f"{layer}: mx.dequantize differs from hf2mlx -d ({y.dtype} vs {ref.dtype})")
    if not bool(mx.array_equal(w, rtn[f"{layer}.weight"])):
        changed += 1
if not layers:
    problems.append("no quantized layers")
if changed == 0:
    problems.append("identical to the rtn output: the method was not applied")
logits = model(mx.array([[1, 2, 3, 4, 5, 6]]))
if not bool(mx.all(mx.isfinite(logits))):
    problems.append("non-finite logits")
print(json.dumps({"layers": len(layers), "changed": changed, "problems": problems}))
sys.exit(1 if problems else 0)
