//! README.md for the converted model: the front matter mlx-lm writes (so the Hub lists the
//! model under MLX), plus what mlx-lm leaves out — where the weights came from (repo and the exact
//! commit), the converter version, the exact settings and the resulting bits per weight — so
//! anyone holding the folder, or browsing an upload, can tell how it was made.
//!
//! Local source: mlx-lm's exact front matter (`language: en`, `library_name: mlx`,
//! `pipeline_tag: text-generation`, `tags: [mlx]`). Hub source: like mlx-lm's
//! `create_model_card(dst, repo)`, the source card's front matter is kept in its order with
//! `library_name`, `pipeline_tag` and `base_model` set and `mlx` added to `tags`; the source body
//! is replaced.

use crate::plan::Plan;

/// Where a conversion's weights came from.
#[derive(Clone, Debug)]
pub enum SourceRef {
    /// A local folder; only its name is recorded (full paths leak user directories on upload).
    Local { name: String },
    /// A Hub repo at a resolved commit.
    Hub {
        repo_id: String,
        revision: String,
        commit: String,
        /// Web address of the repo (the endpoint's page for it).
        url: String,
    },
}

/// What the card records beyond the plan.
#[derive(Clone, Debug)]
pub struct Provenance {
    pub source: SourceRef,
    /// The command line as given, with any token removed.
    pub command: Option<String>,
    /// The source repo's README.md, whose front matter is kept.
    pub original_card: Option<String>,
    /// The repo the model is being uploaded to, if any (used in the title and usage snippet).
    pub upload_repo: Option<String>,
}

/// The model card for a local source without provenance: mlx-lm's exact front matter, then what
/// was done.
pub fn model_card(plan: &Plan) -> String {
    model_card_with(plan, None)
}

/// The model card, with provenance when known.
pub fn model_card_with(plan: &Plan, prov: Option<&Provenance>) -> String {
    let mut s = match prov.map(|p| &p.source) {
        Some(SourceRef::Hub { repo_id, .. }) => {
            front_matter_for_hub(prov.and_then(|p| p.original_card.as_deref()), repo_id)
        }
        _ => String::from(
            "---\nlanguage: en\nlibrary_name: mlx\npipeline_tag: text-generation\ntags:\n- mlx\n---\n",
        ),
    };
    let upload = prov.and_then(|p| p.upload_repo.as_deref());
    if let Some(repo) = upload {
        s.push_str(&format!("\n# {repo}\n"));
    }
    match prov.map(|p| &p.source) {
        Some(SourceRef::Hub {
            repo_id,
            commit,
            url,
            ..
        }) => s.push_str(&format!(
            "\nThis model was converted to MLX format from [{repo_id}]({url}) (commit `{commit}`) \
             using hf2mlx version **{}**.\n\n",
            env!("CARGO_PKG_VERSION")
        )),
        _ => s.push_str(&format!(
            "\nConverted to MLX format with hf2mlx {} from a `{}` checkpoint.\n\n",
            env!("CARGO_PKG_VERSION"),
            plan.model_type
        )),
    }
    match &plan.quantization {
        Some(q) => {
            let per_layer = q
                .keys()
                .filter(|k| !matches!(k.as_str(), "group_size" | "bits" | "mode"))
                .count();
            s.push_str(&format!(
                "- Quantization: {} {}-bit, group size {}{} ({:.3} bits per weight)\n",
                q.get("mode").and_then(|v| v.as_str()).unwrap_or("affine"),
                q.get("bits").map(|v| v.to_string()).unwrap_or_default(),
                q.get("group_size")
                    .map(|v| v.to_string())
                    .unwrap_or_default(),
                if per_layer > 0 {
                    format!(", {per_layer} layers with their own settings")
                } else {
                    String::new()
                },
                plan.bits_per_weight()
            ));
            s.push_str(&format!(
                "- Quantization method: {}\n",
                plan.quant_method.as_str()
            ));
        }
        None => s.push_str(&format!(
            "- Quantization: none ({:.3} bits per weight)\n",
            plan.bits_per_weight()
        )),
    }
    if let Some(t) = plan.dtype {
        s.push_str(&format!("- Float dtype: {}\n", crate::dtype::float_name(t)));
    }
    s.push_str(&format!("- Parameters: {}\n", plan.total_parameters));
    if let Some(p) = prov {
        match &p.source {
            SourceRef::Hub {
                repo_id,
                revision,
                commit,
                ..
            } => s.push_str(&format!(
                "- Source: {repo_id}, revision `{revision}`, commit `{commit}`\n"
            )),
            SourceRef::Local { name } => {
                s.push_str(&format!("- Source: local checkpoint `{name}`\n"))
            }
        }
        s.push_str(&format!(
            "- Converter: hf2mlx {}\n",
            env!("CARGO_PKG_VERSION")
        ));
        if let Some(cmd) = &p.command {
            s.push_str(&format!("- Command: `{}`\n", cmd.replace('`', "'")));
        }
    }
    let load_path = upload.unwrap_or("path/to/this/model");
    if upload.is_some() {
        s.push_str("\n## Use with mlx\n\n```bash\npip install mlx-lm\n```\n");
    }
    s.push_str(&format!(
        "\n```python\nfrom mlx_lm import load, generate\n\nmodel, tokenizer = load(\"{load_path}\")\n\
         print(generate(model, tokenizer, prompt=\"Hello\", verbose=True))\n```\n"
    ));
    s
}

