//! The tokenizer files a Hugging Face checkpoint carries, rebuilt from GGUF metadata
//! (`tokenizer.ggml.*`, `tokenizer.chat_template`): tokenizer.json, tokenizer_config.json and
//! generation_config.json.
//!
//! Two vocabulary kinds are handled: `gpt2` (byte-level BPE; written as tools/gguf_to_hf.py
//! writes it) and `llama` (SentencePiece BPE with byte fallback; the structure transformers'
//! GGUF converter gives `LlamaTokenizer`).

use serde_json::{Map, Value as J, json};

use super::reader::{GgufFile, Value};

/// llama.cpp token types (`llama_token_type`).
const TYPE_UNKNOWN: i64 = 2;
const TYPE_CONTROL: i64 = 3;
const TYPE_USER_DEFINED: i64 = 4;

/// llama.cpp pre-tokenizer names whose regex splits digits one by one before byte-level BPE.
const DIGIT_SPLIT_PRE: &[&str] = &[
    "smollm",
    "starcoder",
    "refact",
    "codeshell",
    "exaone",
    "minerva",
    "command-r",
];

/// `(file name, contents)` of the tokenizer and generation files.
pub fn files(f: &GgufFile) -> Result<Vec<(String, String)>, String> {
    let model = f.get_str("tokenizer.ggml.model").ok_or(
        "the GGUF has no tokenizer (`tokenizer.ggml.model` is missing); mlx-lm cannot load a \
         model without one",
    )?;
    let tokens = f
        .get_strings("tokenizer.ggml.tokens")
        .ok_or("`tokenizer.ggml.tokens` is missing or not a list of strings")?;
    let types: Vec<i64> = match f.get("tokenizer.ggml.token_type") {
        None => vec![1; tokens.len()],
        Some(v) => v
            .as_array()
            .and_then(|a| a.iter().map(Value::as_i64).collect::<Option<Vec<_>>>())
            .filter(|t| t.len() == tokens.len())
            .ok_or("`tokenizer.ggml.token_type` is not one integer per token")?,
    };
    let merges = match f.get("tokenizer.ggml.merges") {
        None => Vec::new(),
        Some(_) => f
            .get_strings("tokenizer.ggml.merges")
            .ok_or("`tokenizer.ggml.merges` is not a list of strings")?,
    };
    let token = |key: &str| -> Result<Option<&str>, String> {
        match f.get_i64(key) {
            None => Ok(None),
            Some(i) => usize::try_from(i)
                .ok()
                .and_then(|i| tokens.get(i).copied())
                .map(Some)
                .ok_or_else(|| {
                    format!("`{key}` is {i}, outside the vocabulary of {}", tokens.len())
                }),
        }
    };
    let (tokenizer, class, add_bos_default) = match model {
        "gpt2" => (
            byte_level(f, &tokens, &types, &merges)?,
            "GPT2Tokenizer",
            false,
        ),
        "llama" => (
            sentencepiece_bpe(
                &tokens,
                &types,
                &merges,
                token("tokenizer.ggml.bos_token_id")?,
                token("tokenizer.ggml.unknown_token_id")?,
                f,
            ),
            "LlamaTokenizer",
            true,
        ),
        other => {
            return Err(format!(
                "tokenizer kind `{other}` cannot be rebuilt yet (gpt2 and llama can)"
            ));
        }
    };
    let special: Vec<&str> = tokens
        .iter()
        .zip(&types)
        .filter(|(_, t)| **t == TYPE_CONTROL)
        .map(|(s, _)| *s)
        .collect();
    let mut cfg = Map::new();
    cfg.insert("tokenizer_class".into(), json!(class));
    cfg.insert(
        "bos_token".into(),
        json!(token("tokenizer.ggml.bos_token_id")?),
    );
    cfg.insert(
        "eos_token".into(),
        json!(token("tokenizer.ggml.eos_token_id")?),
    );
    cfg.insert(
        "unk_token".into(),
        json!(token("tokenizer.ggml.unknown_token_id")?),
    );
    cfg.insert(
        "pad_token".into(),
        json!(token("tokenizer.ggml.padding_token_id")?),
    );
    cfg.insert(
        "add_bos_token".into(),
        json!(
            f.get("tokenizer.ggml.add_bos_token")
                .and_then(Value::as_bool)
                .unwrap_or(add_bos_default)
        ),
    );
    if model == "llama" {
        cfg.insert(
            "add_eos_token".into(),
            json!(
                f.get("tokenizer.ggml.add_eos_token")
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
            ),
        );
    }
    cfg.insert("model_max_length".into(), json!(8192));
    cfg.insert("clean_up_tokenization_spaces".into(), json!(false));
    cfg.insert("additional_special_tokens".into(), json!(special));
    if let Some(t) = f
        .get_str("tokenizer.chat_template")
        .filter(|t| !t.is_empty())
    {
        cfg.insert("chat_template".into(), json!(t));
    }
    let mut generation = Map::new();
    for (key, hf) in [
        ("tokenizer.ggml.bos_token_id", "bos_token_id"),
        ("tokenizer.ggml.eos_token_id", "eos_token_id"),
    ] {
        if let Some(id) = f.get_i64(key) {
            generation.insert(hf.into(), json!(id));
        }
    }
    let text = |v: &Map<String, J>| serde_json::to_string_pretty(v).unwrap_or_default();
    Ok(vec![
        (
            "tokenizer.json".into(),
            serde_json::to_string(&tokenizer).unwrap_or_default(),
        ),
        ("tokenizer_config.json".into(), text(&cfg)),
        ("generation_config.json".into(), text(&generation)),
    ])
}

