"""Tower sizes mlx-vlm 0.7.10 hard-codes, shrunk to the tiny fixtures' sizes.

Some mlx-vlm families build their vision tower at the released model's size whatever the
checkpoint's config says: Phi-3-Vision's `VisionModel` is a constant CLIP ViT-L/14-336
(`CLIP_VIT_LARGE_PATCH14_336_CONFIG`, `image_dim_out = 1024`), FastVLM's FastViTHD stage sizes
are class attributes of its `VisionConfig`. mlx-vlm loads strictly, so it cannot convert (or
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
