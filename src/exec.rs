//! Runs a [`Plan`]: every parameter is cut into blocks of whole rows (quantization groups run
//! along the last axis, so rows are independent), blocks are processed on all cores, each
//! reading its source bytes with `pread` and handing its results to the shard writers, which
//! gather them into page-aligned units for direct writes by background threads. Memory is a few
//! block buffers per thread plus a bounded write queue, whatever the model size.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::arch::ValueOp;
use crate::cast::{self, FloatType};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::eval::weight_error::WeightErrors;
use crate::plan::{Input, Op, ParamPlan, Plan};
use crate::quant::method::importance;
use crate::quant::{Mode, affine, fp};
use crate::safetensors::{Checkpoint, ShardWriter, SourceTensor, TensorSlot, WritePool};

/// Target elements per block: 64 Ki elements = 128 KiB of bf16 input, 256 KiB as f32, so a
/// block stays in L2 between the page-cache copy, the decode and the kernel (4 MiB blocks
/// measured 4x more system time: the copy and decode spilled to RAM).
pub const BLOCK_ELEMS: usize = 64 << 10;

/// Output rows per block, at least, for inputs that transpose: each block reads one run of this
/// many elements from every source row, so runs must not be tiny.
pub const TRANSPOSE_ROWS: usize = 256;

/// A contiguous run of units (rows, or single elements for element-wise work) of one parameter.
struct Job {
    param: usize,
    first: usize,
    count: usize,
    /// Source bytes of all blocks handed out before this one: where the job is in the stream.
    position: u64,
}

/// The blocks of every parameter, handed out one at a time in source-file order. Blocks are
/// computed on demand from a per-parameter table, so the queue's memory grows with the number of
/// parameters, not with the model's size (a job list for an 8B model took 3 MB of peak RSS).
struct JobQueue {
    /// (parameter, units per block, units in all), sorted by where the parameter's input starts.
    params: Vec<(usize, usize, usize)>,
    /// Index of the first block of each entry of `params`, plus the total at the end.
    first_block: Vec<usize>,
    /// Source bytes of all entries before each entry of `params`, plus the total at the end.
    first_byte: Vec<u64>,
    next: AtomicUsize,
}

impl JobQueue {
    fn new(plan: &Plan) -> JobQueue {
        let mut params: Vec<(usize, usize, usize)> = plan
            .params
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut per_block = (BLOCK_ELEMS / unit_len(p)).max(1);
                if p.input.transposes() {
                    per_block = per_block.max(TRANSPOSE_ROWS);
                }
                (i, per_block, units(p))
            })
            .collect();
        // Read in file order: sequential I/O on the source, whatever the module order is.
        params.sort_by_key(|&(i, _, _)| {
            let s = plan.params[i].input.sources()[0];
            (s.file, s.offset)
        });
        let mut first_block = Vec::with_capacity(params.len() + 1);
        let mut first_byte = Vec::with_capacity(params.len() + 1);
        let (mut blocks, mut bytes) = (0, 0);
        for &(i, per_block, n) in &params {
            first_block.push(blocks);
            first_byte.push(bytes);
            blocks += n.div_ceil(per_block);
            bytes += source_bytes(&plan.params[i]);
        }
        first_block.push(blocks);
        first_byte.push(bytes);
        JobQueue {
            params,
            first_block,
            first_byte,
            next: AtomicUsize::new(0),
        }
    }

    fn next(&self) -> Option<Job> {
        let b = self.next.fetch_add(1, Ordering::Relaxed);
        if b >= *self.first_block.last()? {
            return None;
        }
        // The last entry whose first block is <= b (entries with no blocks are skipped over).
        let k = self.first_block.partition_point(|&f| f <= b) - 1;
        let (param, per_block, n) = self.params[k];
        let first = (b - self.first_block[k]) * per_block;
        let bytes = self.first_byte[k + 1] - self.first_byte[k];
        Some(Job {
            param,
            first,
            count: per_block.min(n - first),
            position: self.first_byte[k] + scale(bytes, first as u64, n as u64),
        })
    }
}

/// Source bytes a parameter reads (its input tensors, whole).
fn source_bytes(p: &ParamPlan) -> u64 {
    p.input.sources().iter().map(|t| t.nbytes).sum()
}

/// `x * num / den` without overflow (byte counts times unit counts can exceed u64).
fn scale(x: u64, num: u64, den: u64) -> u64 {
    (x as u128 * num as u128 / den.max(1) as u128) as u64
}

/// Keeps the kernel reading [`READ_AHEAD`] bytes of source ahead of the workers, in the order
/// the job queue will need them. Two workers reading alternate blocks do not look sequential
/// enough to the kernel's own read-ahead: on a cold cache both then wait for the disk and the
/// disk waits for them (measured: a 1B model converted in 2.4x the time `cat` reads it cold).
/// Advice for cached pages costs a page-cache lookup, so the warm case does not pay for this.
struct ReadAhead {
    /// Stream position (as [`Job::position`]) up to which advice has been given.
    advised: Mutex<u64>,
}

/// How far ahead of the workers the source is requested, and the least worth a round of advice.
const READ_AHEAD: u64 = 64 << 20;
const READ_AHEAD_STEP: u64 = 4 << 20;
/// Range per `posix_fadvise` call: Linux caps one call at the larger of the device's read-ahead
/// window and its largest I/O (commonly 1 MiB or more) and silently drops the rest; smaller
/// pieces would only cost more calls on a warm cache.
const ADVICE_PIECE: u64 = 1 << 20;

impl ReadAhead {
    fn new() -> ReadAhead {
        ReadAhead {
            advised: Mutex::new(0),
        }
    }

    /// Called by a worker that took a job at `position`: advises the source ranges of every
    /// parameter part up to `position + READ_AHEAD` not advised yet. A worker that finds the
    /// other one doing this goes back to work.
    fn advance(&self, queue: &JobQueue, plan: &Plan, ckpt: &Checkpoint, position: u64) {
        let sources = |k: usize| plan.params[queue.params[k].0].input.sources();
        self.advance_with(&queue.first_byte, sources, position, |file, offset, len| {
            ckpt.will_need(file, offset, len)
        });
    }

    /// [`ReadAhead::advance`] over entries whose stream positions start at `first_byte` (plus
    /// the total at the end), with `sources(k)` the tensors entry `k` reads, giving each piece
    /// of advice to `advise(file, offset, len)`.
    fn advance_with<'a>(
        &self,
        first_byte: &[u64],
        sources: impl Fn(usize) -> Vec<&'a SourceTensor>,
        position: u64,
        mut advise: impl FnMut(usize, u64, u64),
    ) {
        let Ok(mut advised) = self.advised.try_lock() else {
            return;
        };
        let total = first_byte.last().copied().unwrap_or(0);
        let target = (position + READ_AHEAD).min(total);
        if target <= *advised || (target < *advised + READ_AHEAD_STEP && target < total) {
            return;
        }
        // Entries overlapping [advised, target): a parameter's sources are read in step (row
        // block r of the weight with row block r of its scales), so each source is advised over
        // the same fraction of itself.
        let entries = first_byte.len().saturating_sub(1);
        let mut k = first_byte
            .partition_point(|&b| b <= *advised)
            .saturating_sub(1);
        while k < entries && first_byte[k] < target {
            let (start, end) = (first_byte[k], first_byte[k + 1]);
            let (a, b) = ((*advised).max(start) - start, target.min(end) - start);
            if b > a {
                for t in sources(k) {
                    let from = scale(t.nbytes, a, end - start);
                    let to = scale(t.nbytes, b, end - start);
                    let mut at = from;
                    while at < to {
                        let len = ADVICE_PIECE.min(to - at);
                        advise(t.file, t.offset + at, len);
                        at += len;
                    }
                }
            }
            k += 1;
        }
        *advised = target;
    }
}

/// Reused per-thread scratch space.
#[derive(Default)]
struct Scratch {
    src: Vec<u8>,
    x: Vec<f32>,
    words: Vec<u32>,
    scales: Vec<f32>,
    biases: Vec<f32>,
    scale_codes: Vec<u8>,
    out: Vec<u8>,
}