fn added(id: usize, content: &str, special: bool) -> J {
    json!({"id": id, "content": content, "single_word": false, "lstrip": false,
           "rstrip": false, "normalized": false, "special": special})
}

fn vocab(tokens: &[&str]) -> Map<String, J> {
    let mut v = Map::new();
    for (i, t) in tokens.iter().enumerate() {
        v.insert((*t).to_string(), json!(i));
    }
    v
}

fn merge_pairs(merges: &[&str]) -> Result<Vec<J>, String> {
    merges
        .iter()
        .map(|m| {
            m.split_once(' ')
                .map(|(a, b)| json!([a, b]))
                .ok_or_else(|| format!("merge `{m}` is not two tokens separated by a space"))
        })
        .collect()
}

/// The split regexes of llama.cpp pre-tokenizer names, as transformers' GGUF converter has them
/// (`GGUF_PRE_TOKENIZER_SPLITS`).
const LLAMA3_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const QWEN2_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const QWEN35_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const TEKKEN_SPLIT: &str = r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const GPT4O_SPLIT: &str = r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+";

const PRE_SPLITS: &[(&str, &str)] = &[
    ("llama3", LLAMA3_SPLIT),
    ("llama-v3", LLAMA3_SPLIT),
    ("llama-bpe", LLAMA3_SPLIT),
    ("falcon3", LLAMA3_SPLIT),
    ("falcon-h1", LLAMA3_SPLIT),
    ("pixtral", LLAMA3_SPLIT),
    ("midm-2.0", LLAMA3_SPLIT),
    ("lfm2", LLAMA3_SPLIT),
    ("jina-v5-nano", LLAMA3_SPLIT),
    ("dbrx", LLAMA3_SPLIT),
    ("smaug-bpe", LLAMA3_SPLIT),
    ("tekken", TEKKEN_SPLIT),
    ("qwen2", QWEN2_SPLIT),
    ("deepseek-r1-qwen", QWEN2_SPLIT),
    ("kormo", QWEN2_SPLIT),
    ("f2llmv2", QWEN2_SPLIT),
    ("megrez", QWEN2_SPLIT),
    ("qwen35", QWEN35_SPLIT),
    ("gpt-4o", GPT4O_SPLIT),
    ("llama4", GPT4O_SPLIT),
    ("kanana2", GPT4O_SPLIT),
    ("talkie", GPT4O_SPLIT),
    ("minimax-m2", GPT4O_SPLIT),
];

/// Byte-level BPE, as tools/gguf_to_hf.py writes it. The pre-tokenizer follows
/// `tokenizer.ggml.pre`: the model's split regex where transformers knows it, digits one by one
/// for the starcoder-style names, else GPT-2's regex.
fn byte_level(f: &GgufFile, tokens: &[&str], types: &[i64], merges: &[&str]) -> Result<J, String> {
    let pre = f.get_str("tokenizer.ggml.pre").unwrap_or("default");
    let byte_level = json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true});
    let split = PRE_SPLITS.iter().find(|(n, _)| *n == pre).map(|(_, r)| *r);
    let pre_tokenizer = if let Some(regex) = split {
        json!({"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated", "invert": false},
            {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false},
        ]})
    } else if DIGIT_SPLIT_PRE.contains(&pre) {
        json!({"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": true}, byte_level]})
    } else {
        byte_level
    };
    let added: Vec<J> = types
        .iter()
        .enumerate()
        .filter(|(_, t)| **t == TYPE_CONTROL)
        .map(|(i, _)| added(i, tokens[i], true))
        .collect();
    Ok(json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": null,
        "pre_tokenizer": pre_tokenizer,
        "post_processor": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
        "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
        "model": {
            "type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
            "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
            "vocab": vocab(tokens),
            "merges": merge_pairs(merges)?,
        },
    }))
}

