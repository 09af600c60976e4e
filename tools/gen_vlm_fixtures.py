#!/usr/bin/env python3
"""Tiny vision-language fixtures, built with transformers' own model classes, and mlx-vlm's
conversions of them.

Two steps, two Python environments:

1. `build` needs torch + transformers (a separate venv, only for this script; the committed
   fixtures make the tests independent of it):

       python3 -m venv ~/.cache/hf2mlx/fixture-gen
       ~/.cache/hf2mlx/fixture-gen/bin/pip install torch==2.15.0 transformers==5.23.0 safetensors tokenizers pillow
       ~/.cache/hf2mlx/fixture-gen/bin/python tools/gen_vlm_fixtures.py build [FAMILY ...]

   For each family it instantiates `<X>ForConditionalGeneration` from a tiny config (random
   weights, bfloat16), and writes two checkpoints with the same tensors:
   - `tests/fixtures/vlm/<family>/hf/`: `save_pretrained` output. transformers 5 saves the
     classic key layout (`model.*` + `visual.*`, or `language_model.*` + `vision_tower.*`).
   - `tests/fixtures/vlm/<family>/hf-new/`: the same tensors under the module-tree names of
     transformers >= 4.52 (`model.state_dict()`: `model.language_model.*`, `model.visual.*`,
     ...), which is how checkpoints re-saved by transformers 4.52-4.57 are laid out.
   Plus a tiny WordLevel tokenizer, the family's image processor and processor files.
   `torch_dtype: bfloat16` is added to config.json (what transformers 4.x writes, and what
   mlx-vlm reads for its cast).

2. `record` runs with the mlx-vlm oracle (`tools/mlx-oracle.sh --vlm`):

       PY=$(tools/mlx-oracle.sh --vlm | tail -1); $PY tools/gen_vlm_fixtures.py record [FAMILY ...]

   converts both layouts with `mlx_vlm.convert` under each variant and records the output with
   `tools/manifest.py describe` in `expected/<layout>-<variant>.json`, or the error mlx-vlm
   raised (`{"error": ...}`) when it cannot convert that layout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
OUT = ROOT / "tests" / "fixtures" / "vlm"

VARIANTS = {
    "plain": [],
    "q4": ["-q"],
    "f16": ["--dtype", "float16"],
    "mxfp4": ["-q", "--q-mode", "mxfp4"],
}
# Variants recorded for some families only.
EXTRA_VARIANTS = {"gemma3n": {"mixed_3_6": ["-q", "--quant-predicate", "mixed_3_6"]}}

# Special tokens the processors and chat templates of the families below refer to.
SPECIALS = [
    "<unk>", "<pad>", "<bos>", "<eos>", "<s>", "</s>", "<|endoftext|>", "<|im_start|>",
    "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>",
    "<image>", "<start_of_image>", "<end_of_image>", "<image_soft_token>", "<fake_token_around_image>",
    "<global-img>", "<end_of_utterance>", "[IMG]", "[IMG_BREAK]", "[IMG_END]",
]
VOCAB = 256

CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for c in message['content'] %}{% if c['type'] == 'text' %}{{ c['text'] }}"
    "{% else %}<image>{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
)


def tokenizer(extra: dict | None = None, words: tuple = ()):
    """A WordLevel tokenizer over SPECIALS, then `words` (tokens one family's processor looks
    up), then filler words up to VOCAB."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {t: i for i, t in enumerate([*SPECIALS, *words])}
    for i in range(VOCAB - len(vocab)):
        vocab[f"w{i}"] = len(vocab)
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="<unk>",
        pad_token="<pad>",
        bos_token="<bos>",
        eos_token="<eos>",
        extra_special_tokens=extra or {},
    )


def tid(token: str) -> int:
    return SPECIALS.index(token)


TEXT = dict(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=2,
    num_key_value_heads=1,
    vocab_size=VOCAB,
    bos_token_id=tid("<bos>"),
    eos_token_id=tid("<eos>"),
    pad_token_id=tid("<pad>"),
)

# A SigLIP/CLIP tower: 16x16 images of 4x4 patches, one layer.
SIGLIP = dict(
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=1,
    num_attention_heads=2,
    image_size=16,
    patch_size=4,
    num_channels=3,
)


def qwen2_vl():
    import transformers as t

    rope = {"type": "mrope", "mrope_section": [4, 6, 6], "rope_theta": 1000000.0}
    cfg = t.Qwen2VLConfig(
        text_config=dict(TEXT, rope_scaling=rope, rope_parameters=rope),
        vision_config=dict(depth=1, embed_dim=32, hidden_size=64, num_heads=2, mlp_ratio=2,
                           patch_size=4, spatial_merge_size=2, temporal_patch_size=2),
        image_token_id=tid("<|image_pad|>"), video_token_id=tid("<|video_pad|>"),
        vision_start_token_id=tid("<|vision_start|>"), vision_end_token_id=tid("<|vision_end|>"),
    )
    model = t.Qwen2VLForConditionalGeneration(cfg)
    ip = t.Qwen2VLImageProcessor(patch_size=4, merge_size=2, temporal_patch_size=2,
                                 min_pixels=64, max_pixels=4096)
    proc = t.Qwen2VLProcessor(image_processor=ip, tokenizer=tokenizer(),
                              video_processor=t.Qwen2VLVideoProcessor(patch_size=4, merge_size=2),
                              chat_template=CHAT_TEMPLATE)
    return model, proc


def qwen2_5_vl():
    import transformers as t

    rope = {"type": "mrope", "mrope_section": [4, 6, 6], "rope_theta": 1000000.0}
    cfg = t.Qwen2_5_VLConfig(
        text_config=dict(TEXT, rope_scaling=rope, rope_parameters=rope),
        vision_config=dict(depth=2, hidden_size=32, out_hidden_size=64, intermediate_size=64,
                           num_heads=2, patch_size=4, spatial_merge_size=2, temporal_patch_size=2,
                           window_size=16, fullatt_block_indexes=[1]),
        image_token_id=tid("<|image_pad|>"), video_token_id=tid("<|video_pad|>"),
        vision_start_token_id=tid("<|vision_start|>"), vision_end_token_id=tid("<|vision_end|>"),
    )
    model = t.Qwen2_5_VLForConditionalGeneration(cfg)
    ip = t.Qwen2VLImageProcessor(patch_size=4, merge_size=2, temporal_patch_size=2,
                                 min_pixels=64, max_pixels=4096)
    proc = t.Qwen2_5_VLProcessor(image_processor=ip, tokenizer=tokenizer(),
                                 video_processor=t.Qwen2VLVideoProcessor(patch_size=4, merge_size=2),
                                 chat_template=CHAT_TEMPLATE)
    return model, proc


def gemma3():
    import transformers as t

    cfg = t.Gemma3Config(
        # mlx-vlm reads mm_tokens_per_image from text_config (its pooling kernel).
        text_config=dict(TEXT, head_dim=32, sliding_window=16, query_pre_attn_scalar=32,
                         layer_types=["sliding_attention", "full_attention"],
                         mm_tokens_per_image=4),
        vision_config=dict(SIGLIP, vision_use_head=False),
        mm_tokens_per_image=4,
        image_token_index=tid("<image_soft_token>"),
        boi_token_index=tid("<start_of_image>"),
        eoi_token_index=tid("<end_of_image>"),
    )
    model = t.Gemma3ForConditionalGeneration(cfg)
    ip = t.Gemma3ImageProcessor(size={"height": 16, "width": 16})
    tok = tokenizer({"boi_token": "<start_of_image>", "eoi_token": "<end_of_image>",
                     "image_token": "<image_soft_token>"})
    proc = t.Gemma3Processor(image_processor=ip, tokenizer=tok, image_seq_length=4,
                             chat_template=CHAT_TEMPLATE)
    return model, proc


def llava():
    import transformers as t

    cfg = t.LlavaConfig(
        text_config=dict(TEXT, model_type="llama"),
        vision_config=dict(SIGLIP, model_type="clip_vision_model", projection_dim=32),
        image_token_index=tid("<image>"),
        projector_hidden_act="gelu",
        vision_feature_layer=-1,
    )
    model = t.LlavaForConditionalGeneration(cfg)
    ip = t.CLIPImageProcessor(size={"shortest_edge": 16}, crop_size={"height": 16, "width": 16})
    proc = t.LlavaProcessor(image_processor=ip, tokenizer=tokenizer(), patch_size=4,
                            chat_template=CHAT_TEMPLATE)
    return model, proc


# LLaVA-NeXT's any-resolution grid: the 16x16 base image and its 2-tile splits.
PINPOINTS = [[16, 16], [16, 32], [32, 16]]


def llava_next():
    """LLaVA-NeXT (llava-v1.6): LLaVA-1.5's CLIP tower and projector plus the learned
    `image_newline` row appended after each row of image features."""
    import transformers as t

    cfg = t.LlavaNextConfig(
        text_config=dict(TEXT, model_type="llama"),
        vision_config=dict(SIGLIP, model_type="clip_vision_model", projection_dim=32),
        image_token_index=tid("<image>"),
        projector_hidden_act="gelu",
        vision_feature_layer=-1,
        image_grid_pinpoints=PINPOINTS,
    )
    model = t.LlavaNextForConditionalGeneration(cfg)
    ip = t.LlavaNextImageProcessor(size={"shortest_edge": 16}, crop_size={"height": 16, "width": 16},
                                   image_grid_pinpoints=PINPOINTS)
    proc = t.LlavaNextProcessor(image_processor=ip, tokenizer=tokenizer(), patch_size=4,
                                chat_template=CHAT_TEMPLATE)
    return model, proc


# The image tokens Aya Vision's processor (transformers' and mlx-vlm's) looks up.
AYA_TOKENS = ("<|START_OF_IMG|>", "<|END_OF_IMG|>", "<|IMG_PATCH|>", "<|IMG_LINE_BREAK|>",
              "TILE", "TILE_GLOBAL")


