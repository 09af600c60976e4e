//! The local models folder of the `hf2mlx convert ORG/NAME OUTPUT_NAME BITS` shorthand
//! (`./local-models`, or `--models-dir` / `HF2MLX_MODELS`) and `hf2mlx list`.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Error, IoContext, Result};
use crate::output::read_card_info;

/// Default folder of the shorthand, relative to the working directory.
pub const DEFAULT_MODELS_DIR: &str = "local-models";

/// `--models-dir`, else `HF2MLX_MODELS`, else `./local-models`.
pub fn models_dir(flag: Option<&Path>) -> PathBuf {
    flag.map(Path::to_path_buf)
        .or_else(|| {
            std::env::var_os("HF2MLX_MODELS")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| PathBuf::from(DEFAULT_MODELS_DIR))
}

/// What the shorthand's BITS means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    /// Quantize (affine) with this many bits.
    Quantize(u32),
    /// No quantization; `Some` casts floats to that dtype.
    Float(Option<crate::cast::FloatType>),
}

/// Parses BITS: `2`…`8` quantize; `16` keeps the source dtype (as mlx-lm without `-q`);
/// `bf16`, `f16`/`fp16`, `f32`/`fp32`/`32` cast.
pub fn parse_precision(s: &str) -> Result<Precision> {
    use crate::cast::FloatType;
    let p = match s.to_ascii_lowercase().as_str() {
        "16" => Precision::Float(None),
        "bf16" | "bfloat16" => Precision::Float(Some(FloatType::BF16)),
        "f16" | "fp16" | "float16" => Precision::Float(Some(FloatType::F16)),
        "32" | "f32" | "fp32" | "float32" => Precision::Float(Some(FloatType::F32)),
        n => match n.parse::<u32>() {
            Ok(b) if [1, 2, 3, 4, 5, 6, 8].contains(&b) => Precision::Quantize(b),
            _ => {
                return Err(Error::Usage(format!(
                    "BITS `{s}` is not a precision: use 2, 3, 4, 5, 6 or 8 to quantize, 16 to keep \
                     the source dtype, or bf16 / f16 / f32"
                )));
            }
        },
    };
    Ok(p)
}

/// One converted model found by `hf2mlx list`.
#[derive(Clone, Debug)]
pub struct LocalModel {
    pub name: String,
    pub path: PathBuf,
    pub size: u64,
    /// `4-bit affine`, `mixed`, `bfloat16`, …
    pub precision: String,
    /// Source repo (card `base_model`) or local checkpoint name; `?` when unknown.
    pub source: String,
    pub commit: Option<String>,
}

fn dir_size(p: &Path) -> u64 {
    std::fs::read_dir(p)
        .map(|rd| {
            rd.flatten()
                .map(|e| {
                    let p = e.path();
                    if p.is_dir() {
                        dir_size(&p)
                    } else {
                        e.metadata().map(|m| m.len()).unwrap_or(0)
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

/// The float dtype most tensors of the first shard have (config.json keeps the source's
/// `torch_dtype` even when `--dtype` changed it, as in mlx-lm).
fn weights_dtype(dir: &Path) -> Option<String> {
    let mut shards: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    shards.sort();
    let first = shards.first()?;
    let file = std::fs::File::open(first).ok()?;
    let header = crate::safetensors::read_header(&file, first).ok()?;
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    for t in &header.tensors {
        if let Some(f) = t.dtype.float_type() {
            *counts
                .entry(crate::dtype::float_name(f).to_string())
                .or_default() += 1;
        }
    }
    counts.into_iter().max_by_key(|(_, n)| *n).map(|(d, _)| d)
}

fn precision(config: &Value, dir: &Path) -> String {
    if let Some(q) = config.get("quantization").and_then(Value::as_object) {
        let mode = q.get("mode").and_then(Value::as_str).unwrap_or("affine");
        let bits = q
            .get("bits")
            .and_then(Value::as_u64)
            .map(|b| b.to_string())
            .unwrap_or_else(|| "?".into());
        let mixed = q.values().any(Value::is_object);
        return format!("{bits}-bit {mode}{}", if mixed { " (mixed)" } else { "" });
    }
    if let Some(d) = weights_dtype(dir) {
        return d;
    }
    config
        .get("torch_dtype")
        .or_else(|| config.get("dtype"))
        .and_then(Value::as_str)
        .unwrap_or("float")
        .to_string()
}

/// MLX model folders (with `config.json` and `*.safetensors`) directly under `dir`, by name.
pub fn list_models(dir: &Path) -> Result<Vec<LocalModel>> {
    if !dir.is_dir() {
        return Err(Error::Usage(format!(
            "{} does not exist; convert a model with `hf2mlx convert ORG/NAME OUTPUT_NAME BITS` \
             first, or point --models-dir / HF2MLX_MODELS at your models folder",
            dir.display()
        )));
    }
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).at(dir)?.flatten() {
        let path = e.path();
        let Ok(name) = e.file_name().into_string() else {
            continue;
        };
        if name.starts_with('.') || !path.join("config.json").is_file() {
            continue;
        }
        let has_weights = std::fs::read_dir(&path)
            .map(|rd| {
                rd.flatten()
                    .any(|f| f.file_name().to_string_lossy().ends_with(".safetensors"))
            })
            .unwrap_or(false);
        if !has_weights {
            continue;
        }
        let config: Value = std::fs::read(path.join("config.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(Value::Null);
        let card = std::fs::read_to_string(path.join("README.md")).unwrap_or_default();
        let info = read_card_info(&card);
        let source = info
            .base_model
            .or(info.local_source.map(|n| format!("local:{n}")))
            .unwrap_or_else(|| "?".into());
        out.push(LocalModel {
            size: dir_size(&path),
            precision: precision(&config, &path),
            source,
            commit: info.commit,
            name,
            path,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The `hf2mlx list` table.
pub fn format_list(models: &[LocalModel]) -> String {
    let w = models
        .iter()
        .map(|m| m.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut s = format!(
        "{:<w$}  {:>10}  {:<18}  source\n",
        "name", "size", "precision"
    );
    for m in models {
        let commit = m
            .commit
            .as_deref()
            .map(|c| format!(" @ {}", &c[..12.min(c.len())]))
            .unwrap_or_default();
        s.push_str(&format!(
            "{:<w$}  {:>10}  {:<18}  {}{commit}\n",
            m.name,
            crate::report::human_bytes(m.size),
            m.precision,
            m.source
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precisions() {
        assert_eq!(parse_precision("4").unwrap(), Precision::Quantize(4));
        assert_eq!(parse_precision("16").unwrap(), Precision::Float(None));
        assert!(matches!(
            parse_precision("bf16").unwrap(),
            Precision::Float(Some(_))
        ));
        assert!(parse_precision("9").is_err());
        assert!(parse_precision("7").is_err());
        assert!(parse_precision("four").is_err());
    }
}
