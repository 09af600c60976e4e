#!/usr/bin/env python3
"""Tiny pre-quantized Hugging Face checkpoints (AWQ, GPTQ, compressed-tensors, ...) and what mlx-lm 0.32.2 makes of them.

Run with the oracle python (mlx 0.32.4, mlx-lm 0.32.2):

    PY=/root/.cache/hf2mlx/mlx-oracle/bin/python; $PY tools/gen_prequant_fixtures.py [CASE ...]

Each case writes `tests/fixtures/prequant/CASE/hf/` (config.json with the source's
`quantization_config`, a `model.safetensors` whose packed tensors are random codes in the
source format's layout, the llama fixture's tokenizer), then runs `mlx_lm.convert` with each
variant's flags and records the output with `tools/manifest.py describe` in
`tests/fixtures/prequant/CASE/expected/VARIANT.json` (or the error mlx-lm raised), which
`tests/prequant_sources.rs` replays. Any int32 is a valid AWQ/GPTQ pack (the unpacking is a
bijection), so codes are random words; scales are small positive floats.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "prequant"
TOKENIZER = ROOT / "tests" / "fixtures" / "models" / "llama" / "hf"

VARIANTS = {
    "plain": [],
    "q4": ["-q"],
    "mxfp4": ["-q", "--q-mode", "mxfp4"],
    "dequantize": ["-d"],
    "bf16": ["--dtype", "bfloat16"],
}

HIDDEN, INTER, VOCAB, LAYERS = 64, 128, 64, 2

LLAMA = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "hidden_size": HIDDEN,
    "intermediate_size": INTER,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "head_dim": 32,
    "num_hidden_layers": LAYERS,
    "vocab_size": VOCAB,
    "rms_norm_eps": 1e-6,
    "rope_theta": 10000.0,
    "max_position_embeddings": 256,
    "tie_word_embeddings": False,
    "hidden_act": "silu",
}


def llama_linears() -> list[tuple[str, int, int]]:
    """(prefix, out_features, in_features) of every linear layer in the decoder layers."""
    out = []
    for l in range(LAYERS):
        p = f"model.layers.{l}"
        out += [
            (f"{p}.self_attn.q_proj", 64, HIDDEN),
            (f"{p}.self_attn.k_proj", 32, HIDDEN),
            (f"{p}.self_attn.v_proj", 32, HIDDEN),
            (f"{p}.self_attn.o_proj", HIDDEN, 64),
            (f"{p}.mlp.gate_proj", INTER, HIDDEN),
            (f"{p}.mlp.up_proj", INTER, HIDDEN),
            (f"{p}.mlp.down_proj", HIDDEN, INTER),
        ]
    return out


def llama_floats() -> list[tuple[str, list[int]]]:
    t = [("model.embed_tokens.weight", [VOCAB, HIDDEN]), ("lm_head.weight", [VOCAB, HIDDEN]),
         ("model.norm.weight", [HIDDEN])]
    for l in range(LAYERS):
        t += [(f"model.layers.{l}.input_layernorm.weight", [HIDDEN]),
              (f"model.layers.{l}.post_attention_layernorm.weight", [HIDDEN])]
    return t


def bf16(x: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bits (round to nearest even)."""
    u = x.astype(np.float32).view(np.uint32)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype("<u2")


def stored(x: np.ndarray, dtype: str) -> bytes:
    if dtype == "BF16":
        return bf16(x).tobytes()
    if dtype == "F16":
        return x.astype("<f2").tobytes()
    if dtype == "F32":
        return x.astype("<f4").tobytes()
    return x.tobytes()  # integer / raw byte tensors are given in their final numpy dtype


