//! `mlx_lm/models/gpt2.py`: GPT-2. The causal-mask buffers `h.{i}.attn.bias` are dropped, the
//! Conv1D weights (`c_attn`, `c_proj`, `c_fc`; stored `[in, out]`) transposed to `[out, in]`, and
//! every name gets the `model.` prefix. The embedding is the output head.

use super::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "gpt2",
    category: Category::Reshape,
    tied: Tied::Always,
    sanitize: &[
        Rule::Drop(Pat::All(&[Pat::Prefix("h."), Pat::Suffix(".attn.bias")])),
        // Conv1D weights of the original (unprefixed) checkpoint; `c_proj` is in `attn` and `mlp`.
        Rule::SwapLastAxes { pat: Pat::All(&[Pat::Prefix("h."), Pat::Suffix("attn.c_attn.weight")]), rank: 2 },
        Rule::SwapLastAxes { pat: Pat::All(&[Pat::Prefix("h."), Pat::Suffix("mlp.c_fc.weight")]), rank: 2 },
        Rule::SwapLastAxes { pat: Pat::All(&[Pat::Prefix("h."), Pat::Suffix(".c_proj.weight")]), rank: 2 },
        Rule::AddPrefix("model."),
    ],
    order: &[
        "model", // Model
        "wte", "wpe", "h", "ln_f", // GPT2Model
        "attn", "mlp", "ln_1", "ln_2", // TransformerBlock
        "c_attn", "c_fc", "c_proj", // Attention, MLP
    ],
    ..Arch::BASE
};
