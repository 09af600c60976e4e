//! Finding what a local Hugging Face checkpoint folder holds: config, weight shards, and the
//! tokenizer and other files that travel with the converted model.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::config::read_json_object;
use crate::error::{Error, Result};

/// Files mlx-lm's output carries besides weights and config, by exact name.
const COPIED_NAMES: &[&str] = &[
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "tokenizer.model",
    "tiktoken.model",
    "chat_template.jinja",
    "chat_template.json",
    "vocab.json",
    "vocab.txt",
    "merges.txt",
    "generation_config.json",
];

/// Extensions of files copied the same way (`*.tiktoken` vocabularies, `*.py` custom code as
/// mlx-lm copies it, `*.jinja` extra chat templates).
const COPIED_EXTENSIONS: &[&str] = &["tiktoken", "py", "jinja"];

/// Files whose presence means a tokenizer can be loaded.
const TOKENIZER_FILES: &[&str] = &[
    "tokenizer.json",
    "tokenizer.model",
    "tiktoken.model",
    "vocab.json",
    "vocab.txt",
];

#[derive(Debug, Clone)]
pub struct LocalSource {
    pub dir: PathBuf,
    /// `model*.safetensors` files, sorted (mlx-lm's glob).
    pub weight_files: Vec<PathBuf>,
    /// Names (relative to `dir`) of files copied into the output as they are.
    pub copied_files: Vec<String>,
}

impl LocalSource {
    pub fn open(dir: &Path) -> Result<LocalSource> {
        if !dir.is_dir() {
            return Err(Error::Source(format!(
                "{} is not a folder. Give --hf-path a local Hugging Face checkpoint folder \
                 (with config.json and model*.safetensors)",
                dir.display()
            )));
        }
        let mut names = BTreeSet::new();
        for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
            let entry = entry.map_err(|e| Error::io(dir, e))?;
            // Only regular files (following a symlink is fine for a local folder the user
            // chose; a dangling one is skipped).
            if entry.path().is_file()
                && let Ok(name) = entry.file_name().into_string()
            {
                names.insert(name);
            }
        }
        let weight_files: Vec<PathBuf> = names
            .iter()
            .filter(|n| n.starts_with("model") && n.ends_with(".safetensors"))
            .map(|n| dir.join(n))
            .collect();
        if weight_files.is_empty() {
            let others: Vec<&String> = names
                .iter()
                .filter(|n| {
                    [".bin", ".pt", ".pth", ".gguf", ".safetensors"]
                        .iter()
                        .any(|e| n.ends_with(e))
                })
                .collect();
            let hint = if others.is_empty() {
                String::new()
            } else {
                format!(
                    " (found {}; only model*.safetensors weights are converted, as in mlx-lm)",
                    others
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            return Err(Error::Source(format!(
                "no model*.safetensors files in {}{hint}",
                dir.display()
            )));
        }
        check_index(dir, &names)?;
        let copied_files = names
            .iter()
            .filter(|n| {
                COPIED_NAMES.contains(&n.as_str())
                    || n.rsplit_once('.')
                        .is_some_and(|(_, ext)| COPIED_EXTENSIONS.contains(&ext))
            })
            .cloned()
            .collect::<Vec<_>>();
        let has_tokenizer = names
            .iter()
            .any(|n| TOKENIZER_FILES.contains(&n.as_str()) || n.ends_with(".tiktoken"));
        if !has_tokenizer {
            return Err(Error::Source(format!(
                "{} has no tokenizer (tokenizer.json, tokenizer.model, vocab.json or *.tiktoken). \
                 mlx-lm cannot load a model without one: copy the tokenizer files of the base model \
                 into the folder",
                dir.display()
            )));
        }
        Ok(LocalSource {
            dir: dir.to_path_buf(),
            weight_files,
            copied_files,
        })
    }
}

/// If `model.safetensors.index.json` exists, every shard it names must exist. (Which tensors
/// live where is checked against the shard headers once they are read.)
fn check_index(dir: &Path, names: &BTreeSet<String>) -> Result<()> {
    let path = dir.join("model.safetensors.index.json");
    if !path.is_file() {
        return Ok(());
    }
    let index = read_json_object(&path)?;
    let Some(Value::Object(map)) = index.get("weight_map") else {
        return Err(Error::Config {
            file: path,
            msg: "missing `weight_map` object".into(),
        });
    };
    for (tensor, shard) in map {
        let Some(shard) = shard.as_str() else {
            return Err(Error::Config {
                file: path,
                msg: format!("weight_map[`{tensor}`] is not a file name"),
            });
        };
        if !names.contains(shard) {
            return Err(Error::Source(format!(
                "{} maps `{tensor}` to {shard}, which is not in the folder (incomplete download?)",
                path.display()
            )));
        }
    }
    Ok(())
}

/// Checks the index's weight_map against the tensors actually found.
pub fn check_index_tensors(
    dir: &Path,
    files: &[PathBuf],
    tensors: &[(String, usize)],
) -> Result<()> {
    let path = dir.join("model.safetensors.index.json");
    if !path.is_file() {
        return Ok(());
    }
    let index = read_json_object(&path)?;
    let Some(Value::Object(map)) = index.get("weight_map") else {
        return Ok(());
    };
    let found: std::collections::HashMap<&str, usize> =
        tensors.iter().map(|(n, f)| (n.as_str(), *f)).collect();
    for (tensor, shard) in map {
        let shard = shard.as_str().unwrap_or_default();
        match found.get(tensor.as_str()) {
            None => {
                return Err(Error::Source(format!(
                    "{} lists tensor `{tensor}` in {shard}, but no shard contains it (corrupt or incomplete checkpoint)",
                    path.display()
                )));
            }
            Some(&f) if files[f].file_name().and_then(|n| n.to_str()) != Some(shard) => {
                return Err(Error::Source(format!(
                    "{} lists tensor `{tensor}` in {shard}, but it is stored in {}",
                    path.display(),
                    files[f].display()
                )));
            }
            _ => {}
        }
    }
    Ok(())
}
