//! GGUF files as conversion sources: an [`Inventory`] whose config is synthesized from the
//! metadata, [`crate::plan::Input::Gguf`] inputs that the executor dequantizes row block by row
//! block, and `import-gguf` (a Hugging Face checkpoint written from the same inputs).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::cast::{self, FloatType};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::plan::{Input, Plan};
use crate::safetensors::{Checkpoint, SourceTensor};
use crate::source::Inventory;

use super::dequant::{GgmlType, dequantize};
use super::model::{GgufModel, describe, unpermuted_source_row};
use super::reader::{GgufFile, read_file};
use super::tokenizer;

/// Whether `path` is a file starting with the GGUF magic bytes.
pub fn is_gguf(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    path.is_file()
        && std::fs::File::open(path)
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
            .is_ok()
        && &magic == b"GGUF"
}

fn open(path: &Path) -> Result<(GgufFile, GgufModel)> {
    let file = read_file(path)?;
    let model = describe(&file)
        .map_err(|m| Error::Source(format!("{}: cannot import this GGUF: {m}", path.display())))?;
    Ok((file, model))
}

/// The inventory of a GGUF file: synthesized config, the file as the one weight file, no
/// safetensors headers (the planner asks [`named_inputs`] for the tensors).
pub fn inventory(path: &Path) -> Result<Inventory> {
    let (file, model) = open(path)?;
    // The tokenizer is rebuilt when writing; fail now if it cannot be.
    tokenizer::files(&file).map_err(|m| Error::Source(format!("{}: {m}", path.display())))?;
    Ok(Inventory {
        dir: path.to_path_buf(),
        config: model.config,
        weight_files: vec![path.to_path_buf()],
        headers: Vec::new(),
        copied_files: Vec::new(),
    })
}

/// A GGUF tensor as the planner sees it: Hugging Face name and shape, f32 values.
fn source_tensor(t: &super::model::MappedTensor) -> SourceTensor {
    SourceTensor {
        name: t.hf_name.clone(),
        dtype: DType::F32,
        shape: t.shape.clone(),
        file: 0,
        offset: t.info.offset,
        nbytes: t.info.nbytes,
    }
}

/// The tensors and planner inputs of an inventory built by [`inventory`]; `None` for any other
/// inventory.
#[allow(clippy::type_complexity)]
pub fn named_inputs(inv: &Inventory) -> Result<Option<(Vec<SourceTensor>, Vec<(String, Input)>)>> {
    if !inv.headers.is_empty() || inv.weight_files.len() != 1 || !is_gguf(&inv.weight_files[0]) {
        return Ok(None);
    }
    let (_, model) = open(&inv.weight_files[0])?;
    let tensors: Vec<SourceTensor> = model.tensors.iter().map(source_tensor).collect();
    let named = model
        .tensors
        .iter()
        .zip(&tensors)
        .map(|(t, s)| {
            (
                t.hf_name.clone(),
                Input::Gguf {
                    tensor: s.clone(),
                    ggml: t.ggml,
                    unpermute_heads: t.unpermute_heads,
                },
            )
        })
        .collect();
    Ok(Some((tensors, named)))
}

/// Appends the f32 values (little-endian bytes) of rows `[first, first+count)` of a GGUF
/// tensor to `out`, undoing the q/k interleave if `heads` is given.
pub fn read_rows(
    ckpt: &Checkpoint,
    t: &SourceTensor,
    ggml: GgmlType,
    heads: Option<usize>,
    first: usize,
    count: usize,
    out: &mut Vec<u8>,
) -> Result<()> {
    let row_len = t.shape.last().copied().unwrap_or(1).max(1);
    let rows = t.shape.iter().product::<usize>() / row_len;
    let row_bytes = (t.nbytes / rows.max(1) as u64) as usize;
    let mut raw = vec![0u8; row_bytes * count];
    match heads {
        None => ckpt.read_at(t.file, t.offset + (row_bytes * first) as u64, &mut raw)?,
        Some(h) => {
            for (k, chunk) in raw.chunks_exact_mut(row_bytes).enumerate() {
                let src = unpermuted_source_row(first + k, rows, h);
                ckpt.read_at(t.file, t.offset + (row_bytes * src) as u64, chunk)?;
            }
        }
    }
    let mut x = vec![0f32; row_len * count];
    dequantize(ggml, &raw, &mut x)
        .map_err(|m| Error::Plan(format!("internal error: `{}`: {m}", t.name)))?;
    let at = out.len();
    out.resize(at + x.len() * 4, 0);
    cast::encode_from_f32(FloatType::F32, &x, &mut out[at..]);
    Ok(())
}

/// Refuses a GGUF whose tensors moved since the plan was made.
fn check_unchanged(plan: &Plan) -> Result<()> {
    let path = &plan.weight_files[0];
    let (_, model) = open(path)?;
    let now: Vec<SourceTensor> = model.tensors.iter().map(source_tensor).collect();
    for t in plan.params.iter().flat_map(|p| p.input.sources()) {
        if !now.contains(t) {
            return Err(Error::Source(format!(
                "{} changed since the conversion was planned (tensor `{}`); run again",
                path.display(),
                t.name
            )));
        }
    }
    Ok(())
}

/// Whether a plan reads a GGUF file (its executor is [`execute_plan`]).
pub fn is_gguf_plan(plan: &Plan) -> bool {
    plan.params
        .iter()
        .any(|p| matches!(p.input, Input::Gguf { .. }))
}

