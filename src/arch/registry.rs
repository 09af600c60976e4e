//! model_type → [`Arch`]. Keep the list sorted by module name.

use super::Arch;
// The MLA family (kv_b_proj absorption, fp8 block dequantization).
use super::{
    afm7, afmoe, apertus, baichuan_m1, bailing_hybrid, bailing_moe, bailing_moe_linear,
    bailing_moe_v3, bitnet, cohere, cohere2, dbrx, deepseek, deepseek_v2, dots1, ernie4_5,
    ernie4_5_moe, exaone, exaone_moe, exaone4, falcon_h1, gear, gemma, gemma2, gemma3, gemma3_text,
    gemma3n, gemma4, gemma4_text, glm, glm4, glm4_moe, gpt_bigcode, gpt_neox, gpt_oss, gpt2, gptj,
    granite, granitemoe, granitemoehybrid, helium, hunyuan, hunyuan_v1_dense, internlm2, internlm3,
    iquestloopcoder, jamba, klear, laguna, lfm2, lfm2_moe, lfm2_vl, lille_130m, llama, llama4,
    llama4_text, mamba, mamba2, mellum, mimo, minicpm, minicpm3, minimax, minimax_m3_vl, mistral3,
    mixtral, muse_glimmer, muse_spark, nanbeige, nanochat, nemotron, nemotron_h, nemotron_nas,
    olmo, olmo_hybrid, olmo2, olmo3, olmoe, openelm, phi, phi3, phi3small, phimoe, phixtral,
    pixtral, plamo, plamo2, plamo3, qwen, qwen2, qwen2_moe, qwen2_vl, qwen3, qwen3_5, qwen3_5_moe,
    qwen3_moe, qwen3_next, qwen3_vl, qwen3_vl_moe, recurrent_gemma, rwkv7, seed_oss, smollm3,
    spark2_5, stablelm, starcoder2, step3p5, talkie, telechat3, youtu_llm,
};
// The MLA family and other fp8 block-scaled models.
use super::{
    deepseek_v3, deepseek_v32, deepseek_v41, glm_moe_dsa, glm4_moe_lite, kimi_k3, kimi_k25,
    kimi_linear, longcat_flash, longcat_flash_ngram, mimo_v2_flash, ministral3, mistral4,
};

/// Every supported mlx-lm model module.
pub static REGISTRY: &[&Arch] = &[
    &afm7::ARCH,
    &afmoe::ARCH,
    &apertus::ARCH,
    &baichuan_m1::ARCH,
    &bailing_hybrid::ARCH,
    &bailing_moe::ARCH,
    &bailing_moe_linear::ARCH,
    &bailing_moe_v3::ARCH,
    &bitnet::ARCH,
    &cohere::ARCH,
    &cohere2::ARCH,
    &dbrx::ARCH,
    &deepseek::ARCH,
    &deepseek_v2::ARCH,
    &deepseek_v3::ARCH,
    &deepseek_v32::ARCH,
    &deepseek_v41::ARCH,
    &dots1::ARCH,
    &ernie4_5::ARCH,
    &ernie4_5_moe::ARCH,
    &exaone::ARCH,
    &exaone4::ARCH,
    &exaone_moe::ARCH,
    &falcon_h1::ARCH,
    &gear::ARCH,
    &gemma::ARCH,
    &gemma2::ARCH,
    &gemma3::ARCH,
    &gemma3_text::ARCH,
    &gemma3n::ARCH,
    &gemma4::ARCH,
    &gemma4_text::ARCH,
    &glm::ARCH,
    &glm4::ARCH,
    &glm4_moe::ARCH,
    &glm4_moe_lite::ARCH,
    &glm_moe_dsa::ARCH,
    &gpt2::ARCH,
    &gpt_oss::ARCH,
    &gpt_bigcode::ARCH,
    &gpt_neox::ARCH,
    &gptj::ARCH,
    &granite::ARCH,
    &granitemoe::ARCH,
    &granitemoehybrid::ARCH,
    &helium::ARCH,
    &hunyuan::ARCH,
    &hunyuan_v1_dense::ARCH,
    &internlm2::ARCH,
    &internlm3::ARCH,
    &iquestloopcoder::ARCH,
    &jamba::ARCH,
    &kimi_k25::ARCH,
    &kimi_k3::ARCH,
    &kimi_linear::ARCH,
    &klear::ARCH,
    &laguna::ARCH,
    &lfm2::ARCH,
    &lfm2_moe::ARCH,
    &lfm2_vl::ARCH,
    &lille_130m::ARCH,
    &llama::ARCH,
    &llama4::ARCH,
    &llama4_text::ARCH,
    &longcat_flash::ARCH,
    &longcat_flash_ngram::ARCH,
    &mamba::ARCH,
    &mamba2::ARCH,
    &mellum::ARCH,
    &mimo::ARCH,
    &mimo_v2_flash::ARCH,
    &minicpm::ARCH,
    &minicpm3::ARCH,
    &minimax::ARCH,
    &minimax_m3_vl::ARCH,
    &ministral3::ARCH,
    &mistral3::ARCH,
    &mistral4::ARCH,
    &mixtral::ARCH,
    &muse_glimmer::ARCH,
    &muse_spark::ARCH,
    &nanbeige::ARCH,
    &nanochat::ARCH,
    &nemotron::ARCH,
    &nemotron_h::ARCH,
    &nemotron_nas::ARCH,
    &olmo::ARCH,
    &olmo2::ARCH,
    &olmo3::ARCH,
    &olmo_hybrid::ARCH,
    &olmoe::ARCH,
    &openelm::ARCH,
    &phi::ARCH,
    &phi3::ARCH,
    &phi3small::ARCH,
    &phimoe::ARCH,
    &phixtral::ARCH,
    &pixtral::ARCH,
    &plamo::ARCH,
    &plamo2::ARCH,
    &plamo3::ARCH,
    &qwen::ARCH,
    &qwen2::ARCH,
    &qwen2_moe::ARCH,
    &qwen2_vl::ARCH,
    &qwen3::ARCH,
    &qwen3_5::ARCH,
    &qwen3_5_moe::ARCH,
    &qwen3_moe::ARCH,
    &qwen3_next::ARCH,
    &qwen3_vl::ARCH,
    &qwen3_vl_moe::ARCH,
    &recurrent_gemma::ARCH,
    &rwkv7::ARCH,
    &seed_oss::ARCH,
    &smollm3::ARCH,
    &spark2_5::ARCH,
    &stablelm::ARCH,
    &starcoder2::ARCH,
    &step3p5::ARCH,
    &talkie::ARCH,
    &telechat3::ARCH,
    &youtu_llm::ARCH,
];