/// Element-wise work on a stored tensor streams in flat chunks; anything that involves
/// quantization (in or out) needs whole rows.
fn unit_len(p: &ParamPlan) -> usize {
    match (&p.input, &p.op) {
        (Input::Tensor { .. }, Op::Copy | Op::Float { .. }) => 1,
        _ if reads_whole(&p.input) => p.input.shape().iter().product::<usize>().max(1),
        _ => p.row_len(),
    }
}

/// An axis move or reshape is not row-local: the (small) tensor is read whole, so it is one
/// unit, also under a re-quantization of it (deepseek_v3's split of a quantized `kv_b_proj`)
/// and its dequantization (`-d`), which would otherwise read it whole once per block.
fn reads_whole(input: &Input) -> bool {
    match input {
        Input::MoveAxis { .. } | Input::Reshape { .. } => true,
        Input::QuantizedPart { of, .. } => reads_whole(of),
        Input::Quantized { weight, .. } => {
            matches!(**weight, Input::QuantizedPart { .. }) && reads_whole(weight)
        }
        _ => false,
    }
}

/// Raw bytes (in the input's storage dtype) of units `[first, first+count)` of an unquantized
/// input, into `buf`.
fn read_input(
    ckpt: &Checkpoint,
    p: &ParamPlan,
    first: usize,
    count: usize,
    buf: &mut Vec<u8>,
) -> Result<()> {
    match &p.input {
        Input::Tensor { tensor } => read_units(ckpt, tensor, units(p), first, count, buf),
        Input::Quantized { .. } => Err(internal(format!("raw read of quantized `{}`", p.name))),
        input => {
            buf.clear();
            let (first, count) = unit_rows(p, first, count);
            read_rows(ckpt, input, first, count, buf)
        }
    }
}

/// Rows `[first, first+count)` for units `[first, first+count)` of a parameter read by rows
/// (a unit is one row, or the whole tensor when it [`reads_whole`]).
fn unit_rows(p: &ParamPlan, first: usize, count: usize) -> (usize, usize) {
    let rows_per_unit = (unit_len(p) / p.row_len().max(1)).max(1);
    (first * rows_per_unit, count * rows_per_unit)
}

