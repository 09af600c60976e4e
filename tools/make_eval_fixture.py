"""Writes tests/fixtures/eval/llama-peaked: a tiny llama checkpoint (bf16, 2 layers, vocab 512,
the llama fixture's tokenizer) whose weights are scaled so its next-token distributions are
peaked. Random fixtures with the usual 0.02 init predict almost uniformly, so quantization
barely moves their KL; this one degrades visibly from 8 to 4 to 2 bits, which tests/eval.rs
checks. Deterministic (seeded). Run with the oracle venv's python (needs mlx, numpy):

  python tools/make_eval_fixture.py
"""
import json
import os
import shutil

import mlx.core as mx
import numpy as np

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
src = os.path.join(root, "tests/fixtures/models/llama/hf")
dst = os.path.join(root, "tests/fixtures/eval/llama-peaked")
os.makedirs(dst, exist_ok=True)

hidden, inter, layers, heads, kv, head_dim, vocab = 64, 128, 2, 4, 2, 16, 512
config = {
    "architectures": ["LlamaForCausalLM"],
    "attention_bias": False,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "head_dim": head_dim,
    "hidden_act": "silu",
    "hidden_size": hidden,
    "intermediate_size": inter,
    "max_position_embeddings": 1024,
    "mlp_bias": False,
    "model_type": "llama",
    "num_attention_heads": heads,
    "num_hidden_layers": layers,
    "num_key_value_heads": kv,
    "rms_norm_eps": 1e-05,
    "rope_scaling": None,
    "rope_theta": 10000.0,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
    "vocab_size": vocab,
}
rng = np.random.default_rng(20261122)


def normal(shape, std):
    return rng.normal(0.0, std, size=shape).astype(np.float32)


w = {"model.embed_tokens.weight": normal((vocab, hidden), 1.0)}
for i in range(layers):
    p = f"model.layers.{i}"
    w[f"{p}.input_layernorm.weight"] = np.ones(hidden, np.float32)
    w[f"{p}.post_attention_layernorm.weight"] = np.ones(hidden, np.float32)
    w[f"{p}.self_attn.q_proj.weight"] = normal((heads * head_dim, hidden), 2.0 / hidden**0.5)
    w[f"{p}.self_attn.k_proj.weight"] = normal((kv * head_dim, hidden), 2.0 / hidden**0.5)
    w[f"{p}.self_attn.v_proj.weight"] = normal((kv * head_dim, hidden), 1.0 / hidden**0.5)
    w[f"{p}.self_attn.o_proj.weight"] = normal((hidden, heads * head_dim), 1.0 / hidden**0.5)
    w[f"{p}.mlp.gate_proj.weight"] = normal((inter, hidden), 1.0 / hidden**0.5)
    w[f"{p}.mlp.up_proj.weight"] = normal((inter, hidden), 1.0 / hidden**0.5)
    w[f"{p}.mlp.down_proj.weight"] = normal((hidden, inter), 1.0 / inter**0.5)
w["model.norm.weight"] = np.ones(hidden, np.float32)
# Logit std ~ 0.6 * sqrt(64) ~ 5: a few tokens take most of the probability.
w["lm_head.weight"] = normal((vocab, hidden), 0.6)

mx.save_safetensors(
    os.path.join(dst, "model.safetensors"),
    {k: mx.array(v).astype(mx.bfloat16) for k, v in w.items()},
    metadata={"format": "pt"},
)
with open(os.path.join(dst, "config.json"), "w") as f:
    json.dump(config, f, indent=2)
for name in ("tokenizer.json", "tokenizer_config.json"):
    shutil.copy(os.path.join(src, name), os.path.join(dst, name))
print(dst)
