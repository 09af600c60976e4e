"""Interop check run by tests/eval.rs with the oracle venv's python (mlx 0.32.4, mlx-lm 0.32.2).

  eval_logits.py MODEL_DIR IDS_JSON OURS_F32 TOLERANCE

Loads MODEL_DIR with stock `mlx_lm.load`, dequantizes quantized layers with mlx-lm's own
`dequantize_model` (mx.dequantize in the stored dtype), casts to float32 and runs the token ids of
IDS_JSON. OURS_F32 holds the logits `hf2mlx eval` computed (little-endian f32, tokens x vocab).
Requires max|ours - theirs| <= TOLERANCE * max|theirs|. Prints one JSON line; exits non-zero on
a mismatch."""
import json
import sys

import mlx.core as mx
import numpy as np
from mlx_lm import load
from mlx_lm.utils import dequantize_model

mx.set_default_device(mx.cpu)

path, ids_path, ours_path, tol = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
ids = json.load(open(ids_path))
model, _ = load(path)
model = dequantize_model(model)
model.set_dtype(mx.float32)
logits = model(mx.array([ids]))[0].astype(mx.float32)
mx.eval(logits)
theirs = np.array(logits)
ours = np.fromfile(ours_path, dtype="<f4")
problems = []
if ours.size != theirs.size:
    problems.append(f"ours has {ours.size} values, mlx-lm {theirs.shape}")
    rel = None
else:
    ours = ours.reshape(theirs.shape)
    diff = float(np.abs(ours - theirs).max())
    scale = float(np.abs(theirs).max())
    rel = diff / scale if scale > 0 else diff
    if not rel <= tol:
        problems.append(f"max abs diff {diff} is {rel:.3g} of max |logit| {scale} (> {tol})")
print(json.dumps({"model": path, "tokens": len(ids), "shape": list(theirs.shape),
                  "relative_max_diff": rel, "problems": problems}))
sys.exit(1 if problems else 0)
