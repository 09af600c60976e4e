//! What a checkpoint holds, before any tensor data is read: config, weight shards with their
//! headers, and the tokenizer and other files that travel with the converted model.
//!
//! An [`Inventory`] is all the planner needs. [`Inventory::local`] builds one from a folder; a
//! Hub source builds one from the repo's file list, config and HTTP range reads of the headers,
//! so a plan (and every "not supported" error) exists before any download.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::config::{Json, load_config, read_json_object};
use crate::error::{Error, Result};
use crate::safetensors::{Header, SourceTensor, list_tensors, read_header};

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
    // Mistral's Tekken tokenizer (Voxtral, recent Mistral repos): what transformers'
    // MistralCommonBackend saves and loads.
    "tekken.json",
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
    "tekken.json",
];

/// `model*.safetensors`: the weight files mlx-lm reads (its glob).
pub fn is_weight_file(name: &str) -> bool {
    name.starts_with("model") && name.ends_with(".safetensors")
}

/// Whether a top-level file of the source is copied into the output unchanged.
pub fn is_copied_file(name: &str) -> bool {
    COPIED_NAMES.contains(&name)
        || name
            .rsplit_once('.')
            .is_some_and(|(_, ext)| COPIED_EXTENSIONS.contains(&ext))
}

/// Top-level files an [`Inventory`] lists as `copied_files`: mlx-lm's, and processor and speech
/// side files too, which the plan keeps only for the families whose converter copies them.
pub fn is_listed_file(name: &str) -> bool {
    is_copied_file(name)
        || crate::multimodal::is_processor_file(name)
        || crate::arch::audio::is_side_file(name)
}

/// mlx-lm cannot load a model without a tokenizer; say so before doing any work.
pub fn check_has_tokenizer<'a>(
    names: impl IntoIterator<Item = &'a str>,
    source: &str,
) -> Result<()> {
    let found = names
        .into_iter()
        .any(|n| TOKENIZER_FILES.contains(&n) || n.ends_with(".tiktoken"));
    if found {
        return Ok(());
    }
    Err(Error::Source(format!(
        "{source} has no tokenizer (tokenizer.json, tokenizer.model, tekken.json, vocab.json or \
         *.tiktoken). mlx-lm cannot load a model without one: copy the tokenizer files of the base model \
         into the folder"
    )))
}

/// The metadata of a checkpoint: everything planning needs.
#[derive(Debug, Clone)]
pub struct Inventory {
    /// Where the files are (local folder or cache snapshot); used for reading and in messages.
    pub dir: PathBuf,
    /// config.json as mlx-lm loads it (eos from generation_config.json applied).
    pub config: Json,
    /// Weight shards (sorted, as mlx-lm's glob) and their parsed headers.
    pub weight_files: Vec<PathBuf>,
    pub headers: Vec<Header>,
    /// Names (relative to `dir`) of files that may be copied into the output as they are: the
    /// tokenizer files mlx-lm copies, and the processor files a multimodal output adds.
    pub copied_files: Vec<String>,
}

impl Inventory {
    /// Reads a local checkpoint folder's config, file list and shard headers.
    pub fn local(dir: &Path) -> Result<Inventory> {
        if !dir.is_dir() {
            return Err(Error::Source(format!(
                "{} is not a folder. Give --hf-path a local Hugging Face checkpoint folder \
                 (with config.json and model*.safetensors)",
                dir.display()
            )));
        }
        // Listing first: it refuses symlinks that leave the folder before anything is read.
        let names = list_files(dir)?;
        let config = load_config(dir)?;
        let weight_files: Vec<PathBuf> = names
            .iter()
            .filter(|n| is_weight_file(n))
            .map(|n| dir.join(n))
            .collect();
        if weight_files.is_empty() {
            let others: Vec<&str> = names
                .iter()
                .filter(|n| {
                    [".bin", ".pt", ".pth", ".gguf", ".safetensors"]
                        .iter()
                        .any(|e| n.ends_with(e))
                })
                .map(String::as_str)
                .collect();
            let hint = if others.is_empty() {
                String::new()
            } else {
                format!(
                    " (found {}; only model*.safetensors weights are converted, as in mlx-lm)",
                    others.join(", ")
                )
            };
            return Err(Error::Source(format!(
                "no model*.safetensors files in {}{hint}",
                dir.display()
            )));
        }
        let index_path = dir.join("model.safetensors.index.json");
        let index = if index_path.is_file() {
            let index = read_json_object(&index_path)?;
            check_index_files(&index, &names, &index_path)?;
            Some(index)
        } else {
            None
        };
        check_has_tokenizer(names.iter().map(String::as_str), &dir.display().to_string())?;
        let mut headers = Vec::with_capacity(weight_files.len());
        for path in &weight_files {
            let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
            headers.push(read_header(&file, path)?);
        }
        let inv = Inventory {
            dir: dir.to_path_buf(),
            config,
            weight_files,
            headers,
            copied_files: names
                .iter()
                .filter(|n| is_listed_file(n))
                .cloned()
                .collect(),
        };
        if let Some(index) = index {
            check_index_tensors(&index, &index_path, &inv.weight_files, &inv.tensors()?)?;
        }
        Ok(inv)
    }

