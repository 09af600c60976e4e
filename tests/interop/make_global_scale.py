"""Makes an MLX nvfp4 checkpoint in which some layers carry a `global_scale` (as mlx-lm writes for
experts with quantize_model(global_scale=True)), for tests/interop.rs, and the expected
dequantized values.   make_global_scale.py NVFP4_DIR OUT_EXPECTED.safetensors"""
import glob
import os
import sys

import mlx.core as mx

mx.set_default_device(mx.cpu)
d, expected_path = sys.argv[1], sys.argv[2]
path = glob.glob(os.path.join(d, "*.safetensors"))[0]
w = mx.load(path)
expected = {}
mx.random.seed(0)
for layer in ["model.layers.0.mlp.up_proj", "model.layers.1.self_attn.q_proj"]:
    shape = (w[f"{layer}.weight"].shape[0], w[f"{layer}.weight"].shape[1] * 8)
    x = (mx.random.normal(shape) * 0.003).astype(mx.bfloat16)  # small: needs the global scale
    g = mx.abs(x).max().astype(mx.float32).reshape(1)
    q, s = mx.quantize(x, mode="nvfp4", global_scale=g)
    w[f"{layer}.weight"], w[f"{layer}.scales"], w[f"{layer}.global_scale"] = q, s, g
    expected[f"{layer}.weight"] = mx.dequantize(q, s, mode="nvfp4", global_scale=g).astype(mx.bfloat16)
mx.save_safetensors(path, w, metadata={"format": "mlx"})
mx.save_safetensors(expected_path, expected)
