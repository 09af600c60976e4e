#!/usr/bin/env python3
"""Survey mlx-lm's per-architecture behaviour for hf2mlx's architecture tables.

Run with the oracle python (mlx 0.32.4, mlx-lm 0.32.2):

    $(shared/tools/mlx-oracle.sh) tools/arch_survey.py [CASE_OR_MODULE ...]

For every case below it instantiates mlx-lm's real `Model` from a tiny config, builds the tensor
names a Hugging Face checkpoint of that model has (the model's parameters in HF layout plus what
`sanitize` removes or renames: rotary buffers, tied heads, MTP layers, vision towers, ...), runs
mlx-lm's own `model.sanitize` on dummy arrays of those shapes, checks that the result loads
strictly into the model, and writes `tests/fixtures/arch_survey/<case>.json` with:

- `config`: the config used, `model_type`: what `hf2mlx::arch::find` is asked for;
- `inputs`: `[name, shape]` of the checkpoint tensors;
- `params`: in `tree_flatten(model.parameters())` order (after sanitize, which may change the
  model), `{name, shape, quantizable, predicate, cast}` where `quantizable` says `nn.quantize`
  would quantize that weight (its leaf module has a `to_quantized` that takes `mode`),
  `predicate` is the model's own `quant_predicate` for the layer (`null` = True/absent,
  `"skip"` = False, or the dict), and `cast` is the model's `cast_predicate` for the parameter.

`tests/arch_survey.rs` replays every case through `hf2mlx::arch::apply`.
Pass `--orders` to print, per module, the attribute order the instantiated models imply.
"""

from __future__ import annotations

import copy
import inspect
import json
import struct
import sys
import types
from pathlib import Path

import mlx.core as mx
import numpy as np
import mlx.nn as nn
from mlx.utils import tree_flatten
from mlx_lm.utils import _get_classes

# mlx_lm/models/olmo.py only probes that `hf_olmo` (ai2-olmo) imports, and exits otherwise.
sys.modules.setdefault("hf_olmo", types.ModuleType("hf_olmo"))

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "arch_survey"
FIXTURES = Path("/work/shared/fixtures")

# --------------------------------------------------------------------------------------------
# helpers building checkpoint inputs from the model's own parameter names


def fixture_config(arch: str) -> dict:
    return json.loads((FIXTURES / arch / "hf" / "config.json").read_text())