def aya_vision():
    """Aya Vision (CohereForAI/aya-vision-8b): a SigLIP tower, a pixel-shuffle SwiGLU
    projector with a LayerNorm, and a Cohere2 text model whose head is its embedding."""
    import transformers as t

    cfg = t.AyaVisionConfig(
        text_config=dict(TEXT, model_type="cohere2", head_dim=32, sliding_window=16,
                         sliding_window_pattern=2,
                         layer_types=["sliding_attention", "full_attention"]),
        vision_config=dict(SIGLIP, model_type="siglip_vision_model", vision_use_head=False),
        downsample_factor=2,
        image_token_index=len(SPECIALS) + AYA_TOKENS.index("<|IMG_PATCH|>"),
    )
    # mlx-vlm reads these (its dataclass defaults are Aya Vision 8B's sizes).
    cfg.alignment_intermediate_size = 128
    model = t.AyaVisionForConditionalGeneration(cfg)
    ip = t.GotOcr2ImageProcessor(size={"height": 16, "width": 16}, crop_to_patches=False)
    tok = tokenizer({"image_token": "<image>"}, words=AYA_TOKENS)
    proc = t.AyaVisionProcessor(image_processor=ip, tokenizer=tok, patch_size=4, img_size=16,
                                downsample_factor=2, chat_template=CHAT_TEMPLATE)
    return model, proc


def rename(tensors: dict, old: str, new: str) -> dict:
    return {(new + k[len(old):] if k.startswith(old) else k): v for k, v in tensors.items()}


# Per family: (classic, transformers >= 4.52) prefix renames restoring the 4.x tower level.
TOWER_FIXUP = {
    f: (("vision_tower.", "vision_tower.vision_model."),
        ("model.vision_tower.", "model.vision_tower.vision_model."))
    for f in ("aya_vision", "gemma3", "llava", "llava_next", "paligemma")
}
# LFM2-VL is saved in the transformers >= 4.52 layout only; its Hub checkpoints (transformers
# 4.5x) keep the SigLIP2 tower's `vision_model.` level there.
TOWER_FIXUP["lfm2_vl"] = (("model.vision_tower.", "model.vision_tower.vision_model."),) * 2

FLAT_CONFIG = {"qwen2_vl", "qwen2_5_vl"}

def qwen3_vl():
    import transformers as t

    rope = {"rope_type": "default", "mrope_section": [4, 6, 6], "mrope_interleaved": True,
            "rope_theta": 5000000.0}
    cfg = t.Qwen3VLConfig(
        text_config=dict(TEXT, head_dim=32, rope_scaling=rope, rope_parameters=rope),
        vision_config=dict(depth=2, hidden_size=32, out_hidden_size=64, intermediate_size=64,
                           num_heads=2, patch_size=4, spatial_merge_size=2, temporal_patch_size=2,
                           num_position_embeddings=16, deepstack_visual_indexes=[1]),
        image_token_id=tid("<|image_pad|>"), video_token_id=tid("<|video_pad|>"),
        vision_start_token_id=tid("<|vision_start|>"), vision_end_token_id=tid("<|vision_end|>"),
    )
    model = t.Qwen3VLForConditionalGeneration(cfg)
    ip = t.Qwen2VLImageProcessor(patch_size=4, merge_size=2, temporal_patch_size=2,
                                 min_pixels=64, max_pixels=4096)
    proc = t.Qwen3VLProcessor(image_processor=ip, tokenizer=tokenizer(),
                              video_processor=t.Qwen3VLVideoProcessor(patch_size=4, merge_size=2),
                              chat_template=CHAT_TEMPLATE)
    return model, proc


# The image/video tokens GLM-4.1V's processor looks up.
GLM4V_TOKENS = ("<|image|>", "<|video|>", "<|begin_of_image|>", "<|end_of_image|>",
                "<|begin_of_video|>", "<|end_of_video|>")


def glm4v():
    """GLM-4.1V (zai-org/GLM-4.1V-9B-Thinking): a ViT with a Conv3d patch embedding, a learned
    position table, RMSNorm blocks, a Conv2d `downsample` (2x2 spatial merge) and a SwiGLU
    patch merger, and a GLM-4 text model (fused gate_up_proj, four norms per layer). Released
    with transformers 4.53, so its checkpoints only exist in the `model.language_model.*` +
    `model.visual.*` layout."""
    import transformers as t

    rope = {"rope_type": "default", "mrope_section": [2, 3, 3], "rope_theta": 10000.0,
            "partial_rotary_factor": 0.5}
    cfg = t.Glm4vConfig(
        text_config=dict(TEXT, attention_bias=True, partial_rotary_factor=0.5,
                         rope_parameters=rope),
        vision_config=dict(depth=1, hidden_size=32, intermediate_size=64, num_heads=2,
                           out_hidden_size=64, patch_size=4, image_size=16,
                           spatial_merge_size=2, temporal_patch_size=2),
        image_token_id=len(SPECIALS) + GLM4V_TOKENS.index("<|image|>"),
        video_token_id=len(SPECIALS) + GLM4V_TOKENS.index("<|video|>"),
        image_start_token_id=len(SPECIALS) + GLM4V_TOKENS.index("<|begin_of_image|>"),
        image_end_token_id=len(SPECIALS) + GLM4V_TOKENS.index("<|end_of_image|>"),
        video_start_token_id=len(SPECIALS) + GLM4V_TOKENS.index("<|begin_of_video|>"),
        video_end_token_id=len(SPECIALS) + GLM4V_TOKENS.index("<|end_of_video|>"),
    )
    model = t.Glm4vForConditionalGeneration(cfg)
    ip = t.Glm4vImageProcessor(patch_size=4, merge_size=2, temporal_patch_size=2,
                               size={"shortest_edge": 64, "longest_edge": 4096})
    vp = t.Glm4vVideoProcessor(patch_size=4, merge_size=2, temporal_patch_size=2)
    tok = tokenizer({"image_token": "<|image|>", "video_token": "<|video|>"}, words=GLM4V_TOKENS)
    proc = t.Glm4vProcessor(image_processor=ip, tokenizer=tok, video_processor=vp,
                            chat_template=CHAT_TEMPLATE)
    return model, proc


def mllama():
    """Llama 3.2 Vision (meta-llama/Llama-3.2-11B-Vision): a tiled ViT (Conv2d patch embedding,
    gated tile and position embeddings, a local and a gated global encoder), a Linear
    projector, and a Llama text model with gated cross-attention layers."""
    import transformers as t

    text = dict(TEXT, model_type="mllama_text_model", cross_attention_layers=[1],
                rope_parameters={"rope_type": "default", "rope_theta": 500000.0})
    cfg = t.MllamaConfig(
        # max_num_tiles and the eight supported aspect ratios are the real model's: mlx-vlm
        # sizes the tile embeddings from its own default max_aspect_ratio_id (8).
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                           num_global_layers=1, attention_heads=2, image_size=16,
                           patch_size=4, intermediate_layers_indices=[0],
                           vision_output_dim=64),
        text_config=text,
        image_token_index=len(SPECIALS) + MLLAMA_TOKENS.index("<|image|>"),
    )
    model = t.MllamaForConditionalGeneration(cfg)
    ip = t.MllamaImageProcessor(size={"height": 16, "width": 16}, max_image_tiles=4)
    tok = tokenizer({"image_token": "<|image|>"}, words=MLLAMA_TOKENS)
    proc = t.MllamaProcessor(image_processor=ip, tokenizer=tok, chat_template=CHAT_TEMPLATE)
    return model, proc


MLLAMA_TOKENS = ("<|image|>", "<|python_tag|>")


LLAMA4_TOKENS = ("<|image|>", "<|image_start|>", "<|image_end|>", "<|patch|>",
                 "<|tile_x_separator|>", "<|tile_y_separator|>")


def llama4():
    """Llama 4 (meta-llama/Llama-4-Scout-17B-16E-Instruct): a ViT with an unfold+Linear patch
    embedding and a pixel-shuffle MLP adapter, a Linear projector, and a Llama 4 text model
    whose MoE layers hold fused experts (`gate_up_proj` [E, H, 2I], `down_proj` [E, I, H])."""
    import transformers as t

    text = dict(TEXT, model_type="llama4_text", head_dim=32, intermediate_size=32,
                intermediate_size_mlp=128, num_local_experts=2, num_experts_per_tok=1,
                interleave_moe_layer_step=2, no_rope_layers=[1, 0], attention_chunk_size=64,
                use_qk_norm=True, rope_parameters={"rope_type": "default", "rope_theta": 500000.0})
    cfg = t.Llama4Config(
        text_config=text,
        vision_config=dict(hidden_size=32, intermediate_size=128, num_hidden_layers=1,
                           num_attention_heads=2, image_size=16, patch_size=4,
                           pixel_shuffle_ratio=0.5, projector_input_dim=64,
                           projector_output_dim=64, vision_output_dim=64,
                           vision_feature_layer=-1),
        image_token_index=len(SPECIALS) + LLAMA4_TOKENS.index("<|patch|>"),
    )
    model = t.Llama4ForConditionalGeneration(cfg)
    ip = t.Llama4ImageProcessorFast(size={"height": 16, "width": 16}, max_patches=1)
    tok = tokenizer({"image_token": "<|image|>"}, words=LLAMA4_TOKENS)
    proc = t.Llama4Processor(image_processor=ip, tokenizer=tok, patch_size=4,
                             chat_template=CHAT_TEMPLATE)
    return model, proc


def paligemma():
    import transformers as t

    cfg = t.PaliGemmaConfig(
        text_config=dict(TEXT, model_type="gemma", head_dim=32, num_image_tokens=16),
        vision_config=dict(SIGLIP, projection_dim=64, vision_use_head=False),
        image_token_index=tid("<image>"),
        projection_dim=64,
        hidden_size=64,
    )
    model = t.PaliGemmaForConditionalGeneration(cfg)
    ip = t.SiglipImageProcessor(size={"height": 16, "width": 16})
    tok = tokenizer({"image_token": "<image>"})
    proc = t.PaliGemmaProcessor(image_processor=ip, tokenizer=tok, chat_template=CHAT_TEMPLATE)
    return model, proc


def idefics3():
    import transformers as t

    cfg = t.Idefics3Config(
        text_config=dict(TEXT, model_type="llama"),
        vision_config=dict(SIGLIP, model_type="idefics3_vision"),
        scale_factor=2,
        image_token_id=tid("<image>"),
    )
    model = t.Idefics3ForConditionalGeneration(cfg)
    ip = t.Idefics3ImageProcessor(size={"longest_edge": 16}, max_image_size={"longest_edge": 16})
    tok = tokenizer({"image_token": "<image>", "fake_image_token": "<fake_token_around_image>",
                     "global_image_token": "<global-img>", "end_of_utterance_token": "<end_of_utterance>"})
    proc = t.Idefics3Processor(image_processor=ip, tokenizer=tok, image_seq_len=4,
                               chat_template=CHAT_TEMPLATE)
    return model, proc


