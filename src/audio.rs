//! What a speech (mlx-audio compatible) output carries besides weights: config.json as
//! mlx-audio's `save_config` writes it, and the processor files (feature extractor, tokenizer)
//! `mlx_audio.stt.load` builds its processor from. The weight rules are architecture data
//! (`arch::audio`).

use serde_json::Value;

use crate::config::Json;

/// config.json exactly as the source has it (mlx-audio's `load_config`: no eos from
/// generation_config.json, unlike mlx-lm's), or `loaded` when the file cannot be read here
/// (a Hub inventory planned before download).
pub fn source_config(dir: &std::path::Path, loaded: &Json) -> Json {
    crate::config::read_json_object(&dir.join("config.json")).unwrap_or_else(|_| loaded.clone())
}

/// The output config.json of a speech conversion, as `mlx_audio.convert` writes it:
/// `config["model_type"]` set to the mlx-audio module, `save_config` dropping `_name_or_path`
/// and `vision_config`, `quantization` mirrored into `quantization_config`, keys sorted.
/// `torch_dtype` is kept (mlx-audio keeps it too).
pub fn output_config(mut config: Json, quantization: Option<Json>, model_type: &str) -> String {
    config.remove("_name_or_path");
    config.remove("vision_config");
    config.insert("model_type".into(), Value::from(model_type));
    if let Some(q) = quantization {
        config.insert("quantization".into(), Value::Object(q));
    }
    if let Some(q) = config.get("quantization").cloned() {
        config.insert("quantization_config".into(), q);
    }
    config.sort_keys();
    crate::pyjson::to_string_indent4(&Value::Object(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantization_is_mirrored_and_model_type_set() {
        let mut c = Json::new();
        c.insert("_name_or_path".into(), Value::from("x"));
        c.insert("model_type".into(), Value::from("whisper"));
        let mut q = Json::new();
        q.insert("bits".into(), Value::from(4));
        let text = output_config(c, Some(q), "whisper");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["quantization_config"]["bits"], 4);
        assert_eq!(v["quantization"]["bits"], 4);
        assert!(v.get("_name_or_path").is_none());
    }
}
