//! config.json in and out, following mlx-lm's `load_config` / `save_config`.

use std::path::Path;

use serde_json::{Map, Value};

use crate::arch::apply::truthy;
use crate::cast::FloatType;
use crate::dtype::parse_float_name;
use crate::error::{Error, Result};

pub type Json = Map<String, Value>;

/// Reads a JSON object file, with errors that name the file.
pub fn read_json_object(path: &Path) -> Result<Json> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = std::str::from_utf8(&bytes).map_err(|_| Error::Config {
        file: path.to_path_buf(),
        msg: "not valid UTF-8 text".into(),
    })?;
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(Error::Config {
            file: path.to_path_buf(),
            msg: "expected a JSON object".into(),
        }),
        Err(e) => Err(Error::Config {
            file: path.to_path_buf(),
            msg: format!("invalid JSON: {e}"),
        }),
    }
}

/// The model config as mlx-lm sees it: `config.json`, with `eos_token_id` replaced by
/// `generation_config.json`'s when that file parses and has a truthy one.
pub fn load_config(dir: &Path) -> Result<Json> {
    let path = dir.join("config.json");
    if !path.is_file() {
        return Err(Error::Source(format!(
            "{} has no config.json; point --hf-path at a Hugging Face model folder",
            dir.display()
        )));
    }
    let mut config = read_json_object(&path)?;
    // mlx-lm ignores an unreadable generation_config.json, and so do we.
    if let Ok(generation) = read_json_object(&dir.join("generation_config.json")) {
        apply_generation_config(&mut config, &generation);
    }
    Ok(config)
}

/// mlx-lm's one use of generation_config.json: a truthy `eos_token_id` replaces the config's.
/// Shared by [`load_config`] and the Hub preflight, which reads both files over HTTP.
pub fn apply_generation_config(config: &mut Json, generation: &Json) {
    if let Some(eos) = generation.get("eos_token_id").filter(|v| truthy(v)) {
        config.insert("eos_token_id".into(), eos.clone());
    }
}

pub fn model_type(config: &Json) -> Option<&str> {
    config.get("model_type").and_then(Value::as_str)
}

/// Where the cast dtype came from, for messages and the dry run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DtypeSource {
    Flag,
    TorchDtype,
    TextConfigDtype,
}

/// The dtype floating tensors are cast to, decided exactly as `mlx_lm.convert` does:
/// `--dtype`, else `torch_dtype`, else `text_config.dtype` (only when `torch_dtype` is absent or
/// null). A value mlx-lm doesn't cast to (e.g. `"auto"`) means no cast.
///
/// A transformers-5 config that only says `"dtype"` is *not* cast, because mlx-lm 0.32.2
/// doesn't read that key: converting such a checkpoint keeps the stored dtypes, identical to
/// mlx-lm. `--dtype` gives the cast explicitly.
pub fn resolve_dtype(config: &Json, flag: Option<FloatType>) -> Option<(FloatType, DtypeSource)> {
    if let Some(t) = flag {
        return Some((t, DtypeSource::Flag));
    }
    let torch = config.get("torch_dtype").filter(|v| !v.is_null());
    let (name, source) = match torch {
        Some(v) => (v.as_str(), DtypeSource::TorchDtype),
        None => (
            config
                .get("text_config")
                .and_then(|tc| tc.get("dtype"))
                .and_then(Value::as_str),
            DtypeSource::TextConfigDtype,
        ),
    };
    name.and_then(parse_float_name).map(|t| (t, source))
}

/// Whether the config only carries the transformers-5 `dtype` key (for a hint in the plan).
pub fn has_only_v5_dtype(config: &Json) -> Option<&str> {
    if config.get("torch_dtype").is_some_and(|v| !v.is_null()) {
        return None;
    }
    config.get("dtype").and_then(Value::as_str)
}

/// Applies `save_config`: drop `_name_or_path` and `vision_config`, mirror `quantization` into
/// `quantization_config`, sort the top level. Returns the text mlx-lm would write.
pub fn output_config(mut config: Json, quantization: Option<Json>) -> (Json, String) {
    config.remove("_name_or_path");
    config.remove("vision_config");
    if let Some(q) = quantization {
        config.insert("quantization".into(), Value::Object(q.clone()));
        config.insert("quantization_config".into(), Value::Object(q));
    } else if let Some(q) = config.get("quantization").cloned() {
        config.insert("quantization_config".into(), q);
    }
    config.sort_keys();
    let text = crate::pyjson::to_string_indent4(&Value::Object(config.clone()));
    (config, text)
}
