//! `--q-rebalance`: the bits per weight of uniform `-q --q-bits B`, spent differently. A model
//! with an untied output head quantizes its input embedding at `B - δ` bits and `lm_head` at
//! `B + δ`; the two matrices have the same shape (vocabulary × hidden size), so the file size
//! and bits per weight stay exactly those of uniform `B`-bit.
//!
//! Why these two (llama.cpp's k-quants make the same call: `output.weight` gets more bits than
//! the rest, `token_embd` fewer): an embedding row's error perturbs one token's input vector,
//! which the first RMSNorm rescales and every later layer dilutes, while `lm_head`'s error lands
//! directly on every logit. Measured on Qwen2.5-Coder-0.5B at 4 bits (README, "Quantization
//! quality"): keeping the embedding in float lowers mean KL by 2%, keeping `lm_head` in float by
//! 27%. The rule is data-free and written as ordinary per-layer entries of config.json's
//! `quantization`, so stock mlx-lm loads the output.

use super::Mode;
use super::policy::{Override, OverrideSpec, QuantRequest};

/// Last path components of input embeddings.
const INPUT_EMBEDDINGS: &[&str] = &["embed_tokens", "wte", "word_embeddings", "tok_embeddings"];
/// Last path components of output heads.
const OUTPUT_HEADS: &[&str] = &["lm_head", "embed_out"];

/// The bits moved at global width `bits`: the smallest `δ` with both `bits ± δ` widths mlx's
/// affine mode has (1, 2, 3, 4, 5, 6, 8) and the low side at least 2 bits (1-bit embeddings
/// are noise). None for 2 and 8 bits, which have no such pair.
pub fn shift(bits: u32) -> Option<u32> {
    const WIDTHS: [u32; 6] = [2, 3, 4, 5, 6, 8];
    (1..=3).find(|&d| {
        bits >= d && WIDTHS.contains(&(bits - d)) && WIDTHS.contains(&(bits + d)) && bits != 8
    })
}

/// Refuses combinations whose meaning would be unclear, before any work.
pub fn validate(req: &QuantRequest) -> Result<(), String> {
    if req.spec.mode != Mode::Affine {
        return Err(format!(
            "--q-rebalance moves affine bits; it does not apply to --q-mode {} (use --q-override \
             to give lm_head another mode)",
            req.spec.mode.as_str()
        ));
    }
    if req.recipe.is_some() || req.embedding_bits.is_some() {
        return Err(
            "--q-rebalance sets the embedding's and lm_head's bits itself; drop --quant-predicate \
             or --q-bits-embedding (or use --q-override for other layers)"
                .into(),
        );
    }
    if shift(req.spec.bits).is_none() {
        return Err(format!(
            "--q-rebalance needs bit widths on both sides of --q-bits {}; use 3, 4, 5 or 6",
            req.spec.bits
        ));
    }
    Ok(())
}

/// The overrides `--q-rebalance` adds in front of the user's for a model whose quantizable
/// layers (path, shape) are `layers`, at global width `bits`; or why it adds none. They move
/// bits only when the model has exactly one input embedding and one output head, of the same
/// shape, so that the budget is kept exactly.
pub fn overrides(bits: u32, layers: &[(&str, Vec<usize>)]) -> Result<Vec<Override>, String> {
    let Some(d) = shift(bits) else {
        return Err(format!(
            "--q-rebalance has no bit widths to move at {bits} bits"
        ));
    };
    let last = |p: &str| p.rsplit('.').next().unwrap_or(p).to_string();
    let find = |names: &[&str]| -> Vec<&(&str, Vec<usize>)> {
        layers
            .iter()
            .filter(|(p, _)| names.contains(&last(p).as_str()))
            .collect()
    };
    let (embeds, heads) = (find(INPUT_EMBEDDINGS), find(OUTPUT_HEADS));
    let (embed, head) = match (embeds.as_slice(), heads.as_slice()) {
        ([e], [h]) => (e, h),
        (_, []) => {
            return Err(
                "--q-rebalance: the model has no separate lm_head (tied embeddings), so there is \
                 nothing to move; quantized uniformly"
                    .into(),
            );
        }
        _ => {
            return Err(format!(
                "--q-rebalance: expected one input embedding and one lm_head, found {} and {}; \
                 quantized uniformly",
                embeds.len(),
                heads.len()
            ));
        }
    };
    if embed.1 != head.1 {
        return Err(format!(
            "--q-rebalance: `{}` {:?} and `{}` {:?} differ in shape, so moving bits between them \
             would change the size; quantized uniformly",
            embed.0, embed.1, head.0, head.1
        ));
    }
    let exact = |path: &str, bits: u32| -> Result<Override, String> {
        let pattern = regex::Regex::new(&format!("^{}$", regex::escape(path)))
            .map_err(|e| format!("--q-rebalance: {e}"))?;
        Ok(Override {
            pattern,
            spec: OverrideSpec::Bits(bits),
            text: format!("--q-rebalance {path}={bits}"),
        })
    };
    Ok(vec![exact(embed.0, bits - d)?, exact(head.0, bits + d)?])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifts_keep_both_widths_valid() {
        assert_eq!(shift(2), None);
        assert_eq!(shift(3), Some(1));
        assert_eq!(shift(4), Some(1));
        assert_eq!(shift(5), Some(1));
        assert_eq!(shift(6), Some(2));
        assert_eq!(shift(8), None);
    }

    #[test]
    fn untied_model_moves_one_bit_from_embedding_to_head() {
        let layers = vec![
            ("model.embed_tokens", vec![1000, 64]),
            ("model.layers.0.mlp.down_proj", vec![64, 256]),
            ("lm_head", vec![1000, 64]),
        ];
        let o = overrides(4, &layers).unwrap();
        assert_eq!(o.len(), 2);
        assert!(o[0].pattern.is_match("model.embed_tokens"));
        assert!(!o[0].pattern.is_match("model.embed_tokens_extra"));
        assert_eq!(o[0].spec, OverrideSpec::Bits(3));
        assert!(o[1].pattern.is_match("lm_head"));
        assert_eq!(o[1].spec, OverrideSpec::Bits(5));
    }

    #[test]
    fn tied_or_mismatched_models_are_left_uniform() {
        let tied = vec![("model.embed_tokens", vec![1000, 64])];
        assert!(overrides(4, &tied).unwrap_err().contains("tied"));
        let mismatched = vec![
            ("model.embed_tokens", vec![1000, 64]),
            ("lm_head", vec![1024, 64]),
        ];
        assert!(overrides(4, &mismatched).unwrap_err().contains("shape"));
        let untied = vec![
            ("model.embed_tokens", vec![1000, 64]),
            ("lm_head", vec![1000, 64]),
        ];
        assert!(overrides(8, &untied).is_err());
    }
}
