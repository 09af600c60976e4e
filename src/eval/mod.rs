//! `hf2mlx eval`: how much a conversion changed the model. The source and each converted model
//! run over the same tokens; the report gives each model's perplexity and how far its
//! next-token distributions are from the source's (KL divergence, top-1 agreement).
//!
//! Weights come through the converter's own plan (same sanitize, same tied-embedding handling)
//! and, for MLX-quantized folders, through our dequantization kernels; the forward pass runs in
//! f32 with candle ([`model`]).

pub mod model;
pub mod weight_error;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use crate::config::{self, Json};
use crate::error::{Error, Result};
use crate::plan::{self, ConvertOptions};
use crate::safetensors::Checkpoint;

pub use model::Model;

/// A few KB of original English prose, the default text.
pub const BUILTIN_CORPUS: &str = include_str!("corpus.txt");

/// Default tokens per forward pass: long enough for real context, short enough that the
/// `[heads, t, t]` scores and `[t, vocab]` logits stay small.
pub const DEFAULT_WINDOW: usize = 512;

/// What to evaluate and on which text.
#[derive(Clone, Debug)]
pub struct EvalOptions {
    /// The text; `None` means [`BUILTIN_CORPUS`].
    pub text_file: Option<PathBuf>,
    /// Tokens per window; windows are evaluated independently, each from an empty context.
    pub window: usize,
    /// Stop after this many tokens of text (`None`: all of it).
    pub max_tokens: Option<usize>,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            text_file: None,
            window: DEFAULT_WINDOW,
            max_tokens: None,
        }
    }
}

/// Quality of one model against the reference.
#[derive(Clone, Debug, Serialize)]
pub struct ModelScore {
    pub path: PathBuf,
    /// Predictions scored (tokens with a next token inside their window).
    pub tokens: usize,
    pub perplexity: f64,
    /// Mean of KL(reference ‖ model) over positions, nats per token.
    pub mean_kl: f64,
    /// 99th percentile of the per-position KL, nats.
    pub p99_kl: f64,
    /// Fraction of positions where both put the highest probability on the same token.
    pub top1_agreement: f64,
    pub seconds: f64,
}

/// The whole evaluation.
#[derive(Clone, Debug, Serialize)]
pub struct EvalReport {
    pub reference: PathBuf,
    /// `built-in corpus` or the text file.
    pub text: String,
    pub tokens: usize,
    pub window: usize,
    pub reference_perplexity: f64,
    pub models: Vec<ModelScore>,
}

/// Loads a model folder (Hugging Face or MLX, quantized or not) as f32 tensors.
pub fn load_model(dir: &Path) -> Result<Model> {
    let cfg = config::load_config(dir)?;
    let params = load_params(dir, &cfg)?;
    Model::new(&cfg, params)
}

/// Every parameter as mlx-lm's model has it after `sanitize`, as f32: planned like a conversion
/// without quantization (dequantizing an MLX-quantized folder), then read whole.
fn load_params(dir: &Path, cfg: &Json) -> Result<HashMap<String, candle_core::Tensor>> {
    // The output path is never written: only the plan is built.
    let mut opts = ConvertOptions::new(dir, dir.join("hf2mlx-eval-unused"));
    opts.dequantize = cfg.contains_key("quantization");
    let plan = plan::build(&opts)?;
    let ckpt = Checkpoint::open(&plan.weight_files)?;
    plan.params
        .par_iter()
        .map(|p| {
            let values = crate::exec::param_values(p, &ckpt)?;
            Ok((p.name.clone(), model::tensor(values, &p.input.shape())?))
        })
        .collect()
}

/// Token ids of `text` with the reference's `tokenizer.json` (special tokens as the tokenizer's
/// post-processor adds them, e.g. a BOS).
pub fn tokenize(dir: &Path, text: &str) -> Result<Vec<u32>> {
    let path = dir.join("tokenizer.json");
    if !path.is_file() {
        return Err(Error::Eval(format!(
            "{} not found; `hf2mlx eval` tokenizes with the reference's tokenizer.json",
            path.display()
        )));
    }
    let tok = tokenizers::Tokenizer::from_file(&path).map_err(|e| {
        Error::Eval(format!(
            "{}: cannot load the tokenizer: {e}",
            path.display()
        ))
    })?;
    let enc = tok
        .encode(text, true)
        .map_err(|e| Error::Eval(format!("{}: tokenizing failed: {e}", path.display())))?;
    Ok(enc.get_ids().to_vec())
}

/// The text to evaluate on and its label for the report.
fn read_text(opts: &EvalOptions) -> Result<(String, String)> {
    match &opts.text_file {
        None => Ok((BUILTIN_CORPUS.to_string(), "built-in corpus".to_string())),
        Some(p) => {
            let t = std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?;
            Ok((t, p.display().to_string()))
        }
    }
}

