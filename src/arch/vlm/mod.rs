//! Multimodal conversions, as `mlx_vlm.convert` (0.7.10) does them: vision/audio towers and
//! projectors are kept (cast with the rest, never quantized unless `--q-override` names them),
//! conv kernels move to MLX's channels-last layout, and `vision_config`/`audio_config` and the
//! processor files travel with the model.
//!
//! Each family is one [`Arch`] whose `towers` list is non-empty. Its `sanitize` maps *both*
//! Hugging Face key layouts (the classic `model.*` + `visual.*` / `language_model.*` +
//! `vision_tower.*` and the transformers >= 4.52 `model.language_model.*` + `model.visual.*`)
//! onto mlx-vlm's parameter names. Conv kernels are moved by rule (these are Hugging Face
//! checkpoints, so PyTorch layout is known), not by mlx-vlm's shape guess (`check_array_shape`),
//! which is wrong for e.g. a 3x3 kernel over 3 input channels.
//!
//! The planner uses these rules by default for the model types listed here; `--text-only` picks
//! the mlx-lm text conversion from the main registry instead.

mod aya_vision;
mod deepseek_vl_v2;
mod fastvlm;
mod florence2;
mod gemma3;
mod gemma3n;
mod glm4v;
mod idefics2;
mod idefics3;
mod internvl_chat;
mod kimi_vl;
mod lfm2_vl;
mod llama4;
mod llava;
mod llava_next;
mod mistral3;
mod mllama;
mod molmo;
mod paligemma;
mod phi3_v;
mod pixtral;
mod qwen2_5_vl;
mod qwen2_vl;
mod qwen3_omni_moe;
mod qwen3_vl;

use super::{Arch, Pat, Rule, ShapeCond};

/// The Conv2d patch embedding of a ViT tower, PyTorch `[O, I, kH, kW]` to MLX's
/// `[O, kH, kW, I]`.
const PATCH_EMBEDDING_TO_MLX: Rule = conv2d_to_mlx("patch_embedding.weight");

/// A Conv2d kernel `[O, I, kH, kW]` → MLX's `[O, kH, kW, I]`, for every 4-D tensor whose name
/// ends with `suffix`.
const fn conv2d_to_mlx(suffix: &'static str) -> Rule {
    Rule::MoveAxis {
        pat: Pat::Suffix(suffix),
        rank: 4,
        from: 1,
        to: 3,
        when: ShapeCond::Always,
    }
}

/// mlx-vlm's Qwen-VL-style `VisionModel.sanitize` (Qwen2-VL, Qwen2.5-VL, Qwen3-VL, GLM-4V,
/// Qwen3-Omni): the stored `position_ids` dropped and the Conv3d patch embedding
/// `[O, I, T, kH, kW]` moved to MLX's `[O, T, kH, kW, I]`.
const QWEN_VL_TOWER: Rule = Rule::All(&[
    Rule::Drop(Pat::Contains("position_ids")),
    Rule::MoveAxis {
        pat: Pat::Suffix("patch_embed.proj.weight"),
        rank: 5,
        from: 1,
        to: 4,
        when: ShapeCond::Always,
    },
]);

/// mlx-vlm's CLIP/SigLIP `VisionModel.sanitize`: the stored `position_ids` buffer dropped and
/// the patch embedding moved to channels-last.
const CLIP_TOWER: Rule = Rule::All(&[
    Rule::Drop(Pat::Contains("position_ids")),
    PATCH_EMBEDDING_TO_MLX,
]);

/// The rotary tables old checkpoints store, which every `LanguageModel.sanitize` drops.
const ROTARY_TABLES: Rule = Rule::Drop(Pat::Contains("self_attn.rotary_emb.inv_freq"));

/// [`CLIP_TOWER`] followed by the language model's [`ROTARY_TABLES`]: the whole sanitize of
/// the wrappers around a CLIP/SigLIP tower and a Llama-like text model.
const CLIP_TOWER_AND_TEXT: Rule = Rule::All(&[CLIP_TOWER, ROTARY_TABLES]);

