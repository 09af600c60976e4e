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
}


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