/// Appends the raw bytes of logical rows `[first, first+count)` of `input` to `out`.
fn read_rows(
    ckpt: &Checkpoint,
    input: &Input,
    first: usize,
    count: usize,
    out: &mut Vec<u8>,
) -> Result<()> {
    let shape = input.shape();
    let row_len = shape.last().copied().unwrap_or(1).max(1);
    let total_rows = shape.iter().product::<usize>() / row_len;
    match input {
        Input::Tensor { tensor } => {
            let row_bytes = (tensor.nbytes / total_rows.max(1) as u64) as usize;
            let at = out.len();
            out.resize(at + row_bytes * count, 0);
            ckpt.read_at(
                tensor.file,
                tensor.offset + (row_bytes * first) as u64,
                &mut out[at..],
            )
        }
        Input::Stack { parts } => {
            let per = total_rows / parts.len().max(1);
            let mut r = first;
            while r < first + count {
                let part = r / per;
                let end = ((part + 1) * per).min(first + count);
                read_rows(ckpt, &parts[part], r - part * per, end - r, out)?;
                r = end;
            }
            Ok(())
        }
        Input::Rows {
            of,
            block,
            start,
            len,
        } => {
            let mut r = first;
            while r < first + count {
                let (b, j) = (r / len, r % len);
                let run = (len - j).min(first + count - r);
                read_rows(ckpt, of, b * block + start + j, run, out)?;
                r += run;
            }
            Ok(())
        }
        Input::MoveAxis { of, from, to } => {
            let src_shape = of.shape();
            // The source's own row count (its last axis differs from ours).
            let src_rows =
                src_shape.iter().product::<usize>() / src_shape.last().copied().unwrap_or(1).max(1);
            let mut src = Vec::new();
            read_rows(ckpt, of, 0, src_rows, &mut src)?;
            let elem = input.storage_dtype().size();
            let mut moved = vec![0u8; src.len()];
            move_axis_bytes(&src, &src_shape, *from, *to, elem, &mut moved);
            // Read whole (see `reads_whole`); a caller that asks for some rows gets those.
            let row_bytes = row_len * elem;
            out.extend_from_slice(&moved[first * row_bytes..(first + count) * row_bytes]);
            Ok(())
        }
        Input::Reshape { of, .. } if of.shape().last() == shape.last() => {
            // Only leading axes change: rows are the source's rows.
            read_rows(ckpt, of, first, count, out)
        }
        Input::Fp8Blocks {
            weight,
            scale_inv,
            block,
            broadcast,
        } => {
            let (ws, ss) = (weight.shape(), scale_inv.shape());
            if *broadcast && crate::arch::mla_broadcasts(&ss, &ws) {
                read_fp8_broadcast_rows(ckpt, weight, scale_inv, first, count, out)
            } else {
                read_fp8_rows(ckpt, weight, scale_inv, *block, first, count, out)
            }
        }
        Input::Reshape { of, .. } => {
            // Same bytes, other rows: read the source whole, keep the requested rows.
            let s = of.shape();
            let src_rows = s.iter().product::<usize>() / s.last().copied().unwrap_or(1).max(1);
            let mut src = Vec::new();
            read_rows(ckpt, of, 0, src_rows, &mut src)?;
            let row_bytes = src.len() / total_rows.max(1);
            out.extend_from_slice(&src[first * row_bytes..(first + count) * row_bytes]);
            Ok(())
        }
        Input::Gguf {
            tensor,
            ggml,
            unpermute_heads,
        } => crate::gguf::convert::read_rows(
            ckpt,
            tensor,
            *ggml,
            *unpermute_heads,
            first,
            count,
            out,
        ),
        Input::Transpose { of } => {
            // Output `[.., B, A]` from source `[.., A, B]`: output row (batch, j) is column j of
            // the source's batch; a run of output rows is a run of columns of every source row.
            let s = of.shape();
            let n = s.len();
            if n < 2 {
                return Err(internal("transpose of a tensor of rank < 2".into()));
            }
            let (a, b) = (s[n - 2], s[n - 1]);
            let elem = input.storage_dtype().size();
            let mut piece = Vec::new();
            let mut r = first;
            while r < first + count {
                let (batch, j0) = (r / b, r % b);
                let run = (b - j0).min(first + count - r);
                let at = out.len();
                out.resize(at + run * a * elem, 0);
                let dst = &mut out[at..];
                match row_location(of, batch * a) {
                    Some(_) => {
                        piece.resize(run * elem, 0);
                        for i in 0..a {
                            let Some((file, at)) = row_location(of, batch * a + i) else {
                                return Err(internal("transpose source row out of range".into()));
                            };
                            ckpt.read_at(file, at + (j0 * elem) as u64, &mut piece)?;
                            for j in 0..run {
                                dst[(j * a + i) * elem..(j * a + i + 1) * elem]
                                    .copy_from_slice(&piece[j * elem..(j + 1) * elem]);
                            }
                        }
                    }
                    None => {
                        piece.clear();
                        read_rows(ckpt, of, batch * a, a, &mut piece)?;
                        for i in 0..a {
                            for j in 0..run {
                                let s = (i * b + j0 + j) * elem;
                                dst[(j * a + i) * elem..(j * a + i + 1) * elem]
                                    .copy_from_slice(&piece[s..s + elem]);
                            }
                        }
                    }
                }
                r += run;
            }
            Ok(())
        }
        Input::Map { of, op } => {
            let Some(ft) = input.storage_dtype().float_type() else {
                return Err(internal("value transform of a non-float tensor".into()));
            };
            let mut raw = Vec::new();
            read_rows(ckpt, of, first, count, &mut raw)?;
            let mut x = vec![0f32; raw.len() / ft.size()];
            cast::decode_to_f32(ft, &raw, &mut x);
            apply_value_op(op, ft, first, row_len, &mut x)?;
            let at = out.len();
            out.resize(at + raw.len(), 0);
            cast::encode_from_f32(ft, &x, &mut out[at..]);
            Ok(())
        }
        Input::Quantized {
            weight,
            scales,
            biases,
            global_scale: None,
            mode: Mode::Affine,
            group_size,
            bits,
            float,
        } => {
            // A layer a sanitize dequantizes before reshaping it (deepseek_v3's quantized
            // `kv_b_proj`): rows dequantized in the scales' dtype.
            let mut s = Scratch::default();
            s.x.resize(count * row_len, 0.0);
            dequantize_affine_rows(
                ckpt,
                "a quantized layer",
                (weight, scales, biases.as_deref()),
                (*group_size, *bits, *float),
                (first, count),
                &mut s,
            )?;
            let at = out.len();
            out.resize(at + s.x.len() * float.size(), 0);
            cast::encode_from_f32(*float, &s.x, &mut out[at..]);
            Ok(())
        }
        Input::Quantized { .. } => Err(internal(
            "an fp-quantized layer inside a composite input".into(),
        )),
        Input::QuantizedPart {
            of,
            group_size,
            bits,
            part,
        } => {
            let Some(ft) = of.float_type() else {
                return Err(internal("quantizing a non-float tensor".into()));
            };
            let mut raw = Vec::new();
            read_rows(ckpt, of, first, count, &mut raw)?;
            let mut x = vec![0f32; raw.len() / ft.size()];
            cast::decode_to_f32(ft, &raw, &mut x);
            if !x.len().is_multiple_of(*group_size) {
                return Err(internal(format!(
                    "rows of {} values do not split into groups of {group_size}",
                    x.len() / count.max(1)
                )));
            }
            let groups = x.len() / group_size;
            let mut words = vec![0u32; x.len() * *bits as usize / 32];
            let (mut scales, mut biases) = (vec![0f32; groups], vec![0f32; groups]);
            affine::quantize(&x, *group_size, *bits, &mut words, &mut scales, &mut biases);
            let at = out.len();
            match part {
                crate::arch::QuantPart::Weight => {
                    out.extend(words.iter().flat_map(|w| w.to_le_bytes()));
                }
                crate::arch::QuantPart::Scales | crate::arch::QuantPart::Biases => {
                    let v = if *part == crate::arch::QuantPart::Scales {
                        &scales
                    } else {
                        &biases
                    };
                    out.resize(at + groups * ft.size(), 0);
                    cast::encode_from_f32(ft, v, &mut out[at..]);
                }
            }
            Ok(())
        }
        Input::Cast { of, to } => {
            let Some(from) = of.storage_dtype().float_type() else {
                return Err(internal("cast of a non-float tensor".into()));
            };
            let mut raw = Vec::new();
            read_rows(ckpt, of, first, count, &mut raw)?;
            let mut x = vec![0f32; raw.len() / from.size()];
            cast::decode_to_f32(from, &raw, &mut x);
            let at = out.len();
            out.resize(at + x.len() * to.size(), 0);
            cast::encode_from_f32(*to, &x, &mut out[at..]);
            Ok(())
        }
        Input::View { of, .. } => {
            let s = of.shape();
            let src_rows = s.iter().product::<usize>() / s.last().copied().unwrap_or(1).max(1);
            let row_bytes = row_len * input.storage_dtype().size();
            let src_row_bytes = s.last().copied().unwrap_or(1) * of.storage_dtype().size();
            if src_row_bytes > 0 && row_bytes.is_multiple_of(src_row_bytes) {
                // Each of our rows is a whole number of source rows.
                let k = row_bytes / src_row_bytes;
                read_rows(ckpt, of, first * k, count * k, out)
            } else if row_bytes > 0 && src_row_bytes.is_multiple_of(row_bytes) {
                // Each source row holds a whole number of our rows.
                let k = src_row_bytes / row_bytes;
                let (r0, r1) = (first / k, (first + count).div_ceil(k));
                let mut src = Vec::new();
                read_rows(ckpt, of, r0, r1 - r0, &mut src)?;
                let skip = (first - r0 * k) * row_bytes;
                out.extend_from_slice(&src[skip..skip + count * row_bytes]);
                Ok(())
            } else if let Some(r0) = (first * row_bytes).checked_div(src_row_bytes) {
                // Rows that straddle source rows: read just the source rows our bytes span.
                let (start, end) = (first * row_bytes, (first + count) * row_bytes);
                let r1 = end.div_ceil(src_row_bytes);
                let mut src = Vec::new();
                read_rows(ckpt, of, r0, r1.min(src_rows) - r0, &mut src)?;
                let skip = start - r0 * src_row_bytes;
                out.extend_from_slice(&src[skip..skip + (end - start)]);
                Ok(())
            } else {
                Ok(()) // an empty source: nothing to read
            }
        }
        Input::E8m0 { of } => {
            let Some(ft) = of.storage_dtype().float_type() else {
                return Err(internal("E8M0 exponents of non-float scales".into()));
            };
            let mut raw = Vec::new();
            read_rows(ckpt, of, first, count, &mut raw)?;
            let mut x = vec![0f32; raw.len() / ft.size()];
            cast::decode_to_f32(ft, &raw, &mut x);
            out.extend(x.iter().map(|&v| e8m0_exponent(v)));
            Ok(())
        }
        Input::RepeatRows { of, times, rows } => {
            let s = of.shape();
            let src_rows = s.len().checked_sub(2).map_or(1, |i| s[i]);
            let (times, rows) = ((*times).max(1), (*rows).max(1));
            let mut src = Vec::new();
            let mut r = first;
            while r < first + count {
                // Output rows j..end of one batch come from source rows j/times..(end-1)/times.
                let (batch, j) = (r / rows, r % rows);
                let end = rows.min(j + first + count - r);
                let (s0, s1) = (j / times, (end - 1) / times + 1);
                src.clear();
                read_rows(ckpt, of, batch * src_rows + s0, s1 - s0, &mut src)?;
                let row_bytes = src.len() / (s1 - s0);
                for jj in j..end {
                    let k = jj / times - s0;
                    out.extend_from_slice(&src[k * row_bytes..(k + 1) * row_bytes]);
                }
                r += end - j;
            }
            Ok(())
        }
        Input::Concat { parts } => {
            if shape.len() < 2 {
                // 1-D: the only row is every part whole.
                for part in parts {
                    let rows = part.shape().iter().product::<usize>()
                        / part.shape().last().copied().unwrap_or(1).max(1);
                    read_rows(ckpt, part, 0, rows, out)?;
                }
                return Ok(());
            }
            let mut r = first;
            let mut start = 0;
            for part in parts {
                let s = part.shape();
                let rows = s.iter().product::<usize>() / s.last().copied().unwrap_or(1).max(1);
                let end = start + rows;
                if r < end && r < first + count {
                    let n = end.min(first + count) - r;
                    read_rows(ckpt, part, r - start, n, out)?;
                    r += n;
                }
                start = end;
            }
            Ok(())
        }
        Input::InterleaveHalves { of, block } => {
            let (block, half) = ((*block).max(2), (*block).max(2) / 2);
            for r in first..first + count {
                let (b, j) = (r / block, r % block);
                read_rows(ckpt, of, b * block + (j % 2) * half + j / 2, 1, out)?;
            }
            Ok(())
        }
        Input::AwqWeight { qweight } => {
            let n_in = qweight.shape().first().copied().unwrap_or(0);
            let (c0, nc) = crate::source_quant::awq::word_columns(first, count);
            let cols = read_column_words(ckpt, qweight, c0, nc)?;
            let mut words = vec![0u32; count * n_in / 8];
            crate::source_quant::awq::repack_rows(&cols, n_in, nc, first, count, &mut words);
            out.extend(words.iter().flat_map(|w| w.to_le_bytes()));
            Ok(())
        }
        Input::AwqBiases { qzeros, scales } => {
            let Some(ft) = scales.storage_dtype().float_type() else {
                return Err(internal("AWQ scales are not floats".into()));
            };
            let groups = scales.shape().first().copied().unwrap_or(0);
            // Scales of our rows: columns first..first+count of every group row.
            let raw = read_columns(ckpt, scales, first, count)?;
            let mut s = vec![0f32; groups * count];
            cast::decode_to_f32(ft, &raw, &mut s);
            let (c0, nc) = crate::source_quant::awq::word_columns(first, count);
            let zeros = match qzeros {
                Some(z) => Some(read_column_words(ckpt, z, c0, nc)?),
                None => None,
            };
            let mut b = vec![0f32; count * groups];
            crate::source_quant::awq::biases_rows(
                zeros.as_deref(),
                nc,
                &s,
                groups,
                first,
                count,
                &mut b,
            );
            let at = out.len();
            out.resize(at + b.len() * ft.size(), 0);
            cast::encode_from_f32(ft, &b, &mut out[at..]);
            Ok(())
        }
    }
}