/// The LLaVA-style key layouts onto mlx-vlm's names: transformers >= 4.52
/// (`model.language_model.*`, `model.vision_tower.*`, `model.multi_modal_projector.*`, a
/// top-level `lm_head`) and what transformers 5 saves (`vision_tower.*` without the
/// `vision_model.` level) both become the classic `language_model.model.*` /
/// `vision_tower.vision_model.*` / `multi_modal_projector.*` that mlx-vlm maps.
#[rustfmt::skip] // one line per rename
const LLAVA_KEYS: Rule = Rule::All(&[
    Rule::RenamePrefix { from: "model.language_model.", to: "language_model.model." },
    Rule::RenamePrefix { from: "model.vision_tower.", to: "vision_tower." },
    Rule::RenamePrefix { from: "model.multi_modal_projector.", to: "multi_modal_projector." },
    Rule::RenamePrefix { from: "lm_head.", to: "language_model.lm_head." },
    // transformers 5's tower without `vision_model.`
    Rule::RenamePrefix { from: "vision_tower.vision_model.", to: "vision_tower." },
    Rule::RenamePrefix { from: "vision_tower.", to: "vision_tower.vision_model." },
]);

/// Idefics2/Idefics3's `Model.sanitize` key layout: `model.text_model.*` → `language_model.*`,
/// the rest of `model.*` (vision model, connector) to the top level, and the head into the
/// language model.
#[rustfmt::skip] // one line per rename
const IDEFICS_KEYS: Rule = Rule::All(&[
    Rule::RenamePrefix { from: "model.text_model.", to: "language_model." },
    Rule::RenamePrefix { from: "model.", to: "" },
    Rule::RenamePrefix { from: "lm_head.", to: "language_model.lm_head." },
]);

/// Every multimodal family hf2mlx converts with its towers.
pub static REGISTRY: &[&Arch] = &[
    &aya_vision::ARCH,
    &deepseek_vl_v2::ARCH,
    &fastvlm::ARCH,
    &florence2::ARCH,
    &gemma3::ARCH,
    &gemma3n::ARCH,
    &glm4v::ARCH,
    &idefics2::ARCH,
    &idefics3::ARCH,
    &internvl_chat::ARCH,
    &kimi_vl::ARCH,
    &lfm2_vl::ARCH,
    &llama4::ARCH,
    &llava::ARCH,
    &llava_next::ARCH,
    &mistral3::ARCH,
    &mllama::ARCH,
    &molmo::ARCH,
    &paligemma::ARCH,
    &phi3_v::ARCH,
    &pixtral::ARCH,
    &qwen2_5_vl::ARCH,
    &qwen2_vl::ARCH,
    &qwen3_omni_moe::ARCH,
    &qwen3_vl::ARCH,
];

/// The multimodal conversion for a config's `model_type`, if hf2mlx has one.
pub fn find(model_type: &str) -> Option<&'static Arch> {
    REGISTRY
        .iter()
        .copied()
        .find(|a| a.name == model_type || a.aliases.contains(&model_type))
}

/// Model types whose checkpoints always hold a tower although their config.json has no
/// `vision_config` (mlx-vlm builds a fixed-size tower for them): Phi-3-Vision describes its
/// CLIP in `img_processor`, FastVLM (`llava_qwen2`) its FastViTHD in `mm_vision_tower`,
/// Qwen3-Omni its towers in `thinker_config`, Molmo not at all (mlx-vlm's defaults are
/// Molmo-7B-D's ViT-L/14-336).
const TOWER_WITHOUT_VISION_CONFIG: &[&str] = &[
    "phi3_v",
    "fastvlm",
    "llava_qwen2",
    "qwen3_omni_moe",
    "molmo",
];

