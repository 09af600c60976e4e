//! Speech models, as `mlx_audio.convert` (0.6.2) writes them: the model's own `sanitize` rules
//! (key renames, conv layouts, its dtype cast), mlx-audio's quantization rule and config.json
//! (see [`crate::audio`]).
//!
//! mlx-audio has no tower skip list: `build_quant_predicate` quantizes every Linear/Embedding
//! whose input size is a multiple of 64 (and of the group size) that the model's optional
//! `model_quant_predicate` accepts, encoders included. Each family is one [`Arch`]; the modules
//! its `model_quant_predicate` excludes are its `towers`.

mod qwen2_audio;
mod whisper;

use super::Arch;

/// Every speech family hf2mlx converts as mlx-audio does.
pub static REGISTRY: &[&Arch] = &[&qwen2_audio::ARCH, &whisper::ARCH];

/// mlx-audio's `base_requirements`: `module.weight.shape[-1] % 64 == 0`, whatever the group
/// size (so with `--q-group-size 32` a layer of input size 96 stays float).
pub const QUANT_INPUT_MULTIPLE: usize = 64;

/// The group size of every layer a mixed recipe quantizes: mlx-audio's vendored
/// `mixed_quant_predicate_builder` takes it as a default argument (64) convert never passes.
pub const RECIPE_GROUP_SIZE: usize = 64;

/// The mlx-audio conversion for a config's `model_type`, if hf2mlx has one.
pub fn find(model_type: &str) -> Option<&'static Arch> {
    REGISTRY
        .iter()
        .copied()
        .find(|a| a.name == model_type || a.aliases.contains(&model_type))
}

/// Whether an arch is an mlx-audio conversion.
pub fn is_audio(arch: &Arch) -> bool {
    REGISTRY.iter().any(|a| std::ptr::eq(*a, arch))
}

/// The README's table of speech families, generated from [`REGISTRY`].
pub fn markdown_table() -> String {
    let mut s = String::from(
        "| model_type | also accepts | kept in float (never quantized) | loads with |\n\
         |---|---|---|---|\n",
    );
    for a in REGISTRY {
        let aliases: Vec<String> = a.aliases.iter().map(|x| format!("`{x}`")).collect();
        let towers: Vec<String> = a
            .towers
            .iter()
            .map(|p| match p {
                crate::arch::Pat::Prefix(x) => format!("`{}`", x.trim_end_matches('.')),
                other => format!("`{other:?}`"),
            })
            .collect();
        let towers = if towers.is_empty() {
            "nothing (encoder quantized too)".to_string()
        } else {
            towers.join(", ")
        };
        s.push_str(&format!(
            "| `{}` | {} | {towers} | `mlx_audio.stt.load` |\n",
            a.name,
            aliases.join(", ")
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::apply::sanitize;

    fn names(keys: &[(&str, &[usize])]) -> Vec<(String, Vec<usize>)> {
        let cfg = serde_json::json!({"model_type": "whisper"});
        let serde_json::Value::Object(cfg) = cfg else {
            unreachable!()
        };
        let t = keys
            .iter()
            .map(|(k, s)| (k.to_string(), s.to_vec()))
            .collect();
        sanitize(find("whisper").unwrap(), &cfg, t).unwrap()
    }

    #[test]
    fn whisper_keys_become_mlx_audio_names() {
        let out = names(&[
            ("model.encoder.conv1.weight", &[64, 80, 3]),
            ("model.encoder.embed_positions.weight", &[1500, 64]),
            ("model.encoder.layers.0.self_attn.k_proj.weight", &[64, 64]),
            ("model.encoder.layers.0.fc1.weight", &[256, 64]),
            ("model.decoder.embed_positions.weight", &[448, 64]),
            ("model.decoder.layers.0.encoder_attn_layer_norm.bias", &[64]),
            ("model.decoder.layer_norm.weight", &[64]),
            ("proj_out.weight", &[320, 64]),
        ]);
        let want: Vec<(String, Vec<usize>)> = [
            ("encoder.conv1.weight", vec![64, 3, 80]),
            ("encoder.blocks.0.attn.key.weight", vec![64, 64]),
            ("encoder.blocks.0.mlp1.weight", vec![256, 64]),
            ("decoder.positional_embedding", vec![448, 64]),
            ("decoder.blocks.0.cross_attn_ln.bias", vec![64]),
            ("decoder.ln.weight", vec![64]),
        ]
        .into_iter()
        .map(|(k, s)| (k.to_string(), s))
        .collect();
        assert_eq!(out, want);
    }

    #[test]
    fn mlx_layout_is_left_alone() {
        // No `model.` key: mlx-audio's sanitize only casts (conv kernels are already MLX).
        let out = names(&[("encoder.conv1.weight", &[64, 3, 80])]);
        assert_eq!(out, vec![("encoder.conv1.weight".into(), vec![64, 3, 80])]);
    }

    #[test]
    fn only_registry_members_are_audio() {
        assert!(is_audio(find("whisper").unwrap()));
        assert!(!is_audio(crate::arch::find("llama").unwrap()));
    }
}
