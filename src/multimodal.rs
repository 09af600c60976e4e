//! What a multimodal (mlx-vlm compatible) output carries besides weights: the config with its
//! `vision_config`/`audio_config`, and the processor files `mlx_vlm.load` builds its processor
//! from. The weight rules themselves are architecture data (`arch::vlm`).

use serde_json::Value;

use crate::config::Json;

/// Processor files by exact name (image, video and audio processors, chat templates).
const PROCESSOR_NAMES: &[&str] = &[
    "preprocessor_config.json",
    "processor_config.json",
    "video_preprocessor_config.json",
    "image_processor_config.json",
    "feature_extractor_config.json",
    "chat_template.json",
    "chat_template.jinja",
];

/// Refuses a multimodal conversion of an MLX checkpoint (one `mlx_vlm.convert` or hf2mlx wrote):
/// its conv kernels are already channels-last, and the rules, which move them because Hugging
/// Face checkpoints are PyTorch layout, would move them again.
pub fn refuse_mlx_input(inv: &crate::source::Inventory) -> crate::Result<()> {
    let mlx_header = inv
        .headers
        .iter()
        .any(|h| h.metadata.iter().any(|(k, v)| k == "format" && v == "mlx"));
    if mlx_header || inv.config.contains_key("quantization") {
        return Err(crate::Error::Usage(format!(
            "{} is already an MLX model; hf2mlx converts vision-language models from their \
             Hugging Face checkpoint only (re-converting MLX output is not supported yet). \
             Convert the original checkpoint, or pass --text-only for mlx-lm's text model",
            inv.dir.display()
        )));
    }
    Ok(())
}

/// Whether a top-level file travels with a multimodal model (on top of the tokenizer files):
/// the processor files, and like `mlx_vlm.convert` every other `*.json` except the ones hf2mlx
/// writes itself.
pub fn is_processor_file(name: &str) -> bool {
    PROCESSOR_NAMES.contains(&name)
        || (name.ends_with(".json")
            && !matches!(
                name,
                "config.json" | "model.safetensors.index.json" | "quantization_config.json"
            ))
}

/// The output config.json of a multimodal conversion: mlx-lm's `save_config` rules (drop
/// `_name_or_path`, mirror `quantization` into `quantization_config`, sort keys) but keeping
/// `vision_config`/`audio_config`, which `mlx_vlm.load` builds the towers from. Unlike
/// `mlx_vlm.convert` it keeps `torch_dtype`, so re-converting the output still knows its dtype.
pub fn output_config(mut config: Json, quantization: Option<Json>) -> String {
    config.remove("_name_or_path");
    if let Some(q) = quantization {
        // mlx-vlm's quantize_model: `config.setdefault("vision_config", {})`.
        config
            .entry("vision_config")
            .or_insert_with(|| Value::Object(Json::new()));
        config.insert("quantization".into(), Value::Object(q.clone()));
        config.insert("quantization_config".into(), Value::Object(q));
    } else if let Some(q) = config.get("quantization").cloned() {
        config.insert("quantization_config".into(), q);
    }
    config.sort_keys();
    crate::pyjson::to_string_indent4(&Value::Object(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processor_files_but_not_what_hf2mlx_writes() {
        assert!(is_processor_file("preprocessor_config.json"));
        assert!(is_processor_file("video_preprocessor_config.json"));
        assert!(is_processor_file("chat_template.jinja"));
        assert!(!is_processor_file("config.json"));
        assert!(!is_processor_file("model.safetensors.index.json"));
        assert!(!is_processor_file("model.safetensors"));
    }

    #[test]
    fn vision_config_is_kept() {
        let mut c = Json::new();
        c.insert("vision_config".into(), serde_json::json!({"depth": 1}));
        c.insert("_name_or_path".into(), Value::from("x"));
        let text = output_config(c, None);
        assert!(text.contains("\"depth\": 1"));
        assert!(!text.contains("_name_or_path"));
    }
}
