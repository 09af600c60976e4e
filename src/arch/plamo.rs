//! `mlx_lm/models/plamo.py` (PLaMo 1: layers under `model.layers.layers`). No `sanitize`; the
//! model always has its own `lm_head`.

use super::{Arch, Category, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "plamo",
    category: Category::NoOp,
    tied: Tied::Never,
    order: &[
        "model", "lm_head", // Model
        // PlamoModel: embed_tokens, layers (PlamoDecoder: layers), norm;
        // PlamoDecoderLayer: self_attn, mlp, norm
        "embed_tokens", "layers", "self_attn", "mlp", "norm",
        "q_proj", "k_proj", "v_proj", "o_proj", // Attention
        "gate_proj", "up_proj", "down_proj", // MLP
    ],
    ..Arch::BASE
};