def write_safetensors(path: Path, tensors: dict[str, tuple[str, np.ndarray]]) -> None:
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        dtype, x = tensors[name]
        data = stored(x, dtype)
        header[name] = {"dtype": dtype, "shape": list(x.shape),
                        "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def awq(rng, *, zeros: bool, float_dtype: str, gidx: bool = False):
    """AutoAWQ GEMM layout: qweight int32 [in, out/8] (nibbles in AWQ's interleaved order),
    qzeros int32 [in/G, out/8], scales f16 [in/G, out]."""
    g = 32
    t = {}
    for name, shape in llama_floats():
        t[name] = (float_dtype, rng.normal(0, 0.02, shape))
    for p, out, inp in llama_linears():
        t[f"{p}.qweight"] = ("I32", rng.integers(-2**31, 2**31, (inp, out // 8), dtype=np.int64)
                             .astype("<i4"))
        if zeros:
            t[f"{p}.qzeros"] = ("I32", rng.integers(-2**31, 2**31, (inp // g, out // 8),
                                                    dtype=np.int64).astype("<i4"))
        t[f"{p}.scales"] = ("F16", rng.uniform(0.001, 0.01, (inp // g, out)))
        if gidx:
            t[f"{p}.g_idx"] = ("I32", (np.arange(inp) // g).astype("<i4"))
    return t


def gpt_oss(rng):
    """The released gpt-oss layout: attention, router, norms and embeddings bfloat16; experts
    mxfp4 as `*_blocks` uint8 [E, out, in/32, 16] (random codes) with E8M0 `*_scales` uint8
    [E, out, in/32] and bfloat16 `*_bias` [E, out]; `gate_up_proj` interleaves gate and up rows."""
    E, H, I, heads, kv, hd = 4, 64, 64, 2, 1, 32
    config = {
        "architectures": ["GptOssForCausalLM"], "model_type": "gpt_oss",
        "hidden_size": H, "intermediate_size": I, "num_local_experts": E,
        "num_experts_per_tok": 2, "experts_per_token": 2, "num_attention_heads": heads,
        "num_key_value_heads": kv, "head_dim": hd, "num_hidden_layers": LAYERS,
        "vocab_size": VOCAB, "rms_norm_eps": 1e-5, "rope_theta": 150000,
        "sliding_window": 128, "layer_types": ["sliding_attention", "full_attention"],
        "tie_word_embeddings": False, "torch_dtype": "bfloat16",
        "quantization_config": {"quant_method": "mxfp4", "modules_to_not_convert": [
            "model.layers.*.self_attn", "model.layers.*.mlp.router", "model.embed_tokens",
            "lm_head"]},
    }
    f = lambda *shape: ("BF16", rng.normal(0, 0.02, shape))
    t = {"model.embed_tokens.weight": f(VOCAB, H), "lm_head.weight": f(VOCAB, H),
         "model.norm.weight": f(H)}
    for l in range(LAYERS):
        p = f"model.layers.{l}"
        t[f"{p}.input_layernorm.weight"] = f(H)
        t[f"{p}.post_attention_layernorm.weight"] = f(H)
        t[f"{p}.self_attn.sinks"] = f(heads)
        for n, o, i in [("q_proj", heads * hd, H), ("k_proj", kv * hd, H),
                        ("v_proj", kv * hd, H), ("o_proj", H, heads * hd)]:
            t[f"{p}.self_attn.{n}.weight"] = f(o, i)
            t[f"{p}.self_attn.{n}.bias"] = f(o)
        t[f"{p}.mlp.router.weight"] = f(E, H)
        t[f"{p}.mlp.router.bias"] = f(E)
        for n, o, i in [("gate_up_proj", 2 * I, H), ("down_proj", H, I)]:
            e = f"{p}.mlp.experts.{n}"
            t[f"{e}_blocks"] = ("U8", rng.integers(0, 256, (E, o, i // 32, 16), dtype=np.uint8))
            t[f"{e}_scales"] = ("U8", rng.integers(118, 128, (E, o, i // 32), dtype=np.uint8))
            t[f"{e}_bias"] = f(E, o)
    return config, t


def deepseek_v3_compressed(rng, fmt: str = "pack-quantized"):
    """A tiny deepseek_v3 (the arch survey's case) as compressed-tensors exports it: the MLP
    linears (routed and shared experts, the dense layer) packed, the rest bfloat16. int4
    (`pack-quantized`): `weight_packed` int32 [out, in/8] (random words: every word is eight
    valid codes), `weight_scale` bfloat16 [out, in/32]; nvfp4: `weight_packed` uint8 [out, in/2],
    `weight_scale` F8_E4M3 [out, in/16], `weight_global_scale` float32 [1]; `weight_shape`
    int64 [2] for both."""
    survey = json.loads((ROOT / "tests" / "fixtures" / "arch_survey" / "deepseek_v3.json")
                        .read_text())
    config = dict(survey["config"], torch_dtype="bfloat16", architectures=[
        "DeepseekV3ForCausalLM"], tie_word_embeddings=False, quantization_config={
        "quant_method": "compressed-tensors", "format": fmt,
        "config_groups": {"group_0": {"targets": ["Linear"], "weights": {
            "num_bits": 4, "type": "int" if fmt == "pack-quantized" else "float",
            "symmetric": True, "strategy": "group",
            "group_size": 32 if fmt == "pack-quantized" else 16}}},
        "ignore": ["lm_head", "re:.*self_attn.*", "re:.*mlp.gate$"]})
    t = {}
    for name, shape in survey["inputs"]:
        packed = ".mlp." in name and name.endswith("_proj.weight")
        if not packed:
            dtype = "F32" if name.endswith("e_score_correction_bias") else "BF16"
            t[name] = (dtype, rng.normal(0, 0.02, shape))
            continue
        base = name[: -len("weight")]
        out, inp = shape
        t[base + "weight_shape"] = ("I64", np.array([out, inp], dtype="<i8"))
        if fmt == "pack-quantized":
            t[base + "weight_packed"] = ("I32", rng.integers(-2**31, 2**31, (out, inp // 8),
                                                             dtype=np.int64).astype("<i4"))
            t[base + "weight_scale"] = ("BF16", rng.uniform(0.001, 0.01, (out, inp // 32)))
        else:
            t[base + "weight_packed"] = ("U8", rng.integers(0, 256, (out, inp // 2),
                                                            dtype=np.uint8))
            codes = rng.integers(0x30, 0x40, (out, inp // 16), dtype=np.uint8)
            t[base + "weight_scale"] = ("F8_E4M3", codes)
            t[base + "weight_global_scale"] = ("F32", np.array([0.5]))
    return config, t


def llama_compressed(rng):
    """Llama with compressed-tensors int4 linears: its mlx-lm sanitize has no remap."""
    config = dict(LLAMA, torch_dtype="bfloat16", quantization_config={
        "quant_method": "compressed-tensors", "format": "pack-quantized"})
    t = {n: ("BF16", rng.normal(0, 0.02, s)) for n, s in llama_floats()}
    for p, out, inp in llama_linears():
        t[f"{p}.weight_shape"] = ("I64", np.array([out, inp], dtype="<i8"))
        t[f"{p}.weight_packed"] = ("I32", rng.integers(-2**31, 2**31, (out, inp // 8),
                                                       dtype=np.int64).astype("<i4"))
        t[f"{p}.weight_scale"] = ("BF16", rng.uniform(0.001, 0.01, (out, inp // 32)))
    return config, t


def llama_modelopt_nvfp4(rng):
    """A ModelOpt NVFP4 export of llama: `weight` uint8 [out, in/2] (two e2m1 codes a byte),
    `weight_scale` F8_E4M3 [out, in/16], `weight_scale_2` and `input_scale` float32 scalars."""
    config = dict(LLAMA, torch_dtype="bfloat16", quantization_config={
        "quant_method": "modelopt", "quant_algo": "NVFP4", "group_size": 16})
    t = {n: ("BF16", rng.normal(0, 0.02, s)) for n, s in llama_floats()}
    for p, out, inp in llama_linears():
        t[f"{p}.weight"] = ("U8", rng.integers(0, 256, (out, inp // 2), dtype=np.uint8))
        t[f"{p}.weight_scale"] = ("F8_E4M3", rng.integers(0x30, 0x40, (out, inp // 16),
                                                          dtype=np.uint8))
        t[f"{p}.weight_scale_2"] = ("F32", np.array(0.01, dtype=np.float32))
        t[f"{p}.input_scale"] = ("F32", np.array(0.02, dtype=np.float32))
    return config, t


def survey(case: str) -> dict:
    return json.loads((ROOT / "tests" / "fixtures" / "arch_survey" / f"{case}.json").read_text())


def muse_spark_modelopt(rng):
    """Muse Spark as its NVFP4 release is exported by ModelOpt: every layer's fused experts
    packed (`mlp.experts.gate_up_proj` uint8 [E, 2I, H/2], `gate_up_proj_weight_scale` F8_E4M3
    [E, 2I, H/16], `gate_up_proj_weight_scale_2` float32 [E, 2] (gate half, up half),
    `down_proj` likewise with a `[E]` `weight_scale_2`, activation `*_input_scale`s), the rest
    bfloat16 (the fixed gates and routers float32)."""
    sv = survey("muse_spark")
    config = dict(sv["config"], torch_dtype="bfloat16", architectures=[
        "MuseSparkForConditionalGeneration"], quantization_config={
        "quant_method": "modelopt", "quant_algo": "NVFP4", "group_size": 16})
    t = {}
    for name, shape in sv["inputs"]:
        if name.endswith((".mlp.experts.gate_up_proj", ".mlp.experts.down_proj")):
            e, out, inp = shape
            n = 2 if name.endswith("gate_up_proj") else 1
            t[name] = ("U8", rng.integers(0, 256, (e, out, inp // 2), dtype=np.uint8))
            t[name + "_weight_scale"] = ("F8_E4M3", rng.integers(0x30, 0x40, (e, out, inp // 16),
                                                                 dtype=np.uint8))
            scale2 = rng.uniform(0.001, 0.01, (e, n) if n == 2 else (e,))
            t[name + "_weight_scale_2"] = ("F32", scale2.astype(np.float32))
            t[name + "_input_scale"] = ("F32", np.full((e,), 0.02, dtype=np.float32))
        else:
            dtype = "F32" if name.endswith((".gate", "e_score_correction_bias")) else "BF16"
            t[name] = (dtype, rng.normal(0, 0.02, shape))
    return config, t


def kimi_k3_compressed(rng, fmt: str = "mxfp4-pack-quantized"):
    """Kimi K3 with compressed-tensors packed routed experts (`weight_packed` uint8 [out, in/2],
    `weight_scale` E8M0 bytes [out, in/32] for mxfp4), the rest bfloat16."""
    sv = survey("kimi_k3")
    config = dict(sv["config"], torch_dtype="bfloat16", quantization_config={
        "quant_method": "compressed-tensors", "format": fmt,
        "config_groups": {"group_0": {"targets": ["Linear"], "weights": {
            "num_bits": 4, "type": "float", "symmetric": True, "strategy": "group",
            "group_size": 32}}},
        "ignore": ["lm_head", "re:.*self_attn.*", "re:.*shared_experts.*"]})
    t = {}
    for name, shape in sv["inputs"]:
        if ".block_sparse_moe.experts." in name:
            base = name[: -len("weight")]
            out, inp = shape
            t[base + "weight_packed"] = ("U8", rng.integers(0, 256, (out, inp // 2),
                                                            dtype=np.uint8))
            t[base + "weight_scale"] = ("U8", rng.integers(118, 126, (out, inp // 32),
                                                           dtype=np.uint8))
        else:
            dtype = "F32" if name.endswith("e_score_correction_bias") else "BF16"
            t[name] = (dtype, rng.normal(0, 0.02, shape))
    return config, t


def llama_fp8_ue8m0(rng):
    """fp8 with power-of-two (ue8m0) scales over 32x32 blocks, which mlx-lm's loader calls mxfp8:
    `weight` F8_E4M3, `weight_scale_inv` float32 [out/32, in/32]."""
    config = dict(LLAMA, torch_dtype="bfloat16", quantization_config={
        "quant_method": "fp8", "fmt": "e4m3", "scale_fmt": "ue8m0",
        "weight_block_size": [32, 32], "activation_scheme": "dynamic"})
    t = {n: ("BF16", rng.normal(0, 0.02, s)) for n, s in llama_floats()}
    for p, out, inp in llama_linears():
        c = rng.integers(0, 256, (out, inp), dtype=np.uint8)
        c[(c & 0x7F) == 0x7F] = 0
        t[f"{p}.weight"] = ("F8_E4M3", c)
        t[f"{p}.weight_scale_inv"] = ("F32", 2.0 ** rng.integers(-10, -4, (out // 32, inp // 32)))
    return config, t


def minimax_m3_vl(rng, mxfp8: bool = True):
    """A tiny MiniMax-M3 (`minimax_m3_vl`) in the published layout: the text model under
    `language_model.`, vision tower and projectors beside it, per-expert `w1`/`w2`/`w3`, the dense
    layer's MLP under `block_sparse_moe`, sparse index heads on layer 1. mxfp8: every linear
    layer but the router is e4m3 codes `weight` F8_E4M3 [out, in] with one E8M0 exponent per 32
    values `weight_scale_inv` F8_E8M0 [out, in/32]; router and `e_score_correction_bias`
    float32, the rest bfloat16. Without mxfp8, every linear layer is bfloat16."""
    H, I, DI, SI, E, heads, kv, hd = 64, 32, 64, 32, 4, 2, 1, 32
    text = {
        "model_type": "minimax_m3", "hidden_size": H, "intermediate_size": I,
        "dense_intermediate_size": DI, "shared_intermediate_size": SI,
        "num_attention_heads": heads, "num_key_value_heads": kv, "head_dim": hd,
        "num_hidden_layers": LAYERS, "num_local_experts": E, "num_experts_per_tok": 2,
        "vocab_size": VOCAB, "rms_norm_eps": 1e-6, "max_position_embeddings": 256,
        "rope_parameters": {"rope_theta": 5000000.0, "partial_rotary_factor": 0.5},
        "tie_word_embeddings": False, "moe_layer_freq": [0, 1],
        "sparse_attention_config": {
            "sparse_num_index_heads": heads, "sparse_index_dim": hd, "sparse_block_size": 16,
            "sparse_topk_blocks": 2, "sparse_local_block": 1, "sparse_attention_freq": [0, 1]},
    }
    config = {"architectures": ["MiniMaxM3ForConditionalGeneration"],
              "model_type": "minimax_m3_vl", "text_config": text, "torch_dtype": "bfloat16"}
    if mxfp8:
        config["quantization_config"] = {"quant_method": "mxfp8", "modules_to_not_convert": [
            "lm_head", "embed_tokens", "block_sparse_moe.gate", "vision_tower",
            "multi_modal_projector", "patch_merge_mlp"]}
    f = lambda *shape: ("BF16", rng.normal(0, 0.02, shape))
    t = {}

    def linear(name: str, out: int, inp: int) -> None:
        if not mxfp8:
            t[f"{name}.weight"] = f(out, inp)
            return
        c = rng.integers(0, 256, (out, inp), dtype=np.uint8)
        c[(c & 0x7F) == 0x7F] = 0
        t[f"{name}.weight"] = ("F8_E4M3", c)
        t[f"{name}.weight_scale_inv"] = ("F8_E8M0", rng.integers(118, 128, (out, inp // 32),
                                                                 dtype=np.uint8))

    lm = "language_model"
    t[f"{lm}.model.embed_tokens.weight"] = f(VOCAB, H)
    t[f"{lm}.lm_head.weight"] = f(VOCAB, H)
    t[f"{lm}.model.norm.weight"] = f(H)
    for l in range(LAYERS):
        p = f"{lm}.model.layers.{l}"
        t[f"{p}.input_layernorm.weight"] = f(H)
        t[f"{p}.post_attention_layernorm.weight"] = f(H)
        a = f"{p}.self_attn"
        linear(f"{a}.q_proj", heads * hd, H)
        linear(f"{a}.k_proj", kv * hd, H)
        linear(f"{a}.v_proj", kv * hd, H)
        linear(f"{a}.o_proj", H, heads * hd)
        t[f"{a}.q_norm.weight"] = f(hd)
        t[f"{a}.k_norm.weight"] = f(hd)
        moe = f"{p}.block_sparse_moe"
        if l == 0:  # dense layer, MLP stored under block_sparse_moe
            linear(f"{moe}.gate_proj", DI, H)
            linear(f"{moe}.up_proj", DI, H)
            linear(f"{moe}.down_proj", H, DI)
            continue
        linear(f"{a}.index_q_proj", heads * hd, H)
        linear(f"{a}.index_k_proj", hd, H)
        t[f"{a}.index_q_norm.weight"] = f(hd)
        t[f"{a}.index_k_norm.weight"] = f(hd)
        t[f"{moe}.gate.weight"] = ("F32", rng.normal(0, 0.02, (E, H)))
        t[f"{moe}.e_score_correction_bias"] = ("F32", rng.normal(0, 0.02, (E,)))
        for e in range(E):
            linear(f"{moe}.experts.{e}.w1", I, H)
            linear(f"{moe}.experts.{e}.w2", H, I)
            linear(f"{moe}.experts.{e}.w3", I, H)
        linear(f"{moe}.shared_experts.gate_proj", SI, H)
        linear(f"{moe}.shared_experts.up_proj", SI, H)
        linear(f"{moe}.shared_experts.down_proj", H, SI)
    t["vision_tower.patch_embed.proj.weight"] = f(32, 3 * 4 * 4)
    t["multi_modal_projector.linear_1.weight"] = f(H, 32)
    t["patch_merge_mlp.0.weight"] = f(32, 32)
    return config, t


# deepseek_v41's `_rename`, undone: MLX parameter name -> DeepSeek V4 checkpoint name.
V41_NAMES = [
    (".self_attn.", ".attn."), (".input_layernorm.", ".attn_norm."),
    (".post_attention_layernorm.", ".ffn_norm."), (".attn_hc.", ".hc_attn_"),
    (".ffn_hc.", ".hc_ffn_"), (".sinks", ".attn_sink"), (".q_a_proj.", ".wq_a."),
    (".q_b_proj.", ".wq_b."), (".kv_proj.", ".wkv."), (".shared_experts.gate_proj.",
    ".shared_experts.w1."), (".shared_experts.down_proj.", ".shared_experts.w2."),
    (".shared_experts.up_proj.", ".shared_experts.w3."), (".gate_proj.", ".wgate."),
    (".o_a_proj.", ".wo_a."), (".o_b_proj.", ".wo_b."), (".q_a_norm.", ".q_norm."),
    (".compressor.kv_norm.", ".compressor.norm."), (".indexer.k_proj.", ".indexer.wk."),
    (".gate.e_score_correction_bias", ".gate.bias"), (".mlp.", ".ffn."),
]


def deepseek_v41(rng):
    """A tiny DeepSeek V4 (`deepseek_v41`) in the reference checkpoint's layout (`embed`, `head`,
    `layers.N.attn.wq_a`, `layers.N.ffn.experts.E.w1`, `hc_attn_fn`, ...; names from undoing
    the module's `_rename` on the parameters of the mlx-lm model built from the config), with
    an `mtp.` layer, a vision `bias_vl` and a vision tower the text model drops. Attention and
    shared-expert linears are fp8: `weight` F8_E4M3 [out, in] with float32 power-of-two
    `scale` [out/32, in/32] (one per 32x32 tile); routed experts are fp4: `weight` I8
    [out, in/2] (two e2m1 codes a byte) with `scale` F8_E8M0 [out, in/32]. The loader reads the
    `fp8`/ue8m0/32x32 config as mxfp8."""
    import mlx.core as mx
    from mlx.utils import tree_flatten
    from mlx_lm.models import deepseek_v41 as m

    config = {
        "architectures": ["DeepseekV4ForCausalLM"], "model_type": "deepseek_v41",
        "vocab_size": VOCAB, "hidden_size": 64, "num_hidden_layers": LAYERS,
        "num_attention_heads": 2, "head_dim": 64, "q_lora_rank": 32, "qk_rope_head_dim": 16,
        "o_groups": 2, "o_lora_rank": 32, "moe_intermediate_size": 32, "n_routed_experts": 4,
        "num_experts_per_tok": 2, "hc_mult": 2, "compress_ratios": [1, 4],
        "kv_source_layer_ids": [0, 1], "index_source_layer_ids": [1], "index_n_heads": 2,
        "index_head_dim": 32, "sliding_window": 16, "torch_dtype": "bfloat16",
        "quantization_config": {"quant_method": "fp8", "fmt": "e4m3", "scale_fmt": "ue8m0",
                                "weight_block_size": [32, 32], "activation_scheme": "dynamic"},
    }
    model = m.Model(m.ModelArgs.from_dict(dict(config)))
    t = {}
    for name, v in tree_flatten(model.parameters()):
        shape = list(v.shape)
        if name == "lm_head.weight":
            key = "head.weight"
        elif name == "model.embed_tokens.weight":
            key = "embed.weight"
        else:
            key = name.removeprefix("model.")
            for mlx_name, ds_name in V41_NAMES:
                key = key.replace(mlx_name, ds_name)
        if ".o_a_proj." in name:  # stored 2-D: the block-diagonal groups one after another
            shape = [shape[0] * shape[1], shape[2]]
        fp32 = any(s in key for s in ("hc_", "attn_sink", "gate.bias", "compressor."))
        if ".experts.switch_mlp." in name:
            proj = {"gate_proj": "w1", "down_proj": "w2", "up_proj": "w3"}[name.split(".")[-2]]
            E, out, inp = shape
            base = key.split(".experts.")[0]
            for e in range(E):
                k = f"{base}.experts.{e}.{proj}"
                t[f"{k}.weight"] = ("I8", rng.integers(-128, 128, (out, inp // 2), dtype=np.int8))
                t[f"{k}.scale"] = ("F8_E8M0", rng.integers(118, 128, (out, inp // 32),
                                                           dtype=np.uint8))
        elif key.endswith(".weight") and len(shape) == 2 and (
                ".attn.w" in key and ".compressor." not in key or ".shared_experts." in key):
            out, inp = shape
            c = rng.integers(0, 256, (out, inp), dtype=np.uint8)
            c[(c & 0x7F) == 0x7F] = 0
            t[key] = ("F8_E4M3", c)
            t[key.removesuffix("weight") + "scale"] = (
                "F32", 2.0 ** rng.integers(-10, -4, (-(-out // 32), inp // 32)))
        else:
            t[key] = ("F32" if fp32 else "BF16", rng.normal(0, 0.02, shape))
    t["layers.0.ffn.gate.bias_vl"] = ("F32", rng.normal(0, 0.02, (4,)))
    t["mtp.0.attn_norm.weight"] = ("BF16", rng.normal(0, 0.02, (64,)))
    t["vision.patch_embed.weight"] = ("BF16", rng.normal(0, 0.02, (64, 48)))
    del mx
    return config, t


CASES = {
    # AutoAWQ GEMM, everything float16 like real AWQ exports.
    "awq": lambda rng: (
        dict(LLAMA, torch_dtype="float16", quantization_config={
            "quant_method": "awq", "bits": 4, "group_size": 32, "zero_point": True,
            "version": "gemm"}),
        awq(rng, zeros=True, float_dtype="F16")),
    # GPTQ as mlx-lm treats it (AWQ's layout); no qzeros: symmetric, biases = -8 * scales.
    # Float tensors stored f32 under torch_dtype bfloat16: cast to the scales' float16 first.
    "gptq": lambda rng: (
        dict(LLAMA, torch_dtype="bfloat16", quantization_config={
            "quant_method": "gptq", "bits": 4, "group_size": 32, "desc_act": False}),
        awq(rng, zeros=False, float_dtype="F32")),
    # act-order GPTQ (g_idx): mlx-lm refuses.
    "gptq-gidx": lambda rng: (
        dict(LLAMA, torch_dtype="float16", quantization_config={
            "quant_method": "gptq", "bits": 4, "group_size": 32, "desc_act": True}),
        awq(rng, zeros=True, float_dtype="F16", gidx=True)),
    # gpt-oss as released: mxfp4 experts, kept packed (de-interleaved) by the model's sanitize.
    "gpt_oss-mxfp4": gpt_oss,
    # compressed-tensors int4 (Kimi K2 Thinking style): remapped by deepseek_v3's sanitize.
    "deepseek_v3-compressed": deepseek_v3_compressed,
    # compressed-tensors nvfp4: mlx-lm maps the format, but the sanitize gives the layers
    # affine biases and keeps the global scales, so the strict load fails.
    "deepseek_v3-compressed-nvfp4": lambda rng: deepseek_v3_compressed(rng, "nvfp4-pack-quantized"),
    # compressed-tensors int4 for a model without the remap: mlx-lm fails.
    "llama-compressed": llama_compressed,
    # ModelOpt NVFP4 for a model whose sanitize does not map it: mlx-lm fails.
    "llama-modelopt-nvfp4": llama_modelopt_nvfp4,
    # ue8m0 32x32 fp8 (mxfp8 to the loader) for a model whose sanitize does not map it.
    "llama-fp8-ue8m0": llama_fp8_ue8m0,
    # MiniMax-M3 as published: mxfp8 linears kept packed by the model's sanitize.
    "minimax_m3_vl-mxfp8": minimax_m3_vl,
    # The same model with bfloat16 linears (a dequantized re-save).
    "minimax_m3_vl-bf16": lambda rng: minimax_m3_vl(rng, mxfp8=False),
    # Muse Spark's NVFP4 release: ModelOpt experts mapped onto nvfp4 layers by its sanitize.
    "muse_spark-modelopt": muse_spark_modelopt,
    # Kimi K3 with compressed-tensors mxfp4 experts, stacked packed by its sanitize.
    "kimi_k3-compressed-mxfp4": kimi_k3_compressed,
    # DeepSeek V4 as published: fp8 (32x32 ue8m0 tiles) and fp4 experts kept packed.
    "deepseek_v41-fp8": deepseek_v41,
}

# Variants mlx-lm cannot run on a case (`-d` needs a quantized model).
SKIP = {"minimax_m3_vl-bf16": {"dequantize"}}


def make(case: str) -> None:
    out = OUT / case
    if out.exists():
        shutil.rmtree(out)
    hf = out / "hf"
    hf.mkdir(parents=True)
    rng = np.random.default_rng(zlib.crc32(case.encode()))
    config, tensors = CASES[case](rng)
    (hf / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    write_safetensors(hf / "model.safetensors", tensors)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(TOKENIZER / f, hf / f)
    expected = out / "expected"
    expected.mkdir()
    for variant, flags in VARIANTS.items():
        if variant in SKIP.get(case, ()):
            continue
        command = " ".join(["mlx_lm.convert", *flags])
        with tempfile.TemporaryDirectory() as tmp:
            dst = Path(tmp) / "out"
            r = subprocess.run(
                [sys.executable, "-m", "mlx_lm", "convert", "--hf-path", str(hf), "--mlx-path",
                 str(dst), *flags],
                capture_output=True, text=True,
            )
            if r.returncode != 0:
                last = [l for l in r.stderr.strip().splitlines() if l.strip()][-1:]
                manifest = {"command": command, "error": last}
            else:
                d = subprocess.run(
                    [sys.executable, str(ROOT / "tools" / "manifest.py"), "describe", str(dst)],
                    capture_output=True, text=True, check=True,
                )
                manifest = dict(command=command, **json.loads(d.stdout))
        (expected / f"{variant}.json").write_text(json.dumps(manifest, indent=1) + "\n")
        print(f"{case}: {variant}: {'error ' + str(manifest['error']) if 'error' in manifest else 'ok'}")


if __name__ == "__main__":
    for c in sys.argv[1:] or list(CASES):
        make(c)