def idefics2():
    """Idefics2 (HuggingFaceM4/idefics2-8b): a SigLIP `vision_model`, a `connector` of a SwiGLU
    `modality_projection` and a Perceiver resampler (latents, cross-attention layers), and a
    Mistral text model."""
    import transformers as t

    cfg = t.Idefics2Config(
        text_config=dict(TEXT, model_type="mistral"),
        vision_config=dict(SIGLIP, model_type="idefics2_vision"),
        perceiver_config=dict(hidden_size=64, resampler_n_latents=4, resampler_depth=2,
                              resampler_n_heads=2, resampler_head_dim=16, num_key_value_heads=1),
        image_token_id=tid("<image>"),
    )
    model = t.Idefics2ForConditionalGeneration(cfg)
    ip = t.Idefics2ImageProcessor(size={"longest_edge": 16, "shortest_edge": 16},
                                  do_image_splitting=False)
    tok = tokenizer({"image_token": "<image>", "image_boundary_token": "<fake_token_around_image>",
                     "end_of_utterance_token": "<end_of_utterance>"})
    proc = t.Idefics2Processor(image_processor=ip, tokenizer=tok, image_seq_len=4,
                               chat_template=CHAT_TEMPLATE)
    return model, proc


# A Pixtral tower (2-D RoPE ViT with a Conv2d `patch_conv`): 16x16 images of 4x4 patches.
PIXTRAL = dict(model_type="pixtral", hidden_size=32, intermediate_size=64, num_hidden_layers=1,
               num_attention_heads=2, head_dim=16, image_size=16, patch_size=4)


def pixtral_processor(merge: int):
    import transformers as t

    ip = t.PixtralImageProcessor(size={"longest_edge": 16}, patch_size=4)
    tok = tokenizer({"image_token": "[IMG]", "image_break_token": "[IMG_BREAK]",
                     "image_end_token": "[IMG_END]"})
    return t.PixtralProcessor(image_processor=ip, tokenizer=tok, patch_size=4,
                              spatial_merge_size=merge, image_token="[IMG]",
                              image_break_token="[IMG_BREAK]", image_end_token="[IMG_END]",
                              chat_template=CHAT_TEMPLATE)


def mistral3():
    """Mistral-Small-3.1 style: Pixtral tower, patch-merger projector, Mistral text model."""
    import transformers as t

    cfg = t.Mistral3Config(
        text_config=dict(TEXT, model_type="mistral", head_dim=32, rope_theta=1000000000.0),
        vision_config=PIXTRAL,
        spatial_merge_size=2,
        image_token_index=tid("[IMG]"),
        tie_word_embeddings=False,
    )
    return t.Mistral3ForConditionalGeneration(cfg), pixtral_processor(2)


def pixtral():
    """Pixtral-12B as on the Hub (mistral-community/pixtral-12b): a `llava` config with a
    `pixtral` vision_config."""
    import transformers as t

    cfg = t.LlavaConfig(
        text_config=dict(TEXT, model_type="mistral", head_dim=32, rope_theta=1000000000.0),
        vision_config=PIXTRAL,
        image_token_index=tid("[IMG]"),
        projector_hidden_act="gelu",
        vision_feature_layer=-1,
        tie_word_embeddings=False,
    )
    return t.LlavaForConditionalGeneration(cfg), pixtral_processor(1)


def lfm2_vl():
    """LFM2-VL: a SigLIP2 NaFlex tower (Linear patch embedding), a pixel-unshuffle projector and
    an LFM2 text model whose short-conv layers hold depthwise Conv1d kernels."""
    import transformers as t

    text = dict(TEXT, model_type="lfm2", layer_types=["conv", "full_attention"], conv_L_cache=3,
                block_ff_dim=128, block_auto_adjust_ff_dim=False, tie_word_embeddings=True,
                # LFM2 checkpoints carry the legacy block_* sizes mlx-vlm builds the model from.
                block_dim=64, conv_dim=64, conv_dim_out=64, num_heads=2)
    text.pop("intermediate_size")
    cfg = t.Lfm2VlConfig(
        text_config=text,
        vision_config=dict(SIGLIP, model_type="siglip2_vision_model", num_patches=16,
                           vision_use_head=False),
        image_token_id=tid("<image>"),
        projector_hidden_size=64,
        downsample_factor=2,
    )
    model = t.Lfm2VlForConditionalGeneration(cfg)
    ip = t.Lfm2VlImageProcessor(encoder_patch_size=4, tile_size=16, min_image_tokens=1,
                                max_image_tokens=16, max_num_patches=64, do_image_splitting=False)
    tok = tokenizer({"image_token": "<image>"})
    proc = t.Lfm2VlProcessor(image_processor=ip, tokenizer=tok, chat_template=CHAT_TEMPLATE)
    return model, proc