/// The reference's per-window log-probabilities: kept in memory when they fit in
/// [`CACHE_BUDGET`], otherwise recomputed from the reference model, kept loaded, for each model.
enum RefLogProbs {
    Cached(Vec<candle_core::Tensor>),
    Recomputed(Model),
}

/// Bytes of reference log-probabilities worth keeping rather than recomputing.
const CACHE_BUDGET: usize = 1 << 30;

struct Reference {
    windows: Vec<Vec<u32>>,
    log_probs: RefLogProbs,
    perplexity: f64,
}

impl Reference {
    fn log_probs(&self, i: usize) -> Result<candle_core::Tensor> {
        match &self.log_probs {
            RefLogProbs::Cached(v) => Ok(v[i].clone()),
            RefLogProbs::Recomputed(m) => model::log_softmax(&m.forward(&self.windows[i])?),
        }
    }
}

/// Splits `ids` into windows of at most `window` tokens; a final window of one token has no
/// prediction to score and is dropped.
fn windows(ids: &[u32], window: usize) -> Vec<Vec<u32>> {
    ids.chunks(window.max(2))
        .filter(|w| w.len() >= 2)
        .map(<[u32]>::to_vec)
        .collect()
}

/// Runs `reference` and every model in `models` over the text; models are loaded one at a time.
pub fn evaluate(reference: &Path, models: &[PathBuf], opts: &EvalOptions) -> Result<EvalReport> {
    if opts.window < 2 {
        return Err(Error::Usage("--window must be at least 2 tokens".into()));
    }
    let (text, label) = read_text(opts)?;
    // The reference's tokenizer; an MLX folder or a bare checkpoint may lack one, the
    // converted model (a copy of the same tokenizer) then stands in.
    let tok_dir = match models.first() {
        Some(m) if !reference.join("tokenizer.json").is_file() => m.as_path(),
        _ => reference,
    };
    let mut ids = tokenize(tok_dir, &text)?;
    if let Some(m) = opts.max_tokens {
        ids.truncate(m);
    }
    let wins = windows(&ids, opts.window);
    if wins.is_empty() {
        return Err(Error::Eval(format!(
            "the text ({label}) has fewer than 2 tokens; nothing to evaluate"
        )));
    }
    let ref_model = load_model(reference)?;
    let cache = ids.len() * ref_model.vocab_size() * 4 <= CACHE_BUDGET;
    let mut cached = Vec::new();
    let mut nll = 0.0f64;
    let mut n = 0usize;
    for w in &wins {
        let lp = model::log_softmax(&ref_model.forward(w)?)?;
        nll += target_nll(&lp, w)?;
        n += w.len() - 1;
        if cache {
            cached.push(lp);
        }
    }
    let reference_set = Reference {
        windows: wins,
        log_probs: if cache {
            RefLogProbs::Cached(cached)
        } else {
            RefLogProbs::Recomputed(ref_model)
        },
        perplexity: (nll / n as f64).exp(),
    };
    let mut scores = Vec::with_capacity(models.len());
    for m in models {
        scores.push(score_model(&reference_set, m)?);
    }
    Ok(EvalReport {
        reference: reference.to_path_buf(),
        text: label,
        tokens: n,
        window: opts.window,
        reference_perplexity: reference_set.perplexity,
        models: scores,
    })
}

