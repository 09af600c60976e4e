"""Interop check run by tests/interop.rs with the oracle venv's python (mlx 0.32.4, mlx-lm 0.32.2).

  compare_logits.py OURS REFERENCE

Loads both MLX folders with stock `mlx_lm.load`, runs the same tokens through each and requires
bit-identical logits; also requires the chat template to survive (same rendered prompt).
Prints one JSON line with what it compared; exits non-zero on any difference."""
import json
import sys

import mlx.core as mx
from mlx_lm import load

mx.set_default_device(mx.cpu)


def run(path):
    model, tok = load(path)
    ids = tok.encode("The quick brown fox jumps over the lazy dog. " * 3)[:48]
    if len(ids) < 4:
        ids = list(range(1, 17))
    logits = model(mx.array([ids]))
    mx.eval(logits)
    chat = None
    if getattr(tok, "chat_template", None):
        chat = tok.apply_chat_template([{"role": "user", "content": "Hi there"}], tokenize=False,
                                       add_generation_prompt=True)
    return ids, logits, chat


ours, ref = sys.argv[1], sys.argv[2]
ids_o, lo, chat_o = run(ours)
ids_r, lr, chat_r = run(ref)
problems = []
if ids_o != ids_r:
    problems.append("tokenization differs")
if lo.shape != lr.shape or lo.dtype != lr.dtype:
    problems.append(f"logits shape/dtype {lo.shape}/{lo.dtype} != {lr.shape}/{lr.dtype}")
elif not mx.array_equal(lo, lr).item():
    diff = mx.abs(lo.astype(mx.float32) - lr.astype(mx.float32)).max().item()
    problems.append(f"logits differ (max abs diff {diff})")
if chat_r is None:
    problems.append("reference has no chat template (fixture problem)")
elif chat_o != chat_r:
    problems.append(f"chat template output differs: {chat_o!r} != {chat_r!r}")
print(json.dumps({"tokens": len(ids_o), "logits_shape": list(lo.shape), "dtype": str(lo.dtype),
                  "chat_template": chat_o is not None, "problems": problems}))
sys.exit(1 if problems else 0)
