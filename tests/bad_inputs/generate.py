#!/usr/bin/env python3
"""Generates the bad-input corpus: small malformed checkpoints in tests/fixtures/bad_inputs/<case>/
and cases.json, the expected outcome of each (error kind, exit code, text the message must
contain). tests/bad_inputs.rs runs the hf2mlx binary on every case.

Standard library only. Deterministic: rerunning rewrites identical files.
    python3 tests/bad_inputs/generate.py
"""
import json
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, "..", "fixtures", "bad_inputs"))

# A tiny, valid Llama: 1 layer, hidden 16, 2 heads of 8, 1 kv head, vocab 16.
CONFIG = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "hidden_size": 16,
    "intermediate_size": 32,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "head_dim": 8,
    "num_hidden_layers": 1,
    "vocab_size": 16,
    "rms_norm_eps": 1e-06,
    "rope_theta": 10000.0,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
}
TENSORS = [
    ("model.embed_tokens.weight", [16, 16]),
    ("model.layers.0.input_layernorm.weight", [16]),
    ("model.layers.0.self_attn.q_proj.weight", [16, 16]),
    ("model.layers.0.self_attn.k_proj.weight", [8, 16]),
    ("model.layers.0.self_attn.v_proj.weight", [8, 16]),
    ("model.layers.0.self_attn.o_proj.weight", [16, 16]),
    ("model.layers.0.post_attention_layernorm.weight", [16]),
    ("model.layers.0.mlp.gate_proj.weight", [32, 16]),
    ("model.layers.0.mlp.up_proj.weight", [32, 16]),
    ("model.layers.0.mlp.down_proj.weight", [16, 32]),
    ("model.norm.weight", [16]),
    ("lm_head.weight", [16, 16]),
]
SIZES = {"BF16": 2, "F16": 2, "F32": 4, "F64": 8, "U8": 1, "I64": 8}
TOKENIZER = b'{"version": "1.0", "model": {"type": "BPE", "vocab": {}, "merges": []}}\n'

CASES = []


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def data_for(n):
    # bf16 0x3f80 = 1.0 everywhere: deterministic and small when compressed by git.
    return b"\x80\x3f" * (n // 2) + b"\x00" * (n % 2)


def st_bytes(tensors, dtype="BF16", header_override=None, data_override=None, metadata=None):
    """tensors: [(name, shape)] or [(name, shape, dtype)]; returns a safetensors file."""
    header, off = {}, 0
    for t in tensors:
        name, shape = t[0], t[1]
        dt = t[2] if len(t) > 2 else dtype
        n = numel(shape) * SIZES[dt]
        header[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + n]}
        off += n
    if metadata is not None:
        header["__metadata__"] = metadata
    h = header_override(header) if header_override else json.dumps(header, separators=(",", ":")).encode()
    data = data_override if data_override is not None else data_for(off)
    return struct.pack("<Q", len(h)) + h + data


def case(name, kind, exit_code, needles, files, args=None, links=None):
    """files: {name: bytes | dict (JSON)}; links: {name: target}."""
    d = os.path.join(OUT, name)
    os.makedirs(d)
    for fname, content in files.items():
        if content is None:
            continue
        if isinstance(content, (dict, list)):
            content = (json.dumps(content, indent=2) + "\n").encode()
        elif isinstance(content, str):
            content = content.encode()
        with open(os.path.join(d, fname), "wb") as f:
            f.write(content)
    for fname, target in (links or {}).items():
        os.symlink(target, os.path.join(d, fname))
    CASES.append({"case": name, "kind": kind, "exit": exit_code, "needles": needles, "args": args or []})


def base_files(**over):
    files = {
        "config.json": CONFIG,
        "model.safetensors": st_bytes(TENSORS),
        "tokenizer.json": TOKENIZER,
        "tokenizer_config.json": {"tokenizer_class": "PreTrainedTokenizerFast"},
    }
    files.update(over)
    return files


def cfg(**over):
    c = dict(CONFIG)
    for k, v in over.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return c


def raw_header(text, data=b""):
    h = text.encode() if isinstance(text, str) else text
    return struct.pack("<Q", len(h)) + h + data


def two_shards(split=6):
    return TENSORS[:split], TENSORS[split:]