/// Opens the GGUF of a plan for the executor, refusing a file that changed since planning, and
/// returns the files its metadata stands in for (tokenizer.json, tokenizer_config.json,
/// generation_config.json) as (name, text) pairs.
pub fn open_source(plan: &Plan) -> Result<(Checkpoint, Vec<(String, String)>)> {
    check_unchanged(plan)?;
    let path = &plan.weight_files[0];
    let file = read_file(path)?;
    let side_files =
        tokenizer::files(&file).map_err(|m| Error::Source(format!("{}: {m}", path.display())))?;
    Ok((Checkpoint::open_raw(&plan.weight_files)?, side_files))
}

/// What `import-gguf` wrote.
#[derive(Debug, Clone)]
pub struct ImportReport {
    pub path: PathBuf,
    pub tensors: usize,
    pub bytes: u64,
    pub model_type: &'static str,
}

/// Writes a Hugging Face checkpoint (config.json, model.safetensors in `dtype`, tokenizer and
/// generation files) from a GGUF file, tensor by tensor in row blocks, into a temporary folder
/// renamed to `out` when complete.
pub fn import(src: &Path, out: &Path, dtype: FloatType, force: bool) -> Result<ImportReport> {
    let (file, model) = open(src)?;
    let side_files =
        tokenizer::files(&file).map_err(|m| Error::Source(format!("{}: {m}", src.display())))?;
    let mut tensors: Vec<(&super::model::MappedTensor, SourceTensor)> = model
        .tensors
        .iter()
        .map(|t| (t, source_tensor(t)))
        .collect();
    tensors.sort_by(|a, b| a.0.hf_name.cmp(&b.0.hf_name));
    let dt = DType::from_float(dtype);
    let mut header = serde_json::Map::new();
    let mut meta = serde_json::Map::new();
    meta.insert("format".into(), "pt".into());
    header.insert("__metadata__".into(), meta.into());
    let mut offset = 0u64;
    for (t, _) in &tensors {
        let n = t.shape.iter().product::<usize>() as u64 * dtype.size() as u64;
        header.insert(
            t.hf_name.clone(),
            serde_json::json!({"dtype": dt.as_str(), "shape": t.shape, "data_offsets": [offset, offset + n]}),
        );
        offset += n;
    }
    let mut text = serde_json::to_string(&header)
        .unwrap_or_default()
        .into_bytes();
    text.resize(text.len().div_ceil(8) * 8, b' ');

    let ckpt = Checkpoint::open_raw(&[src.to_path_buf()])?;
    let tx = crate::output::Transaction::begin(out, force)?;
    let st_path = tx.dir().join("model.safetensors");
    let f = std::fs::File::create(&st_path).map_err(|e| Error::io(&st_path, e))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
    let io = |e| Error::io(&st_path, e);
    w.write_all(&(text.len() as u64).to_le_bytes())
        .map_err(io)?;
    w.write_all(&text).map_err(io)?;
    let (mut raw, mut x, mut enc) = (Vec::new(), Vec::new(), Vec::new());
    for (t, s) in &tensors {
        let row_len = t.shape.last().copied().unwrap_or(1).max(1);
        let rows = t.shape.iter().product::<usize>() / row_len;
        let per_block = (crate::exec::BLOCK_ELEMS / row_len).max(1);
        let mut r = 0;
        while r < rows {
            let n = per_block.min(rows - r);
            raw.clear();
            read_rows(&ckpt, s, t.ggml, t.unpermute_heads, r, n, &mut raw)?;
            x.resize(n * row_len, 0f32);
            cast::decode_to_f32(FloatType::F32, &raw, &mut x);
            enc.resize(x.len() * dtype.size(), 0);
            cast::encode_from_f32(dtype, &x, &mut enc);
            w.write_all(&enc).map_err(io)?;
            r += n;
        }
    }
    let f = w.into_inner().map_err(|e| io(e.into_error()))?;
    f.sync_all().map_err(io)?;
    let mut config = model.config.clone();
    config.insert("torch_dtype".into(), crate::dtype::float_name(dtype).into());
    tx.write_file(
        "config.json",
        serde_json::to_string_pretty(&config)
            .unwrap_or_default()
            .as_bytes(),
    )?;
    for (name, text) in &side_files {
        tx.write_file(name, text.as_bytes())?;
    }
    let path = tx.commit()?;
    Ok(ImportReport {
        path,
        tensors: tensors.len(),
        bytes: offset,
        model_type: model.arch.model_type,
    })
}

/// `--check-finite` for a GGUF file: every tensor dequantized (row blocks, as the executor reads
/// them) and its NaN/Inf values counted, under its Hugging Face name.
pub fn scan_finite(path: &Path) -> Result<Vec<crate::finite::NonFinite>> {
    let (_, model) = open(path)?;
    let ckpt = Checkpoint::open_raw(&[path.to_path_buf()])?;
    let mut found = Vec::new();
    let mut raw = Vec::new();
    for t in &model.tensors {
        let s = source_tensor(t);
        let row_len = t.shape.last().copied().unwrap_or(1).max(1);
        let rows = t.shape.iter().product::<usize>() / row_len;
        let per_block = (crate::exec::BLOCK_ELEMS / row_len).max(1);
        let (mut nan, mut inf) = (0, 0);
        let mut r = 0;
        while r < rows {
            let n = per_block.min(rows - r);
            raw.clear();
            read_rows(&ckpt, &s, t.ggml, None, r, n, &mut raw)?;
            let (a, b) = crate::finite::count(DType::F32, &raw);
            (nan, inf) = (nan + a, inf + b);
            r += n;
        }
        if nan + inf > 0 {
            found.push(crate::finite::NonFinite {
                tensor: t.hf_name.clone(),
                file: path.to_path_buf(),
                nan,
                inf,
                elements: (rows * row_len) as u64,
            });
        }
    }
    Ok(found)
}
