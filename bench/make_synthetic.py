#!/usr/bin/env python3
"""Writes a synthetic Hugging Face checkpoint with real Llama shapes and random bf16 weights,
sharded like the Hub (~5 GB per shard), plus config and a tokenizer, for benchmarks.

  make_synthetic.py {8b|1b} OUT_DIR

Needs numpy. Values are N(0, 0.02); a 256 MiB random pool is reused at varying offsets so that
generation runs at disk speed (quantization cost does not depend on the values)."""
import json
import os
import shutil
import struct
import sys

import numpy as np

SHAPES = {
    # Llama-3.1-8B
    "8b": dict(hidden=4096, inter=14336, layers=32, heads=32, kv=8, vocab=128256, tie=False),
    # Llama-3.2-1B
    "1b": dict(hidden=2048, inter=8192, layers=16, heads=32, kv=8, vocab=128256, tie=True),
}
SHARD_BYTES = 5_000_000_000


def tensors(s):
    h, i, hd = s["hidden"], s["inter"], s["hidden"] // s["heads"]
    yield "model.embed_tokens.weight", (s["vocab"], h)
    for l in range(s["layers"]):
        p = f"model.layers.{l}."
        yield p + "input_layernorm.weight", (h,)
        yield p + "mlp.down_proj.weight", (h, i)
        yield p + "mlp.gate_proj.weight", (i, h)
        yield p + "mlp.up_proj.weight", (i, h)
        yield p + "post_attention_layernorm.weight", (h,)
        yield p + "self_attn.k_proj.weight", (s["kv"] * hd, h)
        yield p + "self_attn.o_proj.weight", (h, h)
        yield p + "self_attn.q_proj.weight", (h, h)
        yield p + "self_attn.v_proj.weight", (s["kv"] * hd, h)
    yield "model.norm.weight", (h,)
    if not s["tie"]:
        yield "lm_head.weight", (s["vocab"], h)


def main():
    size, out = sys.argv[1], sys.argv[2]
    s = SHAPES[size]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(0)
    pool = (rng.standard_normal(128 << 20, dtype=np.float32) * 0.02).astype(np.float32)
    pool = (pool.view(np.uint32) >> 16).astype(np.uint16)  # bf16 bits (truncation is fine here)
    shards, cur, cur_bytes = [], [], 0
    for name, shape in tensors(s):
        nbytes = int(np.prod(shape)) * 2
        if cur and cur_bytes + nbytes > SHARD_BYTES:
            shards.append(cur)
            cur, cur_bytes = [], 0
        cur.append((name, shape, nbytes))
        cur_bytes += nbytes
    shards.append(cur)
    n = len(shards)
    weight_map, total, pos = {}, 0, 0
    for k, shard in enumerate(shards):
        fname = f"model-{k + 1:05d}-of-{n:05d}.safetensors"
        header, off = {"__metadata__": {"format": "pt"}}, 0
        for name, shape, nbytes in shard:
            header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [off, off + nbytes]}
            off += nbytes
            weight_map[name] = fname
            total += nbytes
        hb = json.dumps(header, separators=(",", ":")).encode()
        hb += b" " * (-len(hb) % 8)
        with open(os.path.join(out, fname), "wb") as f:
            f.write(struct.pack("<Q", len(hb)) + hb)
            for name, shape, nbytes in shard:
                left = nbytes // 2
                while left:
                    take = min(left, len(pool) // 2)
                    start = pos % (len(pool) - take + 1)
                    f.write(pool[start:start + take].tobytes())
                    pos += 7919 * 13
                    left -= take
        print(f"wrote {fname}", file=sys.stderr)
    with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}, f, indent=2)
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": s["hidden"],
        "intermediate_size": s["inter"], "num_hidden_layers": s["layers"], "num_attention_heads": s["heads"],
        "num_key_value_heads": s["kv"], "vocab_size": s["vocab"], "rms_norm_eps": 1e-05, "rope_theta": 500000.0,
        "max_position_embeddings": 131072, "tie_word_embeddings": s["tie"], "torch_dtype": "bfloat16",
        "hidden_act": "silu", "attention_bias": False, "mlp_bias": False, "bos_token_id": 1, "eos_token_id": 2,
    }
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    here = os.path.dirname(os.path.abspath(__file__))
    tok = os.path.join(here, "..", "tests", "fixtures", "models", "llama", "hf")
    for t in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(tok, t), out)


if __name__ == "__main__":
    main()