/// Columns `[c0, c0+n)` of every row of a 2-D input, row after row, as raw bytes: one short
/// read per row where the rows are stored, else the whole input read once.
fn read_columns(ckpt: &Checkpoint, of: &Input, c0: usize, n: usize) -> Result<Vec<u8>> {
    let s = of.shape();
    let [rows, cols] = s.as_slice() else {
        return Err(internal(format!("column read of a {}-d tensor", s.len())));
    };
    let (rows, cols) = (*rows, *cols);
    let elem = of.storage_dtype().size();
    let mut out = vec![0u8; rows * n * elem];
    if rows == 0 || n == 0 {
        return Ok(out);
    }
    if row_location(of, 0).is_some() {
        for (i, dst) in out.chunks_exact_mut(n * elem).enumerate() {
            let Some((file, at)) = row_location(of, i) else {
                return Err(internal("column read out of range".into()));
            };
            ckpt.read_at(file, at + (c0 * elem) as u64, dst)?;
        }
    } else {
        let mut all = Vec::new();
        read_rows(ckpt, of, 0, rows, &mut all)?;
        for (i, dst) in out.chunks_exact_mut(n * elem).enumerate() {
            let s = (i * cols + c0) * elem;
            dst.copy_from_slice(&all[s..s + n * elem]);
        }
    }
    Ok(out)
}

