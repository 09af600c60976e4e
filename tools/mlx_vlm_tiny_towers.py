"""Tower sizes mlx-vlm 0.7.10 hard-codes, shrunk to the tiny fixtures' sizes.

Some mlx-vlm families build their vision tower at the released model's size whatever the
checkpoint's config says: Phi-3-Vision's `VisionModel` is a constant CLIP ViT-L/14-336
(`CLIP_VIT_LARGE_PATCH14_336_CONFIG`, `image_dim_out = 1024`), FastVLM's FastViTHD stage sizes
are class attributes of its `VisionConfig`, Gemma 3n's MobileNetV5-300M is the block table
`gemma3n_mobilenet_def()` plus two literals in `VisionTower.__init__` (stem width 64, fusion
adapter input 1920 = the channels of the last two stages). mlx-vlm loads strictly, so it cannot convert (or
load) a tiny checkpoint of those families as shipped. `patch()` replaces only those size
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