    /// Every tensor of the checkpoint with the place of its bytes.
    pub fn tensors(&self) -> Result<Vec<SourceTensor>> {
        list_tensors(&self.weight_files, &self.headers)
    }
}

/// Refuses a folder whose files hf2mlx would read include symlinks leading out of it; called
/// before config.json is parsed.
pub fn check_links(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        list_files(dir).map(|_| ())
    } else {
        Ok(())
    }
}

/// Regular files at the top of `dir`, sorted. A symlink counts only if it resolves to a file
/// inside `dir` (or, for a Hugging Face cache snapshot, inside the repo's `blobs` folder); one
/// that leaves it is an error when hf2mlx would read that file, and ignored otherwise.
fn list_files(dir: &Path) -> Result<BTreeSet<String>> {
    let root = dir.canonicalize().map_err(|e| Error::io(dir, e))?;
    let mut roots = vec![root.clone()];
    if let Some(repo) = root
        .parent()
        .filter(|p| p.ends_with("snapshots"))
        .and_then(Path::parent)
    {
        roots.push(repo.join("blobs"));
    }
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let ft = entry.file_type().map_err(|e| Error::io(entry.path(), e))?;
        if ft.is_symlink() {
            let inside = entry
                .path()
                .canonicalize()
                .ok()
                .filter(|t| roots.iter().any(|r| t.starts_with(r)));
            match inside {
                Some(t) if t.is_file() => {}
                Some(_) => continue,
                None if is_read_file(&name) => {
                    return Err(Error::UnsafePath(format!(
                        "{} is a symlink that leads outside {} (to {}); hf2mlx does not follow \
                         links out of the checkpoint folder. Copy the file into the folder",
                        entry.path().display(),
                        dir.display(),
                        std::fs::read_link(entry.path())
                            .map(|t| t.display().to_string())
                            .unwrap_or_else(|_| "?".into())
                    )));
                }
                None => continue,
            }
        } else if !ft.is_file() {
            continue;
        }
        names.insert(name);
    }
    Ok(names)
}

/// Files of the folder that conversion reads.
fn is_read_file(name: &str) -> bool {
    is_weight_file(name)
        || is_copied_file(name)
        || crate::arch::audio::is_side_file(name)
        || matches!(name, "config.json" | "model.safetensors.index.json")
}

/// Every shard the index names must exist.
pub fn check_index_files(index: &Json, names: &BTreeSet<String>, index_path: &Path) -> Result<()> {
    let Some(Value::Object(map)) = index.get("weight_map") else {
        return Err(Error::Index {
            file: index_path.to_path_buf(),
            msg: "missing `weight_map` object".into(),
        });
    };
    for (tensor, shard) in map {
        let Some(shard) = shard.as_str() else {
            return Err(Error::Index {
                file: index_path.to_path_buf(),
                msg: format!("weight_map[`{tensor}`] is not a file name"),
            });
        };
        if !names.contains(shard) {
            return Err(Error::Index {
                file: index_path.to_path_buf(),
                msg: format!(
                    "maps tensor `{tensor}` to {shard}, which is missing (incomplete download?)"
                ),
            });
        }
    }
    Ok(())
}

/// The index's weight_map must agree with the tensors the shard headers hold.
pub fn check_index_tensors(
    index: &Json,
    index_path: &Path,
    files: &[PathBuf],
    tensors: &[SourceTensor],
) -> Result<()> {
    let Some(Value::Object(map)) = index.get("weight_map") else {
        return Ok(());
    };
    let found: std::collections::HashMap<&str, usize> =
        tensors.iter().map(|t| (t.name.as_str(), t.file)).collect();
    for (tensor, shard) in map {
        let shard = shard.as_str().unwrap_or_default();
        match found.get(tensor.as_str()) {
            None => {
                return Err(Error::Index {
                    file: index_path.to_path_buf(),
                    msg: format!(
                        "lists tensor `{tensor}` in {shard}, but no shard contains it (corrupt \
                         or incomplete checkpoint)"
                    ),
                });
            }
            Some(&f) if files[f].file_name().and_then(|n| n.to_str()) != Some(shard) => {
                return Err(Error::Index {
                    file: index_path.to_path_buf(),
                    msg: format!(
                        "lists tensor `{tensor}` in {shard}, but it is stored in {}",
                        files[f].display()
                    ),
                });
            }
            _ => {}
        }
    }
    Ok(())
}