/// [`read_columns`] of a 32-bit integer tensor, as little-endian words.
fn read_column_words(ckpt: &Checkpoint, of: &Input, c0: usize, n: usize) -> Result<Vec<u32>> {
    if of.storage_dtype().size() != 4 {
        return Err(internal(format!(
            "packed words stored as {}, not 32-bit",
            of.storage_dtype().as_str()
        )));
    }
    let raw = read_columns(ckpt, of, c0, n)?;
    Ok(raw
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

/// Appends rows `[first, first+count)` of an fp8 block-scaled weight as bfloat16 bytes, reading
/// only those rows and the scale rows covering them.
fn read_fp8_rows(
    ckpt: &Checkpoint,
    weight: &Input,
    scale_inv: &Input,
    block: usize,
    first: usize,
    count: usize,
    out: &mut Vec<u8>,
) -> Result<()> {
    if count == 0 {
        return Ok(());
    }
    let cols = weight.shape().last().copied().unwrap_or(1).max(1);
    let sshape = scale_inv.shape();
    let (srows, scols) = (sshape[0], sshape.get(1).copied().unwrap_or(1));
    let srow = |r: usize| if srows == 1 { 0 } else { r / block };
    let (s0, s1) = (srow(first), srow(first + count - 1) + 1);
    let scales = read_scale_rows(ckpt, scale_inv, s0, s1 - s0)?;
    let codes = read_fp8_codes(ckpt, weight, first, count)?;
    let at = out.len();
    out.resize(at + count * cols * 2, 0);
    for (i, (row, dst)) in codes
        .chunks_exact(cols)
        .zip(out[at..].chunks_exact_mut(cols * 2))
        .enumerate()
    {
        let sr = srow(first + i) - s0;
        let s = &scales[sr * scols..(sr + 1) * scols];
        crate::source_quant::fp8::dequantize_row(row, s, block, dst);
    }
    Ok(())
}

/// The fp8 weight's codes of rows `[first, first+count)`, checked to be E4M3.
fn read_fp8_codes(
    ckpt: &Checkpoint,
    weight: &Input,
    first: usize,
    count: usize,
) -> Result<Vec<u8>> {
    if !matches!(weight.storage_dtype(), DType::F8E4M3 | DType::U8) {
        let name = weight.sources().first().map_or("?", |t| t.name.as_str());
        return Err(Error::Plan(format!(
            "`{name}` has fp8 scales (`*_scale_inv`) but is stored as {}, not F8_E4M3; \
             mlx-lm's `from_fp8` cannot read it either",
            weight.storage_dtype().as_str()
        )));
    }
    let mut codes = Vec::new();
    read_rows(ckpt, weight, first, count, &mut codes)?;
    Ok(codes)
}

/// All values of a (small) float scale tensor as f32.
fn read_scale_rows(
    ckpt: &Checkpoint,
    scale: &Input,
    first: usize,
    count: usize,
) -> Result<Vec<f32>> {
    let mut bytes = Vec::new();
    read_rows(ckpt, scale, first, count, &mut bytes)?;
    let ft = scale.storage_dtype().float_type().ok_or_else(|| {
        internal(format!(
            "fp8 scales are {}, not a float type",
            scale.storage_dtype().as_str()
        ))
    })?;
    let mut values = vec![0f32; bytes.len() / ft.size()];
    cast::decode_to_f32(ft, &bytes, &mut values);
    Ok(values)
}

/// Like [`read_fp8_rows`] for a scale that broadcasts against the weight (per tensor, per
/// expert, per row...): each weight row takes the scale row its index maps to.
fn read_fp8_broadcast_rows(
    ckpt: &Checkpoint,
    weight: &Input,
    scale_inv: &Input,
    first: usize,
    count: usize,
    out: &mut Vec<u8>,
) -> Result<()> {
    if count == 0 {
        return Ok(());
    }
    let ws = weight.shape();
    let cols = ws.last().copied().unwrap_or(1).max(1);
    // The scale's shape right-aligned against the weight's.
    let ss = scale_inv.shape();
    let mut sp = vec![1usize; ws.len().saturating_sub(ss.len())];
    sp.extend(&ss);
    let srows: usize = sp[..sp.len().saturating_sub(1)].iter().product();
    let scols = sp.last().copied().unwrap_or(1);
    let scales = read_scale_rows(ckpt, scale_inv, 0, srows.max(1))?;
    let codes = read_fp8_codes(ckpt, weight, first, count)?;
    let lead = &ws[..ws.len().saturating_sub(1)];
    let at = out.len();
    out.resize(at + count * cols * 2, 0);
    for (i, (row, dst)) in codes
        .chunks_exact(cols)
        .zip(out[at..].chunks_exact_mut(cols * 2))
        .enumerate()
    {
        // Row index → per-axis index → the scale row (broadcast axes pinned to 0).
        let (mut r, mut srow, mut stride) = (first + i, 0, 1);
        for (d, &n) in lead.iter().enumerate().rev() {
            let idx = r % n;
            r /= n;
            let sn = sp[d];
            srow += if sn == 1 { 0 } else { idx * stride };
            stride *= sn;
        }
        let s = &scales[srow * scols..(srow + 1) * scols];
        crate::source_quant::fp8::dequantize_row(row, s, 1, dst);
    }
    Ok(())
}

/// `(log2(v) + 127).astype(uint8)` as mlx computes it on x86: the f32 logarithm, then a
/// truncating conversion to a 32-bit integer of which the low byte is kept (non-finite values
/// and values out of that range give 0, the low byte of the `0x80000000` such conversions
/// return).
fn e8m0_exponent(v: f32) -> u8 {
    let e = v.log2() + 127.0;
    if e.is_finite() && e > i32::MIN as f32 && e < i32::MAX as f32 {
        e as i32 as u8
    } else {
        0
    }
}

/// Where row `row` of `input` starts in the checkpoint (file index, byte offset), for inputs
/// whose rows are rows of one stored tensor (stored, stacked, or row-selected); `None` for
/// anything else.
fn row_location(input: &Input, row: usize) -> Option<(usize, u64)> {
    let shape = input.shape();
    let rows = shape.iter().product::<usize>() / shape.last().copied().unwrap_or(1).max(1);
    if row >= rows {
        return None;
    }
    match input {
        Input::Tensor { tensor } => {
            let row_bytes = tensor.nbytes / rows.max(1) as u64;
            Some((tensor.file, tensor.offset + row_bytes * row as u64))
        }
        Input::Stack { parts } => {
            let per = rows / parts.len().max(1);
            row_location(parts.get(row / per)?, row % per)
        }
        Input::Rows {
            of,
            block,
            start,
            len,
        } => row_location(of, (row / len) * block + start + row % len),
        _ => None,
    }
}

/// `x` (rows `first..` of `row_len` values of float type `ft`) transformed as mlx computes
/// `array op python_float` in the array's dtype: the scalar is rounded to `ft`, the operation is
/// done in f32 and the caller's encode rounds the result to `ft` once.
fn apply_value_op(
    op: &ValueOp,
    ft: FloatType,
    first: usize,
    row_len: usize,
    x: &mut [f32],
) -> Result<()> {
    let round = |v: f32| {
        let mut a = [v];
        cast::round_to(ft, &mut a);
        a[0]
    };
    match op {
        ValueOp::Add { x: c } => {
            let c = round(*c as f32);
            x.iter_mut().for_each(|v| *v += c);
        }
        ValueOp::NormalizeColumns { .. } => {
            return Err(internal(
                "column normalisation streamed before its norms were computed".into(),
            ));
        }
        ValueOp::DivideColumns { by } => {
            for row in x.chunks_mut(row_len.max(1)) {
                row.iter_mut().zip(by).for_each(|(v, d)| *v /= d);
            }
        }
        ValueOp::GateBeta { temperature } => {
            let t = *temperature as f32;
            x.iter_mut().for_each(|v| *v = mlx_sigmoid(*v / t));
        }
        ValueOp::GateAlpha { temperature, eps } => {
            let (t, eps) = (*temperature as f32, *eps as f32);
            x.iter_mut().for_each(|v| {
                let w = *v / t;
                let c = mlx_sigmoid(-w) * (1.0 + mlx_sigmoid(w));
                // mx.clip(c, eps, None) is mx.maximum(c, eps), NaN propagating.
                let c = if c.is_nan() || c >= eps { c } else { eps };
                *v = c.sqrt();
            });
        }
        ValueOp::NormalizeRows { eps } => {
            let eps = *eps as f32;
            for row in x.chunks_mut(row_len.max(1)) {
                let mut sum = 0f32;
                for v in row.iter() {
                    sum += v * v;
                }
                let d = sum.sqrt() + eps;
                row.iter_mut().for_each(|v| *v /= d);
            }
        }
        ValueOp::Mul { segments } => {
            let factor = |chain: &[f64]| {
                let mut f = round(chain.first().copied().unwrap_or(1.0) as f32);
                for c in chain.iter().skip(1) {
                    f = round(f * round(*c as f32));
                }
                f
            };
            let factors: Vec<(usize, f32)> =
                segments.iter().map(|(n, c)| (*n, factor(c))).collect();
            for (i, row) in x.chunks_mut(row_len.max(1)).enumerate() {
                let mut r = first + i;
                let f = factors
                    .iter()
                    .find(|(n, _)| {
                        if r < *n {
                            true
                        } else {
                            r -= n;
                            false
                        }
                    })
                    .map_or(1.0, |(_, f)| *f);
                row.iter_mut().for_each(|v| *v *= f);
            }
        }
    }
    Ok(())
}

/// mlx's CPU `exp` (`backend/cpu/simd/math.h`, scalar build): Cephes' polynomial for 2^frac
/// times 2^int built from the exponent bits; the rounding `floor(x + 0.5)` is done in double.
/// The constants are mlx's literals, rounded to f32 as its C++ does (`1.442695f` is not
/// `LOG2_E` rounded).
#[allow(clippy::approx_constant, clippy::excessive_precision)]
fn mlx_exp(x0: f32) -> f32 {
    if x0.is_nan() {
        return x0;
    }
    if x0 > 88.0 {
        return f32::INFINITY;
    }
    if x0 < -88.0 {
        return 0.0;
    }
    let x = x0 * 1.442_695_f32;
    let ipart = (f64::from(x) + 0.5).floor() as f32;
    let fpart = x - ipart;
    let mut p = 1.535_336_188_319_500e-4_f32;
    for c in [
        1.339_887_440_266_574e-3_f32,
        9.618_437_357_674_640e-3,
        5.550_332_471_162_809e-2,
        2.402_264_791_363_012e-1,
        6.931_472_028_550_421e-1,
        1.0,
    ] {
        p = p.mul_add(fpart, c);
    }
    let bits = ((ipart as i32).wrapping_add(127)).wrapping_shl(23);
    f32::from_bits(bits as u32) * p
}

/// mlx's CPU `sigmoid`: `y = 1 / (1 + exp(|x|))`, then `y` for negative `x`, else `1 - y`.
fn mlx_sigmoid(x: f32) -> f32 {
    let y = 1.0 / (1.0 + mlx_exp(x.abs()));
    if x < 0.0 { y } else { 1.0 - y }
}

/// `np.moveaxis` on raw row-major bytes with `elem`-byte elements.
fn move_axis_bytes(
    src: &[u8],
    shape: &[usize],
    from: usize,
    to: usize,
    elem: usize,
    dst: &mut [u8],
) {
    let mut perm: Vec<usize> = (0..shape.len()).collect();
    let a = perm.remove(from);
    perm.insert(to, a);
    let dst_shape: Vec<usize> = perm.iter().map(|&i| shape[i]).collect();
    let mut src_strides = vec![1usize; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        src_strides[i] = src_strides[i + 1] * shape[i + 1];
    }
    let n: usize = shape.iter().product();
    let mut idx = vec![0usize; shape.len()];
    for d in 0..n {
        let s: usize = idx
            .iter()
            .zip(&perm)
            .map(|(&x, &p)| x * src_strides[p])
            .sum();
        dst[d * elem..(d + 1) * elem].copy_from_slice(&src[s * elem..(s + 1) * elem]);
        for k in (0..idx.len()).rev() {
            idx[k] += 1;
            if idx[k] < dst_shape[k] {
                break;
            }
            idx[k] = 0;
        }
    }
}

fn units(p: &ParamPlan) -> usize {
    p.input.shape().iter().product::<usize>() / unit_len(p)
}

/// Writes all shards of `plan` into `dir`. `progress` receives source bytes as they are done.
pub fn execute(
    plan: &Plan,
    ckpt: &Checkpoint,
    dir: &Path,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<()> {
    execute_measured(plan, ckpt, dir, progress, None)
}

/// [`execute`], also measuring the weight error of quantized parameters into `errors`.
pub fn execute_measured(
    plan: &Plan,
    ckpt: &Checkpoint,
    dir: &Path,
    progress: &(dyn Fn(u64) + Sync),
    errors: Option<&WeightErrors>,
) -> Result<()> {
    // Declared before the writers, so that on an early return they drop first (see WritePool).
    let pool = WritePool::start(plan.shards.iter().map(|s| s.data_len()).sum())?;
    let writers = plan
        .shards
        .iter()
        .map(|s| ShardWriter::create(&dir.join(&s.file_name), s, &pool))
        .collect::<Result<Vec<_>>>()?;

    let resolved = resolve_column_norms(plan, ckpt)?;
    let plan = resolved.as_ref().unwrap_or(plan);
    let queue = JobQueue::new(plan);
    let col_weights = column_weights(plan, ckpt)?;
    let failed = AtomicBool::new(false);
    let read_ahead = ReadAhead::new();
    // Every worker takes the next block in file order, so the two cores read one sequential
    // stream (kernel readahead sees it) instead of two distant halves.
    let results = rayon::broadcast(|_| -> Result<()> {
        let mut scratch = Scratch::default();
        while !failed.load(Ordering::Relaxed) {
            let Some(job) = queue.next() else {
                break;
            };
            read_ahead.advance(&queue, plan, ckpt, job.position);
            let p = &plan.params[job.param];
            let cw = col_weights[job.param].as_deref();
            if let Err(e) = run_job(plan, p, &job, ckpt, &writers, &mut scratch, errors, cw) {
                failed.store(true, Ordering::Relaxed);
                return Err(e);
            }
            progress(scale(source_bytes(p), job.count as u64, units(p) as u64));
        }
        Ok(())
    });
    let work = results.into_iter().collect::<Result<()>>();
    // A write error is the cause of any worker error that follows it, so it goes first.
    pool.finish(writers, work.is_ok())?;
    work
}

/// The plan with every top-level [`ValueOp::NormalizeColumns`] resolved to
/// [`ValueOp::DivideColumns`] (one read of the tensor, in bounded row chunks); `None` when the
/// plan has none.
fn resolve_column_norms(plan: &Plan, ckpt: &Checkpoint) -> Result<Option<Plan>> {
    let wanted = |p: &ParamPlan| {
        matches!(
            &p.input,
            Input::Map {
                op: ValueOp::NormalizeColumns { .. },
                ..
            }
        )
    };
    if !plan.params.iter().any(wanted) {
        return Ok(None);
    }
    const CHUNK_ROWS: usize = 256;
    let mut plan = plan.clone();
    for p in plan.params.iter_mut().filter(|p| wanted(p)) {
        let Input::Map { of, op } = &mut p.input else {
            continue;
        };
        let ValueOp::NormalizeColumns { eps } = *op else {
            continue;
        };
        let Some(ft) = of.storage_dtype().float_type() else {
            return Err(internal(format!("column norms of non-float `{}`", p.name)));
        };
        let shape = of.shape();
        let cols = shape.last().copied().unwrap_or(1).max(1);
        let rows = shape.iter().product::<usize>() / cols;
        let mut sums = vec![0f32; cols];
        let (mut raw, mut x) = (Vec::new(), Vec::new());
        for first in (0..rows).step_by(CHUNK_ROWS) {
            raw.clear();
            read_rows(ckpt, of, first, CHUNK_ROWS.min(rows - first), &mut raw)?;
            x.resize(raw.len() / ft.size(), 0f32);
            cast::decode_to_f32(ft, &raw, &mut x);
            for row in x.chunks_exact(cols) {
                sums.iter_mut().zip(row).for_each(|(s, v)| *s += v * v);
            }
        }
        let eps = eps as f32;
        let by = sums.into_iter().map(|s| s.sqrt() + eps).collect();
        *op = ValueOp::DivideColumns { by };
    }
    Ok(Some(plan))
}

/// Per parameter, the per-column error weights of quantization methods that use them
/// ([`importance`]): read from the norm in front of each layer (a few KB each).
fn column_weights(plan: &Plan, ckpt: &Checkpoint) -> Result<Vec<Option<Vec<f32>>>> {
    if !plan.quant_method.uses_column_weights() {
        return Ok(vec![None; plan.params.len()]);
    }
    let by_name: std::collections::HashMap<&str, &ParamPlan> =
        plan.params.iter().map(|p| (p.name.as_str(), p)).collect();
    let has_lm_head = plan
        .params
        .iter()
        .any(|p| p.name.ends_with("lm_head.weight"));
    // Layers fed by others read those whole (v_proj, gate/up_proj): one parameter per task.
    use rayon::iter::{IntoParallelRefIterator, ParallelIterator};
    plan.params
        .par_iter()
        .map(|p| {
            let Op::Quantize { mode, bits, .. } = p.op else {
                return Ok(None);
            };
            if mode.fp().is_some() {
                return Ok(None);
            }
            let Some(norm) = importance::norm_for(&p.name, has_lm_head, plan.arch)
                .and_then(|n| by_name.get(n.as_str()).copied())
            else {
                return fed_weights(plan, ckpt, &by_name, p, bits);
            };
            if norm.input.shape() != [p.row_len()] {
                return Ok(None);
            }
            Ok(importance::weights_from_gains(
                &param_values(norm, ckpt)?,
                bits,
            ))
        })
        .collect()
}

/// Column weights of a layer without a norm in front, from the layers feeding it
/// ([`importance::inputs_of`]).
fn fed_weights(
    plan: &Plan,
    ckpt: &Checkpoint,
    by_name: &std::collections::HashMap<&str, &ParamPlan>,
    p: &ParamPlan,
    bits: u32,
) -> Result<Option<Vec<f32>>> {
    let Some(feeder) = importance::inputs_of(&p.name, plan.arch) else {
        return Ok(None);
    };
    let get = |n: &str| by_name.get(n).copied();
    let variances = |w: &ParamPlan, norm: &ParamPlan| -> Result<Option<Vec<f64>>> {
        if norm.input.shape().len() != 1 || w.row_len() != norm.input.shape()[0] {
            return Ok(None);
        }
        let gains = param_values(norm, ckpt)?;
        output_variances(w, &gains, ckpt).map(Some)
    };
    let weights = match feeder {
        importance::Feeder::Values { v_proj, norm } => {
            let (Some(v), Some(norm)) = (get(&v_proj), get(&norm)) else {
                return Ok(None);
            };
            let cfg: serde_json::Value =
                serde_json::from_str(&plan.config_text).unwrap_or_default();
            let heads = cfg["num_attention_heads"].as_u64().unwrap_or(0) as usize;
            let head_dim = cfg["head_dim"]
                .as_u64()
                .map(|h| h as usize)
                .unwrap_or_else(|| p.row_len() / heads.max(1));
            let Some(var) = variances(v, norm)? else {
                return Ok(None);
            };
            importance::values_weights(&var, heads, head_dim, bits)
        }
        importance::Feeder::GatedMlp {
            gate_proj,
            up_proj,
            norm,
        } => {
            let (Some(g), Some(u), Some(norm)) = (get(&gate_proj), get(&up_proj), get(&norm))
            else {
                return Ok(None);
            };
            let (Some(gv), Some(uv)) = (variances(g, norm)?, variances(u, norm)?) else {
                return Ok(None);
            };
            importance::gated_weights(&gv, &uv, bits)
        }
    };
    Ok(weights.filter(|w| w.len() == p.row_len()))
}

/// Reads `count` units starting at `first` of a stored tensor with `units` units in all.
fn read_units(
    ckpt: &Checkpoint,
    t: &SourceTensor,
    units: usize,
    first: usize,
    count: usize,
    buf: &mut Vec<u8>,
) -> Result<()> {
    let unit_bytes = if units == 0 {
        0
    } else {
        t.nbytes / units as u64
    };
    buf.resize((unit_bytes * count as u64) as usize, 0);
    ckpt.read_at(t.file, t.offset + unit_bytes * first as u64, buf)
}

/// Fills `s.x` with the float values of units `[first, first+count)` of the parameter's input,
/// holding values of `input.float_type()`.
fn load_values(p: &ParamPlan, job: &Job, ckpt: &Checkpoint, s: &mut Scratch) -> Result<()> {
    let n_units = units(p);
    let n = job.count * unit_len(p);
    s.x.resize(n, 0.0);
    match &p.input {
        Input::Tensor { .. }
        | Input::Stack { .. }
        | Input::Rows { .. }
        | Input::MoveAxis { .. }
        | Input::Reshape { .. }
        | Input::Gguf { .. }
        | Input::Fp8Blocks { .. }
        | Input::Transpose { .. }
        | Input::Map { .. }
        | Input::Cast { .. }
        | Input::View { .. }
        | Input::AwqWeight { .. }
        | Input::AwqBiases { .. }
        | Input::E8m0 { .. }
        | Input::RepeatRows { .. }
        | Input::Concat { .. }
        | Input::InterleaveHalves { .. }
        | Input::QuantizedPart { .. } => {
            let Some(ft) = p.input.storage_dtype().float_type() else {
                return Err(internal(format!("`{}` is not a float tensor", p.name)));
            };
            read_input(ckpt, p, job.first, job.count, &mut s.src)?;
            cast::decode_to_f32(ft, &s.src, &mut s.x);
        }
        Input::Quantized {
            weight,
            scales,
            biases,
            global_scale,
            mode,
            group_size,
            bits,
            float,
        } => {
            let (first, count) = unit_rows(p, job.first, job.count);
            match mode.fp() {
                None => dequantize_affine_rows(
                    ckpt,
                    &p.name,
                    (weight, scales, biases.as_deref()),
                    (*group_size, *bits, *float),
                    (first, count),
                    s,
                )?,
                Some(mode) => {
                    read_words(ckpt, weight, first, count, s)?;
                    s.scale_codes.clear();
                    read_rows(ckpt, scales, first, count, &mut s.scale_codes)?;
                    match global_scale {
                        None => {
                            fp::dequantize(mode, *float, &s.words, &s.scale_codes, None, &mut s.x)
                        }
                        Some(g) => {
                            // One scale per leading index (expert); rows of one expert are
                            // contiguous, so dequantize in runs of rows sharing a scale.
                            let values = read_floats(ckpt, g)?;
                            let per = (n_units / values.len().max(1)).max(1);
                            let k = p.row_len();
                            let (wpr, gpr) = (k * *bits as usize / 32, k / group_size);
                            let mut r = first;
                            while r < first + count {
                                let end = ((r / per + 1) * per).min(first + count);
                                let (a, b) = (r - first, end - first);
                                let gval = values.get(r / per).copied();
                                fp::dequantize(
                                    mode,
                                    *float,
                                    &s.words[a * wpr..b * wpr],
                                    &s.scale_codes[a * gpr..b * gpr],
                                    gval,
                                    &mut s.x[a * k..b * k],
                                );
                                r = end;
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// Rows `[first, first+count)` of a packed weight as words, into `s.words` (`s.src` is
/// clobbered).
fn read_words(
    ckpt: &Checkpoint,
    weight: &Input,
    first: usize,
    count: usize,
    s: &mut Scratch,
) -> Result<()> {
    s.src.clear();
    read_rows(ckpt, weight, first, count, &mut s.src)?;
    s.words.resize(s.src.len() / 4, 0);
    for (w, b) in s.words.iter_mut().zip(s.src.chunks_exact(4)) {
        *w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    }
    Ok(())
}

/// `mx.dequantize` (affine) of rows `[first, first+count)` of a stored quantized layer, into
/// `s.x` (already sized to the rows' values), computing in `float`.
fn dequantize_affine_rows(
    ckpt: &Checkpoint,
    name: &str,
    (weight, scales, biases): (&Input, &Input, Option<&Input>),
    (group_size, bits, float): (usize, u32, FloatType),
    (first, count): (usize, usize),
    s: &mut Scratch,
) -> Result<()> {
    read_words(ckpt, weight, first, count, s)?;
    let groups = s.x.len() / group_size;
    let load = |t: &Input, out: &mut Vec<f32>, buf: &mut Vec<u8>| -> Result<()> {
        let ft = t
            .storage_dtype()
            .float_type()
            .ok_or_else(|| internal(format!("scales/biases of `{name}` are not float")))?;
        buf.clear();
        read_rows(ckpt, t, first, count, buf)?;
        out.resize(groups, 0.0);
        cast::decode_to_f32(ft, buf, out);
        // mlx-lm casts scales/biases to the model dtype before dequantizing.
        if ft != float {
            cast::round_to(float, out);
        }
        Ok(())
    };
    load(scales, &mut s.scales, &mut s.src)?;
    match biases {
        Some(b) => load(b, &mut s.biases, &mut s.src)?,
        None => s.biases.clear(),
    }
    if s.biases.len() != groups {
        return Err(internal(format!("`{name}` has no biases")));
    }
    affine::dequantize(
        &s.words, &s.scales, &s.biases, group_size, bits, float, &mut s.x,
    );
    Ok(())
}

/// All float values of one parameter as the model sees them (stored values decoded, MLX-quantized
/// layers dequantized with our kernels), read whole: what `hf2mlx eval` feeds its forward pass.
pub fn param_values(p: &ParamPlan, ckpt: &Checkpoint) -> Result<Vec<f32>> {
    let job = Job {
        param: 0,
        first: 0,
        count: units(p),
        position: 0,
    };
    let mut s = Scratch::default();
    load_values(p, &job, ckpt, &mut s)?;
    Ok(s.x)
}

/// [`importance::output_variances`] of `w`, read in blocks of rows: the feeding layers are the
/// model's largest (gate/up_proj), and memory must not grow with them.
fn output_variances(w: &ParamPlan, gains: &[f32], ckpt: &Checkpoint) -> Result<Vec<f64>> {
    if unit_len(w) != w.row_len() {
        return Ok(importance::output_variances(&param_values(w, ckpt)?, gains));
    }
    let (rows, per_block) = (units(w), (BLOCK_ELEMS / w.row_len().max(1)).max(1));
    let mut out = Vec::with_capacity(rows);
    let mut s = Scratch::default();
    for first in (0..rows).step_by(per_block) {
        let job = Job {
            param: 0,
            first,
            count: per_block.min(rows - first),
            position: 0,
        };
        load_values(w, &job, ckpt, &mut s)?;
        out.extend(importance::output_variances(&s.x, gains));
    }
    Ok(out)
}

/// A small float tensor (e.g. a global scale) as f32 values.
fn read_floats(ckpt: &Checkpoint, t: &Input) -> Result<Vec<f32>> {
    let ft = t
        .storage_dtype()
        .float_type()
        .ok_or_else(|| internal("a global scale is not a float tensor".into()))?;
    let s = t.shape();
    let rows = s.iter().product::<usize>() / s.last().copied().unwrap_or(1).max(1);
    let mut buf = Vec::new();
    read_rows(ckpt, t, 0, rows, &mut buf)?;
    let mut out = vec![0f32; buf.len() / ft.size()];
    cast::decode_to_f32(ft, &buf, &mut out);
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn run_job(
    plan: &Plan,
    p: &ParamPlan,
    job: &Job,
    ckpt: &Checkpoint,
    writers: &[ShardWriter],
    s: &mut Scratch,
    errors: Option<&WeightErrors>,
    col_weight: Option<&[f32]>,
) -> Result<()> {
    let slot = |k: usize| -> Result<(&ShardWriter, &TensorSlot)> {
        let pl = p
            .outputs
            .get(k)
            .ok_or_else(|| internal(format!("`{}` lacks output {k}", p.name)))?;
        Ok((&writers[pl.shard], &plan.shards[pl.shard].tensors[pl.slot]))
    };
    let unit = unit_len(p);
    match p.op {
        Op::Copy => {
            read_input(ckpt, p, job.first, job.count, &mut s.src)?;
            let (w, t) = slot(0)?;
            let at = (unit * p.input.storage_dtype().size() * job.first) as u64;
            check_bounds(t, at, s.src.len())?;
            w.write_at(t.offset, at, &s.src)
        }
        Op::Float { to } => {
            load_values(p, job, ckpt, s)?;
            let (w, t) = slot(0)?;
            write_floats(
                (w, t),
                (job.first * unit * to.size()) as u64,
                to,
                &s.x,
                &mut s.out,
            )
        }
        Op::Quantize {
            float,
            mode,
            group_size,
            bits,
        } => {
            load_values(p, job, ckpt, s)?;
            if p.input.float_type() != Some(float) {
                cast::round_to(float, &mut s.x);
            }
            let k = p.row_len();
            let n = s.x.len();
            let ngroups = n / group_size;
            s.words.resize(n * bits as usize / 32, 0);
            let row_words = (k * bits as usize / 32) as u64 * 4;
            let row_groups = (k / group_size) as u64;
            let row0 = job.first as u64;
            match mode.fp() {
                None => {
                    s.scales.resize(ngroups, 0.0);
                    s.biases.resize(ngroups, 0.0);
                    plan.quant_method.quantize_affine(
                        &s.x,
                        group_size,
                        bits,
                        float,
                        col_weight,
                        &mut s.words,
                        &mut s.scales,
                        &mut s.biases,
                    );
                    if let Some(e) = errors {
                        e.affine_block(
                            job.param, job.first, k, &s.x, &s.words, &s.scales, &s.biases,
                            group_size, bits, float,
                        );
                    }
                    write_words(slot(0)?, row0 * row_words, &s.words, &mut s.out)?;
                    let fs = float.size() as u64;
                    write_floats(
                        slot(1)?,
                        row0 * row_groups * fs,
                        float,
                        &s.scales,
                        &mut s.out,
                    )?;
                    write_floats(
                        slot(2)?,
                        row0 * row_groups * fs,
                        float,
                        &s.biases,
                        &mut s.out,
                    )
                }
                Some(fp_mode) => {
                    s.scale_codes.resize(ngroups, 0);
                    fp::quantize(fp_mode, float, &s.x, None, &mut s.words, &mut s.scale_codes);
                    if let Some(e) = errors {
                        e.fp_block(
                            job.param,
                            job.first,
                            k,
                            &s.x,
                            &s.words,
                            &s.scale_codes,
                            fp_mode,
                            float,
                        );
                    }
                    write_words(slot(0)?, row0 * row_words, &s.words, &mut s.out)?;
                    let (w, t) = slot(1)?;
                    check_bounds(t, row0 * row_groups, s.scale_codes.len())?;
                    w.write_at(t.offset, row0 * row_groups, &s.scale_codes)
                }
            }
        }
    }
}

type Slot<'a> = (&'a ShardWriter, &'a TensorSlot);

fn write_words((w, t): Slot, at: u64, words: &[u32], buf: &mut Vec<u8>) -> Result<()> {
    buf.resize(words.len() * 4, 0);
    for (b, x) in buf.chunks_exact_mut(4).zip(words) {
        b.copy_from_slice(&x.to_le_bytes());
    }
    check_bounds(t, at, buf.len())?;
    w.write_at(t.offset, at, buf)
}

fn write_floats((w, t): Slot, at: u64, ft: FloatType, x: &[f32], buf: &mut Vec<u8>) -> Result<()> {
    debug_assert_eq!(t.dtype, DType::from_float(ft));
    buf.resize(x.len() * ft.size(), 0);
    cast::encode_from_f32(ft, x, buf);
    check_bounds(t, at, buf.len())?;
    w.write_at(t.offset, at, buf)
}

fn internal(msg: String) -> Error {
    Error::Plan(format!("internal error: {msg}"))
}

/// A write past its slot would corrupt the neighbour: that is a planner bug, never user input.
fn check_bounds(t: &TensorSlot, at: u64, len: usize) -> Result<()> {
    if at + len as u64 > t.nbytes {
        return Err(internal(format!(
            "write of {len} bytes at {at} overflows tensor `{}` ({} bytes)",
            t.name, t.nbytes
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A checkpoint with one U8 tensor `t` of `shape`, holding 0, 1, 2, ….
    fn byte_checkpoint(dir: &Path, shape: [usize; 2]) -> Checkpoint {
        let n = shape[0] * shape[1];
        let header = format!(
            r#"{{"t":{{"dtype":"U8","shape":[{},{}],"data_offsets":[0,{n}]}}}}"#,
            shape[0], shape[1]
        );
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend((0..n).map(|i| i as u8));
        let path = dir.join("model.safetensors");
        std::fs::write(&path, bytes).unwrap();
        Checkpoint::open(&[path]).unwrap()
    }

    /// Read-ahead advises every source byte exactly once, in pieces the kernel honours, never
    /// more than [`READ_AHEAD`] ahead of the workers and never less than that minus one step.
    #[test]
    fn read_ahead_covers_the_stream_once_and_stays_ahead() {
        let t = |file: usize, offset: u64, nbytes: u64| SourceTensor {
            name: String::new(),
            dtype: DType::BF16,
            shape: vec![],
            file,
            offset,
            nbytes,
        };
        const MIB: u64 = 1 << 20;
        // Entry 0: one tensor; entry 1: a weight and its scales in another file; entry 2: an
        // empty tensor; entry 3: a tensor larger than the read-ahead.
        let entries = [
            vec![t(0, 100, 10 * MIB + 7)],
            vec![t(1, 0, 8 * MIB), t(1, 9 * MIB, MIB / 3)],
            vec![t(0, 20 * MIB, 0)],
            vec![t(0, 30 * MIB, 150 * MIB + 1)],
        ];
        let mut first_byte = vec![0];
        for e in &entries {
            let last = *first_byte.last().unwrap();
            first_byte.push(last + e.iter().map(|t| t.nbytes).sum::<u64>());
        }
        let total = *first_byte.last().unwrap();
        let ra = ReadAhead::new();
        let mut advised: Vec<(usize, u64, u64)> = Vec::new();
        let mut position = 0;
        while position < total {
            let before = advised.len();
            ra.advance_with(
                &first_byte,
                |k| entries[k].iter().collect(),
                position,
                |f, o, l| advised.push((f, o, l)),
            );
            let done = *ra.advised.lock().unwrap();
            assert!(done <= (position + READ_AHEAD).min(total));
            assert!(done + READ_AHEAD_STEP >= (position + READ_AHEAD).min(total));
            assert!(
                advised[before..]
                    .iter()
                    .all(|&(_, _, l)| l > 0 && l <= ADVICE_PIECE)
            );
            position += 128 << 10;
        }
        // Exactly the source bytes, each once.
        advised.sort();
        let mut want: Vec<(usize, u64, u64)> = entries
            .iter()
            .flatten()
            .filter(|t| t.nbytes > 0)
            .map(|t| (t.file, t.offset, t.nbytes))
            .collect();
        want.sort();
        let mut merged: Vec<(usize, u64, u64)> = Vec::new();
        for (f, o, l) in advised {
            match merged.last_mut() {
                Some((mf, mo, ml)) if *mf == f && *mo + *ml == o => *ml += l,
                _ => merged.push((f, o, l)),
            }
        }
        assert_eq!(merged, want);
    }

    /// Views whose rows straddle the source's rows read only the source rows they span and
    /// return exactly their bytes.
    #[test]
    fn views_read_the_rows_they_span() {
        let dir = tempfile::tempdir().unwrap();
        let ckpt = byte_checkpoint(dir.path(), [6, 5]);
        let of = Input::Tensor {
            tensor: ckpt.tensors[0].clone(),
        };
        for (shape, first, count) in [
            (vec![3, 10], 1, 2), // each view row spans two source rows
            (vec![10, 3], 3, 4), // view rows straddle source rows
            (vec![15, 2], 7, 8),
            (vec![2, 15], 0, 2),
        ] {
            let row = shape[1];
            let view = Input::View {
                of: Box::new(of.clone()),
                dtype: DType::U8,
                shape,
            };
            let mut out = Vec::new();
            read_rows(&ckpt, &view, first, count, &mut out).unwrap();
            let want: Vec<u8> = (first * row..(first + count) * row)
                .map(|i| i as u8)
                .collect();
            assert_eq!(out, want, "rows {first}..+{count} of {row}");
        }
    }
}

#[cfg(test)]
mod e8m0_tests {
    use super::{e8m0_exponent, mlx_sigmoid};

    /// `mx.sigmoid` on mlx 0.32.4's CPU (x86): (input bits, output bits), from the oracle.
    #[test]
    fn sigmoid_matches_mlx_bit_for_bit() {
        let cases: [(u32, u32); 19] = [
            (0xc2c80000, 0x00000000),
            (0xc2b10000, 0x00000000),
            (0xc1a00000, 0x310da432),
            (0xc0533333, 0x3d11b31a),
            (0xbf800000, 0x3e89b2b1),
            (0xbebd70a4, 0x3ed12c4a),
            (0xba83126f, 0x3effdf3c),
            (0x00000000, 0x3f000000),
            (0x3951b717, 0x3f000347),
            (0x3d4ccccd, 0x3f033307),
            (0x3f000000, 0x3f1f597e),
            (0x3f316f00, 0x3f2aa9fa),
            (0x3f800000, 0x3f3b26a8),
            (0x40533333, 0x3f76e4ce),
            (0x41200000, 0x3f7ffd06),
            (0x418c0000, 0x3f800000),
            (0x42200000, 0x3f800000),
            (0x42afcccd, 0x3f800000),
            (0x42b10000, 0x3f800000),
        ];
        for (x, y) in cases {
            let got = mlx_sigmoid(f32::from_bits(x));
            assert_eq!(got.to_bits(), y, "sigmoid({})", f32::from_bits(x));
        }
    }

    #[test]
    fn exponents_of_powers_of_two_and_mlx_edge_cases() {
        assert_eq!(e8m0_exponent(1.0), 127);
        assert_eq!(e8m0_exponent(2f32.powi(-10)), 117);
        assert_eq!(e8m0_exponent(2f32.powi(127)), 254);
        // Non-powers truncate toward zero: log2(3) + 127 = 128.58.
        assert_eq!(e8m0_exponent(3.0), 128);
        // Below 2^-127 the sum is negative and wraps modulo 256 (mlx: 2^-130 gives 253).
        assert_eq!(e8m0_exponent(2f32.powi(-130)), 253);
        // log2(0) = -inf, log2(-1) = NaN, log2(inf) = inf: mlx gives 0 for all three.
        for v in [0.0, -1.0, f32::INFINITY, f32::NAN] {
            assert_eq!(e8m0_exponent(v), 0, "{v}");
        }
    }
}