/// The "Quality" section `convert --eval` appends to the card: how far the converted model's
/// predictions are from the source's on the evaluation text.
pub fn quality_section(r: &crate::eval::EvalReport) -> String {
    let mut s = format!(
        "\n## Quality\n\nMeasured by `hf2mlx eval` against the source checkpoint on the {} \
         ({} tokens, windows of {}); KL is KL(source ‖ this model) in nats per token.\n\n\
         | | perplexity | mean KL | p99 KL | top-1 agreement |\n|---|---|---|---|---|\n\
         | source | {:.4} | 0 | 0 | 100% |\n",
        r.text, r.tokens, r.window, r.reference_perplexity
    );
    for m in &r.models {
        s.push_str(&format!(
            "| this model | {:.4} | {:.5} | {:.5} | {:.1}% |\n",
            m.perplexity,
            m.mean_kl,
            m.p99_kl,
            m.top1_agreement * 100.0
        ));
    }
    s
}

/// One top-level entry of a YAML front matter: its key (if the line is `key: …`) and its lines.
struct Block {
    key: Option<String>,
    lines: Vec<String>,
}

/// Splits a README into its front matter lines (between the `---` fences) and the rest.
fn split_front_matter(text: &str) -> Option<Vec<String>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines();
    if lines.next()?.trim_end() != "---" {
        return None;
    }
    let mut fm = Vec::new();
    for l in lines {
        if l.trim_end() == "---" {
            return Some(fm);
        }
        fm.push(l.to_string());
    }
    None
}

fn top_level_key(line: &str) -> Option<String> {
    let first = line.chars().next()?;
    if first.is_whitespace() || matches!(first, '-' | '#') {
        return None;
    }
    let (k, _) = line.split_once(':')?;
    Some(k.trim().trim_matches(['"', '\'']).to_string())
}

fn blocks(lines: &[String]) -> Vec<Block> {
    let mut out: Vec<Block> = Vec::new();
    for l in lines {
        match top_level_key(l) {
            Some(k) => out.push(Block {
                key: Some(k),
                lines: vec![l.clone()],
            }),
            None => match out.last_mut() {
                Some(b) => b.lines.push(l.clone()),
                None => out.push(Block {
                    key: None,
                    lines: vec![l.clone()],
                }),
            },
        }
    }
    out
}

/// `tags` with `mlx` added, keeping the author's list style.
fn add_mlx_tag(b: &Block) -> Vec<String> {
    let head = &b.lines[0];
    let value = head.split_once(':').map(|(_, v)| v.trim()).unwrap_or("");
    if let Some(inner) = value.strip_prefix('[').and_then(|v| v.strip_suffix(']')) {
        let items: Vec<&str> = inner
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if items.iter().any(|i| i.trim_matches(['"', '\'']) == "mlx") {
            return b.lines.clone();
        }
        let mut items: Vec<String> = items.into_iter().map(str::to_string).collect();
        items.push("mlx".into());
        return vec![format!("tags: [{}]", items.join(", "))];
    }
    if !value.is_empty() {
        return vec!["tags:".into(), format!("- {value}"), "- mlx".into()];
    }
    let items: Vec<&String> = b.lines[1..]
        .iter()
        .filter(|l| l.trim_start().starts_with("- ") || l.trim() == "-")
        .collect();
    if items.iter().any(|l| {
        l.trim_start()
            .trim_start_matches('-')
            .trim()
            .trim_matches(['"', '\''])
            == "mlx"
    }) {
        return b.lines.clone();
    }
    let indent = items
        .first()
        .map(|l| l.len() - l.trim_start().len())
        .unwrap_or(0);
    let mut out = b.lines.clone();
    // Insert after the last list item (comments or blank lines after the list stay after it).
    let last_item = out
        .iter()
        .rposition(|l| l.trim_start().starts_with('-'))
        .unwrap_or(0);
    out.insert(last_item + 1, format!("{}- mlx", " ".repeat(indent)));
    out
}