/// SentencePiece BPE with byte fallback (`▁` for spaces, `<0xNN>` byte tokens): the structure
/// transformers' `LlamaTokenizer` has when built from a GGUF vocabulary and merges, with the
/// BOS the tokenizer adds written into the post-processor so tokenizers-only loaders agree.
fn sentencepiece_bpe(
    tokens: &[&str],
    types: &[i64],
    merges: &[&str],
    bos: Option<&str>,
    unk: Option<&str>,
    f: &GgufFile,
) -> J {
    let added: Vec<J> = types
        .iter()
        .enumerate()
        .filter(|(_, t)| matches!(**t, TYPE_UNKNOWN | TYPE_CONTROL | TYPE_USER_DEFINED))
        .map(|(i, t)| added(i, tokens[i], *t != TYPE_USER_DEFINED))
        .collect();
    let add_bos = f
        .get("tokenizer.ggml.add_bos_token")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let (single, pair, special) = match bos.filter(|_| add_bos) {
        Some(b) => {
            let id = tokens.iter().position(|t| *t == b).unwrap_or(0);
            (
                json!([{"SpecialToken": {"id": b, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}]),
                json!([{"SpecialToken": {"id": b, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": b, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}]),
                json!({b: {"id": b, "ids": [id], "tokens": [b]}}),
            )
        }
        None => (
            json!([{"Sequence": {"id": "A", "type_id": 0}}]),
            json!([{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}]),
            json!({}),
        ),
    };
    let merges: Vec<J> = if merges.is_empty() {
        let scores: Vec<f64> = f
            .get("tokenizer.ggml.scores")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(|v| v.as_f64().unwrap_or(0.0)).collect())
            .unwrap_or_default();
        merges_from_scores(tokens, &scores)
            .into_iter()
            .map(|(a, b)| json!([a, b]))
            .collect()
    } else {
        merges
            .iter()
            .filter_map(|m| m.split_once(' ').map(|(a, b)| json!([a, b])))
            .collect()
    };
    json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": null,
        "pre_tokenizer": {"type": "Metaspace", "replacement": "\u{2581}", "prepend_scheme": "first", "split": false},
        "post_processor": {"type": "TemplateProcessing", "single": single, "pair": pair, "special_tokens": special},
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "\u{2581}"}, "content": " "},
            {"type": "ByteFallback"},
            {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0},
        ]},
        "model": {
            "type": "BPE", "dropout": null, "unk_token": unk, "continuing_subword_prefix": null,
            "end_of_word_suffix": null, "fuse_unk": true, "byte_fallback": true, "ignore_merges": false,
            "vocab": vocab(tokens),
            "merges": merges,
        },
    })
}

/// The merges a SentencePiece vocabulary implies when the file lists none: transformers'
/// `generate_merges(vocab, scores)` — every split of every token into two vocabulary tokens,
/// ordered by the merged token's score (best first), then by the parts' lengths.
pub fn merges_from_scores<'a>(tokens: &[&'a str], scores: &[f64]) -> Vec<(&'a str, &'a str)> {
    let mut ids: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (i, t) in tokens.iter().enumerate() {
        ids.insert(t, i);
    }
    // Python's dict(zip(tokens, scores)) keeps the first position and the last score of a
    // repeated token.
    let mut order: Vec<(&str, f64)> = Vec::new();
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (t, s) in tokens.iter().zip(scores) {
        match seen.get(t) {
            Some(&k) => order[k].1 = *s,
            None => {
                seen.insert(t, order.len());
                order.push((t, *s));
            }
        }
    }
    let mut all: Vec<(&str, &str, f64)> = Vec::new();
    for (merge, score) in order {
        let mut local: Vec<(&str, &str, f64)> = merge
            .char_indices()
            .skip(1)
            .map(|(at, _)| (&merge[..at], &merge[at..]))
            .filter(|(l, r)| ids.contains_key(l) && ids.contains_key(r))
            .map(|(l, r)| (l, r, score))
            .collect();
        local.sort_by_key(|(l, r, _)| (ids[l], ids[r]));
        all.extend(local);
    }
    let chars = |s: &str| s.chars().count();
    all.sort_by(|a, b| {
        (b.2, chars(b.0), chars(b.1))
            .partial_cmp(&(a.2, chars(a.0), chars(a.1)))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    all.into_iter().map(|(l, r, _)| (l, r)).collect()
}
