"""Tower sizes mlx-vlm 0.7.10 hard-codes, shrunk to the tiny fixtures' sizes.

Some mlx-vlm families build their vision tower at the released model's size whatever the
checkpoint's config says: Phi-3-Vision's `VisionModel` is a constant CLIP ViT-L/14-336
(`CLIP_VIT_LARGE_PATCH14_336_CONFIG`, `image_dim_out = 1024`), FastVLM's FastViTHD stage sizes
are class attributes of its `VisionConfig`, and Molmo's config.json (remote code) has neither
`text_config` nor `vision_config`, so mlx-vlm builds Molmo-7B-D's sizes from its dataclass
defaults. Kimi-VL's MoonViT config says `num_hidden_layers`/`hidden_size`/`num_attention_heads`,
which mlx-vlm's VisionConfig does not read: its `depth`, `embed_dim` and `num_heads` stay
MoonViT-SO-400M's defaults. Gemma 3n's MobileNetV5-300M is the block table
`gemma3n_mobilenet_def()` plus two literals in `VisionTower.__init__` (stem width 64, fusion
adapter input 1920 = the channels of the last two stages). mlx-vlm loads strictly, so it cannot
convert (or load) a tiny checkpoint of those families as shipped. `patch()` replaces only those size
constants with the ones below, which `tools/gen_vlm_fixtures.py` builds its checkpoints with;
every key mapping, conv transpose, quantization predicate and save path stays mlx-vlm's own.

Used by `tools/gen_vlm_fixtures.py record` (the recorded manifests) and by `tests/vlm.rs`
(`mlx_vlm.load` of our output). Runs under the oracle venv (mlx, mlx-vlm).
"""

# Phi-3-Vision's CLIP tower (ViT-L/14-336 on the Hub): 16x16 images of 4x4 patches, one layer.
PHI3_V_CLIP = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                   num_attention_heads=2, image_size=16, patch_size=4, num_channels=3,
                   layer_norm_eps=1e-5)

# FastVLM's FastViTHD (Hub: layers [2, 12, 24, 4, 2], embed_dims [96 ... 1536]): one block per
# stage, same kinds of blocks (three RepMixer stages, two attention stages).
FASTVIT = dict(layers=[1, 1, 1, 1, 1], embed_dims=[8, 16, 32, 64, 128])

# Molmo's defaults (Molmo-7B-D: a Qwen2-7B-sized OLMo-style text model, a 23-layer ViT-L/14-336,
# 18944-wide projector): defaults for the keys a config does not set. Nine ViT layers because the
# tower concatenates the features of layers -2 and -9 (`vit_layers`, kept).
MOLMO_TEXT = dict(d_model=64, n_heads=2, n_kv_heads=1, n_layers=2, mlp_hidden_size=256,
                  vocab_size=256, embedding_size=256)
MOLMO_VISION = dict(image_default_input_size=(16, 16), image_patch_size=4,
                    image_pos_patch_size=4, hidden_size=128, image_emb_dim=32,
                    image_num_heads=2, image_num_key_value_heads=2, image_head_dim=16,
                    image_mlp_dim=64, image_num_layers=9, image_num_pos=17, d_model=64)

# Kimi-VL's MoonViT (Hub: 27 layers of 1152, 16 heads), as the fixture's vision_config says in
# the names mlx-vlm ignores.
KIMI_VL_VIT = dict(depth=1, embed_dim=32, num_heads=2)
# Gemma 3n's MobileNetV5 (Hub: stages of 3, 5, 37 and 39 blocks, 128 to 1280 channels, stem 64):
# `gen_vlm_fixtures.GEMMA3N_ARCH` in mlx-vlm's own notation, same block kinds (edge residual,
# universal inverted residual with and without depthwise convs, multi-query attention with a
# strided and an unstrided key/value path). The fusion adapter's 2048 output channels stay.
GEMMA3N_STEM = 8
GEMMA3N_MSFA_IN = 16 + 32


