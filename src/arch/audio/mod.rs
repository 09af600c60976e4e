//! Speech models, as `mlx_audio.convert` (0.6.2) writes them: the model's own `sanitize` rules
//! (key renames, conv layouts, its dtype cast), mlx-audio's quantization rule and config.json
//! (see [`crate::audio`]).
//!
//! mlx-audio has no tower skip list: `build_quant_predicate` quantizes every Linear/Embedding
//! whose input size is a multiple of 64 (and of the group size) that the model's optional
//! `model_quant_predicate` accepts, encoders included. Each family is one [`Arch`]; the modules
//! its `model_quant_predicate` excludes are its `towers`.

mod granite_speech;
mod qwen2_audio;
mod qwen3_asr;
mod voxtral;
mod whisper;

use super::Arch;

/// Every speech family hf2mlx converts as mlx-audio does.
pub static REGISTRY: &[&Arch] = &[
    &granite_speech::ARCH,
    &qwen2_audio::ARCH,
    &qwen3_asr::ARCH,
    &voxtral::ARCH,
    &whisper::ARCH,
];

/// Files a family carries next to its weights that `mlx_audio.convert` copies unchanged (its
/// `copy_supporting_files` hook): Granite Speech 5.0's optional `out_llm.safetensors`, an
/// encoder BPE head for speculative decoding. They are not weight files of the model (the
/// loader merges them in and `sanitize` drops their bare `weight`/`bias` again), so hf2mlx
/// neither converts nor quantizes them.
const SIDE_FILES: &[(&str, &str)] = &[("granite_speech", "out_llm.safetensors")];

/// Whether `name` is a side file of some speech family (so the inventory lists it).
pub fn is_side_file(name: &str) -> bool {
    SIDE_FILES.iter().any(|&(_, f)| f == name)
}

/// Whether `name` is one of `arch`'s side files, copied into its output unchanged.
pub fn copies_side_file(arch: &Arch, name: &str) -> bool {
    SIDE_FILES.contains(&(arch.name, name))
}

/// Speech families whose mlx-audio `Model` has no `layers` attribute, so
/// `mixed_quant_predicate_builder` (`len(model.layers)`) raises and `mlx_audio.convert` refuses
/// every mixed recipe; hf2mlx refuses them too rather than guess a layer count.
const NO_LAYERS_FOR_RECIPES: &[&str] = &["voxtral"];

/// Whether `mlx_audio.convert --quant-predicate` works for this family at all.
pub fn refuses_recipes(arch: &Arch) -> bool {
    NO_LAYERS_FOR_RECIPES.contains(&arch.name)
}

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

    fn sanitized(model_type: &str, keys: &[(&str, &[usize])]) -> Vec<(String, Vec<usize>)> {
        let serde_json::Value::Object(cfg) = serde_json::json!({ "model_type": model_type }) else {
            unreachable!()
        };
        let t = keys
            .iter()
            .map(|(k, s)| (k.to_string(), s.to_vec()))
            .collect();
        sanitize(find(model_type).unwrap(), &cfg, t).unwrap()
    }

    #[test]
    fn qwen3_asr_hub_keys_lose_thinker_and_head_and_kernels_go_channels_last() {
        let out = sanitized(
            "qwen3_asr",
            &[
                ("thinker.audio_tower.conv2d1.weight", &[480, 1, 3, 3]),
                ("thinker.audio_tower.conv_out.weight", &[1024, 7680]),
                ("thinker.audio_tower.proj2.weight", &[2048, 1024]),
                ("thinker.model.layers.0.self_attn.q_norm.weight", &[128]),
                ("thinker.lm_head.weight", &[151936, 2048]),
            ],
        );
        let want: Vec<(String, Vec<usize>)> = [
            ("audio_tower.conv2d1.weight", vec![480, 3, 3, 1]),
            ("audio_tower.conv_out.weight", vec![1024, 7680]),
            ("audio_tower.proj2.weight", vec![2048, 1024]),
            ("model.layers.0.self_attn.q_norm.weight", vec![128]),
        ]
        .into_iter()
        .map(|(k, s)| (k.to_string(), s))
        .collect();
        assert_eq!(out, want);
    }

    #[test]
    fn granite_speech_conformer_kernels_move_and_batch_counters_go() {
        let out = sanitized(
            "granite_speech",
            &[
                ("encoder.layers.0.conv.up_conv.weight", &[4096, 1024, 1]),
                (
                    "encoder.layers.0.conv.depth_conv.conv.weight",
                    &[2048, 1, 15],
                ),
                ("encoder.layers.0.conv.batch_norm.num_batches_tracked", &[]),
                ("encoder.layers.0.conv.batch_norm.running_var", &[2048]),
                ("language_model.model.model.norm.weight", &[2048]),
            ],
        );
        let want: Vec<(String, Vec<usize>)> = [
            ("encoder.layers.0.conv.up_conv.weight", vec![4096, 1, 1024]),
            (
                "encoder.layers.0.conv.depth_conv.conv.weight",
                vec![2048, 15, 1],
            ),
            ("encoder.layers.0.conv.batch_norm.running_var", vec![2048]),
            ("language_model.model.norm.weight", vec![2048]),
        ]
        .into_iter()
        .map(|(k, s)| (k.to_string(), s))
        .collect();
        assert_eq!(out, want);
    }

    #[test]
    fn only_granite_speech_copies_its_bpe_head() {
        assert!(is_side_file("out_llm.safetensors"));
        assert!(!is_side_file("model.safetensors"));
        assert!(copies_side_file(
            find("granite_speech").unwrap(),
            "out_llm.safetensors"
        ));
        assert!(!copies_side_file(
            find("whisper").unwrap(),
            "out_llm.safetensors"
        ));
    }

    #[test]
    fn only_voxtral_refuses_mixed_recipes() {
        assert!(refuses_recipes(find("voxtral").unwrap()));
        assert!(!refuses_recipes(find("qwen3_asr").unwrap()));
    }

    #[test]
    fn only_registry_members_are_audio() {
        assert!(is_audio(find("whisper").unwrap()));
        assert!(!is_audio(crate::arch::find("llama").unwrap()));
    }
}