def fixture_tensors(arch: str) -> list[tuple[str, list[int]]]:
    """Names and shapes of the fixture checkpoint's tensors (safetensors header only)."""
    with open(FIXTURES / arch / "hf" / "model.safetensors", "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    header.pop("__metadata__", None)
    return [(k, v["shape"]) for k, v in header.items()]


def prefixes(params, marker: str) -> list[str]:
    """Distinct `...marker` prefixes of parameter names (e.g. every `model.layers.N.self_attn`)."""
    seen = []
    for name, _ in params:
        i = name.find(marker)
        if i >= 0:
            p = name[: i + len(marker)]
            if p not in seen:
                seen.append(p)
    return seen


def with_extra(*extra_fns):
    """Input builder: the model's parameters as they are, plus extra tensors."""

    def build(params, config):
        out = list(params)
        for fn in extra_fns:
            out += fn(params, config)
        return out

    return build


def inv_freq(marker="self_attn", leaf="rotary_emb.inv_freq"):
    def extra(params, config):
        return [(f"{p}.{leaf}", [8]) for p in prefixes(params, marker)]

    return extra


def lm_head(name="lm_head.weight"):
    """A tied head some checkpoints still carry (the embedding's shape)."""

    def extra(params, config):
        emb = next(s for n, s in params if n.endswith(("embed_tokens.weight", "embedding.weight")))
        return [(name, emb)]

    return extra


def fixed(*tensors):
    def extra(params, config):
        return [(n, list(s)) for n, s in tensors]

    return extra


def renamed(fn, *extra_fns):
    """Input builder: parameter names mapped by `fn` (None drops), plus extras."""

    def build(params, config):
        out = []
        for n, s in params:
            m = fn(n)
            if m is not None:
                out.append((m, s))
        for e in extra_fns:
            out += e(params, config)
        return out

    return build


def replace_prefix(old: str, new: str):
    def fn(name):
        return new + name[len(old):] if name.startswith(old) else name

    return fn


VISION = [
    ("vision_tower.vision_model.embeddings.patch_embedding.weight", [32, 3, 4, 4]),
    ("vision_tower.vision_model.encoder.layers.0.self_attn.q_proj.weight", [32, 32]),
    ("vision_tower.vision_model.post_layernorm.weight", [32]),
    ("multi_modal_projector.linear_1.weight", [64, 32]),
    ("multi_modal_projector.linear_1.bias", [64]),
]


def with_prefix_all(prefix, items):
    return [(prefix + n, s) for n, s in items]


# --------------------------------------------------------------------------------------------
# tiny configs

LLAMA_LIKE = dict(
    hidden_size=64,
    num_hidden_layers=2,
    intermediate_size=128,
    num_attention_heads=4,
    num_key_value_heads=2,
    rms_norm_eps=1e-5,
    vocab_size=256,
    max_position_embeddings=512,
    rope_theta=10000.0,
)


def cfg(model_type, **kw):
    c = dict(LLAMA_LIKE)
    c["model_type"] = model_type
    c.update(kw)
    return c


def llama_text(model_type="llama", **kw):
    return cfg(model_type, **kw)


GEMMA3_TEXT = dict(
    model_type="gemma3_text",
    hidden_size=64,
    num_hidden_layers=2,
    intermediate_size=128,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=16,
    vocab_size=256,
    sliding_window=32,
    sliding_window_pattern=2,
)

LFM2_TEXT = dict(
    model_type="lfm2",
    vocab_size=256,
    hidden_size=64,
    num_hidden_layers=3,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=512,
    norm_eps=1e-5,
    conv_bias=False,
    conv_L_cache=3,
    block_dim=64,
    block_ff_dim=128,
    block_multiple_of=32,
    block_ffn_dim_multiplier=1.0,
    block_auto_adjust_ff_dim=True,
    layer_types=["conv", "full_attention", "conv"],
)

GEMMA3N_TEXT = dict(
    model_type="gemma3n_text",
    hidden_size=64,
    num_hidden_layers=4,
    intermediate_size=[128, 128, 128, 128],
    num_attention_heads=4,
    head_dim=16,
    rms_norm_eps=1e-6,
    vocab_size=256,
    num_key_value_heads=2,
    num_kv_shared_layers=2,
    vocab_size_per_layer_input=128,
    sliding_window=32,
    max_position_embeddings=512,
    rope_local_base_freq=10000.0,
    rope_theta=1000000.0,
    final_logit_softcapping=30.0,
    layer_types=["sliding_attention", "full_attention", "sliding_attention", "full_attention"],
    activation_sparsity_pattern=[0.95, 0.0, 0.0, 0.0],
    hidden_size_per_layer_input=16,
    altup_num_inputs=4,
    altup_coef_clip=120.0,
    altup_correct_scale=True,
    altup_active_idx=0,
    laurel_rank=8,
)

MINISTRAL3_TEXT = dict(
    model_type="ministral3",
    hidden_size=64,
    num_hidden_layers=2,
    intermediate_size=128,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=16,
    rms_norm_eps=1e-5,
    vocab_size=256,
    max_position_embeddings=512,
    rope_parameters=dict(
        rope_type="yarn",
        rope_theta=1000000.0,
        factor=16.0,
        original_max_position_embeddings=256,
        llama_4_scaling_beta=0.1,
        beta_fast=32.0,
        beta_slow=1.0,
        mscale=1.0,
        mscale_all_dim=1.0,
    ),
)

# --------------------------------------------------------------------------------------------
# cases: (case name, config, input builder, model_type asked of hf2mlx [default config's])

CASES = []


def case(name, config, inputs=None, model_type=None):
    CASES.append(dict(name=name, config=config, inputs=inputs or with_extra(), model_type=model_type))


def fixture_case(name, arch, extra=()):
    """A case on a shared fixture: its config and its real checkpoint's names, plus extras."""
    tensors = fixture_tensors(arch)

    def build(params, config):
        out = list(tensors)
        for e in extra:
            out += e(params, config)
        return out

    case(name, fixture_config(arch), build)


# ---- no-op sanitize ------------------------------------------------------------------------

case(
    "afm7",
    dict(model_type="afm7", vocab_size=256, hidden_dim=64, num_layers=3, num_kv_reuse_layers=1,
         num_heads=4, num_kv_heads=2),
)
fixture_case("cohere", "cohere")
case("cohere-qk_norm", cfg("cohere", use_qk_norm=True, layer_norm_eps=1e-5, attention_bias=True))
case("cohere2", cfg("cohere2", head_dim=16, sliding_window=32, sliding_window_pattern=2,
                    layer_norm_eps=1e-5))
fixture_case("ernie4_5", "ernie4_5")
case("ernie4_5-untied", cfg("ernie4_5", head_dim=16, use_bias=True, tie_word_embeddings=False))
case("exaone", dict(model_type="exaone", hidden_size=64, num_layers=2, intermediate_size=128,
                    num_attention_heads=4, vocab_size=256, rope_theta=10000.0,
                    layer_norm_epsilon=1e-5, num_key_value_heads=2, tie_word_embeddings=True))
case("exaone-untied", dict(model_type="exaone", hidden_size=64, num_layers=2,
                           intermediate_size=128, num_attention_heads=4, vocab_size=256,
                           rope_theta=10000.0, layer_norm_epsilon=1e-5, num_key_value_heads=2,
                           tie_word_embeddings=False, attention_bias=True, mlp_bias=True))
for tie in (True, False):
    case(f"exaone4-{'tied' if tie else 'untied'}",
         cfg("exaone4", head_dim=16, tie_word_embeddings=tie, rope_scaling=None,
             sliding_window=32, sliding_window_pattern="LLLG" if tie else None))
fixture_case("gemma", "gemma")
case("gemma2", cfg("gemma2", head_dim=16))
fixture_case("glm4", "glm4")
for tie in (True, False):
    case(f"gpt_bigcode-{'tied' if tie else 'untied'}",
         dict(model_type="gpt_bigcode", n_embd=64, n_layer=2, n_inner=128, n_head=4,
              n_positions=128, layer_norm_epsilon=1e-5, vocab_size=256,
              multi_query=tie, tie_word_embeddings=tie))
fixture_case("helium", "helium")
for tie in (True, False):
    case(f"iquestloopcoder-{'tied' if tie else 'untied'}",
         cfg("iquestloopcoder", head_dim=16, tie_word_embeddings=tie, attention_bias=not tie))
for tie in (True, False):
    case(f"llama4_text-{'tied' if tie else 'untied'}",
         cfg("llama4_text", intermediate_size_mlp=96, head_dim=16, tie_word_embeddings=tie,
             no_rope_layers=[1, 0], use_qk_norm=True))
for tie in (True, False):
    case(f"minicpm3-{'tied' if tie else 'untied'}",
         cfg("minicpm3", dim_model_base=32, q_lora_rank=32, qk_nope_head_dim=8,
             qk_rope_head_dim=8, kv_lora_rank=16, scale_depth=1.4, scale_emb=12,
             tie_word_embeddings=tie, attention_bias=not tie,
             rope_scaling=dict(original_max_position_embeddings=256,
                               short_factor=[1.0] * 4, long_factor=[1.0] * 4)))
case("nanochat", dict(model_type="nanochat", hidden_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=4, vocab_size=256,
                      intermediate_size=256))
fixture_case("nemotron", "nemotron")
case("nemotron-tied", cfg("nemotron", hidden_act="relu2", norm_eps=1e-5,
                          tie_word_embeddings=True, attention_bias=True, mlp_bias=True))
for wt in (False, True):
    case(f"olmo-{'tied' if wt else 'untied'}",
         dict(model_type="olmo", d_model=64, n_layers=2, mlp_hidden_size=256, n_heads=4,
              vocab_size=250, embedding_size=256, weight_tying=wt))
for tie in (True, False):
    case(f"olmo3-{'tied' if tie else 'untied'}",
         cfg("olmo3", sliding_window=32, tie_word_embeddings=tie, attention_bias=not tie,
             num_hidden_layers=4,
             head_dim=16))
for share in (True, False):
    case(f"openelm-{'shared' if share else 'unshared'}",
         dict(model_type="openelm", head_dim=16, num_transformer_layers=2, model_dim=64,
              vocab_size=256, ffn_dim_divisor=32, num_query_heads=[4, 4], num_kv_heads=[2, 1],
              ffn_multipliers=[0.5, 1.0], normalize_qk_projections=share,
              share_input_output_layers=share))
fixture_case("phi", "phi")
fixture_case("phi3", "phi3")
case("phi3-tied", cfg("phi3", tie_word_embeddings=True))
case("plamo", cfg("plamo", n_shared_head=2))
case("qwen", dict(model_type="qwen", hidden_size=64, num_attention_heads=4, num_hidden_layers=2,
                  kv_channels=16, max_position_embeddings=512, intermediate_size=256,
                  no_bias=True, vocab_size=256))
case("qwen-bias", dict(model_type="qwen", hidden_size=64, num_attention_heads=4,
                       num_hidden_layers=2, kv_channels=16, intermediate_size=256,
                       no_bias=False, vocab_size=256))
case("stablelm", cfg("stablelm", use_qkv_bias=True, partial_rotary_factor=0.25,
                     layer_norm_eps=1e-5, use_parallel_residual=False, qk_layernorm=False))
case("stablelm-parallel", cfg("stablelm", use_qkv_bias=False, partial_rotary_factor=0.25,
                              layer_norm_eps=1e-5, use_parallel_residual=True,
                              qk_layernorm=True))
fixture_case("starcoder2", "starcoder2")
case("starcoder2-untied", cfg("starcoder2", tie_word_embeddings=False))
for tie in (True, False):
    case(f"telechat3-{'tied' if tie else 'untied'}",
         cfg("telechat3", tie_word_embeddings=tie, mlp_bias=not tie, attention_bias=not tie))

# ---- filter/rename sanitize ----------------------------------------------------------------

case("bitnet-tied", cfg("bitnet", tie_word_embeddings=True),
     with_extra(inv_freq(), lm_head()))
case("bitnet-untied", cfg("bitnet", tie_word_embeddings=False, attention_bias=True,
                          mlp_bias=True), with_extra(inv_freq()))

for lm in (True, False):
    # Gemma 3 (vision): the text model unties exactly when the checkpoint has a head.
    c = dict(model_type="gemma3", vocab_size=256, text_config=dict(GEMMA3_TEXT))
    case(
        f"gemma3-{'lm_head' if lm else 'tied'}",
        c,
        renamed(
            lambda n: n,
            fixed(*VISION),
            fixed(("multi_modal_projector.mm_soft_emb_norm.weight", [32])),
        ) if lm else renamed(lambda n: None if n == "language_model.lm_head.weight" else n,
                             fixed(*VISION)),
    )
fixture_case("gemma3_text", "gemma3_text")
case("gemma3_text-lm_head", dict(GEMMA3_TEXT, vocab_size=256))

case(
    "gemma3n",
    dict(model_type="gemma3n", text_config=dict(GEMMA3N_TEXT)),
    with_extra(fixed(
        ("model.vision_tower.timm_model.conv_stem.conv.weight", [8, 3, 3, 3]),
        ("model.audio_tower.subsample_conv_projection.conv_0.conv.weight", [8, 1, 3, 3]),
        ("model.embed_audio.embedding.weight", [16, 64]),
        ("model.embed_audio.hard_embedding_norm.weight", [64]),
        ("model.embed_vision.embedding.weight", [16, 64]),
        ("model.embed_vision.embedding_projection.weight", [64, 64]),
    )),
)

fixture_case("glm", "glm", extra=[inv_freq()])
case("glm-tied", cfg("glm", head_dim=16, tie_word_embeddings=True, attention_bias=True),
     with_extra(inv_freq(), lm_head()))


def neox_hf(name):
    if name.startswith("model.h."):
        return "gpt_neox.layers." + name[len("model.h."):]
    if name == "model.embed_out.weight":
        return "embed_out.weight"
    return "gpt_neox." + name[len("model."):]


def neox_buffers(params, config):
    out = []
    for p in prefixes(params, ".attention"):
        p = neox_hf(p + ".x")[:-2]
        out += [(p + ".bias", [1, 1, 16, 16]), (p + ".masked_bias", []),
                (p + ".rotary_emb.inv_freq", [4])]
    return out


case(
    "gpt_neox",
    dict(model_type="gpt_neox", max_position_embeddings=512, hidden_size=64,
         num_attention_heads=4, num_hidden_layers=2, layer_norm_eps=1e-5, vocab_size=256,
         rotary_emb_base=10000, rotary_pct=0.25, use_parallel_residual=True),
    renamed(neox_hf, neox_buffers),
)


def gptj_buffers(params, config):
    out = []
    for i in range(config["n_layer"]):
        out += [(f"transformer.h.{i}.attn.bias", [1, 1, 16, 16]),
                (f"transformer.h.{i}.attn.masked_bias", [])]
    return out


case(
    "gptj",
    dict(model_type="gptj", n_embd=64, vocab_size=256, n_positions=128, n_head=4, rotary_dim=8,
         n_layer=2),
    renamed(replace_prefix("model.", "transformer."), gptj_buffers),
)

GRANITE = cfg("granite", logits_scaling=8.0, attention_multiplier=0.015625,
              embedding_multiplier=12.0, residual_multiplier=0.22, attention_bias=False,
              mlp_bias=False)
case("granite-tied", dict(GRANITE, tie_word_embeddings=True), with_extra(lm_head()))
case("granite-untied", dict(GRANITE, tie_word_embeddings=False, attention_bias=True,
                            mlp_bias=True))

fixture_case("hunyuan_v1_dense", "hunyuan_v1_dense", extra=[lm_head()])
case("hunyuan_v1_dense-untied", cfg("hunyuan_v1_dense", tie_word_embeddings=False,
                                    use_qk_norm=False, attention_bias=True))

for tie in (True, False):
    case(f"internlm2-{'tied' if tie else 'untied'}", cfg("internlm2", tie_word_embeddings=tie,
                                                        bias=not tie),
         with_extra(inv_freq(".attention", "rope.inv_freq")))
for tie in (True, False):
    case(f"internlm3-{'tied' if tie else 'untied'}",
         cfg("internlm3", tie_word_embeddings=tie, bias=not tie, qkv_bias=not tie),
         with_extra(inv_freq("self_attn", "attention.rope.inv_freq")))

case(
    "lfm2-vl",
    dict(model_type="lfm2-vl", text_config=dict(LFM2_TEXT)),
    # mlx-lm's lfm2-vl expects the language model already in MLX layout (`language_model.model`,
    # conv weights [C, K, 1]); it only strips the vision tower and projector.
    with_extra(fixed(*VISION)),
)

case(
    "lille-130m",
    dict(model_type="lille-130m", block_size=128, layer_norm_eps=1e-5, n_embd=64, n_head=4,
         n_kv_heads=2, n_layer=2, rope_theta=10000.0, vocab_size=256),
    with_extra(inv_freq(".attention", "rotary_emb.inv_freq"),
               fixed(("transformer.rotary_emb.cos_cached", [16, 8]))),
)

fixture_case("llama", "llama", extra=[inv_freq()])
case("llama-tied", llama_text(tie_word_embeddings=True, attention_bias=True, mlp_bias=True),
     with_extra(inv_freq(), lm_head()))
fixture_case("mistral", "mistral", extra=[inv_freq()])


def mtp(params, config):
    return [("model.mtp_layers.0.input_layernorm.weight", [64]),
            ("model.mtp_layers.0.self_attn.q_proj.weight", [64, 64]),
            ("model.mtp_layers.1.final_layernorm.weight", [64])]


for tie in (True, False):
    case(f"mimo-{'tied' if tie else 'untied'}", cfg("mimo", tie_word_embeddings=tie),
         with_extra(inv_freq(), mtp, *([lm_head()] if tie else [])))

# mistral3 / llava: legacy (`language_model.model.*`) and transformers-5 (`model.language_model.*`)
MISTRAL_TEXT = llama_text("mistral", head_dim=16)


def llava_legacy(name):
    return name  # mlx names are `language_model.model.*` / `language_model.lm_head.*`


def llava_new(name):
    """MLX wrapper names -> transformers' non-legacy layout (`model.language_model.*`)."""
    if name.startswith("language_model.model."):
        return "model.language_model." + name[len("language_model.model."):]
    if name.startswith("language_model.lm_head."):
        return name[len("language_model."):]
    return name


def vision(prefix=""):
    return fixed(*with_prefix_all(prefix, VISION))


def text_inv_freq(params, config):
    return [(f"{p}.rotary_emb.inv_freq", [8])
            for p in prefixes([(llava_new(n), s) for n, s in params], "self_attn")]


case("mistral3-legacy", dict(model_type="mistral3", text_config=dict(MISTRAL_TEXT)),
     renamed(llava_legacy, vision()))
case("mistral3-new", dict(model_type="mistral3", text_config=dict(MISTRAL_TEXT)),
     renamed(llava_new, vision("model."), text_inv_freq))
case("mistral3-tied",
     dict(model_type="mistral3", text_config=dict(MISTRAL_TEXT, tie_word_embeddings=True)),
     renamed(llava_new, vision("model."), lm_head("lm_head.weight")))
case("llava", dict(model_type="llava", text_config=llama_text("llama")),
     renamed(llava_legacy, vision(), text_inv_freq))


def activation_scales(params, config):
    return [(f"{p}.q_proj.activation_scale", [])
            for p in prefixes([(llava_new(n), s) for n, s in params], "self_attn")]


case("mistral3-ministral3",
     dict(model_type="mistral3", text_config=dict(MINISTRAL3_TEXT, tie_word_embeddings=False)),
     renamed(llava_new, vision("model."), text_inv_freq, activation_scales))

MUSE = dict(model_type="muse_glimmer", hidden_size=64, num_hidden_layers=4,
            intermediate_size=128, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
            vocab_size=256, sliding_window=32, max_position_embeddings=512)
MUSE_VISION = [("vision_tower.blocks.0.attn.qkv.weight", [96, 32]),
               ("vision_adapter.fc.weight", [64, 32]),
               ("vision_projection.weight", [64, 64])]
case("muse_glimmer-meta", dict(model_type="muse_glimmer", text_config=dict(MUSE)),
     renamed(lambda n: "language_model." + n, fixed(*MUSE_VISION)))
case("muse_glimmer-flat", dict(MUSE, tie_word_embeddings=True),
     renamed(replace_prefix("model.", "model.language_model."), fixed(*MUSE_VISION)))

case("nanbeige", cfg("nanbeige", head_dim=16, loop_loss_weights=[0.5]), with_extra(inv_freq()))
case("nanbeige-tied", cfg("nanbeige", tie_word_embeddings=True, attention_bias=True),
     with_extra(inv_freq()))

NAS_BLOCKS = [
    dict(attention=dict(n_heads_in_group=2), ffn=dict(ffn_mult=1.5)),
    dict(attention=dict(no_op=True), ffn=dict(replace_with_linear=True)),
    dict(attention=dict(replace_with_linear=True), ffn=dict(no_op=True)),
    dict(attention=dict(n_heads_in_group=4), ffn=dict(ffn_mult=2.0)),
]
for tie in (True, False):
    case(f"nemotron-nas-{'tied' if tie else 'untied'}",
         dict(model_type="nemotron-nas", hidden_size=64, num_hidden_layers=4,
              num_attention_heads=4, vocab_size=256, block_configs=NAS_BLOCKS,
              tie_word_embeddings=tie, attention_bias=not tie, mlp_bias=not tie),
         with_extra(*([lm_head()] if tie else [])))

case("olmo2", cfg("olmo2", tie_word_embeddings=False), with_extra(inv_freq()))
case("olmo2-tied", cfg("olmo2", attention_bias=True, mlp_bias=True), with_extra(inv_freq()))

case("phi3small",
     dict(model_type="phi3small", hidden_size=64, dense_attention_every_n_layers=2,
          ff_intermediate_size=128, gegelu_limit=20.0, num_hidden_layers=2,
          num_attention_heads=4, layer_norm_epsilon=1e-5, vocab_size=256,
          num_key_value_heads=2), with_extra(inv_freq()))

case("pixtral", dict(model_type="pixtral", text_config=llama_text("mistral", head_dim=16)),
     with_extra(vision()))

for tie in (True, False):
    case(f"plamo3-{'tied' if tie else 'untied'}",
         dict(model_type="plamo3", hidden_size=64, num_hidden_layers=4, tie_word_embeddings=tie,
              num_attention_heads=4, num_key_value_heads=2, head_dim=16, window_size=32,
              sliding_window_pattern=2, intermediate_size=128, vocab_size=256),
         with_extra(*([lm_head()] if tie else [])))

fixture_case("qwen2", "qwen2", extra=[inv_freq(), lm_head()])
case("qwen2-untied", cfg("qwen2", tie_word_embeddings=False), with_extra(inv_freq()))

QWEN2_TEXT = cfg("qwen2", tie_word_embeddings=False)
QVIS = [("visual.patch_embed.proj.weight", [32, 3, 2, 4, 4]),
        ("visual.blocks.0.attn.qkv.weight", [96, 32]),
        ("visual.merger.mlp.0.weight", [64, 128])]


qwen_vl_new = llava_new  # transformers' current layout: model.language_model.*, lm_head.*


# Qwen2-VL legacy layout: `model.*` text, `visual.*`, `lm_head`; config flat (no text_config).
case("qwen2_vl-legacy", dict(QWEN2_TEXT, model_type="qwen2_vl"),
     renamed(replace_prefix("language_model.", ""), fixed(*QVIS)))
case("qwen2_vl-new", dict(model_type="qwen2_vl", text_config=dict(QWEN2_TEXT)),
     renamed(qwen_vl_new, fixed(*with_prefix_all("model.", QVIS))))
case("qwen2_5_vl-tied",
     dict(model_type="qwen2_5_vl", text_config=cfg("qwen2", tie_word_embeddings=True)),
     renamed(qwen_vl_new, fixed(*with_prefix_all("model.", QVIS))))

fixture_case("qwen3", "qwen3", extra=[lm_head()])
case("qwen3-untied", cfg("qwen3", head_dim=16, tie_word_embeddings=False))

QWEN3_TEXT = cfg("qwen3", head_dim=16, tie_word_embeddings=False)
case("qwen3_vl", dict(model_type="qwen3_vl", text_config=dict(QWEN3_TEXT)),
     renamed(qwen_vl_new, fixed(*with_prefix_all("model.", QVIS))))
case("qwen3_vl-tied",
     dict(model_type="qwen3_vl", text_config=dict(QWEN3_TEXT, tie_word_embeddings=True),
          tie_word_embeddings=False),
     renamed(qwen_vl_new, fixed(*with_prefix_all("model.", QVIS))))

for tie in (True, False):
    case(f"seed_oss-{'tied' if tie else 'untied'}",
         cfg("seed_oss", head_dim=16, tie_word_embeddings=tie, attention_bias=not tie,
             attention_out_bias=not tie, mlp_bias=not tie),
         with_extra(*([lm_head()] if tie else [])))

for tie in (True, False):
    case(f"smollm3-{'tied' if tie else 'untied'}",
         cfg("smollm3", tie_word_embeddings=tie, no_rope_layer_interval=2),
         with_extra(inv_freq(), *([lm_head()] if tie else [])))

SPARK = cfg("spark2_5", head_dim=16, sliding_window=32, num_hidden_layers=4,
            rope_parameters=dict(sliding_attention=dict(rope_theta=10000.0),
                                 full_attention=dict(rope_theta=1000000.0,
                                                     partial_rotary_factor=0.5)))
case("spark2_5-tied", SPARK,
     renamed(replace_prefix("model.embedding.", "model.embed_tokens."),
             inv_freq(), lm_head("lm_head.weight"), fixed(("model.rotary_emb.inv_freq", [8]))))
case("spark2_5-untied", dict(SPARK, tie_word_embeddings=False, attention_bias=True,
                             mlp_bias=True), with_extra(inv_freq()))

case("talkie", dict(model_type="talkie", hidden_size=64, num_hidden_layers=2,
                    num_attention_heads=4, head_dim=16, intermediate_size=128, vocab_size=256),
     with_extra(inv_freq("attn", "rotary.inv_freq"),
                fixed(("model.rope.cos", [16, 8]), ("model.rope.sin", [16, 8]))))

YOUTU = dict(model_type="youtu_llm", vocab_size=256, hidden_size=64, intermediate_size=128,
             num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4, kv_lora_rank=16,
             q_lora_rank=32, qk_rope_head_dim=8, v_head_dim=16, qk_nope_head_dim=16)
case("youtu_llm-tied", YOUTU, with_extra(lm_head()))
case("youtu_llm-untied", dict(YOUTU, tie_word_embeddings=False, q_lora_rank=None,
                              attention_bias=True, mlp_bias=True))

# ---- MoE stacking / splitting and SSM reshapes ----------------------------------------------


def unstack(into="switch_mlp", experts="experts", rename=None, keep_experts_name=False):
    """Input builder: stacked `[E, ...]` parameters `P.<into>.<proj>.<rest>` back to the per-expert
    tensors `P.<experts>.<e>.<hf proj>.<rest>` a Hugging Face checkpoint has (`rename`: MLX proj
    name -> HF name)."""
    rename = rename or {}

    def build(params, config):
        out = []
        tok = f".{into}."
        for n, s in params:
            i = n.find(tok)
            if i < 0 or len(s) < 2:
                out.append((n, s))
                continue
            proj, _, rest = n[i + len(tok):].partition(".")
            proj = rename.get(proj, proj)
            for e in range(s[0]):
                out.append((f"{n[:i]}.{experts}.{e}.{proj}.{rest}", s[1:]))
        return out

    return build


def then(build, *extra_fns):
    """Input builder: `build`, plus extras."""

    def b(params, config):
        out = build(params, config)
        for e in extra_fns:
            out += e(params, config)
        return out

    return b


def conv_torch(marker="conv1d.weight"):
    """Renames nothing; turns MLX conv kernels `[C, K, I]` back into PyTorch's `[C, I, K]`."""

    def fn(params, config):
        return [(n, [s[0], s[2], s[1]] if marker in n and len(s) == 3 else s) for n, s in params]

    return fn


def mapped(fn, build):
    def b(params, config):
        return fn(build(params, config), config)

    return b


def fcfg(arch, **kw):
    c = fixture_config(arch)
    c.update(kw)
    return c


fixture_case("mixtral", "mixtral")
case("mixtral-tied", fcfg("mixtral", tie_word_embeddings=True),
     then(unstack(rename={"gate_proj": "w1", "down_proj": "w2", "up_proj": "w3"}), lm_head()))
fixture_case("qwen2_moe", "qwen2_moe")
case("qwen2_moe-tied", fcfg("qwen2_moe", tie_word_embeddings=True), unstack())
fixture_case("qwen3_moe", "qwen3_moe")
case("qwen3_moe-tied", fcfg("qwen3_moe", tie_word_embeddings=True, mlp_only_layers=[1]),
     then(unstack(), lm_head()))
fixture_case("olmoe", "olmoe")
# gpt_oss in MLX layout (its sanitize passes weights that already have `gate_proj.weight`);
# the released mxfp4 layout is covered by tests/prequant_sources.rs.
case("gpt_oss", cfg("gpt_oss", num_local_experts=4, num_experts_per_tok=2, head_dim=16,
                    sliding_window=64, layer_types=["sliding_attention", "full_attention"]))
case("olmoe-tied", fcfg("olmoe", tie_word_embeddings=True, attention_bias=True), unstack())
fixture_case("dots1", "dots1")
case("dots1-tied", fcfg("dots1", tie_word_embeddings=True, first_k_dense_replace=2),
     then(unstack(into="experts"), lm_head(), inv_freq()))
fixture_case("granitemoe", "granitemoe", extra=[lm_head()])


def granitemoe_hf(params, config):
    """switch_mlp.{gate,up}_proj -> input_linear (concatenated rows), down_proj -> output_linear."""
    out, gates = [], {}
    for n, s in params:
        if ".switch_mlp.gate_proj." in n:
            out.append((n.replace("switch_mlp.gate_proj", "input_linear"), [s[0], 2 * s[1], s[2]]))
        elif ".switch_mlp.up_proj." in n:
            continue
        elif ".switch_mlp.down_proj." in n:
            out.append((n.replace("switch_mlp.down_proj", "output_linear"), s))
        else:
            out.append((n, s))
    return out


case("granitemoe-untied", fcfg("granitemoe", tie_word_embeddings=False, attention_bias=True),
     granitemoe_hf)
fixture_case("mamba", "mamba")
case("mamba-untied", fcfg("mamba", tie_word_embeddings=False, use_bias=True),
     mapped(conv_torch(), with_extra()))
fixture_case("falcon_mamba", "falcon_mamba")
fixture_case("mamba2", "mamba2")
case("mamba2-untied", fcfg("mamba2", tie_word_embeddings=False, use_bias=True, n_groups=2),
     mapped(conv_torch(), with_extra()))
fixture_case("lfm2", "lfm2")
case("lfm2-nobias", dict(LFM2_TEXT, conv_bias=True), mapped(conv_torch("conv.weight"), with_extra()))

MOE = dict(hidden_size=64, num_hidden_layers=3, intermediate_size=128, moe_intermediate_size=32,
           num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-5, vocab_size=256,
           max_position_embeddings=512, rope_theta=10000.0)
W123 = {"gate_proj": "w1", "down_proj": "w2", "up_proj": "w3"}


def moe(model_type, **kw):
    c = dict(MOE, model_type=model_type)
    c.update(kw)
    return c


def renamed_keys(fn):
    """Maps the names an input builder produced."""

    def wrap(build):
        def b(params, config):
            return [(fn(n), s) for n, s in build(params, config)]

        return b

    return wrap


def layer_extra(tmpl_shapes):
    """Tensors for one extra layer index = num_hidden_layers (MTP layers checkpoints carry)."""

    def extra(params, config):
        n = config["num_hidden_layers"]
        return [(t.format(n=n), s) for t, s in tmpl_shapes]

    return extra


DS_ROPE = dict(type="yarn", factor=4.0, original_max_position_embeddings=128, beta_fast=32,
               beta_slow=1, mscale=1.0, mscale_all_dim=1.0)
DS_MOE = dict(n_routed_experts=4, n_shared_experts=1, num_experts_per_tok=2, moe_layer_freq=1,
              first_k_dense_replace=1)
case("deepseek", moe("deepseek", **DS_MOE), unstack())
case("deepseek_v2", moe("deepseek_v2", **DS_MOE, kv_lora_rank=16, q_lora_rank=32,
                        qk_rope_head_dim=8, v_head_dim=16, qk_nope_head_dim=16, n_group=1,
                        topk_group=1, rope_scaling=DS_ROPE), unstack())
case("deepseek_v2-lite", moe("deepseek_v2", **DS_MOE, kv_lora_rank=16, q_lora_rank=None,
                             qk_rope_head_dim=8, v_head_dim=16, qk_nope_head_dim=16,
                             n_group=1, topk_group=1, rope_scaling=DS_ROPE), unstack())


# ---- the MLA family (kv_b_proj absorption, fp8 block scales) --------------------------------


def mla_hf(build, attn="self_attn"):
    """Input builder: MLX's per-head `embed_q` `[H, rank, nope]` and `unembed_out` `[H, v, rank]`
    back into the `kv_b_proj` `[H * (nope + v), rank]` they are cut from."""

    def b(params, config):
        out = build(params, config)
        shapes = dict(out)
        res = []
        for n, s in out:
            if n.endswith(".embed_q.weight"):
                p = n[: -len("embed_q.weight")]
                h, rank, nope = s
                v = shapes[p + "unembed_out.weight"][1]
                res.append((p + "kv_b_proj.weight", [h * (nope + v), rank]))
            elif not n.endswith(".unembed_out.weight"):
                res.append((n, s))
        return res

    return b


FP8_LINEARS = ("_proj.weight",)


def fp8_scales(build, block=128, skip=("embed_tokens", "lm_head", "mlp.gate.weight"),
               linears=FP8_LINEARS):
    """Input builder: an fp8 checkpoint's `X.weight_scale_inv` (one per `block`x`block` tile) next to
    every 2-D projection weight, as DeepSeek-V3's release has them."""

    def b(params, config):
        out = build(params, config)
        extra = []
        for n, s in out:
            if len(s) == 2 and n.endswith(linears) and not any(k in n for k in skip):
                extra.append((n + "_scale_inv", [-(-s[0] // block), -(-s[1] // block)]))
        return out + extra

    return b


DS_FP8 = dict(activation_scheme="dynamic", fmt="e4m3", quant_method="fp8",
              weight_block_size=[128, 128])
DS_V3 = dict(DS_MOE, kv_lora_rank=16, q_lora_rank=32, qk_rope_head_dim=8, v_head_dim=16,
             qk_nope_head_dim=16, n_group=1, topk_group=1, rope_scaling=DS_ROPE,
             routed_scaling_factor=2.5, norm_topk_prob=True)
case("deepseek_v3", moe("deepseek_v3", **DS_V3), then(mla_hf(unstack()), inv_freq()))
case("deepseek_v3-lite", moe("deepseek_v3", **dict(DS_V3, q_lora_rank=None, v_head_dim=8)),
     mla_hf(unstack()))
DS_V32 = dict(DS_V3, index_head_dim=16, index_n_heads=2, index_topk=8)
case("deepseek_v32", moe("deepseek_v32", **DS_V32),
     then(mla_hf(unstack()), layer_extra([("model.layers.{n}.eh_proj.weight", [64, 128]),
                                          ("model.layers.{n}.enorm.weight", [64])])))
case("deepseek_v32-fp8", moe("deepseek_v32", **dict(DS_V32, quantization_config=DS_FP8)),
     fp8_scales(mla_hf(unstack())))
case("glm_moe_dsa", moe("glm_moe_dsa", **dict(DS_V32, rope_scaling=None, topk_method="noaux_tc",
                                              scoring_func="sigmoid", attention_bias=False,
                                              rope_parameters=dict(rope_theta=10000.0,
                                                                   rope_type="default"))),
     then(mla_hf(unstack()), layer_extra([("model.layers.{n}.eh_proj.weight", [64, 128])])))
case("glm4_moe_lite", moe("glm4_moe_lite", **DS_V3),
     then(mla_hf(unstack()), layer_extra([("model.layers.{n}.eh_proj.weight", [64, 128])])))
case("glm4_moe_lite-qproj", moe("glm4_moe_lite", **dict(DS_V3, q_lora_rank=None)),
     mla_hf(unstack()))
KIMI_VISION = [
    ("vision_tower.patch_embed.proj.weight", [32, 3, 4, 4]),
    ("vision_tower.encoder.blocks.0.wqkv.weight", [96, 32]),
    ("mm_projector.proj.0.weight", [64, 128]),
    ("multi_modal_projector.linear_1.weight", [64, 32]),
]
case("kimi_k25", dict(model_type="kimi_k25", text_config=moe("deepseek_v3", **DS_V3)),
     then(mla_hf(unstack()), fixed(*KIMI_VISION),
          inv_freq(leaf="rotary_emb.inv_freq", marker="self_attn")))
case("kimi_k25-fp8", dict(model_type="kimi_k25", text_config=moe("deepseek_v3", **DS_V3),
                          quantization_config=DS_FP8),
     fp8_scales(mla_hf(unstack())))
# Wider than one 128-column tile: padded and several tiles per weight.
case("deepseek_v3-fp8", moe("deepseek_v3", **dict(DS_V3, hidden_size=192, intermediate_size=320,
                                                  moe_intermediate_size=160, q_lora_rank=136,
                                                  quantization_config=DS_FP8)),
     fp8_scales(mla_hf(unstack())))

case("phimoe", moe("phimoe", num_local_experts=4, num_experts_per_tok=2,
                   rope_scaling=dict(short_mscale=1.0, long_mscale=1.0, type="longrope",
                                     short_factor=[1.0] * 8, long_factor=[1.0] * 8),
                   original_max_position_embeddings=256),
     unstack(rename=W123))
for tie in (True, False):
    case(f"mellum-{'tied' if tie else 'untied'}",
         moe("mellum", num_experts=4, num_experts_per_tok=2, head_dim=16, tie_word_embeddings=tie,
             norm_topk_prob=True, sliding_window=32,
             layer_types=["sliding_attention", "full_attention", "sliding_attention"],
             rope_parameters=dict(sliding_attention=dict(rope_theta=10000.0),
                                  full_attention=dict(rope_theta=1000000.0))),
         then(unstack(), *([lm_head()] if tie else [])))
case("Klear", moe("Klear", attention_bias=False, mlp_only_layers=[0], num_experts=4,
                  num_experts_per_tok=2, decoder_sparse_step=1, n_shared_experts=1,
                  norm_topk_prob=True), unstack(into="experts"))
for tie in (True, False):
    case(f"afmoe-{'tied' if tie else 'untied'}",
         moe("afmoe", layer_types=["sliding_attention", "full_attention", "sliding_attention"],
             head_dim=16, num_experts=4, num_experts_per_tok=2, num_shared_experts=1,
             num_dense_layers=1, tie_word_embeddings=tie, sliding_window=32),
         then(unstack(into="experts"), inv_freq(), *([lm_head()] if tie else [])))
for tie in (True, False):
    case(f"ernie4_5_moe-{'tied' if tie else 'untied'}",
         moe("ernie4_5_moe", use_bias=False, tie_word_embeddings=tie, moe_num_experts=4,
             moe_layer_start_index=1, moe_k=2, moe_num_shared_experts=1, head_dim=16,
             moe_use_aux_free=tie),
         then(unstack(), fixed(("model.mtp_block.0.self_attn.q_proj.weight", [64, 64]),
                               ("model.mtp_linear_proj.0.weight", [64, 128]),
                               ("model.mtp_hidden_norm.0.weight", [64]),
                               ("model.mtp_emb_norm.0.weight", [64]),
                               ("model.layers.1.mlp.moe_statics.e_score_correction_bias", [1, 4]))))


def exaone_moe_hf(name):
    return name.replace("mlp.gate.e_score_correction_bias", "mlp.e_score_correction_bias")


for tie in (True, False):
    case(f"exaone_moe-{'tied' if tie else 'untied'}",
         moe("exaone_moe", head_dim=16, num_experts=4, num_experts_per_tok=2,
             num_shared_experts=1, sliding_window=32,
             layer_types=["sliding_attention", "full_attention", "sliding_attention"],
             is_moe_layer=[False, True, True], tie_word_embeddings=tie),
         then(renamed_keys(exaone_moe_hf)(unstack()),
              fixed(("mtp.layers.0.input_layernorm.weight", [64]),
                    ("mtp.fc.weight", [64, 128])),
              *([lm_head()] if tie else [])))
for tie in (True, False):
    case(f"glm4_moe-{'tied' if tie else 'untied'}",
         moe("glm4_moe", norm_topk_prob=True, n_group=1, head_dim=16, topk_group=1,
             n_shared_experts=1, n_routed_experts=4, routed_scaling_factor=1.0,
             num_experts_per_tok=2, first_k_dense_replace=1, rope_scaling=None,
             use_qk_norm=tie, tie_word_embeddings=tie, attention_bias=not tie,
             partial_rotary_factor=0.5),
         then(unstack(), layer_extra([("model.layers.{n}.eh_proj.weight", [64, 128]),
                                      ("model.layers.{n}.mlp.experts.0.up_proj.weight", [32, 64]),
                                      ("model.layers.{n}.mlp.experts.1.up_proj.weight", [32, 64]),
                                      ("model.layers.{n}.enorm.weight", [64])])))
for tie in (True, False):
    case(f"minimax-{'tied' if tie else 'untied'}",
         moe("minimax", num_local_experts=4, num_experts_per_tok=2, shared_intermediate_size=0,
             rotary_dim=8, head_dim=16, tie_word_embeddings=tie, use_qk_norm=tie),
         unstack(rename=W123))
for tie in (True, False):
    case(f"ministral3-{'tied' if tie else 'untied'}",
         dict(MINISTRAL3_TEXT, tie_word_embeddings=tie),
         with_extra(inv_freq(), *([lm_head()] if tie else [])))
LONGCAT = dict(model_type="longcat_flash", attention_method="MLA", zero_expert_type="identity",
               hidden_size=64, ffn_hidden_size=128, moe_topk=2, expert_ffn_hidden_size=32,
               n_routed_experts=4, zero_expert_num=2, num_layers=2, vocab_size=256,
               max_position_embeddings=512, num_attention_heads=4, kv_lora_rank=16,
               q_lora_rank=32, qk_rope_head_dim=8, qk_nope_head_dim=16, v_head_dim=16,
               routed_scaling_factor=1.0, rms_norm_eps=1e-5, rope_theta=10000.0,
               mla_scale_q_lora=True, mla_scale_kv_lora=True, attention_bias=False)
case("longcat_flash", LONGCAT,
     then(mla_hf(unstack()), fixed(("model.mtp.layers.0.self_attn.q_a_proj.weight", [32, 64]),
                                   ("model.mtp.norm.weight", [64]))))
case("longcat_flash_ngram",
     dict(LONGCAT, model_type="longcat_flash_ngram", ngram_vocab_size_ratio=2,
          emb_neighbor_num=2, emb_split_num=2),
     renamed_keys(lambda n: n.replace("ngram_embeddings.word_embeddings", "embed_tokens"))(
         then(mla_hf(unstack()), fixed(("model.mtp.norm.weight", [64])))))


def kimi_linear_hf(params, config):
    """Kimi Linear's checkpoint names: MoE layers under `block_sparse_moe` (experts `w1/w2/w3`,
    the router's bias inside `gate`), KDA convolutions `{q,k,v}_conv1d` as `[C, 1, K]`, `dt_bias`
    per head, MLA's `kv_b_proj`."""
    moe_layers = {n.split(".mlp.")[0] for n, _ in params if ".mlp.switch_mlp." in n}
    out = []
    for n, s in mla_hf(unstack(rename=W123))(params, config):
        layer = n.split(".mlp.")[0]
        if layer in moe_layers and ".mlp." in n:
            n = n.replace(".mlp.e_score_correction_bias", ".mlp.gate.e_score_correction_bias")
            n = n.replace(".mlp.", ".block_sparse_moe.")
        for c in "qkv":
            if n.endswith(f".{c}_conv.conv.weight"):
                n = n.replace(f".{c}_conv.conv.weight", f".{c}_conv1d.weight")
                s = [s[0], s[2], s[1]]
        if n.endswith(".dt_bias"):
            h = config["linear_attn_config"]["num_heads"]
            s = [h, s[0] // h]
        out.append((n, s))
    return out + [("model.mtp.0.norm.weight", [64])]


case("kimi_linear",
     dict(model_type="kimi_linear", vocab_size=256, hidden_size=64, num_hidden_layers=3,
          num_attention_heads=4, num_key_value_heads=4, intermediate_size=128, head_dim=16,
          rope_theta=10000.0, rms_norm_eps=1e-5, model_max_length=512, num_experts=4,
          moe_intermediate_size=32, kv_lora_rank=16, qk_nope_head_dim=16, qk_rope_head_dim=8,
          v_head_dim=16, num_experts_per_token=2, num_shared_experts=1, first_k_dense_replace=1,
          linear_attn_config=dict(kda_layers=[1, 3], num_heads=4, head_dim=16,
                                  short_conv_kernel_size=4)),
     kimi_linear_hf)
case("kimi_linear-tied",
     dict(model_type="kimi_linear", vocab_size=256, hidden_size=64, num_hidden_layers=2,
          num_attention_heads=4, num_key_value_heads=4, intermediate_size=128, head_dim=16,
          rope_theta=10000.0, rms_norm_eps=1e-5, model_max_length=512, num_experts=4,
          moe_intermediate_size=32, kv_lora_rank=16, qk_rope_head_dim=8,
          num_experts_per_token=2, tie_word_embeddings=True,
          linear_attn_config=dict(kda_layers=[2], num_heads=4, head_dim=16)),
     then(kimi_linear_hf, lm_head()))


def kimi_k3_hf(params, config):
    """Kimi K3's checkpoint names (no `language_model.` prefix): Kimi Linear's (experts under
    `block_sparse_moe`, `kv_b_proj`, KDA `{q,k,v}_conv1d` `[C, 1, K]`, `dt_bias` per head) with
    KDA's fused `qkv_proj` / `qkv_conv` split back into `{q,k,v}_proj` / `{q,k,v}_conv1d`, and
    the attention-residual projections as `X_res.proj_weight` / `X_res.norm_weight`."""
    text = config.get("text_config", config)
    h = text["linear_attn_config"]["num_heads"]
    plain = [(n.removeprefix("language_model."), s) for n, s in params]
    out = []
    for n, s in kimi_linear_hf(plain, text):
        if n.startswith("model.mtp"):
            continue
        if n.endswith(".self_attn.qkv_proj.weight"):
            for c in "qkv":
                out.append((n.replace("qkv_proj", f"{c}_proj"), [s[0] // 3, s[1]]))
            continue
        if n.endswith(".self_attn.qkv_conv.conv.weight"):
            for c in "qkv":
                out.append((n.replace("qkv_conv.conv", f"{c}_conv1d"), [s[0] // 3, s[2], s[1]]))
            continue
        if n.endswith(".self_attn.A_log"):
            s = [1, 1, h, 1]
        for src in ("self_attention_res", "mlp_res", "output_attn_res"):
            n = n.replace(f"{src}_proj.weight", f"{src}.proj_weight")
            n = n.replace(f"{src}_norm.weight", f"{src}.norm_weight")
        out.append((n, s))
    return out + [("model.mtp.0.norm.weight", [64])]


KIMI_K3 = dict(
    model_type="kimi_k3", vocab_size=256, hidden_size=64, num_hidden_layers=4,
    num_attention_heads=4, num_key_value_heads=4, intermediate_size=128, rms_norm_eps=1e-5,
    q_lora_rank=32, kv_lora_rank=16, qk_nope_head_dim=16, qk_rope_head_dim=8, v_head_dim=16,
    num_experts=4, num_experts_per_token=2, num_shared_experts=1, moe_intermediate_size=32,
    first_k_dense_replace=1, routed_expert_hidden_size=32, latent_moe_use_norm=True,
    attn_res_block_size=2, mla_use_output_gate=True,
    linear_attn_config=dict(kda_layers=[1, 3], num_heads=4, head_dim=16,
                            short_conv_kernel_size=4),
)
case("kimi_k3", KIMI_K3, kimi_k3_hf)
case("kimi_k3-tied",
     dict(model_type="kimi_k3", text_config=dict(
         KIMI_K3, num_hidden_layers=2, tie_word_embeddings=True, q_lora_rank=None,
         attn_res_block_size=None, mla_use_output_gate=False, routed_expert_hidden_size=None,
         latent_moe_use_norm=False, num_shared_experts=0,
         linear_attn_config=dict(kda_layers=[2], num_heads=4, head_dim=16,
                                 short_conv_kernel_size=4))),
     then(kimi_k3_hf, lm_head()))


def muse_spark_hf(params, config):
    """Muse Spark's checkpoint names: the fused `qkvg_proj` as `q/k/v/gate_proj` (shapes only:
    the RoPE row order sanitize restores does not change them), the residual gates' fixed
    `*_residual_gate.gate` instead of the coefficients computed from them, the experts fused
    (`mlp.experts.gate_up_proj` `[E, 2I, H]`, `mlp.experts.down_proj`, no `.weight`), and an
    audio tower (dropped), plus a vision tower when the config has none (dropped)."""
    text = config["text_config"]
    q = text["num_attention_heads"] * text["head_dim"]
    kv = text["num_key_value_heads"] * text["head_dim"]
    out = []
    for n, s in params:
        if n.endswith(".self_attn.qkvg_proj.weight"):
            base = n[: -len("qkvg_proj.weight")]
            for p, rows in (("q", q), ("k", kv), ("v", kv), ("gate", q)):
                out.append((f"{base}{p}_proj.weight", [rows, s[1]]))
        elif n.endswith("_alpha"):
            gate = {"add_attn_alpha": "post_attention_residual_gate.gate",
                    "add_ffn_alpha": "post_feedforward_residual_gate.gate"}
            base, _, leaf = n.rpartition(".")
            out.append((f"{base}.{gate[leaf]}", s))
        elif n.endswith("_beta"):
            continue
        elif n.endswith(".mlp.experts.gate_proj.weight"):
            out.append((n.replace("gate_proj.weight", "gate_up_proj"), [s[0], 2 * s[1], s[2]]))
        elif n.endswith(".mlp.experts.up_proj.weight"):
            continue
        elif n.endswith(".mlp.experts.down_proj.weight"):
            out.append((n[: -len(".weight")], s))
        elif ".attn.qkv_proj." in n:
            for p in "qkv":
                out.append((n.replace("qkv_proj", f"{p}_proj"), [s[0] // 3, *s[1:]]))
        else:
            out.append((n, s))
    out.append(("model.audio_tower.layers.0.weight", [8, 8]))
    if not config.get("vision_config"):
        out.append(("model.vision_tower.ln_post.weight", [32]))
        out.append(("model.vision_projection.weight", [64, 32]))
    return out


MUSE_SPARK_TEXT = dict(
    hidden_size=64, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
    num_hidden_layers=4, vocab_size=256, rms_norm_eps=1e-5, post_norm_eps=1e-6,
    rope_parameters=dict(rope_theta=10000.0, rope_type="default"),
    layer_rope_theta=[10000.0, 0, 10000.0, 0],
    layer_types=["sliding_attention", "full_attention", "sliding_attention", "full_attention"],
    sliding_window=32, final_logit_softcapping=30.0, output_multiplier=0.5,
    num_local_experts=4, num_experts_per_tok=2, moe_hidden_size=64, moe_intermediate_size=64,
    mlp_layer_types=["sparse"] * 4,
)
# transformers checks the audio encoder's width against the text model's when loading the config.
case("muse_spark", dict(model_type="muse_spark", text_config=MUSE_SPARK_TEXT,
                        audio_config=dict(out_hidden_size=64)), muse_spark_hf)
case("muse_spark-vision",
     dict(model_type="muse_spark", text_config=dict(MUSE_SPARK_TEXT, num_hidden_layers=2,
                                                    layer_rope_theta=[10000.0, 0],
                                                    layer_types=["sliding_attention",
                                                                 "full_attention"],
                                                    mlp_layer_types=["sparse"] * 2),
          vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                             num_attention_heads=2, patch_size=2, pos_emb_height=4,
                             pos_emb_width=4),
          audio_config=dict(out_hidden_size=64)),
     muse_spark_hf)


def mistral4_hf(fp8=False):
    """Mistral 4's checkpoint names: MoE experts fused (`mlp.experts.gate_up_proj` `[E, 2I, H]`,
    `mlp.experts.down_proj`), `kv_b_proj`; with `fp8`, per-expert `[E, 1, 1]` scales on the fused
    experts, per-tensor scales on `o_proj`, 128x128 tiles elsewhere, and activation scales."""

    def build(params, config):
        shapes = dict(params)
        out = []
        for n, s in mla_hf(lambda p, c: list(p))(params, config):
            if ".mlp.switch_mlp.gate_proj.weight" in n:
                base = n.split(".mlp.switch_mlp.")[0]
                out.append((f"{base}.mlp.experts.gate_up_proj", [s[0], 2 * s[1], s[2]]))
            elif ".mlp.switch_mlp.up_proj.weight" in n:
                continue
            elif ".mlp.switch_mlp.down_proj.weight" in n:
                base = n.split(".mlp.switch_mlp.")[0]
                out.append((f"{base}.mlp.experts.down_proj", s))
            else:
                out.append((n, s))
        if not fp8:
            return out
        extra = []
        for n, s in out:
            if n.endswith((".gate_up_proj", ".experts.down_proj")):
                extra.append((n + "_scale_inv", [s[0], 1, 1]))
            elif n.endswith("o_proj.weight"):
                extra.append((n + "_scale_inv", []))
                extra.append((n.replace(".weight", ".activation_scale"), []))
            elif n.endswith("_proj.weight") and len(s) == 2:
                extra.append((n + "_scale_inv", [-(-s[0] // 128), -(-s[1] // 128)]))
        return out + extra

    return build


MISTRAL4 = dict(model_type="mistral4", vocab_size=256, hidden_size=160, intermediate_size=320,
                moe_intermediate_size=64, num_hidden_layers=3, num_attention_heads=4,
                num_key_value_heads=4, n_shared_experts=1, n_routed_experts=4,
                routed_scaling_factor=1.0, kv_lora_rank=16, q_lora_rank=32, norm_topk_prob=True,
                max_position_embeddings=512, rms_norm_eps=1e-6, topk_group=1,
                num_experts_per_tok=2, first_k_dense_replace=1, n_group=1, qk_rope_head_dim=8,
                qk_nope_head_dim=16, v_head_dim=16,
                rope_parameters=dict(rope_type="yarn", rope_theta=10000.0, factor=4.0,
                                     original_max_position_embeddings=128, beta_fast=32.0,
                                     beta_slow=1.0, mscale=1.0, mscale_all_dim=1.0,
                                     llama_4_scaling_beta=0.1))
case("mistral4", MISTRAL4, then(mistral4_hf(), inv_freq()))
case("mistral4-fp8", dict(MISTRAL4, quantization_config=dict(quant_method="fp8",
                                                           activation_scheme="static")),
     mistral4_hf(fp8=True))
case("mistral4-experts", dict(MISTRAL4, q_lora_rank=None, tie_word_embeddings=True),
     mla_hf(unstack()))
MINIMAX_M3_TEXT = dict(
    model_type="minimax_m3", hidden_size=64, intermediate_size=32, dense_intermediate_size=64,
    shared_intermediate_size=32, num_attention_heads=2, num_key_value_heads=1, head_dim=32,
    num_hidden_layers=2, num_local_experts=4, num_experts_per_tok=2, vocab_size=256,
    rms_norm_eps=1e-6, max_position_embeddings=256, moe_layer_freq=[0, 1],
    sparse_attention_config=dict(sparse_num_index_heads=2, sparse_index_dim=32,
                                 sparse_block_size=16, sparse_topk_blocks=2,
                                 sparse_attention_freq=[0, 1]))
for tie in (True, False):
    case(f"minimax_m3_vl-{'tied' if tie else 'untied'}",
         dict(model_type="minimax_m3_vl",
              text_config=dict(MINIMAX_M3_TEXT, tie_word_embeddings=tie)),
         then(unstack(rename=W123), fixed(("vision_tower.patch_embed.proj.weight", [32, 48]),
                                          ("multi_modal_projector.linear_1.weight", [64, 32]),
                                          ("patch_merge_mlp.0.weight", [32, 32]),
                                          *([("language_model.lm_head.weight", [256, 64])]
                                            if tie else []))))
# deepseek_v41's `_rename`, undone (MLX name -> DeepSeek V4 checkpoint name).
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


def deepseek_v41_hf(params, config):
    """The reference checkpoint's names: `embed`, `head`, `layers.N.attn.wq_a`, per-expert
    `layers.N.ffn.experts.E.w1`, `wo_a` stored 2-D, plus an MTP layer and a vision router bias."""
    out = []
    for n, s in unstack(into="experts.switch_mlp", rename=W123)(params, config):
        if n == "lm_head.weight":
            out.append(("head.weight", s))
            continue
        if n == "model.embed_tokens.weight":
            out.append(("embed.weight", s))
            continue
        k = n.removeprefix("model.")
        for mlx_name, ds_name in V41_NAMES:
            k = k.replace(mlx_name, ds_name)
        if ".o_a_proj." in n:
            s = [s[0] * s[1], s[2]]
        out.append((k, s))
    return out + [("mtp.0.attn_norm.weight", [64]), ("layers.0.ffn.gate.bias_vl", [4]),
                  ("vision.patch_embed.weight", [64, 48])]


case("deepseek_v41",
     dict(model_type="deepseek_v41", vocab_size=256, hidden_size=64, num_hidden_layers=2,
          num_attention_heads=2, head_dim=64, q_lora_rank=32, qk_rope_head_dim=16, o_groups=2,
          o_lora_rank=32, moe_intermediate_size=32, n_routed_experts=4, num_experts_per_tok=2,
          hc_mult=2, compress_ratios=[1, 4], kv_source_layer_ids=[0, 1],
          index_source_layer_ids=[1], index_n_heads=2, index_head_dim=32, sliding_window=16),
     deepseek_v41_hf)
MINIMAX_FP8 = dict(quant_method="fp8", fmt="float8_e4m3fn", activation_scheme="dynamic",
                   weight_block_size=[128, 128])
case("minimax-fp8",
     moe("minimax", num_local_experts=4, num_experts_per_tok=2, shared_intermediate_size=0,
         rotary_dim=8, head_dim=16, tie_word_embeddings=False, use_qk_norm=True,
         hidden_size=192, quantization_config=MINIMAX_FP8),
     fp8_scales(unstack(rename=W123), linears=("_proj.weight", ".w1.weight", ".w2.weight",
                                               ".w3.weight")))
MIMO = dict(num_experts_per_tok=2, hybrid_layer_pattern=[0, 1, 1], moe_layer_freq=[0, 1, 1],
            add_swa_attention_sink_bias=True, add_full_attention_sink_bias=False,
            sliding_window_size=32, n_shared_experts=None, n_routed_experts=4,
            routed_scaling_factor=None, topk_method="noaux_tc", scoring_func="sigmoid",
            norm_topk_prob=True, n_group=1, topk_group=1, layernorm_epsilon=1e-5,
            swa_rope_theta=10000.0, swa_num_attention_heads=4, swa_num_key_value_heads=2,
            head_dim=16, v_head_dim=8, swa_head_dim=16, swa_v_head_dim=8,
            partial_rotary_factor=0.5)
case("mimo_v2_flash", moe("mimo_v2_flash", **MIMO),
     then(unstack(), fixed(("model.mtp.layers.0.eh_proj.weight", [64, 128]))))
case("mimo_v2_flash-fp8", moe("mimo_v2_flash", **dict(MIMO, quantization_config=MINIMAX_FP8,
                                                      hidden_size=160)),
     fp8_scales(unstack()))
LFM2_MOE = dict(model_type="lfm2_moe", vocab_size=256, hidden_size=64, intermediate_size=128,
                moe_intermediate_size=32, num_hidden_layers=3, num_experts=4,
                num_experts_per_tok=2, norm_topk_prob=True, num_attention_heads=4,
                num_key_value_heads=2, max_position_embeddings=512, use_expert_bias=True,
                num_dense_layers=1, norm_eps=1e-5, conv_bias=False, conv_L_cache=3,
                layer_types=["conv", "full_attention", "conv"])


def lfm2_moe_hf(name):
    for m, h in W123.items():
        name = name.replace(f"{m}.weight", f"{h}.weight")
    return name


case("lfm2_moe", LFM2_MOE,
     mapped(conv_torch("conv.weight"), renamed_keys(lfm2_moe_hf)(unstack())))
case("lfm2_moe-nobias", dict(LFM2_MOE, use_expert_bias=False, conv_bias=True),
     renamed_keys(lfm2_moe_hf)(unstack()))

GMH = dict(model_type="granitemoehybrid", vocab_size=256, hidden_size=64, intermediate_size=128,
           num_hidden_layers=3, max_position_embeddings=512, num_attention_heads=4,
           num_key_value_heads=2, attention_bias=False, embedding_multiplier=12.0,
           attention_multiplier=0.015625, logits_scaling=8.0, residual_multiplier=0.22,
           layer_types=["mamba", "attention", "mamba"], rms_norm_eps=1e-5,
           shared_intermediate_size=64, mamba_n_heads=4, mamba_d_head=32, mamba_proj_bias=False,
           mamba_d_state=16, mamba_d_conv=4, mamba_n_groups=1, mamba_conv_bias=True)


def gmh_dense_hf(params, config):
    out = []
    for n, s in params:
        if n.endswith(".mlp.gate_proj.weight"):
            out.append((n.replace("mlp.gate_proj", "shared_mlp.input_linear"), [2 * s[0], s[1]]))
        elif n.endswith(".mlp.up_proj.weight"):
            continue
        elif n.endswith(".mlp.down_proj.weight"):
            out.append((n.replace("mlp.down_proj", "shared_mlp.output_linear"), s))
        else:
            out.append((n, s))
    return out


case("granitemoehybrid-moe", dict(GMH, num_local_experts=4, num_experts_per_tok=2),
     mapped(conv_torch(), then(granitemoe_hf, lm_head())))
case("granitemoehybrid-dense", dict(GMH, tie_word_embeddings=False),
     mapped(conv_torch(), gmh_dense_hf))
for tie in (True, False):
    case(f"jamba-{'tied' if tie else 'untied'}",
         dict(model_type="jamba", hidden_size=64, intermediate_size=128, num_hidden_layers=4,
              num_attention_heads=4, num_key_value_heads=2, attn_layer_offset=1,
              attn_layer_period=2, expert_layer_offset=1, expert_layer_period=2,
              mamba_d_conv=4, mamba_d_state=8, mamba_expand=2, num_experts=4,
              num_experts_per_tok=2, rms_norm_eps=1e-5, max_position_embeddings=512,
              vocab_size=256, tie_word_embeddings=tie, mamba_proj_bias=not tie),
         mapped(conv_torch(), then(unstack(), *([lm_head()] if tie else []))))
NEMOH = dict(model_type="nemotron_h", vocab_size=256, hidden_size=64, intermediate_size=128,
             max_position_embeddings=512, num_attention_heads=4, num_key_value_heads=2,
             attention_bias=False, mamba_num_heads=4, mamba_head_dim=16, mamba_proj_bias=False,
             ssm_state_size=16, conv_kernel=4, n_groups=1, mlp_bias=False,
             layer_norm_epsilon=1e-5, use_bias=False, use_conv_bias=True, head_dim=16,
             time_step_limit=[0.0, 1e9])
case("nemotron_h", dict(NEMOH, hybrid_override_pattern=["M", "*", "-", "M"]),
     mapped(conv_torch(), with_extra()))
case("nemotron_h-moe", dict(NEMOH, layers_block_type=["mamba", "attention", "moe", "moe"],
                            moe_intermediate_size=32, moe_shared_expert_intermediate_size=32,
                            n_group=1, n_routed_experts=4, n_shared_experts=1, topk_group=1,
                            num_experts_per_tok=2, norm_topk_prob=True,
                            routed_scaling_factor=1.0),
     mapped(conv_torch(), then(unstack(rename={"fc1": "up_proj", "fc2": "down_proj"}),
                               fixed(("mtp.layers.0.norm.weight", [64]),
                                     ("mtp.fc.weight", [64, 128])))))
for tie in (True, False):
    case(f"olmo_hybrid-{'tied' if tie else 'untied'}",
         dict(model_type="olmo_hybrid", hidden_size=64, intermediate_size=128,
              num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
              rms_norm_eps=1e-5, vocab_size=256, max_position_embeddings=512,
              linear_num_key_heads=2, linear_num_value_heads=2, linear_key_head_dim=16,
              linear_value_head_dim=16, linear_conv_kernel_dim=4, linear_allow_neg_eigval=tie,
              tie_word_embeddings=tie, attention_bias=False,
              layer_types=["linear_attention", "full_attention"]),
         mapped(conv_torch(), then(with_extra(), *([lm_head()] if tie else []))))
for tie in (True, False):
    case(f"plamo2-{'tied' if tie else 'untied'}",
         dict(model_type="plamo2", hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2, hidden_size_per_head=16, mamba_d_state=8, mamba_d_conv=4,
              mamba_num_heads=4, mamba_step=2, intermediate_size=128, vocab_size=256,
              tie_word_embeddings=tie),
         mapped(conv_torch(), with_extra()))
RGEMMA = dict(model_type="recurrent_gemma", attention_bias=False, conv1d_width=4, hidden_size=64,
              intermediate_size=128, logits_soft_cap=30.0, num_attention_heads=4,
              num_hidden_layers=3, num_key_value_heads=1, rms_norm_eps=1e-6, rope_theta=10000.0,
              attention_window_size=32, vocab_size=256,
              block_types=["recurrent", "recurrent", "attention"])
case("recurrent_gemma-tied", RGEMMA,
     mapped(conv_torch("conv_1d.weight"),
            renamed(lambda n: None if n == "lm_head.weight" else n)))
case("recurrent_gemma-lm_head", RGEMMA, mapped(conv_torch("conv_1d.weight"), with_extra()))
for tie in (True, False):
    case(f"gear-{'tied' if tie else 'untied'}",
         dict(model_type="gear", vocab_size=256, hidden_size=64, intermediate_size=128,
              num_attention_heads=4, num_key_value_heads=2, head_dim=16,
              num_hidden_layers=3, rms_norm_eps=1e-6,
              layer_types=["sliding_attention", "conv_mixer", "full_attention"],
              tie_word_embeddings=tie, attention_bias=not tie, sliding_window=32),
         mapped(conv_torch("_conv.weight"),
                then(with_extra(inv_freq()), fixed(("model.embed_scale", [])),
                     *([lm_head()] if tie else []))))



def rwkv7_hf(params, config):
    """fla's RWKV7 keeps `k_k`, `k_a` and the `g_norm` GroupNorm as flat `[hidden]` vectors."""
    return [(n, [int(np.prod(s))] if any(x in n for x in ("k_k", "k_a", "g_norm")) else s)
            for n, s in params]


for tie in (True, False):
    case(f"rwkv7-{'tied' if tie else 'untied'}",
         dict(model_type="rwkv7", vocab_size=256, hidden_size=64, intermediate_size=128,
              norm_eps=1e-5, head_dim=16, num_hidden_layers=2, a_low_rank_dim=16,
              v_low_rank_dim=16, gate_low_rank_dim=32, decay_low_rank_dim=16,
              tie_word_embeddings=tie),
         rwkv7_hf)

case("phixtral", dict(model_type="phixtral", num_vocab=256, model_dim=64, num_heads=4, num_layers=2,
                     rotary_dim=8, num_experts_per_tok=2, num_local_experts=4),
     unstack(experts="mlp"))
case("phixtral-phi-msft", dict(model_type="phi-msft", num_vocab=256, model_dim=64, num_heads=4,
                              num_layers=2, rotary_dim=8, num_experts_per_tok=2,
                              num_local_experts=4),
     unstack(experts="mlp"))


def laguna_hf(name):
    name = name.replace("mlp.gate.proj.weight", "mlp.gate.weight")
    name = name.replace("mlp.gate.e_score_correction_bias", "mlp.experts.e_score_correction_bias")
    return name


LAGUNA = dict(model_type="laguna", vocab_size=256, hidden_size=64, intermediate_size=128,
              num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
              sliding_window=32, layer_types=["sliding_attention", "full_attention",
                                              "sliding_attention"],
              num_experts=4, num_experts_per_tok=2, moe_intermediate_size=32,
              shared_expert_intermediate_size=32)
case("laguna", LAGUNA, renamed_keys(laguna_hf)(unstack()))
case("laguna-tied-repacked", dict(LAGUNA, tie_word_embeddings=True, attention_bias=True),
     then(renamed_keys(lambda n: "language_model." + laguna_hf(n))(unstack()),
          lm_head("language_model.lm_head.weight")))

# ---- issue 4 part b: hybrid/linear-attention, fused experts, value transforms ---------------

QNEXT = dict(model_type="qwen3_next", hidden_size=64, num_hidden_layers=4, intermediate_size=128,
             num_attention_heads=4, linear_num_value_heads=4, linear_num_key_heads=2,
             linear_key_head_dim=16, linear_value_head_dim=16, linear_conv_kernel_dim=4,
             num_experts=4, num_experts_per_tok=2, decoder_sparse_step=1,
             shared_expert_intermediate_size=32, mlp_only_layers=[], moe_intermediate_size=32,
             rms_norm_eps=1e-6, vocab_size=256, num_key_value_heads=2, rope_theta=10000.0,
             partial_rotary_factor=0.25, max_position_embeddings=512, head_dim=16,
             full_attention_interval=2)
MTP = fixed(("mtp.fc.weight", [64, 128]), ("mtp.layers.0.input_layernorm.weight", [64]),
            ("mtp.norm.weight", [64]))

case("qwen3_next", QNEXT, mapped(conv_torch(), then(unstack(), MTP)))
case("qwen3_next-tied", dict(QNEXT, tie_word_embeddings=True, mlp_only_layers=[1]),
     mapped(conv_torch(), then(unstack(), lm_head(), MTP)))
# Already converted (stacked, MLX conv layout): sanitize leaves everything alone.
case("qwen3_next-converted", QNEXT)

QWEN35_TEXT = dict(model_type="qwen3_5_text", hidden_size=64, num_hidden_layers=4,
                   intermediate_size=128, num_attention_heads=4, num_key_value_heads=2,
                   head_dim=16, linear_num_value_heads=4, linear_num_key_heads=2,
                   linear_key_head_dim=16, linear_value_head_dim=16, linear_conv_kernel_dim=4,
                   rms_norm_eps=1e-6, vocab_size=256, max_position_embeddings=512,
                   full_attention_interval=2,
                   rope_parameters=dict(rope_type="default", mrope_section=[2, 1, 1],
                                        rope_theta=10000.0, partial_rotary_factor=0.25))
QWEN35_VISUAL = [("model.visual.blocks.0.attn.qkv.weight", [96, 32]),
                 ("model.visual.merger.linear_fc1.weight", [64, 128])]


def qwen35_hf(name):
    """MLX wrapper names -> transformers' `Qwen3_5ForConditionalGeneration` layout."""
    if name.startswith("language_model.model."):
        return "model.language_model." + name[len("language_model.model."):]
    if name.startswith("language_model."):
        return name[len("language_model."):]
    return name


def fused_experts(into="switch_mlp", swapped=False):
    """Stacked `switch_mlp.{gate,up,down}_proj.weight` -> transformers' fused
    `experts.gate_up_proj` `[E, 2I, H]` and `experts.down_proj` `[E, H, I]` (`swapped`: the
    `[E, in, out]` layout, gate_up `[E, H, 2I]`, down `[E, I, H]`)."""

    def fn(params, config):
        out = []
        for n, s in params:
            tok = f".{into}."
            if tok not in n or not n.endswith(".weight"):
                out.append((n, s))
                continue
            base, _, proj = n[: -len(".weight")].rpartition(tok)
            if proj == "gate_proj":
                shape = [s[0], s[2], 2 * s[1]] if swapped else [s[0], 2 * s[1], s[2]]
                out.append((f"{base}.experts.gate_up_proj", shape))
            elif proj == "down_proj":
                shape = [s[0], s[2], s[1]] if swapped else s
                out.append((f"{base}.experts.down_proj", shape))
        return out

    return fn


case("qwen3_5", dict(model_type="qwen3_5", text_config=dict(QWEN35_TEXT)),
     mapped(conv_torch(), renamed(qwen35_hf, fixed(*QWEN35_VISUAL), MTP)))
case("qwen3_5-tied", dict(model_type="qwen3_5",
                          text_config=dict(QWEN35_TEXT, tie_word_embeddings=True)),
     mapped(conv_torch(), renamed(qwen35_hf, fixed(*QWEN35_VISUAL))))
case("qwen3_5-flat", dict(QWEN35_TEXT, model_type="qwen3_5"),
     mapped(conv_torch(), renamed(qwen35_hf, MTP)))
case("qwen3_5-converted", dict(model_type="qwen3_5", text_config=dict(QWEN35_TEXT)))
QWEN35_MOE_TEXT = dict(QWEN35_TEXT, model_type="qwen3_5_moe_text", num_experts=4,
                       num_experts_per_tok=2, shared_expert_intermediate_size=32,
                       moe_intermediate_size=32)
case("qwen3_5_moe", dict(model_type="qwen3_5_moe", text_config=dict(QWEN35_MOE_TEXT)),
     mapped(conv_torch(), mapped(fused_experts(), renamed(qwen35_hf, fixed(*QWEN35_VISUAL),
                                                          MTP))))
case("qwen3_5_moe-tied", dict(model_type="qwen3_5_moe",
                              text_config=dict(QWEN35_MOE_TEXT, tie_word_embeddings=True)),
     mapped(conv_torch(), mapped(fused_experts(), renamed(qwen35_hf))))

LLAMA4_TEXT = dict(model_type="llama4_text", attention_bias=False, attention_chunk_size=64,
                   head_dim=16, hidden_size=64, interleave_moe_layer_step=2,
                   intermediate_size=32, intermediate_size_mlp=96, max_position_embeddings=512,
                   num_attention_heads=4, num_experts_per_tok=1, num_hidden_layers=4,
                   num_key_value_heads=2, num_local_experts=4, rms_norm_eps=1e-5,
                   rope_scaling=None, rope_theta=10000.0, use_qk_norm=True, vocab_size=256,
                   no_rope_layers=[1, 1, 1, 0])
LLAMA4_VISION = [("vision_model.patch_embedding.linear.weight", [32, 48]),
                 ("vision_model.model.layers.0.self_attn.q_proj.weight", [32, 32]),
                 ("multi_modal_projector.linear_1.weight", [64, 32])]
case("llama4", dict(model_type="llama4", text_config=dict(LLAMA4_TEXT)),
     mapped(fused_experts(into="experts", swapped=True), with_extra(fixed(*LLAMA4_VISION))))
case("llama4-converted", dict(model_type="llama4", text_config=dict(LLAMA4_TEXT)))

QWEN3_MOE_TEXT = dict(MOE, model_type="qwen3_vl_moe_text", num_experts=4, num_experts_per_tok=2,
                      decoder_sparse_step=1, mlp_only_layers=[], head_dim=16,
                      tie_word_embeddings=False, norm_topk_prob=True)
QVL_VISUAL = [("model.visual.blocks.0.attn.qkv.weight", [96, 32]),
              ("model.visual.merger.linear_fc1.weight", [64, 128])]
case("qwen3_vl_moe", dict(model_type="qwen3_vl_moe", text_config=dict(QWEN3_MOE_TEXT)),
     mapped(fused_experts(swapped=True), renamed(qwen35_hf, fixed(*QVL_VISUAL))))
case("qwen3_vl_moe-legacy", dict(model_type="qwen3_vl_moe", text_config=dict(QWEN3_MOE_TEXT)),
     mapped(fused_experts(swapped=True),
            with_extra(fixed(("visual.blocks.0.attn.qkv.weight", [96, 32])))))

HUNYUAN = dict(model_type="hunyuan", vocab_size=256, hidden_size=64, num_hidden_layers=2,
               intermediate_size=128, num_attention_heads=8, num_key_value_heads=2,
               attention_bias=False, moe_topk=1, num_experts=1, num_shared_expert=1,
               use_mixed_mlp_moe=False, use_qk_norm=True, rms_norm_eps=1e-5, rope_theta=10000.0,
               use_cla=False, cla_share_factor=2,
               rope_scaling=dict(alpha=1000.0, factor=1.0, type="dynamic"))


def hunyuan_fused(params, config):
    """q/k/v -> `qkv_proj` grouped per KV head; gate/up -> `gate_and_up_proj` (up first)."""
    d = dict(params)
    hd = config["hidden_size"] // config["num_attention_heads"]
    nkv = config["num_key_value_heads"]
    g = config["num_attention_heads"] // nkv
    out = []
    for n, s in params:
        if n.endswith("self_attn.q_proj.weight"):
            out.append((n.replace("q_proj", "qkv_proj"), [nkv * (g + 2) * hd, s[1]]))
        elif n.endswith(("self_attn.k_proj.weight", "self_attn.v_proj.weight")):
            continue
        elif n.endswith("mlp.gate_proj.weight"):
            out.append((n.replace("gate_proj", "gate_and_up_proj"), [2 * s[0], s[1]]))
        elif n.endswith("mlp.up_proj.weight"):
            continue
        else:
            out.append((n, s))
    return out


case("hunyuan", HUNYUAN, hunyuan_fused)
case("hunyuan-moe", dict(HUNYUAN, num_experts=4, moe_topk=2, use_mixed_mlp_moe=True,
                         moe_intermediate_size=32, use_cla=True, tie_word_embeddings=True),
     unstack())

FALCON_H1 = dict(model_type="falcon_h1", hidden_size=64, num_hidden_layers=2,
                 intermediate_size=128, num_attention_heads=4, num_key_value_heads=2,
                 head_dim=16, vocab_size=256, mamba_d_ssm=64, mamba_d_state=16, mamba_d_head=16,
                 mamba_n_heads=4, mamba_n_groups=1, mamba_d_conv=4, mamba_expand=1,
                 mamba_chunk_size=32, tie_word_embeddings=False,
                 embedding_multiplier=2.0, lm_head_multiplier=0.0625,
                 attention_in_multiplier=0.7, key_multiplier=0.3, attention_out_multiplier=0.9,
                 ssm_out_multiplier=0.2, ssm_in_multiplier=1.3,
                 mlp_multipliers=[0.8, 0.6], ssm_multipliers=[0.35, 0.25, 0.35, 0.5, 0.35])
case("falcon_h1", FALCON_H1, mapped(conv_torch(), with_extra()))
case("falcon_h1-tied", dict(FALCON_H1, tie_word_embeddings=True),
     mapped(conv_torch(), with_extra()))
case("falcon_h1-converted", FALCON_H1)

STEP3P5 = dict(model_type="step3p5", hidden_size=64, num_hidden_layers=3, vocab_size=256,
               num_attention_heads=4, num_attention_groups=2, head_dim=16, intermediate_size=128,
               moe_num_experts=4, moe_top_k=2, moe_intermediate_size=32, share_expert_dim=32,
               max_position_embeddings=512)
STEP3P5_VANILLA = [(".mlp.switch_mlp.gate_proj.", ".moe.gate_proj."),
                   (".mlp.switch_mlp.up_proj.", ".moe.up_proj."),
                   (".mlp.switch_mlp.down_proj.", ".moe.down_proj."),
                   (".mlp.gate.gate.", ".moe.gate."),
                   (".mlp.gate.router_bias", ".moe.router_bias"),
                   (".mlp.share_expert.", ".share_expert.")]


def step3p5_hf(name):
    for mlx, hf in STEP3P5_VANILLA:
        if mlx in name:
            return name.replace(mlx, hf)
    return name


case("step3p5", STEP3P5,
     renamed(step3p5_hf, layer_extra([("model.layers.{n}.self_attn.q_proj.weight", [64, 64])]),
             fixed(("model.mtp.layers.0.enorm.weight", [64]))))
case("step3p5-converted", STEP3P5)

for tie in (True, False):
    case(f"solar_open-{'tied' if tie else 'untied'}",
         moe("solar_open", norm_topk_prob=True, n_group=1, head_dim=16, topk_group=1,
             n_shared_experts=1, n_routed_experts=4, routed_scaling_factor=1.0,
             num_experts_per_tok=2, first_k_dense_replace=1, rope_scaling=None,
             use_qk_norm=tie, tie_word_embeddings=tie, attention_bias=not tie,
             partial_rotary_factor=0.5),
         then(unstack(), layer_extra([("model.layers.{n}.eh_proj.weight", [64, 128]),
                                      ("model.layers.{n}.enorm.weight", [64])])))


def squeezed_to(shape):
    def fn(params, config):
        return [(n, shape if n.endswith(("alpha_p", "alpha_n")) else s) for n, s in params]

    return fn


for tie in (True, False):
    case(f"apertus-{'tied' if tie else 'untied'}",
         cfg("apertus", mlp_bias=not tie, attention_bias=not tie, post_norm=False,
             qk_norm=True, tie_word_embeddings=tie),
         mapped(squeezed_to([1]), with_extra(*([lm_head()] if tie else []))))

MINICPM = cfg("minicpm", dim_model_base=32, scale_depth=1.4, scale_emb=12)
case("minicpm", MINICPM)
case("minicpm-no_head", MINICPM,
     renamed(lambda n: None if n == "lm_head.weight" else n))

GPT2 = dict(model_type="gpt2", n_ctx=128, n_embd=64, n_head=4, n_layer=2, n_positions=128,
            layer_norm_epsilon=1e-5, vocab_size=256)


def gpt2_hf(params, config):
    """MLX names -> the original GPT-2 checkpoint: no `model.` prefix, Conv1D weights `[in, out]`,
    causal-mask buffers `h.{i}.attn.bias`."""
    out = []
    for n, s in params:
        n = n.removeprefix("model.")
        if n.endswith(("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight",
                       "mlp.c_proj.weight")):
            s = [s[1], s[0]]
        out.append((n, s))
    for i in range(config["n_layer"]):
        out.append((f"h.{i}.attn.bias", [1, 1, 128, 128]))
    return out


case("gpt2", GPT2, gpt2_hf)

DBRX = dict(model_type="dbrx", vocab_size=256, d_model=64, n_layers=2, n_heads=4,
            ffn_config=dict(ffn_hidden_size=32, moe_num_experts=4, moe_top_k=2),
            attn_config=dict(kv_n_heads=2, rope_theta=10000.0, clip_qkv=8))


def dbrx_fused(params, config):
    """Per-expert `experts.{e}.{v1,w1,w2}.weight` -> fused `experts.mlp.{v1,w1,w2}` `[E*F, D]`
    (w2 stored transposed)."""
    out, seen = [], set()
    n = config["ffn_config"]["moe_num_experts"]
    for name, s in params:
        parts = name.split(".")
        if "experts" in parts and name.endswith(".weight"):
            i = parts.index("experts")
            fused = ".".join(parts[:i + 1] + ["mlp", parts[i + 2]])
            if fused not in seen:
                seen.add(fused)
                rows, cols = (s[1], s[0]) if parts[i + 2] == "w2" else (s[0], s[1])
                out.append((fused, [n * rows, cols]))
            continue
        out.append((name, s))
    return out


case("dbrx", DBRX, dbrx_fused)

GEMMA4_TEXT = dict(model_type="gemma4_text", hidden_size=64, num_hidden_layers=4,
                   intermediate_size=128, num_attention_heads=4, head_dim=16, global_head_dim=32,
                   vocab_size=256, vocab_size_per_layer_input=256, num_key_value_heads=2,
                   num_kv_shared_layers=2, hidden_size_per_layer_input=16, sliding_window=32,
                   sliding_window_pattern=2, enable_moe_block=True, num_experts=4,
                   top_k_experts=2, moe_intermediate_size=32)


def gemma4_hf(prefix="model."):
    """MLX text-model names -> Hugging Face: fused experts, k/v projections of the KV-shared
    layers (which the model drops), rotary buffers and activation statistics."""

    def build(params, config):
        out = []
        for n, s in params:
            if n.endswith(".experts.switch_glu.gate_proj.weight"):
                out.append((n.replace(".switch_glu.gate_proj.weight", ".gate_up_proj"),
                            [s[0], 2 * s[1], s[2]]))
            elif n.endswith(".experts.switch_glu.up_proj.weight"):
                continue
            elif n.endswith(".experts.switch_glu.down_proj.weight"):
                out.append((n.replace(".switch_glu.down_proj.weight", ".down_proj"), s))
            else:
                out.append((n, s))
        first = config.get("text_config", config)
        first = first["num_hidden_layers"] - first["num_kv_shared_layers"]
        total = config.get("text_config", config)["num_hidden_layers"]
        for i in range(first, total):
            for leaf, shape in (("k_proj.weight", [32, 64]), ("v_proj.weight", [32, 64]),
                                ("k_norm.weight", [16])):
                out.append((f"{prefix}layers.{i}.self_attn.{leaf}", shape))
        out.append((f"{prefix}layers.0.self_attn.rotary_emb.inv_freq", [8]))
        out.append((f"{prefix}layers.0.mlp.gate_proj.input_max", []))
        return out

    return build


case("gemma4_text", GEMMA4_TEXT, gemma4_hf())


def gemma4_wrapper_hf(params, config):
    out = []
    for n, s in gemma4_hf("language_model.model.")(params, config):
        if n.startswith("language_model.model."):
            n = "model.language_model." + n[len("language_model.model."):]
        out.append((n, s))
    return out + [("model.vision_tower.encoder.layers.0.self_attn.q_proj.weight", [32, 32]),
                  ("model.embed_vision.embedding_projection.weight", [64, 32]),
                  ("model.audio_tower.layers.0.self_attn.q_proj.weight", [32, 32])]


case("gemma4", dict(model_type="gemma4", vocab_size=256, text_config=dict(GEMMA4_TEXT)),
     gemma4_wrapper_hf)

BAILING = dict(model_type="bailing_moe", hidden_size=64, intermediate_size=128,
               max_position_embeddings=512, moe_intermediate_size=32, num_experts=4,
               num_shared_experts=1, norm_topk_prob=True, num_attention_heads=4,
               num_experts_per_tok=2, num_hidden_layers=3, num_key_value_heads=2,
               rms_norm_eps=1e-6, rope_theta=10000.0, vocab_size=256, first_k_dense_replace=1)
case("bailing_moe", dict(BAILING, use_qkv_bias=True, use_qk_norm=True,
                         moe_router_enable_expert_bias=True),
     renamed_keys(lambda n: n.replace("mlp.gate.gate_proj.", "mlp.gate."))(unstack()))
case("bailing_moe-tied", dict(BAILING, tie_word_embeddings=True),
     then(renamed_keys(lambda n: n.replace("mlp.gate.gate_proj.", "mlp.gate."))(unstack()),
          fixed(("lm_head.weight", [256, 64]))))

case("bailing_moe_linear", dict(BAILING, model_type="bailing_moe_linear", num_hidden_layers=4,
                                layer_group_size=2, group_norm_size=1, use_qk_norm=True,
                                moe_router_enable_expert_bias=True),
     renamed_keys(lambda n: n.replace("mlp.gate.gate_proj.", "mlp.gate."))(unstack()))

case("bailing_moe-norm_head", dict(BAILING, norm_head=True),
     renamed_keys(lambda n: n.replace("mlp.gate.gate_proj.", "mlp.gate."))(unstack()))

# Ling 2.5-style hybrids: every `layer_group_size`-th layer (and the tail) is MLA, the others
# linear attention (bailing_hybrid) or KDA (bailing_moe_v3); MTP layers follow the base ones.
BAILING_HYBRID = dict(BAILING, model_type="bailing_hybrid", num_hidden_layers=4,
                      num_key_value_heads=4, layer_group_size=2, group_norm_size=2, head_dim=16,
                      n_group=1, topk_group=1, routed_scaling_factor=2.5, kv_lora_rank=16,
                      q_lora_rank=32, qk_rope_head_dim=8, qk_nope_head_dim=16, v_head_dim=16,
                      moe_shared_expert_intermediate_size=32)
BAILING_MTP = layer_extra([("model.layers.{n}.attention.kv_a_proj_with_mqa.weight", [24, 64]),
                           ("model.layers.{n}.mlp.experts.0.up_proj.weight", [32, 64]),
                           ("model.layers.{n}.enorm.weight", [64])])
case("bailing_hybrid", BAILING_HYBRID,
     then(renamed_keys(lambda n: n.replace("mlp.gate.gate_proj.", "mlp.gate."))(
         mla_hf(unstack())), BAILING_MTP))
case("bailing_hybrid-tied", dict(BAILING_HYBRID, tie_word_embeddings=True, q_lora_rank=None,
                                 num_hidden_layers=5),
     then(renamed_keys(lambda n: n.replace("mlp.gate.gate_proj.", "mlp.gate."))(
         mla_hf(unstack())), fixed(("lm_head.weight", [256, 64]))))
BAILING_V3 = dict(model_type="bailing_moe_v3", vocab_size=256, hidden_size=64,
                  intermediate_size=128, moe_intermediate_size=32,
                  moe_shared_expert_intermediate_size=32, num_hidden_layers=4,
                  num_attention_heads=4, num_experts=4, num_experts_per_tok=2,
                  num_shared_experts=1, first_k_dense_replace=1, n_group=1, topk_group=1,
                  layer_group_size=2, head_dim=16, q_lora_rank=32, kv_lora_rank=16,
                  qk_nope_head_dim=16, qk_rope_head_dim=8, v_head_dim=16,
                  short_conv_kernel_size=4, max_position_embeddings=512)
case("bailing_moe_v3", BAILING_V3,
     then(mapped(conv_torch("_conv1d.weight"), mla_hf(unstack())), BAILING_MTP))
case("bailing_moe_v3-tied", dict(BAILING_V3, tie_word_embeddings=True, q_lora_rank=None,
                                 num_hidden_layers=5),
     then(mla_hf(unstack()), fixed(("lm_head.weight", [256, 64]))))

BAICHUAN_M1 = cfg("baichuan_m1", sliding_window=32, sliding_window_layers=[1], conv_window=2,
                  num_swa_attention_heads=4, num_swa_key_value_heads=2)
case("baichuan_m1", BAICHUAN_M1)

# ---- configs without the tie flag: the ModelArgs default decides ---------------------------


def no_tie(c):
    c = copy.deepcopy(c)
    c.pop("tie_word_embeddings", None)
    return c


for name, config, inputs in [
    ("bitnet", cfg("bitnet"), with_extra(inv_freq(), lm_head())),
    ("exaone", dict(model_type="exaone", hidden_size=64, num_layers=2, intermediate_size=128,
                    num_attention_heads=4, vocab_size=256, rope_theta=10000.0,
                    layer_norm_epsilon=1e-5, num_key_value_heads=2), None),
    ("glm", cfg("glm", head_dim=16), with_extra(inv_freq(), lm_head())),
    ("gpt_bigcode", dict(model_type="gpt_bigcode", n_embd=64, n_layer=2, n_inner=128, n_head=4,
                         n_positions=128, layer_norm_epsilon=1e-5, vocab_size=256), None),
    ("granite", no_tie(GRANITE), with_extra(lm_head())),
    ("hunyuan_v1_dense", cfg("hunyuan_v1_dense"), None),
    ("internlm2", cfg("internlm2"), with_extra(inv_freq(".attention", "rope.inv_freq"))),
    ("internlm3", cfg("internlm3"), None),
    ("iquestloopcoder", cfg("iquestloopcoder", head_dim=16), None),
    ("llama", llama_text(), with_extra(inv_freq(), lm_head())),
    ("mimo", cfg("mimo"), with_extra(mtp)),
    ("minicpm3", cfg("minicpm3", dim_model_base=32, q_lora_rank=32, qk_nope_head_dim=8,
                     qk_rope_head_dim=8, kv_lora_rank=16, scale_depth=1.4, scale_emb=12,
                     rope_scaling=dict(original_max_position_embeddings=256)), None),
    ("nanbeige", cfg("nanbeige"), None),
    ("nemotron", cfg("nemotron", hidden_act="relu2", norm_eps=1e-5), None),
    ("nemotron-nas", dict(model_type="nemotron-nas", hidden_size=64, num_hidden_layers=4,
                          num_attention_heads=4, vocab_size=256, block_configs=NAS_BLOCKS), None),
    ("olmo2", cfg("olmo2"), with_extra(inv_freq())),
    ("olmo3", cfg("olmo3", sliding_window=32, num_hidden_layers=4), None),
    ("openelm", dict(model_type="openelm", head_dim=16, num_transformer_layers=2, model_dim=64,
                     vocab_size=256, ffn_dim_divisor=32, num_query_heads=[4, 4],
                     num_kv_heads=[2, 2], ffn_multipliers=[1.0, 1.0],
                     tie_word_embeddings=False), None),
    ("phi3", cfg("phi3"), None),
    ("plamo3", dict(model_type="plamo3", hidden_size=64, num_hidden_layers=2,
                    num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                    intermediate_size=128, vocab_size=256), with_extra(lm_head())),
    ("qwen2", cfg("qwen2"), with_extra(inv_freq(), lm_head())),
    ("seed_oss", cfg("seed_oss", head_dim=16), with_extra(lm_head())),
    ("smollm3", cfg("smollm3"), with_extra(inv_freq(), lm_head())),
    ("spark2_5", no_tie(SPARK), with_extra(inv_freq(), lm_head())),
    ("starcoder2", cfg("starcoder2"), None),
    ("telechat3", cfg("telechat3"), None),
    ("youtu_llm", no_tie(YOUTU), with_extra(lm_head())),
    # wrappers: only the text config counts (a top-level flag is ignored)
    ("qwen2_vl", dict(model_type="qwen2_vl", text_config=no_tie(QWEN2_TEXT),
                      tie_word_embeddings=False),
     renamed(qwen_vl_new, fixed(*with_prefix_all("model.", QVIS)))),
    ("mistral3", dict(model_type="mistral3", text_config=no_tie(MISTRAL_TEXT),
                      tie_word_embeddings=True), renamed(llava_legacy, vision())),
    ("muse_glimmer", dict(model_type="muse_glimmer", text_config=no_tie(MUSE)),
     renamed(lambda n: "language_model." + n, fixed(*MUSE_VISION))),
]:
    case(f"{name}-tie_default", config, inputs)

# --------------------------------------------------------------------------------------------


def quantizable(module) -> bool:
    """`nn.quantize` quantizes this leaf without error (its `to_quantized` takes `mode`)."""
    tq = getattr(module, "to_quantized", None)
    if tq is None:
        return False
    params = inspect.signature(tq).parameters
    return "mode" in params or any(p.kind == p.VAR_KEYWORD for p in params.values())


def jsonable(r):
    if r is True or r is None:
        return None
    if r is False:
        return "skip"
    if isinstance(r, dict):
        return dict(r)
    raise TypeError(f"unexpected quant_predicate result {r!r}")


def run_case(c) -> dict:
    config = c["config"]
    model_class, args_class = _get_classes(copy.deepcopy(config))
    model = model_class(args_class.from_dict(copy.deepcopy(config)))
    before = [(k, list(v.shape)) for k, v in tree_flatten(model.parameters())]
    dtypes = {k: v.dtype for k, v in tree_flatten(model.parameters())}
    inputs = c["inputs"](before, config)
    names = [n for n, _ in inputs]
    assert len(names) == len(set(names)), f"{c['name']}: duplicate input names"
    # fp8 weights (those with a `_scale_inv` partner) load as raw uint8, as mx.load gives F8_E4M3.
    fp8 = {n[: -len("_scale_inv")] for n in names if n.endswith("_scale_inv")}
    weights = {
        n: mx.zeros(s, dtype=mx.uint8 if n in fp8 else dtypes.get(n, mx.float32))
        for n, s in inputs
    }
    if hasattr(model, "sanitize"):
        weights = model.sanitize(weights)
    flat = tree_flatten(model.parameters())
    params = [(k, list(v.shape)) for k, v in flat]
    got = {k: list(v.shape) for k, v in weights.items()}
    want = dict(params)
    if got != want:
        missing = sorted(set(want) - set(got))
        extra = sorted(set(got) - set(want))
        shapes = sorted(k for k in set(got) & set(want) if got[k] != want[k])
        raise AssertionError(
            f"{c['name']}: sanitize output != parameters\n  missing {missing}\n  extra {extra}"
            f"\n  shape {shapes}"
        )
    model.load_weights(list(weights.items()), strict=True)

    leaves = dict(tree_flatten(model.leaf_modules(), is_leaf=nn.Module.is_module))
    qp = getattr(model, "quant_predicate", None)
    cp = getattr(model, "cast_predicate", None)
    rows = []
    for name, shape in params:
        owner, _, leaf = name.rpartition(".")
        module = leaves.get(owner)
        q = leaf == "weight" and module is not None and quantizable(module)
        row = dict(name=name, shape=shape, quantizable=q)
        if module is not None and leaf == "weight" and hasattr(module, "to_quantized") and not q:
            row["note"] = "to_quantized without `mode`: nn.quantize raises TypeError"
        predicate = jsonable(qp(owner, module)) if (q and qp is not None) else None
        if predicate is not None:  # absent = True (or no model predicate)
            row["predicate"] = predicate
        if cp is not None and not cp(name):  # absent = the cast is allowed
            row["cast"] = False
        rows.append(row)
    return dict(
        case=c["name"],
        model_type=c["model_type"] or config["model_type"],
        module=model_class.__module__.rsplit(".", 1)[-1],
        config=config,
        inputs=[[n, s] for n, s in sorted(inputs)],  # as a safetensors header lists them
        params=rows,
    )


def dump(r: dict) -> str:
    """JSON with one line per input and per parameter (small, diffable)."""
    lines = ["{"]
    items = list(r.items())
    for i, (k, v) in enumerate(items):
        end = "," if i + 1 < len(items) else ""
        if k in ("inputs", "params"):
            rows = [json.dumps(x, separators=(", ", ": ")) for x in v]
            lines.append(f"  {json.dumps(k)}: [")
            lines += [f"    {row}{',' if j + 1 < len(rows) else ''}" for j, row in enumerate(rows)]
            lines.append(f"  ]{end}")
        else:
            lines.append(f"  {json.dumps(k)}: {json.dumps(v)}{end}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def implied_orders(results):
    """Per module: sibling order constraints seen in the parameter order, topologically sorted."""
    by_module = {}
    for r in results:
        edges = by_module.setdefault(r["module"], {})
        children = {}
        for p in r["params"]:
            parts = p["name"].split(".")
            for i in range(len(parts)):
                if parts[i].isdigit():
                    continue
                kids = children.setdefault(tuple(parts[:i]), [])
                if parts[i] not in kids:
                    kids.append(parts[i])
        for kids in children.values():
            for a, b in zip(kids, kids[1:]):
                edges.setdefault(a, set()).add(b)
                edges.setdefault(b, set())
    for module, edges in sorted(by_module.items()):
        order, seen, temp = [], set(), set()

        def visit(n):
            if n in seen:
                return
            if n in temp:
                raise ValueError(f"{module}: order cycle through {n}")
            temp.add(n)
            for m in sorted(edges[n]):
                visit(m)
            temp.discard(n)
            seen.add(n)
            order.append(n)

        for n in sorted(edges):
            visit(n)
        print(f"{module}: {list(reversed(order))}")


def main(argv):
    orders = "--orders" in argv
    wanted = [a for a in argv if not a.startswith("--")]
    OUT.mkdir(parents=True, exist_ok=True)
    results = []
    failed = 0
    for c in CASES:
        if wanted and c["name"] not in wanted and c["name"].split("-")[0] not in wanted:
            continue
        try:
            r = run_case(c)
        except Exception as e:  # report every failing case, then fail
            failed += 1
            print(f"FAIL {c['name']}: {type(e).__name__}: {e}", file=sys.stderr)
            continue
        results.append(r)
        path = OUT / f"{c['name']}.json"
        path.write_text(dump(r))
        print(f"ok   {c['name']}: {len(r['inputs'])} inputs -> {len(r['params'])} params")
    if orders:
        implied_orders(results)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
