"""`-d` of an MLA model whose `embed_q`/`unembed_out` are quantized: mlx-lm's `dequantize_model`
only knows QuantizedLinear/Embedding/SwitchLinear, so it leaves these `QuantizedMultiLinear`
layers quantized while dropping `quantization` from config.json, and its output does not load.
hf2mlx dequantizes them too. Checks that every other tensor equals mlx-lm's, that ours are
`mx.dequantize` of mlx-lm's quantized parts, and that our output loads.

    python check_dequantized_mla.py OURS MLX_LM_OUTPUT GROUP_SIZE BITS
"""

import glob
import sys

import mlx.core as mx
import mlx_lm

ours_dir, ref_dir = sys.argv[1], sys.argv[2]
group_size, bits = int(sys.argv[3]), int(sys.argv[4])


def tensors(d):
    out = {}
    for f in glob.glob(f"{d}/*.safetensors"):
        out.update(mx.load(f))
    return out


ours, ref = tensors(ours_dir), tensors(ref_dir)
problems = []
left_quantized = 0
for k, v in ref.items():
    layer, _, part = k.rpartition(".")
    if f"{layer}.scales" in ref and layer.rsplit(".", 1)[-1] in ("embed_q", "unembed_out"):
        if part != "weight":
            left_quantized += 1
            continue
        v = mx.dequantize(v, ref[f"{layer}.scales"], ref[f"{layer}.biases"], group_size, bits)
    if k not in ours:
        problems.append(f"{k}: missing")
    elif ours[k].dtype != v.dtype or ours[k].shape != v.shape:
        problems.append(f"{k}: {ours[k].dtype} {ours[k].shape} vs {v.dtype} {v.shape}")
    elif not mx.array_equal(ours[k], v, equal_nan=True).item():
        problems.append(f"{k}: values differ")
extra = sorted(set(ours) - {k for k in ref if not k.endswith((".scales", ".biases")) or k in ours})
problems += [f"{k}: not in mlx-lm's output" for k in extra]
if left_quantized == 0:
    problems.append("mlx-lm dequantized the MLA layers itself: this workaround is obsolete")
mlx_lm.load(ours_dir)
if problems:
    sys.exit("\n".join(problems))
print(f"ok: {len(ours)} tensors; mlx-lm left {left_quantized // 2} MLA layers quantized")
