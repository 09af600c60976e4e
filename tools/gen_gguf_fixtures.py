#!/usr/bin/env python3
"""Tiny GGUF files for hf2mlx's GGUF import tests, with the expected results recorded.

    /root/.cache/hf2mlx/gguf-tools/bin/python tools/gen_gguf_fixtures.py \\
        [--oracle /root/.cache/hf2mlx/mlx-oracle/bin/python]

Writes tests/fixtures/gguf/<name>.gguf and tests/fixtures/gguf/expected/<name>/:

``hf.json``
    manifest (tools/manifest.py format) of the Hugging Face checkpoint tools/gguf_to_hf.py
    makes from the GGUF (bf16), plus its tokenizer.json / tokenizer_config.json /
    generation_config.json next to it.
``mlx_plain.json``, ``mlx_q4.json``
    manifests of ``mlx_lm.convert`` (plain, and ``-q``) of that reference checkpoint (needs
    ``--oracle``, a Python with mlx-lm 0.32.2).
``tokens.json`` (llama-spm only)
    ids that transformers' GGUF tokenizer converter gives for a few strings.

Fixtures (fixed seed, deterministic):
  tiny-llama      llama, 2 layers, hidden 64, 4 heads / 2 kv heads, ffn 256; tensors in Q4_1,
                  Q8_0, Q4_0, Q5_0, Q5_1, BF16, F16, Q4_K and Q6_K (k-quants as random blocks);
                  tied embeddings; gpt2 byte-level BPE vocabulary, `smollm` pre-tokenizer,
                  control tokens and a chat template.
  tiny-qwen2      qwen2, 1 layer, q/k/v biases, untied Q8_0 output, gpt2 vocabulary.
  tiny-qwen3      qwen3, 1 layer, head_dim 32 != hidden / heads, q/k norms, gpt2 vocabulary with
                  the `qwen2` split regex.
  tiny-llama-spm  llama, 1 layer, SentencePiece vocabulary (`tokenizer.ggml.model` = llama,
                  byte tokens, scores, no merges).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import gguf
import numpy as np
from gguf import GGMLQuantizationType as Q

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "gguf")
sys.path.insert(0, HERE)
import manifest  # noqa: E402

TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] "
    "+ '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def gpt2_vocab():
    chars = list(bytes_to_unicode().values())
    merges = ["Ġ t", "h e", "Ġt he", "i n", "Ġ a", "a n", "e r", "Ġ i"]
    tokens = chars + [m.replace(" ", "") for m in merges] + ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    types = [1] * (len(tokens) - 3) + [3, 3, 3]
    return tokens, types, merges


def spm_vocab():
    pieces = ["▁", "a", "b", "c", "t", "h", "e", "▁a", "ab", "▁ab", "th", "the", "▁the", "he", "▁c", "ca", "▁cab"]
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{i:02X}>" for i in range(256)] + pieces
    types = [2, 3, 3] + [6] * 256 + [1] * len(pieces)
    scores = [0.0] * 259 + [-float(i) for i in range(len(pieces))]
    return tokens, types, scores


def permute(w, n_head):
    """llama.cpp convert_hf_to_gguf.py LlamaModel.permute."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def random_kquant(rng, qtype, rows, cols):
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    raw = rng.integers(0, 256, size=(rows * cols // block, size), dtype=np.uint8)
    offs = {Q.Q4_K: [0, 2], Q.Q6_K: [208]}[qtype]
    for off in offs:
        scale = (np.abs(rng.standard_normal(raw.shape[0])) * 0.002 + 0.001).astype(np.float16)
        raw[:, off:off + 2] = scale.view(np.uint8).reshape(-1, 2)
    return raw.reshape(rows, -1)


def add(w, name, x, qtype, rng=None):
    if qtype in (Q.Q4_K, Q.Q6_K):
        w.add_tensor(name, random_kquant(rng, qtype, *x.shape), raw_dtype=qtype)
    elif qtype == Q.F32:
        w.add_tensor(name, x.astype(np.float32))
    elif qtype == Q.F16:
        w.add_tensor(name, x.astype(np.float16))
    else:
        w.add_tensor(name, gguf.quants.quantize(x.astype(np.float32), qtype), raw_dtype=qtype)


def write(path, arch, layers, hidden, heads, kv, ffn, tok, types_plan, untied=False, biases=False, seed=0,
          head_dim=None):
    rng = np.random.default_rng(seed)
    w = gguf.GGUFWriter(path, arch)
    w.add_context_length(512)
    w.add_embedding_length(hidden)
    w.add_block_count(layers)
    w.add_feed_forward_length(ffn)
    w.add_head_count(heads)
    w.add_head_count_kv(kv)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_freq_base(10000.0)
    kind = tok["model"]
    w.add_tokenizer_model(kind)
    w.add_token_list(tok["tokens"])
    w.add_token_types(tok["types"])
    if kind == "gpt2":
        w.add_tokenizer_pre(tok["pre"])
        w.add_token_merges(tok["merges"])
        w.add_bos_token_id(len(tok["tokens"]) - 3)
        w.add_eos_token_id(len(tok["tokens"]) - 1)
        w.add_add_bos_token(False)
        w.add_chat_template(TEMPLATE)
    else:
        w.add_token_scores(tok["scores"])
        w.add_bos_token_id(1)
        w.add_eos_token_id(2)
        w.add_unk_token_id(0)
    vocab = len(tok["tokens"])
    if head_dim is None:
        head_dim = hidden // heads
    else:
        w.add_key_length(head_dim)
        w.add_value_length(head_dim)
    n = lambda *s: (rng.standard_normal(s) * 0.05).astype(np.float32)  # noqa: E731
    add(w, "token_embd.weight", n(vocab, hidden), types_plan["embed"])
    for i in range(layers):
        t = types_plan["layers"][i % len(types_plan["layers"])]
        p = f"blk.{i}."
        q, k = n(heads * head_dim, hidden), n(kv * head_dim, hidden)
        if arch == "llama":
            q, k = permute(q, heads), permute(k, kv)
        add(w, p + "attn_norm.weight", 1.0 + n(hidden), Q.F32)
        add(w, p + "attn_q.weight", q, t["q"], rng)
        add(w, p + "attn_k.weight", k, t["k"], rng)
        add(w, p + "attn_v.weight", n(kv * head_dim, hidden), t["v"], rng)
        if biases:
            add(w, p + "attn_q.bias", n(heads * head_dim), Q.F32)
            add(w, p + "attn_k.bias", n(kv * head_dim), Q.F32)
            add(w, p + "attn_v.bias", n(kv * head_dim), Q.F32)
        if arch == "qwen3":
            add(w, p + "attn_q_norm.weight", 1.0 + n(head_dim), Q.F32)
            add(w, p + "attn_k_norm.weight", 1.0 + n(head_dim), Q.F32)
        add(w, p + "attn_output.weight", n(hidden, heads * head_dim), t["o"], rng)
        add(w, p + "ffn_norm.weight", 1.0 + n(hidden), Q.F32)
        add(w, p + "ffn_gate.weight", n(ffn, hidden), t["gate"], rng)
        add(w, p + "ffn_up.weight", n(ffn, hidden), t["up"], rng)
        add(w, p + "ffn_down.weight", n(hidden, ffn), t["down"], rng)
    add(w, "output_norm.weight", 1.0 + n(hidden), Q.F32)
    if untied:
        add(w, "output.weight", n(vocab, hidden), Q.Q8_0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def mlx_manifest(oracle, hf_dir, extra, out_json):
    with tempfile.TemporaryDirectory() as d:
        dst = os.path.join(d, "mlx")
        subprocess.run([oracle, "-m", "mlx_lm", "convert", "--hf-path", hf_dir, "--mlx-path", dst, *extra],
                       check=True, stdout=subprocess.DEVNULL)
        m = manifest.describe(dst)
    with open(out_json, "w") as f:
        json.dump(m, f, indent=1, sort_keys=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--oracle", help="python with mlx-lm, for the mlx_lm.convert manifests")
    args = ap.parse_args()
    g_tokens, g_types, g_merges = gpt2_vocab()
    gpt2 = {"model": "gpt2", "tokens": g_tokens, "types": g_types, "merges": g_merges, "pre": "smollm"}
    s_tokens, s_types, s_scores = spm_vocab()
    spm = {"model": "llama", "tokens": s_tokens, "types": s_types, "scores": s_scores}
    layer_a = dict(q=Q.Q4_1, k=Q.Q8_0, v=Q.Q5_0, o=Q.Q4_0, gate=Q.Q5_1, up=Q.F16, down=Q.Q4_K)
    layer_b = dict(q=Q.Q8_0, k=Q.Q4_1, v=Q.BF16, o=Q.Q8_0, gate=Q.Q4_0, up=Q.Q5_0, down=Q.Q6_K)
    fixtures = {
        "tiny-llama": dict(arch="llama", layers=2, hidden=64, heads=4, kv=2, ffn=256, tok=gpt2,
                           types_plan={"embed": Q.Q8_0, "layers": [layer_a, layer_b]}),
        "tiny-qwen2": dict(arch="qwen2", layers=1, hidden=64, heads=4, kv=2, ffn=128,
                           tok=dict(gpt2, pre="qwen2"), untied=True, biases=True, seed=1,
                           types_plan={"embed": Q.F16, "layers": [dict(layer_b, down=Q.Q8_0, v=Q.Q8_0)]}),
        "tiny-qwen3": dict(arch="qwen3", layers=1, hidden=64, heads=4, kv=2, ffn=128, head_dim=32,
                           tok=dict(gpt2, pre="qwen2"), seed=3,
                           types_plan={"embed": Q.Q8_0, "layers": [dict(layer_b, down=Q.Q8_0)]}),
        "tiny-llama-spm": dict(arch="llama", layers=1, hidden=64, heads=2, kv=2, ffn=128, tok=spm, seed=2,
                               types_plan={"embed": Q.F16, "layers": [dict(layer_a, down=Q.Q8_0)]}),
    }
    for name, spec in fixtures.items():
        path = os.path.join(OUT, name + ".gguf")
        write(path, **spec)
        exp = os.path.join(OUT, "expected", name)
        os.makedirs(exp, exist_ok=True)
        with tempfile.TemporaryDirectory() as d:
            hf = os.path.join(d, "hf")
            if spec["tok"]["model"] == "gpt2":
                subprocess.run([sys.executable, os.path.join(HERE, "gguf_to_hf.py"), path, hf], check=True,
                               stdout=subprocess.DEVNULL)
                with open(os.path.join(exp, "hf.json"), "w") as f:
                    json.dump(manifest.describe(hf), f, indent=1, sort_keys=True)
                for fn in ("tokenizer.json", "tokenizer_config.json", "generation_config.json"):
                    shutil.copy(os.path.join(hf, fn), os.path.join(exp, fn))
                if args.oracle:
                    mlx_manifest(args.oracle, hf, [], os.path.join(exp, "mlx_plain.json"))
                    mlx_manifest(args.oracle, hf, ["-q"], os.path.join(exp, "mlx_q4.json"))
            else:
                # transformers' GGUF tokenizer converter, fed the metadata directly (its own GGUF
                # reader needs torch).
                from transformers.integrations.gguf.gguf_tokenizer_mapping import convert_gguf_tokenizer
                tok = spec["tok"]
                tok_dict = {"tokenizer_type": "llama", "tokens": tok["tokens"], "scores": tok["scores"],
                            "token_type": tok["types"], "bos_token_id": 1, "eos_token_id": 2, "unk_token_id": 0}
                backend, _ = convert_gguf_tokenizer(spec["arch"], tok_dict)
                texts = ["the cab", " abc the", "thé\ncab  a", "<s>ab</s>", "xyz 123"]
                ids = {t: backend.encode(t, add_special_tokens=False).ids for t in texts}
                with open(os.path.join(exp, "tokens.json"), "w") as f:
                    json.dump(ids, f, indent=1, ensure_ascii=False)
        print(f"wrote {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