/// The multimodal conversion for a config: by `model_type`, except where a Hub `model_type`
/// covers towers of different kinds (a `llava` config with a `pixtral` vision_config is
/// Pixtral-12B, whose tower LLaVA's rules do not know). Outside
/// [`TOWER_WITHOUT_VISION_CONFIG`], a config without `vision_config` has no tower to keep
/// (mlx-vlm cannot even build its model), so it gets mlx-lm's text conversion: a text-only
/// `llama4` checkpoint stays what mlx-lm makes of it.
pub fn find_for_config(
    config: &serde_json::Map<String, serde_json::Value>,
) -> Option<&'static Arch> {
    let model_type = crate::config::model_type(config).unwrap_or_default();
    let Some(vision) = config.get("vision_config") else {
        return TOWER_WITHOUT_VISION_CONFIG
            .contains(&model_type)
            .then(|| find(model_type))
            .flatten();
    };
    let vision_type = vision.get("model_type").and_then(serde_json::Value::as_str);
    match (model_type, vision_type) {
        ("llava", Some("pixtral")) => Some(&pixtral::ARCH),
        _ => find(model_type),
    }
}

/// Whether an arch is a multimodal conversion (keeps towers).
pub fn is_multimodal(arch: &Arch) -> bool {
    !arch.towers.is_empty()
}

/// A tower pattern as the README shows it: the module path without its trailing dot.
fn describe(p: &Pat) -> String {
    match p {
        Pat::Prefix(x) | Pat::Suffix(x) | Pat::Contains(x) | Pat::Exact(x) => {
            x.trim_end_matches('.').to_string()
        }
        Pat::All(ps) => ps.iter().map(describe).collect::<Vec<_>>().join(" & "),
        Pat::Not(p) => format!("not {}", describe(p)),
    }
}