fn score_model(r: &Reference, path: &Path) -> Result<ModelScore> {
    let start = Instant::now();
    let m = load_model(path)?;
    let mut kls: Vec<f32> = Vec::new();
    let (mut nll, mut agree, mut n) = (0.0f64, 0usize, 0usize);
    for (i, w) in r.windows.iter().enumerate() {
        let ref_lp = r.log_probs(i)?;
        let lp = model::log_softmax(&m.forward(w)?)?;
        if lp.dims() != ref_lp.dims() {
            return Err(Error::Eval(format!(
                "{} predicts over {:?} logits but the reference over {:?}; they do not share a \
                 vocabulary",
                path.display(),
                lp.dims(),
                ref_lp.dims()
            )));
        }
        nll += target_nll(&lp, w)?;
        let t = w.len() - 1;
        let (ref_lp, lp) = (
            model::ctx(ref_lp.narrow(0, 0, t))?,
            model::ctx(lp.narrow(0, 0, t))?,
        );
        // KL(P‖Q) = Σ p (log p − log q), per position.
        let kl = model::ctx(
            model::ctx(ref_lp.exp())?
                .mul(&model::ctx(ref_lp.sub(&lp))?)
                .and_then(|x| x.sum(1)),
        )?;
        kls.extend(model::ctx(kl.to_vec1::<f32>())?);
        let a = model::ctx(ref_lp.argmax(1).and_then(|x| x.to_vec1::<u32>()))?;
        let b = model::ctx(lp.argmax(1).and_then(|x| x.to_vec1::<u32>()))?;
        agree += a.iter().zip(&b).filter(|(x, y)| x == y).count();
        n += t;
    }
    // Rounding can make an exact zero slightly negative; KL is never below 0.
    for k in &mut kls {
        *k = k.max(0.0);
    }
    let mean_kl = kls.iter().map(|&k| k as f64).sum::<f64>() / n.max(1) as f64;
    Ok(ModelScore {
        path: path.to_path_buf(),
        tokens: n,
        perplexity: (nll / n.max(1) as f64).exp(),
        mean_kl,
        p99_kl: percentile(&mut kls, 0.99),
        top1_agreement: agree as f64 / n.max(1) as f64,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Sum over positions `0..t-1` of `-log p(ids[i+1])`.
fn target_nll(lp: &candle_core::Tensor, ids: &[u32]) -> Result<f64> {
    let t = ids.len() - 1;
    let targets = model::ctx(candle_core::Tensor::new(
        &ids[1..],
        &candle_core::Device::Cpu,
    ))?;
    let picked = model::ctx(
        lp.narrow(0, 0, t)
            .and_then(|x| x.gather(&targets.unsqueeze(1)?, 1))
            .and_then(|x| x.flatten_all())
            .and_then(|x| x.to_vec1::<f32>()),
    )?;
    Ok(-picked.iter().map(|&x| x as f64).sum::<f64>())
}

/// The `q` quantile by the nearest-rank method.
fn percentile(v: &mut [f32], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f32::total_cmp);
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1] as f64
}

/// The JSON report a quantized (or `--eval`) conversion leaves in its output folder; mlx-lm's
/// loader reads only config.json, the weights and the tokenizer files, so it is ignored there.
pub const REPORT_FILE: &str = "hf2mlx-report.json";

/// The text of [`REPORT_FILE`]: per-tensor weight error and, with `--eval`, the evaluation.
pub fn conversion_report_json(
    weight_error: Option<&[weight_error::TensorError]>,
    quality: Option<&EvalReport>,
) -> String {
    let v = serde_json::json!({
        "hf2mlx_version": env!("CARGO_PKG_VERSION"),
        "weight_error": weight_error.map(|w| serde_json::json!({
            "sampling": format!(
                "one row in {} of every quantized tensor, dequantized with the conversion's kernels",
                weight_error::SAMPLE_EVERY
            ),
            "tensors": w,
        })),
        "eval": quality,
    });
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}

impl EvalReport {
    /// The human-readable table.
    pub fn table(&self) -> String {
        let mut out = format!(
            "reference: {}\ntext: {} ({} tokens scored, windows of {})\nreference perplexity: {:.4}\n\n",
            self.reference.display(),
            self.text,
            self.tokens,
            self.window,
            self.reference_perplexity
        );
        out.push_str(&format!(
            "{:<40} {:>8} {:>11} {:>11} {:>11} {:>7} {:>7}\n",
            "model", "tokens", "perplexity", "mean KL", "p99 KL", "top-1", "time"
        ));
        for m in &self.models {
            out.push_str(&format!(
                "{:<40} {:>8} {:>11.4} {:>11.5} {:>11.5} {:>6.1}% {:>6.1}s\n",
                m.path.display(),
                m.tokens,
                m.perplexity,
                m.mean_kl,
                m.p99_kl,
                m.top1_agreement * 100.0,
                m.seconds
            ));
        }
        out.push_str("KL: KL(reference ‖ model), nats/token\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_is_nearest_rank() {
        let mut v: Vec<f32> = (1..=100).map(|x| x as f32).collect();
        assert_eq!(percentile(&mut v, 0.99), 99.0);
        assert_eq!(percentile(&mut v, 1.0), 100.0);
        let mut one = vec![3.0];
        assert_eq!(percentile(&mut one, 0.99), 3.0);
    }

    #[test]
    fn windows_drop_a_lone_last_token() {
        let w = windows(&[1, 2, 3, 4, 5], 2);
        assert_eq!(w, vec![vec![1, 2], vec![3, 4]]);
        assert_eq!(windows(&[1, 2, 3], 8), vec![vec![1, 2, 3]]);
    }

    #[test]
    fn builtin_corpus_is_a_few_kb_of_prose() {
        assert!(BUILTIN_CORPUS.len() > 4000, "{}", BUILTIN_CORPUS.len());
        assert!(BUILTIN_CORPUS.split_whitespace().count() > 700);
    }
}