def internvl_chat():
    """InternVL 2.5/3 (`OpenGVLab/InternVL3-1B`) is remote code (`InternVLChatModel`), which
    transformers does not ship: its checkpoint is built here with the remote code's tensor
    names and shapes (InternViT `vision_model.*` with a Conv2d patch embedding, class and
    position embeddings and layer scales `ls1`/`ls2`; the `mlp1` projector LayerNorm + Linear +
    GELU + Linear over 2x2 pixel-shuffled features; a Qwen2 `language_model`)."""
    import torch
    import transformers as t

    vit, llm, patch, image = 32, 64, 4, 16
    n_pos = (image // patch) ** 2 + 1
    llm_config = dict(TEXT, model_type="qwen2", architectures=["Qwen2ForCausalLM"],
                      rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=False)
    vision_config = dict(model_type="intern_vit_6b", architectures=["InternVisionModel"],
                         hidden_size=vit, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, image_size=image, patch_size=patch,
                         num_channels=3, qkv_bias=True, qk_normalization=False,
                         norm_type="layer_norm", layer_norm_eps=1e-6, drop_path_rate=0.0)
    config = dict(architectures=["InternVLChatModel"], model_type="internvl_chat",
                  auto_map={"AutoConfig": "configuration_internvl_chat.InternVLChatConfig",
                            "AutoModel": "modeling_internvl_chat.InternVLChatModel"},
                  llm_config=llm_config, vision_config=vision_config, downsample_ratio=0.5,
                  force_image_size=image, template="internvl2_5", ps_version="v2",
                  select_layer=-1, dynamic_image_size=True, max_dynamic_patch=12,
                  use_thumbnail=True, image_token_index=tid("<image>"),
                  tie_word_embeddings=False)
    shapes = {
        "vision_model.embeddings.class_embedding": (1, 1, vit),
        "vision_model.embeddings.patch_embedding.weight": (vit, 3, patch, patch),
        "vision_model.embeddings.patch_embedding.bias": (vit,),
        "vision_model.embeddings.position_embedding": (1, n_pos, vit),
    }
    for i in range(1):
        p = f"vision_model.encoder.layers.{i}."
        shapes.update({p + "ls1": (vit,), p + "ls2": (vit,),
                       p + "attn.qkv.weight": (3 * vit, vit), p + "attn.qkv.bias": (3 * vit,),
                       p + "attn.proj.weight": (vit, vit), p + "attn.proj.bias": (vit,),
                       p + "mlp.fc1.weight": (64, vit), p + "mlp.fc1.bias": (64,),
                       p + "mlp.fc2.weight": (vit, 64), p + "mlp.fc2.bias": (vit,),
                       p + "norm1.weight": (vit,), p + "norm1.bias": (vit,),
                       p + "norm2.weight": (vit,), p + "norm2.bias": (vit,)})
    shapes.update({"mlp1.0.weight": (4 * vit,), "mlp1.0.bias": (4 * vit,),
                   "mlp1.1.weight": (llm, 4 * vit), "mlp1.1.bias": (llm,),
                   "mlp1.3.weight": (llm, llm), "mlp1.3.bias": (llm,)})
    text = t.Qwen2ForCausalLM(t.Qwen2Config(**{k: v for k, v in llm_config.items()
                                              if k != "architectures"}))
    for k, v in text.state_dict().items():
        shapes["language_model." + k] = tuple(v.shape)
    tensors = {k: torch.randn(s) * 0.02 for k, s in shapes.items()}
    tok = tokenizer({"image_token": "<image>"})
    return Handmade(config, tensors), tok


def deepseek_vl_v2():
    """DeepSeek-VL2 (deepseek-ai/deepseek-vl2-small) is remote code (`DeepseekVLV2ForCausalLM`),
    which transformers does not ship: its checkpoint is built here with the remote code's
    tensor names and shapes: a timm SigLIP `vision.*` (Conv2d `patch_embed.proj`, `pos_embed`,
    `blocks.N.{attn.qkv,attn.proj,norm1,norm2,mlp.fc1,mlp.fc2}`, `norm`, and the latent
    attention pool `attn_pool.*`, which mlx-vlm's tower builds and loads strictly though it
    never runs it), the `projector.layers.{0,2}`
    MLP over 2x2-downsampled features, `image_newline` and `view_seperator` (sic), and a
    DeepSeek-V2 `language.*` with MLA attention, one dense layer, then MoE layers with per-expert
    `mlp.experts.E.{gate,up,down}_proj`, a router `mlp.gate` and `mlp.shared_experts`."""
    import torch

    vit, mlp, patch, image, llm = 32, 64, 4, 16, 64
    experts, moe_inter, shared = 4, 32, 1
    heads, nope, rope, v_dim, kv_rank = 2, 16, 8, 16, 32
    language_config = dict(
        architectures=["DeepseekV2ForCausalLM"], model_type="deepseek_v2", hidden_size=llm,
        intermediate_size=128, moe_intermediate_size=moe_inter, num_hidden_layers=2,
        num_attention_heads=heads, num_key_value_heads=heads, n_routed_experts=experts,
        n_shared_experts=shared, num_experts_per_tok=2, first_k_dense_replace=1,
        moe_layer_freq=1, kv_lora_rank=kv_rank, q_lora_rank=None, qk_nope_head_dim=nope,
        qk_rope_head_dim=rope, v_head_dim=v_dim, topk_method="greedy", n_group=1, topk_group=1,
        routed_scaling_factor=1.0, scoring_func="softmax", rms_norm_eps=1e-6,
        rope_theta=10000.0, max_position_embeddings=4096, vocab_size=VOCAB,
        bos_token_id=tid("<bos>"), eos_token_id=tid("<eos>"), pad_token_id=tid("<pad>"),
        tie_word_embeddings=False, torch_dtype="bfloat16")
    vision_config = dict(model_type="vision", model_name="siglip_so400m_patch14_384",
                         layers=1, width=vit, intermediate_size=mlp, num_attention_heads=2,
                         mlp_ratio=mlp / vit, image_size=image, patch_size=patch,
                         select_layer=-1, weight_init="skip")
    projector_config = dict(model_type="mlp_projector", projector_type="downsample_mlp_gelu",
                            input_dim=vit, n_embed=llm, depth=2, mlp_ratio=1,
                            downsample_ratio=2, token_pooling=False)
    config = dict(architectures=["DeepseekVLV2ForCausalLM"], model_type="deepseek_vl_v2",
                  language_config=language_config, vision_config=vision_config,
                  projector_config=projector_config, tile_tag="2D", global_view_pos="head",
                  candidate_resolutions=[[image, image]], tie_word_embeddings=False)
    shapes = {
        "vision.patch_embed.proj.weight": (vit, 3, patch, patch),
        "vision.patch_embed.proj.bias": (vit,),
        "vision.pos_embed": (1, (image // patch) ** 2, vit),
        "vision.norm.weight": (vit,), "vision.norm.bias": (vit,),
        "vision.attn_pool.latent": (1, 1, vit),
        "vision.attn_pool.q.weight": (vit, vit), "vision.attn_pool.q.bias": (vit,),
        "vision.attn_pool.kv.weight": (2 * vit, vit), "vision.attn_pool.kv.bias": (2 * vit,),
        "vision.attn_pool.proj.weight": (vit, vit), "vision.attn_pool.proj.bias": (vit,),
        "vision.attn_pool.norm.weight": (vit,), "vision.attn_pool.norm.bias": (vit,),
        "vision.attn_pool.mlp.fc1.weight": (mlp, vit), "vision.attn_pool.mlp.fc1.bias": (mlp,),
        "vision.attn_pool.mlp.fc2.weight": (vit, mlp), "vision.attn_pool.mlp.fc2.bias": (vit,),
        "projector.layers.0.weight": (llm, 4 * vit), "projector.layers.0.bias": (llm,),
        "projector.layers.2.weight": (llm, llm), "projector.layers.2.bias": (llm,),
        "image_newline": (llm,), "view_seperator": (llm,),
        "language.model.embed_tokens.weight": (VOCAB, llm),
        "language.model.norm.weight": (llm,),
        "language.lm_head.weight": (VOCAB, llm),
    }
    p = "vision.blocks.0."
    shapes.update({p + "norm1.weight": (vit,), p + "norm1.bias": (vit,),
                   p + "attn.qkv.weight": (3 * vit, vit), p + "attn.qkv.bias": (3 * vit,),
                   p + "attn.proj.weight": (vit, vit), p + "attn.proj.bias": (vit,),
                   p + "norm2.weight": (vit,), p + "norm2.bias": (vit,),
                   p + "mlp.fc1.weight": (mlp, vit), p + "mlp.fc1.bias": (mlp,),
                   p + "mlp.fc2.weight": (vit, mlp), p + "mlp.fc2.bias": (vit,)})

    def ffn(prefix: str, inter: int) -> None:
        shapes.update({prefix + "gate_proj.weight": (inter, llm),
                       prefix + "up_proj.weight": (inter, llm),
                       prefix + "down_proj.weight": (llm, inter)})

    for i in range(2):
        p = f"language.model.layers.{i}."
        shapes.update({
            p + "input_layernorm.weight": (llm,), p + "post_attention_layernorm.weight": (llm,),
            p + "self_attn.q_proj.weight": (heads * (nope + rope), llm),
            p + "self_attn.kv_a_proj_with_mqa.weight": (kv_rank + rope, llm),
            p + "self_attn.kv_a_layernorm.weight": (kv_rank,),
            p + "self_attn.kv_b_proj.weight": (heads * (nope + v_dim), kv_rank),
            p + "self_attn.o_proj.weight": (llm, heads * v_dim)})
        if i == 0:
            ffn(p + "mlp.", 128)
            continue
        shapes[p + "mlp.gate.weight"] = (experts, llm)
        ffn(p + "mlp.shared_experts.", moe_inter * shared)
        for e in range(experts):
            ffn(p + f"mlp.experts.{e}.", moe_inter)
    tensors = {k: torch.randn(s) * 0.02 for k, s in shapes.items()}
    tok = tokenizer({"image_token": "<image>"})
    processor = dict(candidate_resolutions=[[image, image]], patch_size=patch,
                     downsample_ratio=2, image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5],
                     normalize=True, image_token="<image>", pad_token="<pad>",
                     add_special_token=False, sft_format="deepseek", mask_prompt=True,
                     ignore_id=-100, processor_class="DeepseekVLV2Processor")
    return Handmade(config, tensors, {"processor_config.json": processor}), tok


def florence2():
    """Florence-2 (microsoft/Florence-2-base, -large) as on the Hub is remote code
    (`Florence2ForConditionalGeneration` with `trust_remote_code`), whose tensor names mlx-vlm
    maps; transformers' own Florence-2 port renames them. Built here with the remote code's
    names and shapes: a DaViT `vision_tower` (per stage a Conv2d `convs.i.proj` with its norm,
    then blocks of a spatial (window attention) and a channel block, each with two depthwise
    Conv2d `convN.fn.dw` [C, 1, 3, 3]), the projector parameters `image_projection`,
    `image_proj_norm`, `image_pos_embed` (50 rows) and `visual_temporal_embed` (100 rows), and a
    BART `language_model` whose head is tied to `model.shared` (so absent) and which carries the
    `final_logits_bias` buffer."""
    import torch

    dims, heads, patch, stride, pad, prenorm = [32, 64], [2, 2], [7, 3], [4, 2], [3, 1], [False, True]
    d_model, ffn, max_pos = 128, 256, 64
    vision_config = dict(model_type="davit", drop_path_rate=0.1, patch_size=patch,
                         patch_stride=stride, patch_padding=pad, patch_prenorm=prenorm,
                         enable_checkpoint=False, dim_embed=dims, num_heads=heads,
                         num_groups=heads, depths=[1, 1], window_size=2, projection_dim=d_model,
                         visual_temporal_embedding={"type": "COSINE",
                                                    "max_temporal_embeddings": 100},
                         image_pos_embed={"type": "learned_abs_2d", "max_pos_embeddings": 50},
                         image_feature_source=["spatial_avg_pool", "temporal_avg_pool"])
    text_config = dict(model_type="florence2_language", vocab_size=VOCAB, d_model=d_model,
                       encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
                       decoder_attention_heads=2, encoder_ffn_dim=ffn, decoder_ffn_dim=ffn,
                       max_position_embeddings=max_pos, activation_function="gelu",
                       scale_embedding=False, bos_token_id=tid("<s>"), eos_token_id=tid("</s>"),
                       pad_token_id=tid("<pad>"), decoder_start_token_id=tid("</s>"))
    config = dict(architectures=["Florence2ForConditionalGeneration"], model_type="florence2",
                  auto_map={"AutoConfig": "configuration_florence2.Florence2Config",
                            "AutoModelForCausalLM": "modeling_florence2.Florence2ForConditionalGeneration"},
                  vision_config=vision_config, text_config=text_config, projection_dim=d_model,
                  vocab_size=VOCAB, bos_token_id=tid("<s>"), eos_token_id=tid("</s>"),
                  pad_token_id=tid("<pad>"), is_encoder_decoder=True)
    shapes = {}

    def linear(name: str, out: int, inp: int) -> None:
        shapes[name + ".weight"], shapes[name + ".bias"] = (out, inp), (out,)

    def norm(name: str, n: int) -> None:
        shapes[name + ".weight"], shapes[name + ".bias"] = (n,), (n,)

    vt = "vision_tower."
    for i, d in enumerate(dims):
        inp = 3 if i == 0 else dims[i - 1]
        shapes[vt + f"convs.{i}.proj.weight"] = (d, inp, patch[i], patch[i])
        shapes[vt + f"convs.{i}.proj.bias"] = (d,)
        norm(vt + f"convs.{i}.norm", inp if prenorm[i] else d)
        for kind, attn in (("spatial_block", "window_attn"), ("channel_block", "channel_attn")):
            b = vt + f"blocks.{i}.0.{kind}."
            shapes[b + "conv1.fn.dw.weight"], shapes[b + "conv1.fn.dw.bias"] = (d, 1, 3, 3), (d,)
            norm(b + f"{attn}.norm", d)
            linear(b + f"{attn}.fn.qkv", 3 * d, d)
            linear(b + f"{attn}.fn.proj", d, d)
            shapes[b + "conv2.fn.dw.weight"], shapes[b + "conv2.fn.dw.bias"] = (d, 1, 3, 3), (d,)
            norm(b + "ffn.norm", d)
            linear(b + "ffn.fn.net.fc1", 4 * d, d)
            linear(b + "ffn.fn.net.fc2", d, 4 * d)
    shapes["image_projection"] = (dims[-1], d_model)
    norm("image_proj_norm", d_model)
    shapes["image_pos_embed.row_embeddings.weight"] = (50, dims[-1] // 2)
    shapes["image_pos_embed.column_embeddings.weight"] = (50, dims[-1] - dims[-1] // 2)
    shapes["visual_temporal_embed.pos_idx_to_embed"] = (100, dims[-1])
    lm = "language_model."
    shapes[lm + "final_logits_bias"] = (1, VOCAB)
    shapes[lm + "model.shared.weight"] = (VOCAB, d_model)
    for part in ("encoder", "decoder"):
        p = lm + f"model.{part}."
        shapes[p + "embed_positions.weight"] = (max_pos + 2, d_model)
        norm(p + "layernorm_embedding", d_model)
        attns = ("self_attn", "encoder_attn") if part == "decoder" else ("self_attn",)
        for a in attns:
            for proj in ("k_proj", "v_proj", "q_proj", "out_proj"):
                linear(p + f"layers.0.{a}.{proj}", d_model, d_model)
            norm(p + f"layers.0.{a}_layer_norm", d_model)
        linear(p + "layers.0.fc1", ffn, d_model)
        linear(p + "layers.0.fc2", d_model, ffn)
        norm(p + "layers.0.final_layer_norm", d_model)
    tensors = {k: torch.randn(s) * 0.02 for k, s in shapes.items()}
    import transformers as t

    tok = tokenizer({"image_token": "<image>"})
    ip = t.CLIPImageProcessor(size={"height": 32, "width": 32}, do_center_crop=False,
                              crop_size={"height": 32, "width": 32})
    return Handmade(config, tensors), Florence2Files(tok, ip)


def phi3_v():
    """Phi-3-Vision / Phi-3.5-vision (microsoft/Phi-3.5-vision-instruct) is remote code
    (`Phi3VForCausalLM`), which transformers does not ship: its checkpoint is built here with
    the remote code's tensor names and shapes. A Phi-3 text model (`model.*`, fused `qkv_proj`
    and `gate_up_proj`, its own `lm_head`) and `model.vision_embed_tokens.*`: a transformers
    `CLIPVisionModel` as `img_processor`, the learned separators `glb_GN` [1, 1, 4C] and `sub_GN`
    [1, 1, 1, 4C], and the `img_projection` MLP (`0`, `2`) over 2x2-merged CLIP features. The
    config, like the Hub's, has no `vision_config` (only `img_processor`/`embd_layer`):
    mlx-vlm's tower is a constant CLIP ViT-L/14-336, shrunk for recording by
    `tools/mlx_vlm_tiny_towers.py`, whose sizes this tower has."""
    import torch
    import transformers as t
    from mlx_vlm_tiny_towers import PHI3_V_CLIP

    llm, inter, layers, heads, kv = 64, 128, 2, 2, 2
    head_dim = llm // heads
    clip_dim = PHI3_V_CLIP["hidden_size"]
    factors = [1.0] * (head_dim // 2)
    config = dict(
        architectures=["Phi3VForCausalLM"], model_type="phi3_v",
        auto_map={"AutoConfig": "configuration_phi3_v.Phi3VConfig",
                  "AutoModelForCausalLM": "modeling_phi3_v.Phi3VForCausalLM"},
        hidden_size=llm, intermediate_size=inter, num_hidden_layers=layers,
        num_attention_heads=heads, num_key_value_heads=kv, vocab_size=VOCAB,
        hidden_act="silu", rms_norm_eps=1e-5, rope_theta=10000.0,
        rope_scaling={"type": "su", "short_factor": factors, "long_factor": factors},
        max_position_embeddings=131072, original_max_position_embeddings=4096,
        sliding_window=131072, attention_dropout=0.0, embd_pdrop=0.0, resid_pdrop=0.0,
        initializer_range=0.02, use_cache=True, tie_word_embeddings=False,
        bos_token_id=tid("<bos>"), eos_token_id=tid("<eos>"), pad_token_id=tid("<pad>"),
        embd_layer={"embedding_cls": "image", "hd_transform_order": "sub_glb",
                    "projection_cls": "mlp", "use_hd_transform": True,
                    "with_learnable_separator": True},
        img_processor={"image_dim_out": clip_dim, "model_name": "openai/clip-vit-large-patch14-336",
                       "name": "clip_vision_model", "num_img_tokens": 144},
        torch_dtype="bfloat16", transformers_version="4.38.1")
    shapes = {"model.embed_tokens.weight": (VOCAB, llm), "model.norm.weight": (llm,),
              "lm_head.weight": (VOCAB, llm)}
    for i in range(layers):
        p = f"model.layers.{i}."
        shapes.update({p + "self_attn.qkv_proj.weight": ((heads + 2 * kv) * head_dim, llm),
                       p + "self_attn.o_proj.weight": (llm, heads * head_dim),
                       p + "mlp.gate_up_proj.weight": (2 * inter, llm),
                       p + "mlp.down_proj.weight": (llm, inter),
                       p + "input_layernorm.weight": (llm,),
                       p + "post_attention_layernorm.weight": (llm,)})
    v = "model.vision_embed_tokens."
    clip = t.CLIPVisionModel(t.CLIPVisionConfig(**PHI3_V_CLIP))
    for k, x in clip.state_dict().items():
        # transformers 5 names CLIPVisionModel's parameters without the `vision_model.` level
        # the Hub checkpoints (transformers 4.38) have.
        k = k if k.startswith("vision_model.") else "vision_model." + k
        shapes[v + "img_processor." + k] = tuple(x.shape)
    shapes.update({v + "glb_GN": (1, 1, 4 * clip_dim), v + "sub_GN": (1, 1, 1, 4 * clip_dim),
                   v + "img_projection.0.weight": (llm, 4 * clip_dim),
                   v + "img_projection.0.bias": (llm,),
                   v + "img_projection.2.weight": (llm, llm), v + "img_projection.2.bias": (llm,)})
    tensors = {k: torch.randn(s) * 0.02 for k, s in shapes.items()}
    tok = tokenizer(words=("<|image|>", "<|user|>", "<|assistant|>", "<|end|>"))
    preprocessor = dict(auto_map={"AutoImageProcessor": "image_processing_phi3_v.Phi3VImageProcessor",
                                  "AutoProcessor": "processing_phi3_v.Phi3VProcessor"},
                        do_convert_rgb=True, image_mean=[0.48145466, 0.4578275, 0.40821073],
                        image_std=[0.26862954, 0.26130258, 0.27577711],
                        image_processor_type="Phi3VImageProcessor", num_crops=4,
                        num_img_tokens=144, processor_class="Phi3VProcessor")
    return Handmade(config, tensors, {"preprocessor_config.json": preprocessor}), tok


# mlx-vlm's FastViTHD parameters (names, MLX shapes) at the sizes of tools/mlx_vlm_tiny_towers.py.
FASTVIT_SHAPES = """
import json, sys
sys.path.insert(0, sys.argv[1])
import mlx_vlm_tiny_towers
mlx_vlm_tiny_towers.patch()
from mlx.utils import tree_flatten
from mlx_vlm.models.fastvlm.config import VisionConfig
from mlx_vlm.models.fastvlm.vision import VisionModel
params = tree_flatten(VisionModel(VisionConfig()).parameters())
print(json.dumps([[k, list(v.shape)] for k, v in params]))
"""

ORACLE = Path.home() / ".cache" / "hf2mlx" / "mlx-oracle" / "bin" / "python"


def fastvlm():
    """FastVLM (apple/FastVLM-0.5B, -1.5B, -7B) is remote code (`LlavaQwen2ForCausalLM`,
    model_type `llava_qwen2`), which transformers does not ship. Its checkpoint: a Qwen2 text
    model at the top level (`model.*`, head tied on 0.5B), the `model.mm_projector` MLP
    (`0`, `2`), and the FastViTHD tower as `model.vision_tower.vision_tower.model.*` in
    ml-fastvlm's `mci.py` names: a `patch_embed` Sequential of three MobileOne blocks, a
    `network` of RepMixer/attention stages with RepCPE position convs and PatchEmbed
    downsamplers, `conv_exp` with squeeze-excitation and the `head.proj` pooling projection, in
    inference (reparameterized) form with the BatchNorms of the ConvFFNs and attention blocks
    (`num_batches_tracked` included). mlx-vlm's tower module names are mci.py's (its sanitize
    only adds the `blocks` level under `patch_embed`), so the tensor list is taken from
    mlx-vlm's VisionModel at the fixture's sizes (`tools/mlx_vlm_tiny_towers.py`, run with the
    oracle venv) and put back into PyTorch layout: 4-D convs `[O, kH, kW, I]` -> `[O, I, kH, kW]`,
    `layer_scale*` `[1, 1, C]` -> `[C, 1, 1]`."""
    import torch
    import transformers as t
    from mlx_vlm_tiny_towers import FASTVIT

    r = subprocess.run([str(ORACLE), "-c", FASTVIT_SHAPES, str(ROOT / "tools")],
                       capture_output=True, text=True, check=True)
    llm = 64
    mm_hidden = FASTVIT["embed_dims"][-1] * 2
    text = dict(TEXT, hidden_size=llm, num_key_value_heads=1, rms_norm_eps=1e-6,
                rope_theta=1000000.0, max_position_embeddings=32768, tie_word_embeddings=True)
    config = dict(
        architectures=["LlavaQwen2ForCausalLM"], model_type="llava_qwen2",
        auto_map={"AutoConfig": "llava_qwen.LlavaConfig",
                  "AutoModelForCausalLM": "llava_qwen.LlavaQwen2ForCausalLM"},
        **text, hidden_act="silu", attention_dropout=0.0, initializer_range=0.02,
        max_window_layers=2, sliding_window=32768, use_sliding_window=False, use_cache=True,
        freeze_mm_mlp_adapter=False, image_aspect_ratio="pad", image_grid_pinpoints=None,
        mm_hidden_size=mm_hidden, mm_patch_merge_type="flat", mm_projector_lr=None,
        mm_projector_type="mlp2x_gelu", mm_use_im_patch_token=False, mm_use_im_start_end=False,
        mm_vision_select_feature="patch", mm_vision_select_layer=-2,
        mm_vision_tower="mobileclip_l_1024", tokenizer_model_max_length=8192,
        tokenizer_padding_side="right", tune_mm_mlp_adapter=False,
        unfreeze_mm_vision_tower=True, use_mm_proj=True, torch_dtype="bfloat16",
        transformers_version="4.39.3")
    qwen = t.Qwen2ForCausalLM(t.Qwen2Config(**text))
    shapes = {k: tuple(v.shape) for k, v in qwen.state_dict().items() if k != "lm_head.weight"}
    shapes.update({"model.mm_projector.0.weight": (llm, mm_hidden),
                   "model.mm_projector.0.bias": (llm,),
                   "model.mm_projector.2.weight": (llm, llm), "model.mm_projector.2.bias": (llm,)})
    tensors = {k: torch.randn(s) * 0.02 for k, s in shapes.items()}
    conv = (".reparam_conv.weight", ".conv.weight", ".fc1.weight", ".fc2.weight",
            ".lkb_reparam.weight", ".reduce.weight", ".expand.weight")
    tower = "model.vision_tower.vision_tower.model."
    for name, shape in json.loads(r.stdout):
        name = name.removeprefix("vision_model.").replace("patch_embed.blocks.", "patch_embed.")
        key = tower + name
        if len(shape) == 4 and name.endswith(conv):
            o, kh, kw, i = shape
            shape = [o, i, kh, kw]
        elif "layer_scale" in name:
            shape = [shape[2], 1, 1]
        if name.endswith("running_var"):
            tensors[key] = torch.rand(shape) + 0.5
            tensors[key[: -len("running_var")] + "num_batches_tracked"] = torch.tensor(0)
        else:
            tensors[key] = torch.randn(shape) * 0.02
    tok = tokenizer(words=("<image>",))
    preprocessor = dict(crop_size={"height": 64, "width": 64}, do_center_crop=True,
                        do_normalize=True, do_resize=True, image_mean=[0.0, 0.0, 0.0],
                        image_std=[1.0, 1.0, 1.0], resample=3, size={"shortest_edge": 64},
                        image_processor_type="CLIPImageProcessor")
    return Handmade(config, tensors, {"preprocessor_config.json": preprocessor}), tok


# The audio/vision tokens Qwen3-Omni's processor looks up.
OMNI_TOKENS = ("<|audio_pad|>", "<|audio_start|>", "<|audio_end|>", "<|vision_bos|>",
               "<|vision_eos|>")


def qwen3_omni_moe():
    """Qwen3-Omni-MoE (Qwen/Qwen3-Omni-30B-A3B-Instruct): a `thinker` (Qwen3-VL-style vision
    tower, Whisper-style audio tower with three Conv2d downsamplers, Qwen3-MoE text model), a
    `talker` (Qwen3-MoE text model with a shared expert, projections from the thinker, a
    `code_predictor` transformer) and `code2wav` (a transformer and ConvNeXt/ConvTranspose1d
    vocoder). transformers 5 saves the Hub layout (`thinker.model.*`, `thinker.visual.*`,
    `thinker.audio_tower.*`, `talker.*`, `code2wav.*`, per-expert weights); `build` derives
    the -Thinking / -Captioner layout from it (`hf-thinker`)."""
    import transformers as t

    rope = {"rope_type": "default", "mrope_section": [4, 6, 6], "mrope_interleaved": True,
            "rope_theta": 1000000.0}
    moe = dict(head_dim=32, moe_intermediate_size=32, num_experts=4, num_experts_per_tok=2,
               rope_parameters=rope)
    pad = lambda tok: len(SPECIALS) + OMNI_TOKENS.index(tok)  # noqa: E731
    cfg = t.Qwen3OmniMoeConfig(
        thinker_config=dict(
            text_config=dict(TEXT, **moe),
            vision_config=dict(depth=2, hidden_size=16, out_hidden_size=64, intermediate_size=32,
                               num_heads=2, patch_size=4, spatial_merge_size=2,
                               temporal_patch_size=2, num_position_embeddings=16,
                               deepstack_visual_indexes=[1]),
            audio_config=dict(num_mel_bins=16, encoder_layers=1, encoder_attention_heads=2,
                              encoder_ffn_dim=64, d_model=32, output_dim=64,
                              downsample_hidden_size=8, max_source_positions=64, n_window=4,
                              n_window_infer=16),
            image_token_id=tid("<|image_pad|>"), video_token_id=tid("<|video_pad|>"),
            audio_token_id=pad("<|audio_pad|>"), audio_start_token_id=pad("<|audio_start|>"),
        ),
        talker_config=dict(
            text_config=dict(TEXT, num_hidden_layers=1, vocab_size=64,
                             shared_expert_intermediate_size=64, **moe),
            code_predictor_config=dict(vocab_size=64, hidden_size=64, intermediate_size=64,
                                       num_hidden_layers=1, num_attention_heads=2,
                                       num_key_value_heads=1, head_dim=32, num_code_groups=2),
            num_code_groups=2, thinker_hidden_size=64, accept_hidden_layer=1,
            spatial_merge_size=2, codec_bos_id=60, codec_eos_token_id=61, codec_pad_id=59,
            codec_nothink_id=62, codec_think_bos_id=63, codec_think_eos_id=58,
            speaker_id={"ethan": 57},
        ),
        code2wav_config=dict(codebook_size=32, hidden_size=64, num_attention_heads=2,
                             num_key_value_heads=2, intermediate_size=64, num_hidden_layers=1,
                             num_quantizers=4, upsample_rates=[2], upsampling_ratios=[2],
                             decoder_dim=16, sliding_window=8),
        im_start_token_id=tid("<|im_start|>"), im_end_token_id=tid("<|im_end|>"),
    )
    model = t.Qwen3OmniMoeForConditionalGeneration(cfg)
    ip = t.Qwen2VLImageProcessor(patch_size=4, merge_size=2, temporal_patch_size=2,
                                 min_pixels=64, max_pixels=4096)
    tok = tokenizer({"image_token": "<|image_pad|>", "video_token": "<|video_pad|>",
                     "audio_token": "<|audio_pad|>", "vision_bos_token": "<|vision_bos|>",
                     "vision_eos_token": "<|vision_eos|>", "audio_bos_token": "<|audio_start|>",
                     "audio_eos_token": "<|audio_end|>"}, words=OMNI_TOKENS)
    proc = t.Qwen3OmniMoeProcessor(
        image_processor=ip, tokenizer=tok,
        video_processor=t.Qwen3VLVideoProcessor(patch_size=4, merge_size=2),
        feature_extractor=t.WhisperFeatureExtractor(feature_size=16),
        chat_template=CHAT_TEMPLATE)
    return model, proc


# mlx-vlm's Molmo parameters (names, shapes) at the sizes of tools/mlx_vlm_tiny_towers.py.
MOLMO_SHAPES = """
import json, sys
sys.path.insert(0, sys.argv[1])
import mlx_vlm_tiny_towers
mlx_vlm_tiny_towers.patch()
from mlx.utils import tree_flatten
from mlx_vlm.models.molmo import Model, ModelConfig, TextConfig, VisionConfig
config = ModelConfig(text_config=TextConfig.from_dict({}), vision_config=VisionConfig.from_dict({}))
print(json.dumps([[k, list(v.shape)] for k, v in tree_flatten(Model(config).parameters())]))
"""


def molmo():
    """Molmo (allenai/Molmo-7B-D-0924, -7B-O-0924, -72B-0924) is remote code
    (`MolmoForCausalLM`), which transformers 4.x does not ship. Its checkpoint (float32 on the
    Hub, `torch_dtype: float32`): an OLMo-style text model `model.transformer.*` (the `wte`
    embedding split into `embedding` and the 128 added tokens' `new_embedding`, blocks with a
    fused `att_proj` (with bias), `attn_out`, a SwiGLU `ff_proj`/`ff_out`, RMSNorms `attn_norm`,
    `ff_norm`, `ln_f`, and the head `ff_out`) and `model.vision_backbone.*`: the CLIP ViT
    `image_vit` (Linear `patch_embedding` over flattened patches, `class_embedding`,
    `positional_embedding`, `pre_ln`, `transformer.resblocks.N.{attention.w{q,k,v,o},
    attention_norm, feed_forward.w1/w2, ffn_norm}`), the attention pooling `image_pooling_2d`,
    the SwiGLU `image_projector` (`w1`, `w2`, `w3`) and `pad_embed`. These are the names of the
    Hub's model.safetensors.index.json and exactly mlx-vlm's parameters under its two renames,
    so the list is taken from mlx-vlm's Model at the fixture's sizes (run with the oracle venv)
    and renamed back. The config, like the Hub's, has neither `text_config` nor `vision_config`:
    mlx-vlm builds both from its defaults, shrunk for recording by
    `tools/mlx_vlm_tiny_towers.py`, whose sizes this checkpoint has."""
    import torch
    from mlx_vlm_tiny_towers import MOLMO_TEXT as T

    r = subprocess.run([str(ORACLE), "-c", MOLMO_SHAPES, str(ROOT / "tools")],
                       capture_output=True, text=True, check=True)
    config = dict(
        architectures=["MolmoForCausalLM"], model_type="molmo",
        auto_map={"AutoConfig": "config_molmo.MolmoConfig",
                  "AutoModelForCausalLM": "modeling_molmo.MolmoForCausalLM"},
        attention_layer_norm=False, clip_qkv=None, embedding_size=T["embedding_size"],
        hidden_size=T["d_model"], initializer_range=0.02, intermediate_size=T["mlp_hidden_size"],
        layer_norm_eps=1e-6, layer_norm_type="rms", max_position_embeddings=4096,
        norm_after=False, num_attention_heads=T["n_heads"], num_hidden_layers=T["n_layers"],
        num_key_value_heads=T["n_kv_heads"], qkv_bias=True, rope_theta=1000000.0,
        tie_word_embeddings=False, torch_dtype="float32", transformers_version="4.43.3",
        use_cache=True, use_position_ids=True, vocab_size=T["vocab_size"], weight_tying=False)
    tensors = {}
    for name, shape in json.loads(r.stdout):
        name = (name.replace("language_model.model.", "model.transformer.", 1)
                .replace("vision_tower.", "model.vision_backbone.", 1))
        tensors[name] = torch.randn(shape) * 0.02
    tok = tokenizer(words=("<im_patch>", "<im_col>", "<im_start>", "<im_end>"))
    preprocessor = dict(
        auto_map={"AutoImageProcessor": "image_preprocessing_molmo.MolmoImageProcessor",
                  "AutoProcessor": "preprocessing_molmo.MolmoProcessor"},
        base_image_input_size=[16, 16], do_normalize=True,
        image_mean=[0.48145466, 0.4578275, 0.40821073], image_padding_mask=True,
        image_patch_size=4, image_processor_type="MolmoImageProcessor",
        image_std=[0.26862954, 0.26130258, 0.27577711], image_token_length_h=2,
        image_token_length_w=2, max_crops=12, overlap_margins=[4, 4],
        processor_class="MolmoProcessor")
    return Handmade(config, tensors, {"preprocessor_config.json": preprocessor}), tok


# mlx-vlm's Kimi-VL parameters (names, MLX shapes) for a config.json given as argv[2].
KIMI_VL_SHAPES = """
import json, sys
sys.path.insert(0, sys.argv[1])
import mlx_vlm_tiny_towers
mlx_vlm_tiny_towers.patch()
from mlx.utils import tree_flatten
from mlx_vlm.models.kimi_vl import Model, ModelConfig, TextConfig, VisionConfig
c = json.loads(sys.argv[2])
config = ModelConfig.from_dict(c)
config.text_config = TextConfig.from_dict(c["text_config"])
config.vision_config = VisionConfig.from_dict(c["vision_config"])
print(json.dumps([[k, list(v.shape)] for k, v in tree_flatten(Model(config).parameters())]))
"""


def kimi_vl():
    """Kimi-VL (moonshotai/Kimi-VL-A3B-Instruct, -Thinking, -Thinking-2506) is remote code
    (`KimiVLForConditionalGeneration`). Its checkpoint: the MoonViT tower
    `vision_tower.{patch_embed.proj (Conv2d), patch_embed.pos_emb [H, W, C], encoder.blocks.N.{
    norm0, norm1, wqkv, wo, mlp.fc0, mlp.fc1}, encoder.final_layernorm}`, the
    `multi_modal_projector.{pre_norm, linear_1, linear_2}` over 2x2-merged patches, and a
    DeepSeek-V3 `language_model.*` (MLA without q LoRA, one dense layer, then MoE layers with
    per-expert `mlp.experts.E.{gate,up,down}_proj`, the router `mlp.gate` with its
    `e_score_correction_bias`, and `mlp.shared_experts`). The names are mlx-vlm's parameters
    before its sanitize (which drops `encoder.`, puts `wqkv`/`wo` under `attn`, moves the patch
    conv to channels-last and stacks the experts), so the list is taken from mlx-vlm's Model at
    this config (run with the oracle venv) and put back. Like the Hub's, the vision_config uses
    MoonViT's names (`num_hidden_layers`, `hidden_size`, `num_attention_heads`), which mlx-vlm
    does not read for depth, width and heads; those are shrunk by `tools/mlx_vlm_tiny_towers.py`."""
    import torch
    from mlx_vlm_tiny_towers import KIMI_VL_VIT as V

    text_config = dict(
        model_type="deepseek_v3", vocab_size=VOCAB, max_position_embeddings=131072,
        hidden_size=64, intermediate_size=128, moe_intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=2, n_shared_experts=1, n_routed_experts=4,
        ep_size=1, routed_scaling_factor=2.446, kv_lora_rank=64, q_lora_rank=None,
        qk_rope_head_dim=8, v_head_dim=16, qk_nope_head_dim=16, topk_method="noaux_tc",
        n_group=1, topk_group=1, num_experts_per_tok=2, moe_layer_freq=1,
        first_k_dense_replace=1, norm_topk_prob=True, scoring_func="sigmoid",
        aux_loss_alpha=0.001, seq_aux=True, hidden_act="silu", initializer_range=0.02,
        rms_norm_eps=1e-5, use_cache=True, rope_theta=800000.0, rope_scaling=None,
        attention_bias=False, attention_dropout=0.0, bos_token_id=tid("<bos>"),
        pad_token_id=tid("<pad>"), eos_token_id=tid("<eos>"), tie_word_embeddings=False,
        torch_dtype="bfloat16")
    vision_config = dict(
        model_type="moonvit", patch_size=4, init_pos_emb_height=4, init_pos_emb_width=4,
        num_attention_heads=V["num_heads"], num_hidden_layers=V["depth"],
        hidden_size=V["embed_dim"], intermediate_size=64, merge_kernel_size=[2, 2],
        torch_dtype="bfloat16")
    config = dict(
        architectures=["KimiVLForConditionalGeneration"], model_type="kimi_vl",
        auto_map={"AutoConfig": "configuration_kimi_vl.KimiVLConfig",
                  "AutoModel": "modeling_kimi_vl.KimiVLForConditionalGeneration",
                  "AutoModelForCausalLM": "modeling_kimi_vl.KimiVLForConditionalGeneration"},
        text_config=text_config, vision_config=vision_config, ignore_index=-100,
        media_placeholder_token_id=tid("<image>"), pad_token_id=0, torch_dtype="bfloat16",
        transformers_version="4.50.3")
    r = subprocess.run([str(ORACLE), "-c", KIMI_VL_SHAPES, str(ROOT / "tools"), json.dumps(config)],
                       capture_output=True, text=True, check=True)
    tensors = {}
    for name, shape in json.loads(r.stdout):
        if name.startswith("vision_tower.blocks."):
            name = name.replace(".attn.", ".").replace("vision_tower.", "vision_tower.encoder.", 1)
        elif name.startswith("vision_tower.final_layernorm."):
            name = name.replace("vision_tower.", "vision_tower.encoder.", 1)
        elif name == "vision_tower.patch_embed.proj.weight":
            o, kh, kw, i = shape
            shape = [o, i, kh, kw]
        if ".switch_mlp." in name:
            for e in range(shape[0]):
                tensors[name.replace(".switch_mlp.", f".experts.{e}.")] = torch.randn(shape[1:]) * 0.02
            continue
        tensors[name] = torch.randn(shape) * 0.02
    tok = tokenizer({"image_token": "<image>"})
    preprocessor = dict(
        auto_map={"AutoImageProcessor": "image_processing_kimi_vl.KimiVLImageProcessor",
                  "AutoProcessor": "processing_kimi_vl.KimiVLProcessor"},
        in_token_limit=4096, patch_size=4, pad_input=True, merge_kernel_size=[2, 2],
        image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5],
        image_processor_type="KimiVLImageProcessor", processor_class="KimiVLProcessor")
    return Handmade(config, tensors, {"preprocessor_config.json": preprocessor}), tok


# Gemma 3n's MobileNetV5 in timm's block notation, one block of each kind the Hub's
# `mobilenetv5_300m_enc` has (edge residuals, universal inverted residuals with and without
# depthwise convs, multi-query attention with and without a strided key/value downsample), at
# tiny widths. `tools/mlx_vlm_tiny_towers.py` gives mlx-vlm the same table (GEMMA3N_BLOCKS).
GEMMA3N_STEM = 8
# Gemma 3n's audio tokens, after SPECIALS in its tokenizer.
GEMMA3N_AUDIO_TOKENS = ("<start_of_audio>", "<end_of_audio>", "<audio_soft_token>")
GEMMA3N_ARCH = [
    ["er_r1_k3_s2_e4_c8", "er_r1_k3_s1_e4_c8"],
    ["uir_r1_a3_k5_s2_e6_c16", "uir_r1_a5_k0_s1_e4_c16"],
    ["uir_r1_a5_k5_s2_e6_c16", "uir_r1_a0_k0_s1_e1_c16", "mqa_r1_k3_h2_v2_s1_d8_c16",
     "uir_r1_a0_k0_s1_e2_c16"],
    ["uir_r1_a5_k5_s2_e6_c32", "mqa_r1_k3_h2_s1_d8_c32", "uir_r1_a0_k0_s1_e2_c32"],
]


def gemma3n():
    """Gemma 3n (google/gemma-3n-E2B-it layout): the text model of the arch survey, a one-layer
    audio Conformer, and timm's MobileNetV5 encoder built from GEMMA3N_ARCH (its fusion adapter
    keeps timm's fixed 2048 output channels, as mlx-vlm's does)."""
    import transformers as t
    from timm.models._efficientnet_builder import decode_arch_def

    text = dict(
        hidden_size=64, num_hidden_layers=4, intermediate_size=[128] * 4,
        # transformers 5 leaves k/v out of KV-shared layers; the Hub's checkpoints (and
        # mlx-vlm's model) have them in every layer.
        num_attention_heads=4, head_dim=16, num_key_value_heads=2, num_kv_shared_layers=0,
        vocab_size=VOCAB, vocab_size_per_layer_input=128, hidden_size_per_layer_input=16,
        sliding_window=32, max_position_embeddings=512, laurel_rank=8,
        layer_types=["sliding_attention", "full_attention"] * 2,
        activation_sparsity_pattern=[0.95, 0.0, 0.0, 0.0],
        bos_token_id=tid("<bos>"), eos_token_id=tid("<eos>"), pad_token_id=tid("<pad>"),
    )
    vision = dict(hidden_size=2048, vocab_size=8, vocab_offset=VOCAB,
                  model_args=dict(block_args=decode_arch_def(GEMMA3N_ARCH),
                                  stem_size=GEMMA3N_STEM))
    # hidden_size 64: the audio embedder quantizes in mlx-vlm (see tests/vlm.rs KEPT_FLOAT).
    audio = dict(hidden_size=64, input_feat_size=16, conf_num_attention_heads=2,
                 conf_num_hidden_layers=1, sscp_conv_channel_size=[8, 4], vocab_size=8,
                 vocab_offset=VOCAB + 8, conf_attention_chunk_size=4,
                 conf_attention_context_left=5)
    cfg = t.Gemma3nConfig(
        text_config=text, vision_config=vision, audio_config=audio,
        vision_soft_tokens_per_image=4, audio_soft_tokens_per_image=4,
        image_token_id=tid("<image_soft_token>"), boi_token_id=tid("<start_of_image>"),
        eoi_token_id=tid("<end_of_image>"), boa_token_id=len(SPECIALS),
        eoa_token_id=len(SPECIALS) + 1, audio_token_id=len(SPECIALS) + 2,
    )
    model = t.Gemma3nForConditionalGeneration(cfg)
    # The block table is timm objects; the Hub's config has no model_args.
    model.config.vision_config.model_args = None
    ip = t.SiglipImageProcessor(size={"height": 16, "width": 16}, image_mean=[0.0] * 3,
                                image_std=[1.0] * 3)
    fe = t.Gemma3nAudioFeatureExtractor(feature_size=16)
    tok = tokenizer({"boi_token": "<start_of_image>", "eoi_token": "<end_of_image>",
                     "image_token": "<image_soft_token>", "boa_token": "<start_of_audio>",
                     "eoa_token": "<end_of_audio>", "audio_token": "<audio_soft_token>"},
                    words=GEMMA3N_AUDIO_TOKENS)
    proc = t.Gemma3nProcessor(feature_extractor=fe, image_processor=ip, tokenizer=tok,
                              image_seq_length=4, audio_seq_length=4,
                              chat_template=CHAT_TEMPLATE)
    return model, proc


class Florence2Files:
    """The tokenizer and image processor files of a Florence-2 repository (its processor is
    remote code; mlx-vlm builds transformers' Florence2Processor from these)."""

    def __init__(self, tok, image_processor):
        self.tok, self.image_processor = tok, image_processor

    def save_pretrained(self, path: Path) -> None:
        self.tok.save_pretrained(path)
        self.image_processor.save_pretrained(path)


class Handmade:
    """A checkpoint of a remote-code model: its config.json and tensors, saved like
    `save_pretrained` would (one safetensors file, `format: pt`)."""

    def __init__(self, config: dict, tensors: dict, files: dict | None = None):
        self.config, self.tensors = config, tensors
        # Side files of the Hub repository (processor_config.json ...), written as JSON.
        self.files = files or {}

    def to(self, dtype):
        # Integer buffers (BatchNorm's num_batches_tracked) keep their dtype, as in torch.
        self.tensors = {k: v.to(dtype) if v.is_floating_point() else v
                        for k, v in self.tensors.items()}
        return self

    def save_pretrained(self, path: Path) -> None:
        from safetensors.torch import save_file

        path.mkdir(parents=True, exist_ok=True)
        (path / "config.json").write_text(json.dumps(self.config, indent=2) + "\n")
        save_file(self.tensors, path / "model.safetensors", metadata={"format": "pt"})
        for name, content in self.files.items():
            (path / name).write_text(json.dumps(content, indent=2) + "\n")

    def state_dict(self) -> dict:
        return self.tensors


FAMILIES = {"qwen2_vl": qwen2_vl, "qwen2_5_vl": qwen2_5_vl, "gemma3": gemma3, "llava": llava,
            "qwen3_vl": qwen3_vl, "paligemma": paligemma, "idefics3": idefics3,
            "mistral3": mistral3, "pixtral": pixtral, "lfm2_vl": lfm2_vl,
            "internvl_chat": internvl_chat, "llava_next": llava_next,
            "aya_vision": aya_vision, "idefics2": idefics2,
            "glm4v": glm4v, "mllama": mllama, "llama4": llama4,
            "deepseek_vl_v2": deepseek_vl_v2, "florence2": florence2, "phi3_v": phi3_v,
            "fastvlm": fastvlm, "qwen3_omni_moe": qwen3_omni_moe, "molmo": molmo,
            "kimi_vl": kimi_vl, "gemma3n": gemma3n}


# Families whose Hub checkpoints are not bfloat16: Molmo's are float32 (32 GB for 7B-D).
STORED_DTYPE = {"molmo": "float32"}


def build(family: str) -> None:
    import torch
    from safetensors.torch import save_file

    torch.manual_seed(sum(map(ord, family)))
    model, proc = FAMILIES[family]()
    model = model.to(getattr(torch, STORED_DTYPE.get(family, "bfloat16")))
    fam = OUT / family
    if fam.exists():
        shutil.rmtree(fam)
    hf = fam / "hf"
    model.save_pretrained(hf)
    proc.save_pretrained(hf)
    # Checkpoints on the Hub carry the processors' own files too (preprocessor_config.json,
    # video_preprocessor_config.json), which transformers 5 folds into processor_config.json.
    for sub in ("image_processor", "video_processor"):
        if getattr(proc, sub, None) is not None:
            getattr(proc, sub).save_pretrained(hf)
    cfg = json.loads((hf / "config.json").read_text())
    cfg["torch_dtype"] = STORED_DTYPE.get(family, "bfloat16")
    if family == "qwen3_vl":
        # Qwen3-VL checkpoints (transformers 4.57) carry these in text_config; mlx-vlm needs them.
        rope = cfg["text_config"]["rope_parameters"]
        cfg["text_config"]["rope_theta"] = rope["rope_theta"]
        cfg["text_config"]["rope_scaling"] = {k: v for k, v in rope.items() if k != "rope_theta"}
        cfg["vision_config"]["model_type"] = "qwen3_vl"
    if family == "glm4v":
        # GLM-4.1V checkpoints (transformers 4.53) carry these in text_config, and a
        # vision_config model_type of `glm4v`; mlx-vlm reads only them.
        text = cfg["text_config"]
        rope = text.pop("rope_parameters")
        text["rope_theta"] = rope["rope_theta"]
        text["partial_rotary_factor"] = rope["partial_rotary_factor"]
        text["rope_scaling"] = {"type": "default", "mrope_section": rope["mrope_section"]}
        cfg["vision_config"]["model_type"] = "glm4v"
    if family == "llama4":
        # Llama 4 checkpoints (transformers 4.51) carry rope_theta in both sub-configs; mlx-vlm
        # requires it in vision_config.
        for sub in ("text_config", "vision_config"):
            rope = cfg[sub].pop("rope_parameters")
            cfg[sub]["rope_theta"] = rope["rope_theta"]
    if family == "qwen3_omni_moe":
        # Qwen3-Omni checkpoints (transformers 4.57) carry these in both text configs; mlx-vlm
        # requires them.
        for sub in (cfg["thinker_config"], cfg["talker_config"]):
            text = sub["text_config"]
            rope = text["rope_parameters"]
            text["rope_theta"] = rope["rope_theta"]
            text["rope_scaling"] = {k: v for k, v in rope.items() if k != "rope_theta"}
            # transformers 5 writes the talker's expert count under its attribute-map name.
            if "num_local_experts" in text:
                text["num_experts"] = text.pop("num_local_experts")
    if family in FLAT_CONFIG:
        # Qwen2(.5)-VL checkpoints keep the text settings at the top level (mlx-vlm reads them
        # only there); transformers 5 nests them in text_config on save.
        text = cfg.pop("text_config")
        text.pop("model_type", None)
        cfg = {**text, **cfg}
        # ... and their vision_config has no transformers-5 `*_vision` model_type.
        cfg["vision_config"].pop("model_type", None)
    (hf / "config.json").write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")

    from safetensors import safe_open

    with safe_open(hf / "model.safetensors", "pt") as f:
        saved = {k: f.get_tensor(k) for k in f.keys()}
    # The transformers >= 4.52 layout: the in-memory module tree's names. Tied heads are one
    # tensor in memory; save_pretrained leaves them out.
    state = {k: v.contiguous() for k, v in model.state_dict().items()
             if k != "lm_head.weight" or any(n.endswith("lm_head.weight") for n in saved)}
    fix = TOWER_FIXUP.get(family)
    if fix is not None:
        # transformers 5 saves the CLIP/SigLIP tower without its `vision_model.` level; the
        # checkpoints on the Hub (transformers 4.x) have it. Keep the v5 output as a third layout.
        v5 = fam / "hf-v5"
        shutil.copytree(hf, v5)
        saved = rename(saved, *fix[0])
        save_file(saved, hf / "model.safetensors", metadata={"format": "pt"})
        state = rename(state, *fix[1])
    if family == "qwen3_omni_moe":
        # -Thinking / -Captioner: no talker and no code2wav, `enable_audio_output: false`. The
        # in-memory tree (fused experts) is no layout any Hub checkpoint has.
        thinker = fam / "hf-thinker"
        shutil.copytree(hf, thinker, ignore=shutil.ignore_patterns("model*.safetensors"))
        cfg["enable_audio_output"] = False
        (thinker / "config.json").write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")
        save_file({k: v for k, v in saved.items() if k.startswith("thinker.")},
                  thinker / "model.safetensors", metadata={"format": "pt"})
        state = saved
    if set(state) != set(saved):
        new = fam / "hf-new"
        shutil.copytree(hf, new, ignore=shutil.ignore_patterns("model*.safetensors"))
        save_file(state, new / "model.safetensors", metadata={"format": "pt"})
    print(family, sorted(p.name for p in fam.iterdir()))


# Hub checkpoints whose model_type mlx-vlm cannot convert, and the one a user has to edit into
# their config.json first: Pixtral-12B says `llava` (with a `pixtral` vision_config), which
# mlx-vlm's llava module refuses ("Unsupported model type: pixtral").
MLX_VLM_MODEL_TYPE = {"pixtral": "pixtral"}


# Families whose tower mlx-vlm builds at full size whatever the config says: recorded with
# those size constants shrunk to the fixture's (tools/mlx_vlm_tiny_towers.py), nothing else.
TINY_TOWERS = {"phi3_v", "fastvlm", "molmo", "kimi_vl", "gemma3n"}
TINY_TOWERS_CONVERT = (
    "import sys; sys.path.insert(0, %r); import mlx_vlm_tiny_towers; mlx_vlm_tiny_towers.patch(); "
    "from mlx_vlm.convert import main; sys.argv[0] = 'mlx_vlm.convert'; main()"
    % str(ROOT / "tools"))


def record(family: str) -> None:
    fam = OUT / family
    exp = fam / "expected"
    if exp.exists():
        shutil.rmtree(exp)
    exp.mkdir()
    bindir = Path(sys.executable).parent
    convert = bindir / "mlx_vlm.convert"
    manifest = ROOT / "tools" / "manifest.py"
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    for layout in ("hf", "hf-new", "hf-v5", "hf-thinker"):
        if not (fam / layout).is_dir():
            continue
        src = fam / layout
        for variant, args in {**VARIANTS, **EXTRA_VARIANTS.get(family, {})}.items():
            with tempfile.TemporaryDirectory() as tmp:
                if family in MLX_VLM_MODEL_TYPE:
                    src = Path(tmp) / "src"
                    shutil.copytree(fam / layout, src)
                    cfg = json.loads((src / "config.json").read_text())
                    cfg["model_type"] = MLX_VLM_MODEL_TYPE[family]
                    (src / "config.json").write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")
                out = Path(tmp) / "out"
                cmd = [str(convert)]
                if family in TINY_TOWERS:
                    cmd = [sys.executable, "-c", TINY_TOWERS_CONVERT]
                r = subprocess.run(
                    [*cmd, "--hf-path", str(src), "--mlx-path", str(out), *args],
                    capture_output=True, text=True, env=env,
                )
                target = exp / f"{layout}-{variant}.json"
                if r.returncode != 0:
                    err = (r.stderr.strip().splitlines() or ["?"])[-1]
                    target.write_text(json.dumps({"error": err}, indent=1) + "\n")
                    print(f"{family}/{layout} {variant}: mlx-vlm failed: {err}")
                    continue
                m = subprocess.run([sys.executable, str(manifest), "describe", str(out)],
                                   capture_output=True, text=True, check=True).stdout
                target.write_text(m)
                print(f"{family}/{layout} {variant}: {len(json.loads(m)['tensors'])} tensors")


def full_size_gemma3n() -> None:
    """`tests/fixtures/vlm/gemma3n/full-size.json`: the names and shapes (no data) of a Gemma 3n
    checkpoint whose vision and audio towers have the Hub's sizes (timm's `mobilenetv5_300m_enc`
    as shipped, transformers' default audio config) around the tiny fixture's text model, and
    its config.json. Built on the meta device, so nothing is allocated. tests/vlm.rs plans our
    conversion of it and compares with what mlx-vlm's unpatched model and sanitize make of it."""
    import torch
    import transformers as t

    tiny = json.loads((OUT / "gemma3n" / "hf" / "config.json").read_text())
    cfg = t.Gemma3nConfig(text_config=tiny["text_config"],
                          vision_config=dict(vocab_offset=tiny["vision_config"]["vocab_offset"]),
                          audio_config=dict(vocab_offset=tiny["audio_config"]["vocab_offset"]))
    with torch.device("meta"):
        model = t.Gemma3nForConditionalGeneration(cfg)
    config = {**tiny, "vision_config": cfg.vision_config.to_dict(),
              "audio_config": cfg.audio_config.to_dict()}
    # The head is the tied embedding; save_pretrained (and the Hub) leave it out.
    tensors = [[k, list(v.shape)] for k, v in model.state_dict().items() if k != "lm_head.weight"]
    target = OUT / "gemma3n" / "full-size.json"
    target.write_text(json.dumps({"config": config, "tensors": tensors}, sort_keys=True) + "\n")
    print(target, len(tensors), "tensors")


def main() -> None:
    if len(sys.argv) >= 2 and sys.argv[1] == "full-size-gemma3n":
        return full_size_gemma3n()
    if len(sys.argv) < 2 or sys.argv[1] not in ("build", "record"):
        sys.exit(__doc__)
    families = sys.argv[2:] or list(FAMILIES)
    for f in families:
        (build if sys.argv[1] == "build" else record)(f)


if __name__ == "__main__":
    main()