/// The README's table of multimodal families, generated from [`REGISTRY`].
pub fn markdown_table() -> String {
    let mut s = String::from(
        "| model_type | also accepts | kept in float (never quantized) | `--text-only` |\n\
         |---|---|---|---|\n",
    );
    for a in REGISTRY {
        let aliases: Vec<String> = a.aliases.iter().map(|x| format!("`{x}`")).collect();
        let towers: Vec<String> = a
            .towers
            .iter()
            .map(|p| format!("`{}`", describe(p)))
            .collect();
        let text = if super::find(a.name).is_some() {
            "yes (mlx-lm rules)"
        } else {
            "no"
        };
        s.push_str(&format!(
            "| `{}` | {} | {} | {text} |\n",
            a.name,
            aliases.join(", "),
            towers.join(", ")
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::apply::{is_tower, sanitize};
    use serde_json::{Map, Value};

    fn names(arch: &Arch, cfg: Value, keys: &[(&str, &[usize])]) -> Vec<(String, Vec<usize>)> {
        let t = keys
            .iter()
            .map(|(k, s)| (k.to_string(), s.to_vec()))
            .collect();
        owned_names(arch, cfg, t)
    }

    /// [`names`] of keys built at run time.
    fn owned_names(
        arch: &Arch,
        cfg: Value,
        keys: Vec<(String, Vec<usize>)>,
    ) -> Vec<(String, Vec<usize>)> {
        let Value::Object(cfg) = cfg else { panic!() };
        let cfg: Map<String, Value> = cfg;
        sanitize(arch, &cfg, keys).unwrap()
    }

    #[test]
    fn both_qwen2_vl_layouts_give_the_same_parameters() {
        let arch = find("qwen2_vl").unwrap();
        let cfg = serde_json::json!({"model_type": "qwen2_vl", "tie_word_embeddings": false});
        let classic = names(
            arch,
            cfg.clone(),
            &[
                ("model.embed_tokens.weight", &[8, 4]),
                ("visual.patch_embed.proj.weight", &[32, 3, 2, 14, 14]),
                ("lm_head.weight", &[8, 4]),
            ],
        );
        let new = names(
            arch,
            cfg,
            &[
                ("model.language_model.embed_tokens.weight", &[8, 4]),
                ("model.visual.patch_embed.proj.weight", &[32, 3, 2, 14, 14]),
                ("lm_head.weight", &[8, 4]),
            ],
        );
        assert_eq!(classic, new);
        assert!(classic.contains(&(
            "vision_tower.patch_embed.proj.weight".into(),
            vec![32, 2, 14, 14, 3]
        )));
        assert!(
            classic
                .iter()
                .any(|(k, _)| k == "language_model.lm_head.weight")
        );
    }

    #[test]
    fn conv_kernels_move_by_rule_not_by_shape_guess() {
        // PyTorch [O=64, I=4, kH=4, kW=2]: mlx-vlm's check_array_shape reads it as MLX
        // [O, kH=4, kW=4, I=2] and leaves it; the rule moves it to [64, 4, 2, 4].
        let arch = find("llava").unwrap();
        let out = names(
            arch,
            serde_json::json!({"model_type": "llava"}),
            &[(
                "vision_tower.vision_model.embeddings.patch_embedding.weight",
                &[64, 4, 4, 2],
            )],
        );
        assert_eq!(out[0].1, vec![64, 4, 2, 4]);
    }

    #[test]
    fn a_config_without_vision_config_is_not_multimodal() {
        let Value::Object(text) = serde_json::json!({"model_type": "llama4", "text_config": {}})
        else {
            panic!()
        };
        assert!(find_for_config(&text).is_none());
        let Value::Object(vlm) = serde_json::json!({"model_type": "llama4", "text_config": {},
                                                     "vision_config": {}})
        else {
            panic!()
        };
        assert_eq!(find_for_config(&vlm).map(|a| a.name), Some("llama4"));
    }

    #[test]
    fn glm4v_convs_move_by_rule_where_the_shape_guess_fails() {
        // mlx-vlm's glm4v check_array_shape leaves a 5-D kernel whose last axis is 3 and a 4-D
        // one [O, I, kH, kW] with O >= I == kH (read as MLX [O, kH, kW, I]): a 3-pixel patch
        // and a downsample over 2 channels. Both are PyTorch layout here and move.
        let arch = find("glm4v").unwrap();
        let out = names(
            arch,
            serde_json::json!({"model_type": "glm4v"}),
            &[
                ("model.visual.patch_embed.proj.weight", &[32, 3, 2, 3, 3]),
                ("model.visual.downsample.weight", &[64, 2, 2, 3]),
            ],
        );
        assert_eq!(
            out,
            vec![
                (
                    "vision_tower.patch_embed.proj.weight".into(),
                    vec![32, 2, 3, 3, 3]
                ),
                ("vision_tower.downsample.weight".into(), vec![64, 2, 3, 2]),
            ]
        );
    }

    #[test]
    fn deepseek_vl_v2_maps_its_keys_and_stacks_experts() {
        // PyTorch [O=8, I=3, kH=3, kW=2]: mlx-vlm's guess reads it as MLX [O, kH=3, kW=3, I=2]
        // and leaves it; by rule it moves to [8, 3, 2, 3].
        let arch = find("deepseek_vl_v2").unwrap();
        let mut keys: Vec<(String, Vec<usize>)> = vec![
            ("vision.patch_embed.proj.weight".into(), vec![8, 3, 3, 2]),
            ("view_seperator".into(), vec![64]),
            ("language.lm_head.weight".into(), vec![256, 64]),
        ];
        for e in 0..2 {
            keys.push((
                format!("language.model.layers.1.mlp.experts.{e}.up_proj.weight"),
                vec![32, 64],
            ));
        }
        let out = owned_names(
            arch,
            serde_json::json!({"model_type": "deepseek_vl_v2"}),
            keys,
        );
        assert_eq!(
            out,
            vec![
                (
                    "vision.vision_tower.patch_embed.proj.weight".into(),
                    vec![8, 3, 2, 3]
                ),
                ("view_separator".into(), vec![64]),
                ("language_model.lm_head.weight".into(), vec![256, 64]),
                (
                    "language_model.model.layers.1.mlp.switch_mlp.up_proj.weight".into(),
                    vec![2, 32, 64]
                ),
            ]
        );
    }

    #[test]
    fn florence2_ties_its_head_and_moves_depthwise_kernels() {
        let arch = find("florence2").unwrap();
        let keys: &[(&str, &[usize])] = &[
            ("language_model.final_logits_bias", &[1, 256]),
            ("language_model.model.shared.weight", &[256, 64]),
            (
                "vision_tower.blocks.0.0.spatial_block.conv1.fn.dw.weight",
                &[32, 1, 3, 3],
            ),
        ];
        let out = names(arch, serde_json::json!({"model_type": "florence2"}), keys);
        assert_eq!(
            out,
            vec![
                ("language_model.model.shared.weight".into(), vec![256, 64]),
                (
                    "vision_tower.blocks.0.0.spatial_block.conv1.fn.dw.weight".into(),
                    vec![32, 3, 3, 1]
                ),
                ("language_model.lm_head.weight".into(), vec![256, 64]),
            ]
        );
    }

    #[test]
    fn lfm2_vl_projector_norm_dropped_only_when_switched_off() {
        let arch = find("lfm2-vl").unwrap();
        let keys: &[(&str, &[usize])] = &[
            ("model.multi_modal_projector.layer_norm.weight", &[128]),
            (
                "model.language_model.layers.0.conv.conv.weight",
                &[64, 1, 3],
            ),
        ];
        let absent = names(arch, serde_json::json!({"model_type": "lfm2_vl"}), keys);
        assert_eq!(
            absent,
            vec![
                ("multi_modal_projector.layer_norm.weight".into(), vec![128]),
                (
                    "language_model.model.layers.0.conv.conv.weight".into(),
                    vec![64, 3, 1]
                ),
            ]
        );
        let off = names(
            arch,
            serde_json::json!({"model_type": "lfm2_vl", "projector_use_layernorm": false}),
            keys,
        );
        assert_eq!(off.len(), 1);
    }

    #[test]
    fn internvl_ties_its_head_by_llm_config() {
        let arch = find("internvl_chat").unwrap();
        let keys: &[(&str, &[usize])] = &[
            ("language_model.model.embed_tokens.weight", &[8, 4]),
            ("language_model.lm_head.weight", &[8, 4]),
        ];
        let cfg = |tied: bool| {
            serde_json::json!({"model_type": "internvl_chat", "tie_word_embeddings": !tied,
                               "llm_config": {"tie_word_embeddings": tied}})
        };
        assert_eq!(names(arch, cfg(true), keys).len(), 1);
        assert_eq!(names(arch, cfg(false), keys).len(), 2);
    }

    #[test]
    fn fastvlm_maps_fastvit_and_moves_its_kernels_by_rule() {
        // PyTorch [O=8, I=3, kH=3, kW=3] stem over RGB and a [C, 1, 1] layer scale; mlx-vlm moves
        // them only if another stem kernel's shape says so.
        let arch = find("llava_qwen2").unwrap();
        let t = "model.vision_tower.vision_tower.model.";
        let keys: Vec<(String, Vec<usize>)> = vec![
            (
                format!("{t}patch_embed.0.reparam_conv.weight"),
                vec![8, 3, 3, 3],
            ),
            (format!("{t}network.0.0.layer_scale"), vec![8, 1, 1]),
            (
                format!("{t}network.0.0.convffn.conv.bn.num_batches_tracked"),
                vec![],
            ),
            (
                format!("{t}network.0.0.convffn.fc1.weight"),
                vec![32, 8, 1, 1],
            ),
            ("model.mm_projector.0.weight".into(), vec![64, 256]),
            ("model.embed_tokens.weight".into(), vec![256, 64]),
            ("lm_head.weight".into(), vec![256, 64]),
        ];
        let out = owned_names(arch, serde_json::json!({"model_type": "llava_qwen2"}), keys);
        let v = "vision_tower.vision_model.";
        assert_eq!(
            out,
            vec![
                (
                    format!("{v}patch_embed.blocks.0.reparam_conv.weight"),
                    vec![8, 3, 3, 3]
                ),
                (format!("{v}network.0.0.layer_scale"), vec![1, 1, 8]),
                (
                    format!("{v}network.0.0.convffn.fc1.weight"),
                    vec![32, 1, 1, 8]
                ),
                ("mm_projector.0.weight".into(), vec![64, 256]),
                (
                    "language_model.model.embed_tokens.weight".into(),
                    vec![256, 64]
                ),
            ]
        );
    }

    #[test]
    fn qwen3_omni_moe_maps_thinker_talker_and_code2wav() {
        let arch = find("qwen3_omni_moe").unwrap();
        let mut keys: Vec<(String, Vec<usize>)> = vec![
            ("thinker.visual.merger.ln_q.weight".into(), vec![32]),
            ("thinker.visual.merger.mlp.2.weight".into(), vec![64, 128]),
            (
                "thinker.visual.merger_list.0.mlp.0.weight".into(),
                vec![128, 128],
            ),
            // [O=8, I=1, kH=3, kW=3]
            (
                "thinker.audio_tower.conv2d1.weight".into(),
                vec![8, 1, 3, 3],
            ),
            ("thinker.lm_head.weight".into(), vec![256, 64]),
            // ConvTranspose1d [in=64, out=32, k=2], Conv1d [out=16, in=8, k=7]
            ("code2wav.upsample.0.0.conv.weight".into(), vec![64, 32, 2]),
            (
                "code2wav.decoder.1.block.1.conv.weight".into(),
                vec![16, 8, 4],
            ),
            (
                "code2wav.decoder.1.block.2.conv1.conv.weight".into(),
                vec![16, 8, 7],
            ),
            ("code2wav.decoder.0.conv.weight".into(), vec![16, 64, 7]),
            (
                "code2wav.upsample.0.1.dwconv.conv.weight".into(),
                vec![64, 1, 7],
            ),
        ];
        for e in 0..2 {
            keys.push((
                format!("thinker.model.layers.0.mlp.experts.{e}.up_proj.weight"),
                vec![32, 64],
            ));
            keys.push((
                format!("talker.model.layers.0.mlp.experts.{e}.down_proj.weight"),
                vec![64, 32],
            ));
        }
        let cfg = serde_json::json!({"model_type": "qwen3_omni_moe"});
        let out = owned_names(arch, cfg, keys.clone());
        let want: &[(&str, &[usize])] = &[
            ("thinker.vision_tower.merger.norm.weight", &[32]),
            ("thinker.vision_tower.merger.linear_fc2.weight", &[64, 128]),
            (
                "thinker.vision_tower.deepstack_merger_list.0.linear_fc1.weight",
                &[128, 128],
            ),
            ("thinker.audio_tower.conv2d1.weight", &[8, 3, 3, 1]),
            ("thinker.language_model.lm_head.weight", &[256, 64]),
            ("code2wav.upsample.0.0.conv.weight", &[32, 2, 64]),
            ("code2wav.decoder.1.block.1.conv.weight", &[8, 4, 16]),
            ("code2wav.decoder.1.block.2.conv1.conv.weight", &[16, 7, 8]),
            ("code2wav.decoder.0.conv.weight", &[16, 7, 64]),
            ("code2wav.upsample.0.1.dwconv.conv.weight", &[64, 7, 1]),
            (
                "thinker.language_model.model.layers.0.mlp.switch_mlp.up_proj.weight",
                &[2, 32, 64],
            ),
            (
                "talker.model.layers.0.mlp.switch_mlp.down_proj.weight",
                &[2, 64, 32],
            ),
        ];
        for (k, s) in want {
            assert!(
                out.contains(&(k.to_string(), s.to_vec())),
                "{k} {s:?} in {out:?}"
            );
        }
        assert_eq!(out.len(), want.len());
        // -Thinking / -Captioner: mlx-vlm builds no talker and no code2wav.
        let thinker = owned_names(
            arch,
            serde_json::json!({"model_type": "qwen3_omni_moe", "enable_audio_output": false}),
            keys,
        );
        assert!(thinker.iter().all(|(k, _)| k.starts_with("thinker.")));
        assert_eq!(thinker.len(), 6);
    }

    #[test]
    fn gemma3n_moves_every_tower_conv_by_rule() {
        // The stem, a 1x1 attention projection, a depthwise downsampler, the audio
        // sub-sampler's conv and the Conformer's depthwise Conv1d move; norms and Linears keep
        // their shapes.
        let arch = find("gemma3n").unwrap();
        let t = "model.vision_tower.timm_model.";
        let a = "model.audio_tower.";
        let keys: Vec<(String, Vec<usize>)> = vec![
            (format!("{t}conv_stem.conv.weight"), vec![8, 3, 3, 3]),
            (
                format!("{t}blocks.3.1.attn.query.proj.weight"),
                vec![16, 32, 1, 1],
            ),
            (
                format!("{t}blocks.2.2.attn.key.down_conv.weight"),
                vec![16, 1, 3, 3],
            ),
            (format!("{t}blocks.2.2.attn.key.norm.weight"), vec![16]),
            (
                format!("{a}subsample_conv_projection.conv_1.conv.weight"),
                vec![4, 8, 3, 3],
            ),
            (
                format!("{a}conformer.0.lconv1d.depthwise_conv1d.weight"),
                vec![64, 1, 5],
            ),
            (
                format!("{a}conformer.0.attention.attn.q_proj.weight"),
                vec![64, 64],
            ),
            ("model.embed_audio.embedding.weight".into(), vec![8, 64]),
            (
                "model.language_model.layers.0.self_attn.q_proj.weight".into(),
                vec![64, 64],
            ),
        ];
        let out = owned_names(arch, serde_json::json!({"model_type": "gemma3n"}), keys);
        let v = "vision_tower.timm_model.";
        let a = "audio_tower.";
        let want: Vec<(String, Vec<usize>)> = vec![
            (format!("{v}conv_stem.conv.weight"), vec![8, 3, 3, 3]),
            (
                format!("{v}blocks.3.1.attn.query.proj.weight"),
                vec![16, 1, 1, 32],
            ),
            (
                format!("{v}blocks.2.2.attn.key.down_conv.weight"),
                vec![16, 3, 3, 1],
            ),
            (format!("{v}blocks.2.2.attn.key.norm.weight"), vec![16]),
            (
                format!("{a}subsample_conv_projection.conv_1.conv.weight"),
                vec![4, 3, 3, 8],
            ),
            (
                format!("{a}conformer.0.lconv1d.depthwise_conv1d.weight"),
                vec![64, 5, 1],
            ),
            (
                format!("{a}conformer.0.attention.attn.q_proj.weight"),
                vec![64, 64],
            ),
            ("embed_audio.embedding.weight".into(), vec![8, 64]),
            (
                "language_model.model.layers.0.self_attn.q_proj.weight".into(),
                vec![64, 64],
            ),
        ];
        assert_eq!(out, want);
        assert!(is_tower(arch, "embed_audio.embedding_projection"));
        assert!(!is_tower(arch, "language_model.model.embed_tokens"));
    }

    #[test]
    fn phi3_v_is_multimodal_without_vision_config() {
        let Value::Object(cfg) = serde_json::json!({"model_type": "phi3_v",
                                                    "img_processor": {"image_dim_out": 1024}})
        else {
            panic!()
        };
        assert_eq!(find_for_config(&cfg).map(|a| a.name), Some("phi3_v"));
    }

    #[test]
    fn molmo_is_multimodal_without_any_sub_config_and_keeps_its_names() {
        let Value::Object(cfg) = serde_json::json!({"model_type": "molmo", "hidden_size": 3584})
        else {
            panic!()
        };
        let arch = find_for_config(&cfg).unwrap();
        assert_eq!(arch.name, "molmo");
        let keys: &[(&str, &[usize])] = &[
            (
                "model.vision_backbone.image_vit.patch_embedding.weight",
                &[1024, 588],
            ),
            ("model.transformer.ff_out.weight", &[8, 4]),
            ("model.transformer.blocks.0.rotary_emb.inv_freq", &[2]),
            ("model.transformer.blocks.0.ff_out.weight", &[4, 8]),
            ("model.transformer.wte.embedding", &[8, 4]),
        ];
        let mut out = names(arch, Value::Object(cfg), keys);
        // In tree_flatten order the block's `ff_out` comes second in the block, the head's last.
        out.sort_by(|a, b| crate::arch::apply::module_order(arch, &a.0, &b.0));
        let got: Vec<&str> = out.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            got,
            [
                "language_model.model.wte.embedding",
                "language_model.model.blocks.0.ff_out.weight",
                "language_model.model.ff_out.weight",
                "vision_tower.image_vit.patch_embedding.weight",
            ]
        );
        // The patch embedding is a Linear over flattened patches: no conv move.
        assert_eq!(out[3].1, vec![1024, 588]);
    }

    #[test]
    fn kimi_vl_maps_moonvit_and_keeps_kv_b_proj() {
        // PyTorch patch conv [O=8, I=3, kH=3, kW=2] (mlx-vlm's guess reads it as MLX and leaves
        // it); MLA's kv_b_proj stays one Linear in mlx-vlm (no absorption).
        let arch = find("kimi_vl").unwrap();
        let mut keys: Vec<(String, Vec<usize>)> = vec![
            (
                "vision_tower.patch_embed.proj.weight".into(),
                vec![8, 3, 3, 2],
            ),
            (
                "vision_tower.encoder.blocks.0.wqkv.weight".into(),
                vec![24, 8],
            ),
            ("vision_tower.encoder.blocks.0.wo.bias".into(), vec![8]),
            (
                "vision_tower.encoder.final_layernorm.weight".into(),
                vec![8],
            ),
            (
                "language_model.model.layers.0.self_attn.kv_b_proj.weight".into(),
                vec![64, 32],
            ),
        ];
        for e in 0..2 {
            keys.push((
                format!("language_model.model.layers.1.mlp.experts.{e}.down_proj.weight"),
                vec![64, 32],
            ));
        }
        let out = owned_names(arch, serde_json::json!({"model_type": "kimi_vl"}), keys);
        // mlx-vlm's Model has no cast_predicate: the router bias is cast like everything else.
        assert!(crate::arch::apply::may_cast(
            arch,
            "language_model.model.layers.1.mlp.gate.e_score_correction_bias"
        ));
        assert_eq!(
            out,
            vec![
                (
                    "vision_tower.patch_embed.proj.weight".into(),
                    vec![8, 3, 2, 3]
                ),
                ("vision_tower.blocks.0.attn.wqkv.weight".into(), vec![24, 8]),
                ("vision_tower.blocks.0.attn.wo.bias".into(), vec![8]),
                ("vision_tower.final_layernorm.weight".into(), vec![8]),
                (
                    "language_model.model.layers.0.self_attn.kv_b_proj.weight".into(),
                    vec![64, 32]
                ),
                (
                    "language_model.model.layers.1.mlp.switch_mlp.down_proj.weight".into(),
                    vec![2, 64, 32]
                ),
            ]
        );
    }

    #[test]
    fn towers_and_projectors_are_never_language_model_layers() {
        for arch in REGISTRY {
            assert!(is_multimodal(arch), "{}", arch.name);
            let tower = match arch.name {
                "idefics2" | "idefics3" | "internvl_chat" | "llama4" => "vision_model",
                "deepseek_vl_v2" => "vision.vision_tower",
                "phi3_v" => "model.vision_embed_tokens.img_processor.vision_model",
                "qwen3_omni_moe" => "thinker.vision_tower",
                _ => "vision_tower",
            };
            assert!(is_tower(arch, &format!("{tower}.encoder.layers.0.mlp.fc1")));
            assert!(!is_tower(
                arch,
                "language_model.model.layers.0.mlp.down_proj"
            ));
            assert!(!is_tower(arch, "language_model.lm_head"));
        }
    }
}