def gemma3n_blocks(er, uir, mmqa):
    """The tiny block table, built with mlx-vlm's `_er`, `_uir` and `_mmqa`."""
    return [
        [er(3, 8, 2), er(3, 8, 1)],
        [uir(3, 5, 16, 2, 6.0), uir(5, 0, 16)],
        [uir(5, 5, 16, 2, 6.0), uir(0, 0, 16, 1, 1.0), mmqa(2, 8, 2),
         uir(0, 0, 16, 1, 2.0, is_multiscale=True)],
        [uir(5, 5, 32, 2, 6.0), mmqa(2, 8, 1), uir(0, 0, 32, 1, 2.0, is_multiscale=True)],
    ]


def replace_once(source: str, old: str, new: str) -> str:
    """`old` replaced by `new`, which must occur exactly once (else mlx-vlm changed)."""
    if source.count(old) != 1:
        raise RuntimeError(f"mlx-vlm's source no longer has exactly one {old!r}")
    return source.replace(old, new)


def patch() -> None:
    """Shrinks the hard-coded tower sizes of the families above (idempotent)."""
    from types import SimpleNamespace

    import mlx.core as mx
    import mlx.nn as nn
    from mlx_vlm.models.phi3_v import vision as phi3_v

    if not getattr(phi3_v.VisionModel, "_tiny", False):
        phi3_v.VisionModel.CLIP_VIT_LARGE_PATCH14_336_CONFIG = SimpleNamespace(
            model_type="phi3_v", **PHI3_V_CLIP)
        init = phi3_v.VisionModel.__init__

        def tiny_init(self, config):
            init(self, config)
            d = PHI3_V_CLIP["hidden_size"]
            self.image_dim_out = d
            self.glb_GN = mx.zeros([1, 1, d * 4])
            self.sub_GN = mx.zeros([1, 1, 1, d * 4])
            self.img_projection = [nn.Linear(d * 4, config.hidden_size), nn.GELU(),
                                   nn.Linear(config.hidden_size, config.hidden_size)]

        phi3_v.VisionModel.__init__ = tiny_init
        phi3_v.VisionModel._tiny = True

    from mlx_vlm.models.fastvlm import config as fastvlm

    for k, v in FASTVIT.items():
        setattr(fastvlm.VisionConfig, k, list(v))

    from mlx_vlm.models.molmo import config as molmo

    from mlx_vlm.models.kimi_vl import config as kimi_vl

    for cls, tiny in ((molmo.TextConfig, MOLMO_TEXT), (molmo.VisionConfig, MOLMO_VISION),
                      (kimi_vl.VisionConfig, KIMI_VL_VIT)):
        if getattr(cls, "_tiny", False):
            continue
        # mlx-vlm builds sub-configs with `from_dict` (of `{}` when config.json has none);
        # dataclass defaults are baked into `__init__`, so the tiny ones go in there.
        def from_dict(c, params, tiny=tiny, orig=cls.from_dict.__func__):
            return orig(c, {**tiny, **(params or {})})

        cls.from_dict = classmethod(from_dict)
        cls._tiny = True
    import inspect

    from mlx_vlm.models.gemma3n import vision as gemma3n

    if not getattr(gemma3n, "_tiny", False):
        gemma3n.gemma3n_mobilenet_def = lambda: gemma3n_blocks(gemma3n._er, gemma3n._uir,
                                                                gemma3n._mmqa)
        # VisionTower's own source with its two size literals replaced, run in its module.
        src = inspect.getsource(gemma3n.VisionTower)
        src = replace_once(src, "out_chs=64,", f"out_chs={GEMMA3N_STEM},")
        src = replace_once(src, "in_chs=[1920],", f"in_chs=[{GEMMA3N_MSFA_IN}],")
        exec(compile(src, gemma3n.__file__, "exec"), gemma3n.__dict__)
        gemma3n._tiny = True