/// mlx-lm 0.32.2 model modules hf2mlx refuses, as (module, other `model_type`s mapped to it,
/// a summary for the README table, why): a clear refusal instead of "unknown model type", or of generic rules under
/// `--trust-remote-code` that would write a model mlx-lm cannot load.
pub static REFUSED: &[(&str, &[&str], &str, &str)] = &[
    (
        "kimi_vl",
        &[],
        "text-only: mlx-lm cannot load its checkpoints (multimodal: see the VLM table)",
        "mlx-lm 0.32.2 cannot load a Hugging Face Kimi-VL checkpoint either: its sanitize keeps \
         `kv_b_proj`, which the DeepSeek-V3 attention it reuses only has absorbed into \
         `embed_q`/`unembed_out`, so its strict weight load fails; hf2mlx converts Kimi-VL \
         (config.json with its `vision_config`) for mlx-vlm instead, without --text-only",
    ),
    (
        "prism_hadamard_qwen35",
        &[],
        "already MLX weights",
        "a Hadamard-rotated 2-bit pack is already MLX weights (a `quantization` config and \
         per-layer `signs`) written by its own packer, not a Hugging Face checkpoint: load the \
         pack with mlx-lm as it is",
    ),
];

/// Why hf2mlx refuses `model_type` (a module or alias in [`REFUSED`]), if it does.
pub fn refusal(model_type: &str) -> Option<&'static str> {
    REFUSED
        .iter()
        .find(|(name, aliases, _, _)| *name == model_type || aliases.contains(&model_type))
        .map(|(_, _, _, why)| *why)
}

/// The architecture for a config's `model_type`, following mlx-lm's `MODEL_REMAPPING`.
pub fn find(model_type: &str) -> Option<&'static Arch> {
    REGISTRY
        .iter()
        .copied()
        .find(|a| a.name == model_type || a.aliases.contains(&model_type))
}

/// All accepted `model_type` values (module names and aliases), sorted.
pub fn supported_model_types() -> Vec<&'static str> {
    let mut v: Vec<&str> = REGISTRY
        .iter()
        .flat_map(|a| std::iter::once(a.name).chain(a.aliases.iter().copied()))
        .collect();
    v.sort_unstable();
    v
}

/// The README's coverage table: one row per module, generated from the registry so it cannot
/// drift (a test compares it with README.md).
pub fn markdown_table() -> String {
    let mut s = String::from("| model_type | also accepts | weight rules |\n|---|---|---|\n");
    for a in REGISTRY {
        let aliases: Vec<String> = a.aliases.iter().map(|x| format!("`{x}`")).collect();
        s.push_str(&format!(
            "| `{}` | {} | {} |\n",
            a.name,
            aliases.join(", "),
            a.category.as_str()
        ));
    }
    for (name, aliases, summary, _) in REFUSED {
        let aliases: Vec<String> = aliases.iter().map(|x| format!("`{x}`")).collect();
        s.push_str(&format!(
            "| `{name}` | {} | refused: {summary} |\n",
            aliases.join(", ")
        ));
    }
    s
}
