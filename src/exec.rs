//! Runs a [`Plan`]: every parameter is cut into blocks of whole rows (quantization groups run
//! along the last axis, so rows are independent), blocks are processed on all cores, each
//! reading its source bytes with `pread` and writing its results with `pwrite` straight into the
//! pre-sized output shards. Memory is a few block buffers per thread, whatever the model size.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use crate::cast::{self, FloatType};
use crate::error::{Error, Result};
use crate::plan::{Op, ParamPlan, Plan};
use crate::quant::{Mode, affine, fp};
use crate::safetensors::{Checkpoint, ShardWriter};

/// Target elements per block: 2 Mi elements = 4 MiB of bf16 input, 8 MiB as f32.
const BLOCK_ELEMS: usize = 2 << 20;

/// A contiguous run of rows of one parameter.
struct Job {
    param: usize,
    row0: usize,
    rows: usize,
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

/// Writes all shards of `plan` into `dir`. `progress` receives source bytes as they are done.
pub fn execute(
    plan: &Plan,
    ckpt: &Checkpoint,
    dir: &Path,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<()> {
    let writers = plan
        .shards
        .iter()
        .map(|s| ShardWriter::create(&dir.join(&s.file_name), s))
        .collect::<Result<Vec<_>>>()?;

    let mut jobs = Vec::new();
    for (i, p) in plan.params.iter().enumerate() {
        // Copies and casts are element-wise: stream them in flat chunks, treating each element
        // as a row. Quantization needs whole rows.
        let (unit, units) = match p.op {
            Op::Quantize { .. } => (p.row_len(), p.rows()),
            _ => (1, p.source.shape.iter().product()),
        };
        let per_block = (BLOCK_ELEMS / unit).max(1);
        let mut r = 0;
        while r < units {
            let n = per_block.min(units - r);
            jobs.push(Job {
                param: i,
                row0: r,
                rows: n,
            });
            r += n;
        }
    }
    // Read in file order: sequential I/O on the source, whatever the module order is.
    jobs.sort_by_key(|j| {
        let s = &plan.params[j.param].source;
        (s.file, s.offset, j.row0)
    });

    let failed = AtomicBool::new(false);
    jobs.par_iter()
        .try_for_each_init(Scratch::default, |scratch, job| {
            if failed.load(Ordering::Relaxed) {
                return Ok(());
            }
            let p = &plan.params[job.param];
            let r = run_job(plan, p, job, ckpt, &writers, scratch);
            if r.is_err() {
                failed.store(true, Ordering::Relaxed);
            } else {
                let unit_bytes = p.source.nbytes / units_of(p).max(1) as u64;
                progress(unit_bytes * job.rows as u64);
            }
            r
        })?;

    for w in writers {
        w.finish()?;
    }
    Ok(())
}

fn units_of(p: &ParamPlan) -> usize {
    match p.op {
        Op::Quantize { .. } => p.rows(),
        _ => p.source.shape.iter().product(),
    }
}

fn run_job(
    plan: &Plan,
    p: &ParamPlan,
    job: &Job,
    ckpt: &Checkpoint,
    writers: &[ShardWriter],
    s: &mut Scratch,
) -> Result<()> {
    let units = units_of(p);
    let unit_bytes = if units == 0 {
        0
    } else {
        p.source.nbytes / units as u64
    };
    let src_off = p.source.offset + unit_bytes * job.row0 as u64;
    let src_len = (unit_bytes * job.rows as u64) as usize;
    s.src.resize(src_len, 0);
    ckpt.read_at(p.source.file, src_off, &mut s.src)?;

    let slot = |k: usize| {
        let pl = p.outputs[k];
        (&writers[pl.shard], &plan.shards[pl.shard].tensors[pl.slot])
    };
    match p.op {
        Op::Copy => {
            let (w, t) = slot(0);
            w.write_at(t.offset, unit_bytes * job.row0 as u64, &s.src)
        }
        Op::Cast { from, to } => {
            let (w, t) = slot(0);
            let n = job.rows;
            s.out.resize(n * to.size(), 0);
            cast::convert_bytes(from, to, &s.src, &mut s.out);
            w.write_at(t.offset, (job.row0 * to.size()) as u64, &s.out)
        }
        Op::Quantize {
            from,
            float,
            mode,
            group_size,
            bits,
        } => {
            let k = p.row_len();
            let n = job.rows * k;
            s.x.resize(n, 0.0);
            cast::decode_to_f32(from, &s.src, &mut s.x);
            if from != float {
                cast::round_to(float, &mut s.x);
            }
            let nwords = n * bits as usize / 32;
            let ngroups = n / group_size;
            s.words.resize(nwords, 0);
            let row_words = (k * bits as usize / 32) as u64 * 4;
            let row_groups = (k / group_size) as u64;
            match mode {
                Mode::Affine => {
                    s.scales.resize(ngroups, 0.0);
                    s.biases.resize(ngroups, 0.0);
                    affine::quantize(
                        &s.x,
                        group_size,
                        bits,
                        &mut s.words,
                        &mut s.scales,
                        &mut s.biases,
                    );
                    write_words(slot(0), job.row0 as u64 * row_words, &s.words, &mut s.out)?;
                    let fs = float.size() as u64;
                    write_floats(
                        slot(1),
                        job.row0 as u64 * row_groups * fs,
                        float,
                        &s.scales,
                        &mut s.out,
                    )?;
                    write_floats(
                        slot(2),
                        job.row0 as u64 * row_groups * fs,
                        float,
                        &s.biases,
                        &mut s.out,
                    )
                }
                fp_mode => {
                    let m = match fp_mode {
                        Mode::Mxfp4 => fp::FpMode::Mxfp4,
                        Mode::Nvfp4 => fp::FpMode::Nvfp4,
                        _ => fp::FpMode::Mxfp8,
                    };
                    s.scale_codes.resize(ngroups, 0);
                    fp::quantize(m, float, &s.x, None, &mut s.words, &mut s.scale_codes);
                    write_words(slot(0), job.row0 as u64 * row_words, &s.words, &mut s.out)?;
                    let (w, t) = slot(1);
                    w.write_at(t.offset, job.row0 as u64 * row_groups, &s.scale_codes)
                }
            }
        }
    }
}

type Slot<'a> = (&'a ShardWriter, &'a crate::safetensors::TensorSlot);

fn write_words((w, t): Slot, at: u64, words: &[u32], buf: &mut Vec<u8>) -> Result<()> {
    buf.resize(words.len() * 4, 0);
    for (b, x) in buf.chunks_exact_mut(4).zip(words) {
        b.copy_from_slice(&x.to_le_bytes());
    }
    check_bounds(t, at, buf.len())?;
    w.write_at(t.offset, at, buf)
}

fn write_floats((w, t): Slot, at: u64, ft: FloatType, x: &[f32], buf: &mut Vec<u8>) -> Result<()> {
    buf.resize(x.len() * ft.size(), 0);
    cast::encode_from_f32(ft, x, buf);
    check_bounds(t, at, buf.len())?;
    w.write_at(t.offset, at, buf)
}

/// A write past its slot would corrupt the neighbour: that is a planner bug, never user input.
fn check_bounds(t: &crate::safetensors::TensorSlot, at: u64, len: usize) -> Result<()> {
    if at + len as u64 > t.nbytes {
        return Err(Error::Plan(format!(
            "internal error: write of {len} bytes at {at} overflows tensor `{}` ({} bytes)",
            t.name, t.nbytes
        )));
    }
    Ok(())
}
