"""Writes an MLX checkpoint in the layout older mlx-lm versions saved for the deepseek_v3 family:
`kv_b_proj` stored quantized (today's mlx-lm stores `embed_q`/`unembed_out` instead and splits
such a `kv_b_proj` in `sanitize`). Random weights, the deepseek_v3 fixture's config with MLA
dimensions large enough to quantize (32), and its tokenizer.

    python make_quantized_kv_b.py FIXTURE_HF_DIR OUT_DIR [BITS] [GROUP_SIZE] [RANK] [HEAD_DIM]

RANK is `kv_lora_rank`, HEAD_DIM both `qk_nope_head_dim` and `v_head_dim` (default 32 each);
large ones make `embed_q` span several of hf2mlx's row blocks.
"""

import json
import shutil
import sys
from pathlib import Path

import mlx.core as mx
import mlx.nn as nn
from mlx.utils import tree_flatten
from mlx_lm.models import deepseek_v3

src, dst = Path(sys.argv[1]), Path(sys.argv[2])
bits = int(sys.argv[3]) if len(sys.argv) > 3 else 4
group_size = int(sys.argv[4]) if len(sys.argv) > 4 else 32
rank = int(sys.argv[5]) if len(sys.argv) > 5 else 32
head_dim = int(sys.argv[6]) if len(sys.argv) > 6 else 32
dst.mkdir(parents=True)
for f in src.iterdir():
    if f.suffix != ".safetensors" and f.name != "config.json":
        shutil.copy(f, dst / f.name)

config = json.loads((src / "config.json").read_text())
config.update(kv_lora_rank=rank, qk_nope_head_dim=head_dim, v_head_dim=head_dim)
# Every token id the tokenizer gives must have an embedding (the logits check encodes text).
tokenizer = json.loads((src / "tokenizer.json").read_text())
ids = list(tokenizer["model"]["vocab"].values()) + [t["id"] for t in tokenizer["added_tokens"]]
config["vocab_size"] = max(config["vocab_size"], max(ids) + 1)
mx.random.seed(0)
model = deepseek_v3.Model(deepseek_v3.ModelArgs.from_dict(config))
model.set_dtype(mx.bfloat16)
nn.quantize(
    model,
    group_size=group_size,
    bits=bits,
    class_predicate=lambda p, m: hasattr(m, "to_quantized")
    and m.weight.shape[-1] % group_size == 0,
)
weights = dict(tree_flatten(model.parameters()))
heads, per_head = config["num_attention_heads"], 2 * head_dim
for layer in range(config["num_hidden_layers"]):
    prefix = f"model.layers.{layer}.self_attn"
    for name in ("embed_q", "unembed_out"):
        for part in ("weight", "scales", "biases"):
            weights.pop(f"{prefix}.{name}.{part}")
    kv_b = (0.05 * mx.random.normal((heads * per_head, rank))).astype(mx.bfloat16)
    w, s, b = mx.quantize(kv_b, group_size=group_size, bits=bits)
    weights.update(
        {
            f"{prefix}.kv_b_proj.weight": w,
            f"{prefix}.kv_b_proj.scales": s,
            f"{prefix}.kv_b_proj.biases": b,
        }
    )
mx.save_safetensors(str(dst / "model.safetensors"), weights, metadata={"format": "mlx"})
quantization = {"group_size": group_size, "bits": bits, "mode": "affine"}
config.update(quantization=quantization, quantization_config=quantization)
(dst / "config.json").write_text(json.dumps(config, indent=4))