def generate():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    ST = "model.safetensors"
    Q = "model.layers.0.self_attn.q_proj.weight"

    # The valid base: must convert.
    case("base_ok", "ok", 0, [], base_files())

    # --- safetensors container -------------------------------------------------------------
    case("st_too_short", "safetensors", 3, [ST, "too short"], base_files(**{ST: b"\x01\x02\x03"}))
    case("st_header_len_over_limit", "safetensors", 3, [ST, "exceeds"],
         base_files(**{ST: struct.pack("<Q", 1 << 40) + b"{}"}))
    case("st_header_len_beyond_file", "safetensors", 3, [ST, "beyond the end"],
         base_files(**{ST: struct.pack("<Q", 4096) + b"{}"}))
    case("st_header_not_utf8", "safetensors", 3, [ST, "not UTF-8"],
         base_files(**{ST: raw_header(b'{"a\xff\xfe":1}')}))
    case("st_header_garbage", "safetensors", 3, [ST, "not a JSON object"],
         base_files(**{ST: raw_header("this is not json at all")}))
    case("st_header_not_object", "safetensors", 3, [ST, "not a JSON object"],
         base_files(**{ST: raw_header("[1, 2, 3]")}))
    case("st_header_truncated_json", "safetensors", 3, [ST, "not a JSON object"],
         base_files(**{ST: raw_header('{"model.norm.weight": {"dtype": "BF16", "shape": [16], "data_off')}))
    case("st_header_deeply_nested", "safetensors", 3, [ST, "not a JSON object"],
         base_files(**{ST: raw_header('{"x":' + "[" * 5000 + "]" * 5000 + "}")}))

    def edit(fn):
        def override(header):
            fn(header)
            return json.dumps(header, separators=(",", ":")).encode()
        return override

    def dup_key(header):
        text = json.dumps(header, separators=(",", ":"))
        # Repeat the first entry verbatim: a duplicate key that a map-based parser would hide.
        first = '"model.embed_tokens.weight":' + json.dumps(header["model.embed_tokens.weight"], separators=(",", ":"))
        return text.replace(first, first + "," + first, 1).encode()

    case("st_duplicate_tensor", "safetensors", 3, [ST, "model.embed_tokens.weight", "twice"],
         base_files(**{ST: st_bytes(TENSORS, header_override=dup_key)}))
    case("st_unknown_dtype", "safetensors", 3, [ST, Q, "unknown dtype"],
         base_files(**{ST: st_bytes(TENSORS, header_override=edit(lambda h: h[Q].update(dtype="BF17")))}))
    case("st_missing_dtype", "safetensors", 3, [ST, Q, "missing `dtype`"],
         base_files(**{ST: st_bytes(TENSORS, header_override=edit(lambda h: h[Q].pop("dtype")))}))
    case("st_missing_shape", "safetensors", 3, [ST, Q, "missing `shape`"],
         base_files(**{ST: st_bytes(TENSORS, header_override=edit(lambda h: h[Q].pop("shape")))}))
    case("st_negative_dim", "safetensors", 3, [ST, Q, "non-negative"],
         base_files(**{ST: st_bytes(TENSORS, header_override=edit(lambda h: h[Q].update(shape=[-16, -16])))}))
    case("st_float_dim", "safetensors", 3, [ST, Q, "non-negative integers"],
         base_files(**{ST: st_bytes(TENSORS, header_override=edit(lambda h: h[Q].update(shape=[16.0, 16])))}))
    case("st_offsets_wrong_arity", "safetensors", 3, [ST, Q, "data_offsets"],
         base_files(**{ST: st_bytes(TENSORS, header_override=edit(lambda h: h[Q]["data_offsets"].append(0)))}))
    case("st_offsets_reversed", "safetensors", 3, [ST, Q, "reversed"],
         base_files(**{ST: st_bytes(TENSORS, header_override=edit(lambda h: h[Q].update(data_offsets=h[Q]["data_offsets"][::-1])))}))
    case("st_size_mismatch", "safetensors", 3, [ST, Q, "needs 256 bytes"],
         base_files(**{ST: st_bytes(TENSORS, header_override=edit(lambda h: h[Q].update(shape=[16, 8])))}))
    case("st_shape_overflow", "safetensors", 3, [ST, Q, "overflows"],
         base_files(**{ST: st_bytes(TENSORS, header_override=edit(lambda h: h[Q].update(shape=[2**40, 2**40])))}))

    def overlap(h):
        h["model.layers.0.self_attn.k_proj.weight"]["data_offsets"] = [
            o - 2 for o in h["model.layers.0.self_attn.k_proj.weight"]["data_offsets"]]
    case("st_overlap", "safetensors", 3, [ST, "model.layers.0.self_attn.k_proj.weight", "overlaps"],
         base_files(**{ST: st_bytes(TENSORS, header_override=edit(overlap))}))

    def gap2(h):
        k = "model.layers.0.self_attn.k_proj.weight"
        shift = 2
        names = [t[0] for t in TENSORS]
        for name in names[names.index(k):]:
            h[name]["data_offsets"] = [o + shift for o in h[name]["data_offsets"]]
    total = sum(numel(s) * 2 for _, s in TENSORS)
    case("st_gap", "safetensors", 3, [ST, "model.layers.0.self_attn.k_proj.weight", "gap"],
         base_files(**{ST: st_bytes(TENSORS, header_override=edit(gap2), data_override=data_for(total + 2))}))
    case("st_truncated_data", "safetensors", 3, [ST, "truncated"],
         base_files(**{ST: st_bytes(TENSORS, data_override=data_for(total - 100))}))
    case("st_trailing_bytes", "safetensors", 3, [ST, "trailing bytes"],
         base_files(**{ST: st_bytes(TENSORS, data_override=data_for(total + 64))}))
    case("st_metadata_not_strings", "safetensors", 3, [ST, "__metadata__"],
         base_files(**{ST: st_bytes(TENSORS, metadata={"format": 7})}))
    case("st_entry_not_object", "safetensors", 3, [ST, Q, "not an object"],
         base_files(**{ST: st_bytes(TENSORS, header_override=edit(lambda h: h.update({Q: [1, 2]})))}))
    case("st_empty_tensor_name", "safetensors", 3, [ST, "empty name"],
         base_files(**{ST: st_bytes(TENSORS + [("", [1])])}))
    case("st_no_tensors", "safetensors", 3, [ST, "no tensors"],
         base_files(**{ST: st_bytes([], metadata={"format": "pt"})}))
    case("st_float64_tensor", "safetensors", 3, [ST, "model.norm.weight", "F64"],
         base_files(**{ST: st_bytes([(n, s, "F64") if n == "model.norm.weight" else (n, s) for n, s in TENSORS])}))
    a, b = two_shards()  # model.norm.weight is in b; store it in a as well
    case("st_tensor_in_two_shards", "safetensors", 3,
         ["model-00002-of-00002.safetensors", "model.norm.weight", "model-00001-of-00002.safetensors"],
         base_files(**{ST: None, "model-00001-of-00002.safetensors": st_bytes(a + [("model.norm.weight", [16])]),
                       "model-00002-of-00002.safetensors": st_bytes(b)}))

    # --- config.json --------------------------------------------------------------------------
    case("config_missing", "source", 3, ["config.json"], base_files(**{"config.json": None}))
    case("config_not_utf8", "config", 3, ["config.json", "UTF-8"],
         base_files(**{"config.json": b'{"model_type": "ll\xffama"}'}))
    case("config_garbage", "config", 3, ["config.json", "invalid JSON"],
         base_files(**{"config.json": b"model_type = llama\n"}))
    case("config_not_object", "config", 3, ["config.json", "JSON object"],
         base_files(**{"config.json": b'["llama"]'}))
    case("config_no_model_type", "config", 3, ["config.json", "model_type"],
         base_files(**{"config.json": cfg(model_type=None)}))
    case("config_unknown_model_type", "unsupported_model", 4, ["not_a_model", "llama"],
         base_files(**{"config.json": cfg(model_type="not_a_model")}))
    case("config_prequantized", "source", 3, ["pre-quantized", "gptq"],
         base_files(**{"config.json": cfg(quantization_config={"quant_method": "gptq", "bits": 4})}))

    # --- config contradicting the weights ---------------------------------------------------
    case("mismatch_hidden_size", "config_mismatch", 3, [ST, "model.embed_tokens.weight", "hidden_size = 32"],
         base_files(**{"config.json": cfg(hidden_size=32, head_dim=16)}))
    case("mismatch_vocab_size", "config_mismatch", 3, [ST, "model.embed_tokens.weight", "vocab_size = 32000"],
         base_files(**{"config.json": cfg(vocab_size=32000)}))
    big_head = [(n, [20, 16]) if n == "lm_head.weight" else (n, s) for n, s in TENSORS]
    case("mismatch_lm_head", "config_mismatch", 3, [ST, "lm_head.weight", "vocab_size = 16"],
         base_files(**{ST: st_bytes(big_head)}))
    case("mismatch_attention_heads", "config_mismatch", 3, [ST, Q, "num_attention_heads = 4"],
         base_files(**{"config.json": cfg(num_attention_heads=4, num_key_value_heads=1, head_dim=8)}))
    case("mismatch_kv_heads", "config_mismatch", 3, [ST, "k_proj", "num_key_value_heads = 2"],
         base_files(**{"config.json": cfg(num_key_value_heads=2)}))
    extra_layer = TENSORS + [("model.layers.3.mlp.up_proj.weight", [32, 16])]
    case("mismatch_layer_count", "config_mismatch", 3, [ST, "model.layers.3.mlp.up_proj.weight", "num_hidden_layers = 1"],
         base_files(**{ST: st_bytes(extra_layer)}))

    # --- index ------------------------------------------------------------------------------
    a, b = two_shards()
    shards = {"model-00001-of-00002.safetensors": st_bytes(a), "model-00002-of-00002.safetensors": st_bytes(b)}
    wm = {n: "model-00001-of-00002.safetensors" for n, _ in a}
    wm.update({n: "model-00002-of-00002.safetensors" for n, _ in b})
    IX = "model.safetensors.index.json"

    def index_case(name, kind, needles, index, drop=None):
        files = base_files(**{ST: None}, **shards)
        files[IX] = index
        if drop:
            files[drop] = None
        case(name, kind, 3, needles, files)

    index_case("index_garbage", "config", [IX, "invalid JSON"], b"{weight_map: nope")
    index_case("index_not_utf8", "config", [IX, "UTF-8"], b'{"weight_map": {"\xff": 1}}')
    index_case("index_no_weight_map", "index", [IX, "weight_map"], {"metadata": {}})
    index_case("index_missing_shard", "index", [IX, "model-00002-of-00002.safetensors", "missing"],
               {"metadata": {}, "weight_map": wm}, drop="model-00002-of-00002.safetensors")
    index_case("index_missing_tensor", "index", [IX, "model.layers.0.mlp.extra.weight", "no shard contains it"],
               {"metadata": {}, "weight_map": dict(wm, **{"model.layers.0.mlp.extra.weight": "model-00001-of-00002.safetensors"})})
    index_case("index_wrong_shard", "index", [IX, "lm_head.weight", "model-00001-of-00002.safetensors"],
               {"metadata": {}, "weight_map": dict(wm, **{"lm_head.weight": "model-00001-of-00002.safetensors"})})
    index_case("index_path_escape", "index", [IX, "../base_ok/model.safetensors"],
               {"metadata": {}, "weight_map": dict(wm, **{"lm_head.weight": "../base_ok/model.safetensors"})})
    index_case("index_shard_not_string", "index", [IX, "lm_head.weight"],
               {"metadata": {}, "weight_map": dict(wm, **{"lm_head.weight": 2})})

    # --- folder -----------------------------------------------------------------------------
    case("no_weights", "source", 3, ["no model*.safetensors", "pytorch_model.bin"],
         base_files(**{ST: None, "pytorch_model.bin": b"\x80\x02pickle"}))
    case("no_tokenizer", "source", 3, ["no tokenizer"],
         base_files(**{"tokenizer.json": None, "tokenizer_config.json": None}))
    case("symlink_escape", "unsafe_path", 3, [ST, "symlink", "outside"],
         base_files(**{ST: None}), links={ST: "../base_ok/model.safetensors"})

    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump(CASES, f, indent=1)
        f.write("\n")
    print(f"{len(CASES)} cases in {OUT}")


if __name__ == "__main__":
    generate()