/// mlx-lm's card for a Hub source: the source front matter, updated in place, new keys after.
fn front_matter_for_hub(original: Option<&str>, repo_id: &str) -> String {
    let lines = original.and_then(split_front_matter).unwrap_or_default();
    let mut bs = blocks(&lines);
    let set = |bs: &mut Vec<Block>, key: &str, line: String| {
        if let Some(b) = bs.iter_mut().find(|b| b.key.as_deref() == Some(key)) {
            b.lines = vec![line];
            true
        } else {
            false
        }
    };
    let mut missing = Vec::new();
    if !set(&mut bs, "base_model", format!("base_model: {repo_id}")) {
        missing.push(vec![format!("base_model: {repo_id}")]);
    }
    if !set(&mut bs, "library_name", "library_name: mlx".into()) {
        missing.push(vec!["library_name: mlx".into()]);
    }
    if !set(
        &mut bs,
        "pipeline_tag",
        "pipeline_tag: text-generation".into(),
    ) {
        missing.push(vec!["pipeline_tag: text-generation".into()]);
    }
    match bs.iter_mut().find(|b| b.key.as_deref() == Some("tags")) {
        Some(b) => b.lines = add_mlx_tag(b),
        None => missing.push(vec!["tags:".into(), "- mlx".into()]),
    }
    let mut s = String::from("---\n");
    for b in &bs {
        for l in &b.lines {
            s.push_str(l);
            s.push('\n');
        }
    }
    for m in missing {
        for l in m {
            s.push_str(&l);
            s.push('\n');
        }
    }
    s.push_str("---\n");
    s
}

/// What `hf2mlx list` reads back from a card.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CardInfo {
    /// `base_model` of the front matter: the source repo.
    pub base_model: Option<String>,
    /// The source commit recorded in the provenance lines.
    pub commit: Option<String>,
    /// `- Source: local checkpoint `name``.
    pub local_source: Option<String>,
}

/// Reads the source repo and commit back from a card written by [`model_card_with`] (or the
/// `base_model` of any mlx-lm card).
pub fn read_card_info(text: &str) -> CardInfo {
    let mut info = CardInfo::default();
    if let Some(fm) = split_front_matter(text) {
        for b in blocks(&fm) {
            if b.key.as_deref() == Some("base_model") {
                let v = b.lines[0]
                    .split_once(':')
                    .map(|(_, v)| v.trim())
                    .unwrap_or("");
                let v = if v.is_empty() {
                    b.lines
                        .get(1)
                        .map(|l| l.trim_start().trim_start_matches('-').trim())
                        .unwrap_or("")
                } else {
                    v
                };
                let v = v.trim_matches(['"', '\'']);
                if !v.is_empty() {
                    info.base_model = Some(v.to_string());
                }
            }
        }
    }
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("- Source: ") {
            if let Some(c) = rest
                .split("commit `")
                .nth(1)
                .and_then(|r| r.split('`').next())
            {
                info.commit = Some(c.to_string());
            }
            if let Some(n) = rest
                .strip_prefix("local checkpoint `")
                .and_then(|r| r.strip_suffix('`'))
            {
                info.local_source = Some(n.to_string());
            }
        }
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_front_matter_keeps_original_keys_in_order() {
        let original = "---\nlicense: apache-2.0\nlanguage:\n- en\nbase_model:\n- Org/Base\n\
                        pipeline_tag: text-generation\nlibrary_name: transformers\ntags:\n  - chat\n\
                        ---\n\n# Model\nbody\n";
        let fm = front_matter_for_hub(Some(original), "Org/Model");
        assert_eq!(
            fm,
            "---\nlicense: apache-2.0\nlanguage:\n- en\nbase_model: Org/Model\n\
             pipeline_tag: text-generation\nlibrary_name: mlx\ntags:\n  - chat\n  - mlx\n---\n"
        );
    }

    #[test]
    fn hub_front_matter_without_card_or_with_inline_tags() {
        assert_eq!(
            front_matter_for_hub(None, "o/m"),
            "---\nbase_model: o/m\nlibrary_name: mlx\npipeline_tag: text-generation\ntags:\n- mlx\n---\n"
        );
        assert_eq!(
            front_matter_for_hub(Some("---\nlicense: mit\ntags: [a, \"b\"]\n---\n"), "o/m"),
            "---\nlicense: mit\ntags: [a, \"b\", mlx]\nbase_model: o/m\nlibrary_name: mlx\n\
             pipeline_tag: text-generation\n---\n"
        );
        // Already tagged: unchanged.
        assert!(
            front_matter_for_hub(Some("---\ntags:\n- mlx\n---\n"), "o/m")
                .contains("tags:\n- mlx\nbase_model")
        );
    }

    #[test]
    fn card_info_round_trip() {
        let text = "---\nlicense: mit\nbase_model: o/m\nlibrary_name: mlx\n---\n\n- Source: o/m, revision `main`, \
                    commit `0123456789abcdef0123456789abcdef01234567`\n";
        let info = read_card_info(text);
        assert_eq!(info.base_model.as_deref(), Some("o/m"));
        assert_eq!(
            info.commit.as_deref(),
            Some("0123456789abcdef0123456789abcdef01234567")
        );
        let local = read_card_info("---\nlanguage: en\n---\n- Source: local checkpoint `llama`\n");
        assert_eq!(local.local_source.as_deref(), Some("llama"));
        assert_eq!(local.base_model, None);
    }
}
