//! `--quant-method clipfit`: a data-free affine quantizer in the MLX format (`w ≈ code * scale +
//! bias`, codes `0..2^bits-1`), so mlx-lm loads the output unchanged.
//!
//! Per group, with every error measured on the values as stored (scale and bias rounded to the
//! weight dtype, codes the nearest for them):
//! 1. **Grid search.** mlx's own RTN grid, and the group's `[min, max]` shrunk about its centre by
//!    `1 - 0.04 i` (`i = 0..=3`); the grid with the smallest weighted squared error is kept.
//!    Since RTN's grid is a candidate and codes are re-chosen for the stored values, the result
//!    is never worse than mlx's RTN in that error.
//!    Then, where the group's values come from an earlier quantization (a GGUF, AWQ/GPTQ or QAT
//!    source), grids on its lattice: see [`detect_lattice`] and [`lattice_grid`]. Such groups
//!    are re-quantized nearly losslessly when that lattice has no more levels than the codes.
//! 2. **Zero refit** (the half-quadratic step of HQQ, which for trained weights' magnitudes
//!    reduces to this): with the scale fixed, the bias is moved to the weighted least-squares
//!    value for the current codes, three times in a chain starting from the best grid; every
//!    step is judged like a grid and kept only if it lowers the error. The pass that measures a
//!    candidate's error also yields the sum the next refit needs, so a refit costs one pass.
//!
//! The error weights are per input column ([`column weights`](super::importance)): data-free
//! estimates of each input's mean square (the RMSNorm gain in front of the layer, or the
//! layers feeding it), emphasised at 3 bits and below ([`emphasis`](super::importance::emphasis)).
//! Measured on real models (bench/quality.sh) this is what makes the method lower the output
//! distribution's KL rather than only the weight error; the scale's own least-squares refit, by
//! contrast, shrank reconstructions and raised KL.
//!
//! Speed: groups are fitted [`BATCH`] at a time, one per SIMD lane (the batch is transposed
//! first, the column weights once per call), so every pass over a group is straight vector code
//! without horizontal sums; errors are summed in code units (one multiply less per element),
//! with fused multiply-adds on targets that have them; codes are read from the rounding's bit
//! pattern and packed with the width fixed at compile time.
//!
//! Groups holding NaN or ±Inf, constant groups, and 1-bit are quantized by mlx's RTN kernel
//! unchanged, so non-finite inputs give exactly RTN's output and no finite input yields NaN/Inf.

use super::check_lengths;
use crate::cast::{FloatType, round_one};
use crate::quant::{affine, pack};

/// Shrink factors tried: `1 - CLIP_STEP * i` for `i` in `0..=CLIP_STEPS`.
const CLIP_STEPS: u32 = 3;
const CLIP_STEP: f32 = 0.04;
/// Bias refits after the grid search (a chain, each judged as a candidate).
const ZERO_REFITS: u32 = 3;
/// Groups fitted together, one per lane: one AVX-512 register of f32 (two AVX2 or four NEON ones).
const BATCH: usize = 16;
/// 2^23: for v in [0, 2^23), `(v + 2^23) - 2^23` is `rint(v)` (ties to even).
const MAGIC: f32 = 8_388_608.0;
/// The largest group size the kernel is compiled for.
const MAX_GROUP: usize = 128;
/// Lattice detection looks at sub-blocks of this many elements (GGUF's k-quant sub-blocks are 16
/// or 32 long; a 16-element piece of a 32-element block lies on its block's lattice too).
const LATTICE_SUB: usize = 16;
/// A sub-block counts as lying on a lattice when every value is within this many steps of a
/// lattice point (a bf16-rounded source is off by up to about `steps × 2^-9` steps).
const LATTICE_TOL: f32 = 0.15;
/// Lattice grids tried per group, in lattice steps from the one centred on the group's range
/// (shifts of one step either way gained little in weight error for two more passes).
const LATTICE_SHIFTS: [f32; 1] = [0.0];
/// Lattice grids are tried from this many bits up. At 3 bits they made SmolLM2-135M's KL worse
/// (1.39 → 1.70), although they lowered the weight error.
const LATTICE_MIN_BITS: u32 = 4;

/// One value per group of a batch.
type Lanes = [f32; BATCH];
/// A batch transposed: row `i` holds element `i` of every group.
type Tile<const G: usize> = [Lanes; G];

/// Where `x` falls on the grid, in code units: `(x - bias) / scale`.
#[inline(always)]
fn position<const FMA: bool>(x: f32, inv: f32, zero: f32) -> f32 {
    if FMA {
        x.mul_add(inv, zero)
    } else {
        x * inv + zero
    }
}

/// `v` clamped to the codes' range `[0, n_bins]` (NaN to 0), plus [`MAGIC`]: the nearest code
/// is then both `result - MAGIC` and the low bits of `result`'s representation.
#[inline(always)]
fn magic_code(v: f32, n_bins: f32) -> f32 {
    let v = if v > 0.0 { v } else { 0.0 };
    let v = if v < n_bins { v } else { n_bins };
    v + MAGIC
}

/// The nearest code of `x` as an integer, read from the representation (a plain integer
/// operation, unlike a float-to-integer cast, so the loop over a group stays vector code).
#[inline(always)]
fn code_u8<const FMA: bool>(x: f32, inv: f32, zero: f32, n_bins: f32) -> u8 {
    magic_code(position::<FMA>(x, inv, zero), n_bins).to_bits() as u8
}

/// Rounds every lane to the weight dtype `t` (one branch for the batch, vector code inside).
#[inline(always)]
fn round_lanes(t: FloatType, v: &mut Lanes) {
    match t {
        FloatType::F32 => {}
        FloatType::F16 => v
            .iter_mut()
            .for_each(|x| *x = round_one(FloatType::F16, *x)),
        FloatType::BF16 => v
            .iter_mut()
            .for_each(|x| *x = round_one(FloatType::BF16, *x)),
    }
}

/// `1/scale` and the zero point `-bias/scale` (in code units) of each lane.
#[inline(always)]
fn inverse(scale: &Lanes, bias: &Lanes) -> (Lanes, Lanes) {
    let inv: Lanes = core::array::from_fn(|l| 1.0 / scale[l]);
    let zero = core::array::from_fn(|l| -bias[l] * inv[l]);
    (inv, zero)
}

/// Per lane, the weighted squared error of encoding the group with `(scale, bias)` (codes the
/// nearest for those values), summed in code units and scaled by `scale²` once; `+inf` where
/// the pair is unusable (zero or non-finite scale, non-finite bias), so that it never wins.
/// Also, per lane, `Σ w (q - v)`: the codes' weighted offset from the values' positions `v`, which
/// moves the zero point to its weighted least-squares value for these codes (the bias refit).
#[inline(always)]
fn errors<const G: usize, const FMA: bool>(
    x: &Tile<G>,
    w: &Tile<G>,
    scale: &Lanes,
    bias: &Lanes,
    n_bins: f32,
) -> (Lanes, Lanes) {
    let (inv, zero) = inverse(scale, bias);
    let mut e = [0.0f32; BATCH];
    let mut offset = [0.0f32; BATCH];
    for (xr, wr) in x.iter().zip(w) {
        for l in 0..BATCH {
            let v = position::<FMA>(xr[l], inv[l], zero[l]);
            let d = (magic_code(v, n_bins) - MAGIC) - v;
            let wd = wr[l] * d;
            e[l] = if FMA {
                wd.mul_add(d, e[l])
            } else {
                e[l] + wd * d
            };
            offset[l] += wd;
        }
    }
    let e = core::array::from_fn(|l| {
        let usable = scale[l] != 0.0 && scale[l].is_finite() && bias[l].is_finite();
        let e = e[l] * scale[l] * scale[l];
        if usable && e.is_finite() {
            e
        } else {
            f32::INFINITY
        }
    });
    (e, offset)
}

/// One candidate grid per lane: error, scale, bias and the offset [`errors`] returns with it.
type Candidate = (Lanes, Lanes, Lanes, Lanes);

/// Keeps, per lane, whichever of `best` and the candidate has the smaller error.
/// Written as four selects rather than one branch per lane, so that it is vector code (masked
/// moves) instead of sixteen unpredictable branches.
#[inline(always)]
fn keep_better(best: &mut Candidate, cand: &Candidate) {
    let take: [bool; BATCH] = core::array::from_fn(|l| cand.0[l] < best.0[l]);
    let pick = |b: &mut Lanes, c: &Lanes| {
        for l in 0..BATCH {
            b[l] = if take[l] { c[l] } else { b[l] };
        }
    };
    pick(&mut best.0, &cand.0);
    pick(&mut best.1, &cand.1);
    pick(&mut best.2, &cand.2);
    pick(&mut best.3, &cand.3);
}

/// Whether every lane of `a` stores the same scale and bias as `b` (bit for bit).
#[inline(always)]
fn same_grid(a: &Candidate, b: &Candidate) -> bool {
    let differ = (0..BATCH).fold(0u32, |acc, l| {
        acc | (a.1[l].to_bits() ^ b.1[l].to_bits()) | (a.2[l].to_bits() ^ b.2[l].to_bits())
    });
    differ == 0
}

/// A lattice per lane: values `origin + k * step` (integer `k`), `steps` of them spanning the
/// sub-block it was found in; `step == 0` where none was found.
struct Lattice {
    origin: Lanes,
    step: Lanes,
    steps: Lanes,
}

/// Per lane, the uniform lattice of at most `max_steps` steps that the widest
/// [`LATTICE_SUB`]-element sub-block lies on, if it lies on one: the step is the smallest gap between two
/// distinct values, refined to `range / round(range / gap)` (bf16 rounding of the values perturbs
/// single gaps by a few percent), and accepted when every value of the sub-block is within
/// [`LATTICE_TOL`] steps of the lattice. Sources that were quantized before (GGUF, AWQ/GPTQ
/// re-uploads, QAT checkpoints) have such sub-blocks; trained float weights do not (the bound on
/// the steps also keeps the floating-point format's own spacing from counting as a lattice).
#[inline(always)]
fn detect_lattice<const G: usize>(x: &Tile<G>, max_steps: f32) -> Lattice {
    // The sub-block length as a value the optimiser cannot see: with constant 16-row loops it
    // unrolls them fully and then emits scalar code for the 16 lanes (measured: this function
    // took 40% of the 4-bit kernel's time); kept as loops, each step is one vector operation.
    let n = core::hint::black_box(LATTICE_SUB);
    // The widest sub-block of each lane (a NaN range is never chosen; lanes with no finite
    // range keep zeros, and are fitted by RTN anyway).
    let mut widest = [-1.0f32; BATCH];
    let mut lo = [0.0f32; BATCH];
    // Every sub-block's range in one pass over the rows, kept in memory rather than in
    // registers (held in registers, the compiler splits them into scalars).
    let mut sub_hi = [[f32::NEG_INFINITY; BATCH]; MAX_GROUP / LATTICE_SUB];
    let mut sub_lo = [[f32::INFINITY; BATCH]; MAX_GROUP / LATTICE_SUB];
    for ((block, sh), sl) in x.chunks_exact(n).zip(&mut sub_hi).zip(&mut sub_lo) {
        let mut s_hi = [f32::NEG_INFINITY; BATCH];
        let mut s_lo = [f32::INFINITY; BATCH];
        for xr in block {
            for l in 0..BATCH {
                let v = xr[l];
                s_hi[l] = if s_hi[l] < v { v } else { s_hi[l] };
                s_lo[l] = if v < s_lo[l] { v } else { s_lo[l] };
            }
        }
        (*sh, *sl) = (s_hi, s_lo);
    }
    // Only the widest sub-block is examined (the pairwise gaps are the costly part): copied
    // while searching, by selects (vector code) rather than a load per lane afterwards.
    let mut sub: [Lanes; LATTICE_SUB] = [[0.0; BATCH]; LATTICE_SUB];
    let sub = &mut sub[..n];
    for ((s_hi, s_lo), block) in sub_hi.iter().zip(&sub_lo).zip(x.chunks_exact(n)) {
        // 0 or 1 per lane: a float mask, so that every select below is on one lane type.
        let wider: Lanes = core::array::from_fn(|l| {
            if s_hi[l] - s_lo[l] > widest[l] {
                1.0
            } else {
                0.0
            }
        });
        for l in 0..BATCH {
            let take = wider[l] != 0.0;
            widest[l] = if take { s_hi[l] - s_lo[l] } else { widest[l] };
            lo[l] = if take { s_lo[l] } else { lo[l] };
        }
        for (to, xr) in sub.iter_mut().zip(block) {
            for l in 0..BATCH {
                to[l] = if wider[l] != 0.0 { xr[l] } else { to[l] };
            }
        }
    }
    let mut gap = [f32::INFINITY; BATCH];
    for (i, a) in sub.iter().enumerate() {
        for b in &sub[i + 1..] {
            for l in 0..BATCH {
                let d = (a[l] - b[l]).abs();
                gap[l] = if d > 0.0 && d < gap[l] { d } else { gap[l] };
            }
        }
    }
    let steps: Lanes = core::array::from_fn(|l| (widest[l] / gap[l]).round());
    let inv: Lanes = core::array::from_fn(|l| steps[l] / widest[l]);
    // 0 while every value is near a lattice point; NaN-safe (a NaN comparison fails).
    let mut off = [0.0f32; BATCH];
    for xr in sub.iter() {
        for l in 0..BATCH {
            let v = (xr[l] - lo[l]) * inv[l];
            let d = ((v + MAGIC) - MAGIC - v).abs();
            off[l] = if d < LATTICE_TOL { off[l] } else { 1.0 };
        }
    }
    let mut found = Lattice {
        origin: [0.0; BATCH],
        step: [0.0; BATCH],
        steps: [0.0; BATCH],
    };
    for l in 0..BATCH {
        let on_lattice = off[l] == 0.0
            && steps[l] >= 1.0
            && steps[l] <= max_steps
            && widest[l].is_finite()
            && widest[l] > 0.0;
        if on_lattice {
            found.origin[l] = lo[l];
            found.step[l] = widest[l] / steps[l];
            found.steps[l] = steps[l];
        }
    }
    found
}

/// The grid of `n_bins + 1` codes spaced one step of lattice `lat` (lane `l`) apart, on the
/// lattice, centred on the group's `[lo, hi]` and moved `shift` steps: it reproduces the
/// sub-block the lattice was found in exactly (up to the stored scale's rounding), and the
/// rest of the group wherever it shares that lattice. `(0, 0)` (never chosen) without a lattice.
///
/// Not done, because measured worse: for a lattice finer than the codes (a 5-bit source at 4
/// bits), grids of every second lattice point, half a step off the lattice. They lowered the
/// weighted error of Qwen2.5-Coder-0.5B's 4-bit groups by 5% but raised its mean KL by 27%.
#[inline(always)]
fn lattice_grid(lat: &Lattice, l: usize, lo: f32, hi: f32, n_bins: f32, shift: f32) -> (f32, f32) {
    let d = lat.step[l];
    if d == 0.0 {
        return (0.0, 0.0);
    }
    let start = 0.5 * (hi + lo) - 0.5 * d * n_bins;
    let j = ((start - lat.origin[l]) / d).round() + shift;
    (d, lat.origin[l] + j * d)
}

/// The stored `(scale, bias)` of each lane's group, and whether the group can be fitted at all
/// (finite, not constant); the other lanes' results are meaningless.
#[inline(always)]
fn fit_batch<const G: usize, const FMA: bool>(
    x: &Tile<G>,
    w: &Tile<G>,
    bits: u32,
    t: FloatType,
) -> (Lanes, Lanes, [bool; BATCH]) {
    let n_bins = ((1u32 << bits) - 1) as f32;
    let mut hi = [f32::NEG_INFINITY; BATCH];
    let mut lo = [f32::INFINITY; BATCH];
    // x * 0 is NaN exactly for NaN and ±inf, so a non-finite element poisons its lane's sum.
    let mut poison = [0.0f32; BATCH];
    for xr in x {
        for l in 0..BATCH {
            let v = xr[l];
            hi[l] = if hi[l] < v { v } else { hi[l] };
            lo[l] = if v < lo[l] { v } else { lo[l] };
            poison[l] += v * 0.0;
        }
    }
    let ok: [bool; BATCH] = core::array::from_fn(|l| poison[l] == 0.0 && hi[l] > lo[l]);
    for l in 0..BATCH {
        hi[l] = if ok[l] { hi[l] } else { 1.0 };
        lo[l] = if ok[l] { lo[l] } else { 0.0 };
    }
    let mut sw = [0.0f32; BATCH];
    for wr in w {
        for l in 0..BATCH {
            sw[l] += wr[l];
        }
    }
    let lattice = (bits >= LATTICE_MIN_BITS).then(|| detect_lattice::<G>(x, n_bins));
    let lattice = lattice.filter(|lat| lat.step.iter().any(|&d| d != 0.0));
    // Candidates, in order: mlx's RTN grid as stored; the range shrunk about its centre by
    // `1 - CLIP_STEP i`; the detected lattice's grids (lanes without one skip them, and so does
    // a batch where no lane has one); then ZERO_REFITS bias refits, the first of the best grid,
    // each next of the one before. One loop, so that the error pass is one piece of code
    // (inlined once, its sums kept in registers), and each refit is also judged by that pass.
    let shrinks = CLIP_STEPS as usize + 1;
    let lattices = LATTICE_SHIFTS.len();
    let grids = 1 + shrinks + lattices;
    let n_cand = grids + ZERO_REFITS as usize;
    let inf = [f32::INFINITY; BATCH];
    let mut best: Candidate = (inf, [0.0; BATCH], [0.0; BATCH], [0.0; BATCH]);
    let mut cand: Candidate = best;
    for c in 0..n_cand {
        // What a refit starts from: the best grid, then the refit before.
        let from = if c == grids { best } else { cand };
        let (scale, bias) = (&mut cand.1, &mut cand.2);
        if c == 0 {
            for l in 0..BATCH {
                (scale[l], bias[l]) = affine::group_params(hi[l], lo[l], bits);
            }
        } else if c <= shrinks {
            let a = 1.0 - CLIP_STEP * (c - 1) as f32;
            for l in 0..BATCH {
                let (centre, half) = (0.5 * (hi[l] + lo[l]), 0.5 * (hi[l] - lo[l]));
                scale[l] = 2.0 * half * a / n_bins;
                bias[l] = centre - half * a;
            }
        } else if c < grids {
            let Some(lat) = &lattice else { continue };
            let shift = LATTICE_SHIFTS[c - 1 - shrinks];
            for l in 0..BATCH {
                (scale[l], bias[l]) = lattice_grid(lat, l, lo[l], hi[l], n_bins, shift);
            }
        } else {
            // Bias refit with the scale fixed: the zero point moves by Σw(q - v) / Σw (code
            // units), i.e. the bias by -scale times that.
            let (s0, b0, off) = (from.1, from.2, from.3);
            for l in 0..BATCH {
                scale[l] = s0[l];
                bias[l] = b0[l] - s0[l] * (off[l] / sw[l]);
            }
        }
        // Every candidate is judged as it would be stored.
        round_lanes(t, &mut cand.1);
        round_lanes(t, &mut cand.2);
        if c >= grids && same_grid(&cand, &from) {
            // The refit moved no lane's stored bias: its error would be `from`'s, which is
            // already judged, and every later refit would repeat it. Nothing can change.
            break;
        }
        (cand.0, cand.3) = errors::<G, FMA>(x, w, &cand.1, &cand.2, n_bins);
        keep_better(&mut best, &cand);
    }
    let ok = core::array::from_fn(|l| ok[l] && best.0[l].is_finite());
    (best.1, best.2, ok)
}

/// The kernel for one group size, so that every loop over a group has constant bounds.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn quantize_groups<const G: usize, const FMA: bool>(
    x: &[f32],
    bits: u32,
    t: FloatType,
    col_weight: Option<&[f32]>,
    words: &mut [u32],
    scales: &mut [f32],
    biases: &mut [f32],
) {
    let n_groups = x.len() / G;
    let wpg = G * bits as usize / 32;
    let n_bins = ((1u32 << bits) - 1) as f32;
    let ones = [1.0f32; G];
    let cw = col_weight.unwrap_or(&ones);
    // The column weights transposed once per call: `wtab[i * stride + c]` is element `i` of
    // column group `c` of a row, the groups repeated past the row's end so that the BATCH
    // consecutive groups of any batch are one contiguous run (a vector copy per tile row).
    let per_row = cw.len() / G;
    let stride = per_row + BATCH;
    let mut wtab = vec![0.0f32; G * stride];
    for c in 0..stride {
        let from = (c % per_row) * G;
        for i in 0..G {
            wtab[i * stride + c] = cw[from + i];
        }
    }
    let mut xt: Tile<G> = [[0.0; BATCH]; G];
    let mut wt: Tile<G> = [[0.0; BATCH]; G];
    let mut spare = vec![0.0f32; BATCH * G];
    let mut codes = [0u8; G];
    for first in (0..n_groups).step_by(BATCH) {
        let count = BATCH.min(n_groups - first);
        // A short last batch repeats its last group in the spare lanes.
        let xs: &[f32] = if count == BATCH {
            &x[first * G..(first + BATCH) * G]
        } else {
            for l in 0..BATCH {
                let g = first + l.min(count - 1);
                spare[l * G..(l + 1) * G].copy_from_slice(&x[g * G..(g + 1) * G]);
            }
            &spare
        };
        for (i, xr) in xt.iter_mut().enumerate() {
            for (l, v) in xr.iter_mut().enumerate() {
                *v = xs[l * G + i];
            }
        }
        // Spare lanes get the next columns' weights: their results are not used.
        let at = first % per_row;
        for (i, wr) in wt.iter_mut().enumerate() {
            wr.copy_from_slice(&wtab[i * stride + at..i * stride + at + BATCH]);
        }
        let (scale, bias, ok) = fit_batch::<G, FMA>(&xt, &wt, bits, t);
        let (inv, zero) = inverse(&scale, &bias);
        for l in 0..count {
            let g = first + l;
            let wg = &mut words[g * wpg..(g + 1) * wpg];
            let xg = &x[g * G..(g + 1) * G];
            if !ok[l] {
                // mlx's RTN, exactly.
                affine::quantize(
                    xg,
                    G,
                    bits,
                    wg,
                    &mut scales[g..g + 1],
                    &mut biases[g..g + 1],
                );
                continue;
            }
            // The group's codes in its own layout: one vector pass, no transposing back.
            for (c, &v) in codes.iter_mut().zip(xg) {
                *c = code_u8::<FMA>(v, inv[l], zero[l], n_bins);
            }
            pack_group(&codes, bits, wg);
            scales[g] = scale[l];
            biases[g] = bias[l];
        }
    }
}

/// Packs one group's codes (each already `< 2^bits`) with the width fixed at compile time, so
/// that the packing is inlined into the kernel rather than a call per group.
#[inline(always)]
fn pack_group<const G: usize>(codes: &[u8; G], bits: u32, wg: &mut [u32]) {
    match bits {
        2 => pack::pack_fixed::<G, 2>(codes, wg),
        3 => pack::pack_fixed::<G, 3>(codes, wg),
        4 => pack::pack_fixed::<G, 4>(codes, wg),
        5 => pack::pack_fixed::<G, 5>(codes, wg),
        6 => pack::pack_fixed::<G, 6>(codes, wg),
        8 => pack::pack_fixed::<G, 8>(codes, wg),
        _ => pack::pack(codes, bits, wg),
    }
}

/// Quantizes `x` (values already rounded to `t`; whole rows of `row_len` elements, a multiple of
/// `group_size`) into packed words and per-group scales and biases, like [`affine::quantize`]
/// (fitted groups' scales and biases are already rounded to `t`; RTN's, as mlx's, are not).
/// `col_weight`, if given, holds one error weight per column of a row (positive, finite);
/// without it every element counts the same.
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+fma+bmi1+bmi2+lzcnt+popcnt",
    "x86_64+avx2+fma+bmi1+bmi2+lzcnt+popcnt",
    "aarch64+neon"
))]
#[allow(clippy::too_many_arguments)]
pub fn quantize(
    x: &[f32],
    group_size: usize,
    bits: u32,
    t: FloatType,
    col_weight: Option<&[f32]>,
    words: &mut [u32],
    scales: &mut [f32],
    biases: &mut [f32],
) {
    check_lengths("clipfit", x.len(), group_size, bits, words, scales, biases);
    if let Some(cw) = col_weight {
        assert!(
            cw.len().is_multiple_of(group_size) && x.len().is_multiple_of(cw.len()),
            "clipfit: column weights ({}) do not tile rows of {} elements",
            cw.len(),
            x.len()
        );
    }
    if bits == 1 {
        affine::quantize(x, group_size, bits, words, scales, biases);
        return;
    }
    let (w, s, b) = (words, scales, biases);
    // Fused multiply-adds where the target has them (every SIMD target above), for speed; the
    // generic fallback would emulate them in software, so it multiplies and adds instead (its
    // output may then differ from the SIMD targets' in rare ties).
    let fma =
        multiversion::target::target_cfg_f!(any(target_feature = "fma", target_arch = "aarch64"));
    match (group_size, fma) {
        (32, true) => quantize_groups::<32, true>(x, bits, t, col_weight, w, s, b),
        (64, true) => quantize_groups::<64, true>(x, bits, t, col_weight, w, s, b),
        (128, true) => quantize_groups::<128, true>(x, bits, t, col_weight, w, s, b),
        (32, false) => quantize_groups::<32, false>(x, bits, t, col_weight, w, s, b),
        (64, false) => quantize_groups::<64, false>(x, bits, t, col_weight, w, s, b),
        (128, false) => quantize_groups::<128, false>(x, bits, t, col_weight, w, s, b),
        _ => unreachable!("group size checked by check_lengths"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cast::round_to;
    use crate::quant::method::test_sample::sample;

    /// Dequantized values of `x` by clipfit (`Some(col_weight)`) or RTN (`None` plus `rtn`).
    fn run(x: &[f32], gs: usize, bits: u32, t: FloatType, how: Option<Option<&[f32]>>) -> Vec<f32> {
        let g = x.len() / gs;
        let mut words = vec![0; x.len() * bits as usize / 32];
        let (mut scales, mut biases) = (vec![0.0; g], vec![0.0; g]);
        match how {
            Some(cw) => quantize(x, gs, bits, t, cw, &mut words, &mut scales, &mut biases),
            None => affine::quantize(x, gs, bits, &mut words, &mut scales, &mut biases),
        }
        round_to(t, &mut scales);
        round_to(t, &mut biases);
        let mut codes = vec![0u8; x.len()];
        pack::unpack(&words, bits, &mut codes);
        assert!(codes.iter().all(|&c| (c as u32) < (1 << bits)));
        let mut y = vec![0.0; x.len()];
        affine::dequantize(&words, &scales, &biases, gs, bits, t, &mut y);
        y
    }

    fn weighted_error(x: &[f32], y: &[f32], cw: &[f32]) -> f64 {
        let k = cw.len();
        x.iter()
            .zip(y)
            .enumerate()
            .map(|(i, (a, b))| cw[i % k] as f64 * ((a - b) as f64).powi(2))
            .sum()
    }

    #[test]
    fn never_worse_than_rtn_in_weighted_error() {
        for t in [FloatType::BF16, FloatType::F16, FloatType::F32] {
            for gs in affine::GROUP_SIZES {
                let k = gs * 4;
                // Column weights from squared "norm gains" spread over two orders of magnitude.
                let gains: Vec<f32> = sample(k, 7).iter().map(|v| 0.2 + v.abs() * 30.0).collect();
                let cw = crate::quant::method::importance::weights_from_gains(&gains, 4).unwrap();
                for bits in [2, 3, 4, 5, 6, 8] {
                    let mut x = sample(k * 10, bits + gs as u32);
                    round_to(t, &mut x);
                    let ours = run(&x, gs, bits, t, Some(Some(&cw)));
                    let rtn = run(&x, gs, bits, t, None);
                    assert!(ours.iter().all(|v| v.is_finite()));
                    let (eo, er) = (
                        weighted_error(&x, &ours, &cw),
                        weighted_error(&x, &rtn, &cw),
                    );
                    assert!(eo <= er, "{t:?} gs {gs} {bits}-bit: {eo} > rtn {er}");
                    if bits <= 4 {
                        assert!(eo < 0.95 * er, "{t:?} gs {gs} {bits}-bit: {eo} vs rtn {er}");
                    }
                }
            }
        }
    }

    /// Values `origin + k * step` for pseudo-random `k` in `0..=max_k`.
    fn lattice_values(n: usize, origin: f32, step: f32, max_k: u32, seed: u32) -> Vec<f32> {
        let mut s = seed.max(1);
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                origin + (s % (max_k + 1)) as f32 * step
            })
            .collect()
    }

    /// One batch of groups, transposed as the kernel holds it.
    fn tile<const G: usize>(x: &[f32]) -> Tile<G> {
        core::array::from_fn(|i| core::array::from_fn(|l| x[l * G + i]))
    }

    #[test]
    fn lattice_detection_recovers_an_exact_grid() {
        // Each group on its own lattice (bf16-rounded, as a dequantized GGUF stores it), 13 of
        // the 16 levels of a 4-bit grid in use: detected with its step and origin.
        let mut x = Vec::new();
        let mut steps = Vec::new();
        for g in 0..BATCH {
            let step = 0.003 + 0.0007 * g as f32;
            let mut v = lattice_values(64, -0.02 - step * 3.0, step, 12, g as u32 + 1);
            v[0] = -0.02 - step * 3.0; // the extremes present in the first sub-block
            v[1] = -0.02 + step * 9.0;
            round_to(FloatType::BF16, &mut v);
            x.extend(v);
            steps.push(step);
        }
        let lat = detect_lattice::<64>(&tile::<64>(&x), 15.0);
        for (l, want) in steps.iter().enumerate() {
            let rel = (lat.step[l] - want).abs() / want;
            assert!(rel < 0.01, "lane {l}: step {} vs {want}", lat.step[l]);
            assert_eq!(lat.steps[l], 12.0, "lane {l}");
        }
        // Trained-like float weights have no lattice.
        let mut y = sample(64 * BATCH, 5);
        round_to(FloatType::BF16, &mut y);
        let lat = detect_lattice::<64>(&tile::<64>(&y), 15.0);
        assert!(lat.step.iter().all(|&d| d == 0.0), "{:?}", lat.step);
        // A lattice with more levels than allowed does not count.
        let lat = detect_lattice::<64>(&tile::<64>(&x), 7.0);
        assert!(lat.step.iter().all(|&d| d == 0.0), "{:?}", lat.step);
    }

    #[test]
    fn lattice_sources_are_requantized_exactly() {
        // 4-bit-like groups using 12 of 16 levels: RTN's min/max grid misses the lattice,
        // clipfit's lattice candidate reproduces it (exact in f32: power-of-two step).
        let (gs, bits, t) = (64, 4, FloatType::F32);
        let mut x = Vec::new();
        for g in 0..40u32 {
            let step = 2f32.powi(-7 - (g % 3) as i32);
            let origin = -step * (5 + g % 4) as f32;
            let mut v = lattice_values(gs, origin, step, 11, g + 3);
            v[0] = origin;
            v[1] = origin + 11.0 * step;
            x.extend(v);
        }
        let ours = run(&x, gs, bits, t, Some(None));
        let rtn = run(&x, gs, bits, t, None);
        let ones = vec![1.0f32; gs];
        assert_eq!(weighted_error(&x, &ours, &ones), 0.0);
        assert!(weighted_error(&x, &rtn, &ones) > 0.0);
    }

    #[test]
    fn column_weights_steer_the_fit() {
        let (gs, bits, t) = (64, 3, FloatType::BF16);
        let mut x = sample(gs * 64, 3);
        round_to(t, &mut x);
        let mut cw = vec![0.05f32; gs];
        cw[..8].fill(7.0);
        let ours = run(&x, gs, bits, t, Some(Some(&cw)));
        let plain = run(&x, gs, bits, t, Some(None));
        let ones = vec![1.0f32; gs];
        assert!(weighted_error(&x, &ours, &cw) < weighted_error(&x, &plain, &cw));
        assert!(weighted_error(&x, &plain, &ones) < weighted_error(&x, &ours, &ones));
    }

    #[test]
    fn constant_zero_and_non_finite_groups_are_rtn_exactly() {
        let gs = 32;
        let mut x = vec![0.0f32; gs];
        x.extend(vec![0.75f32; gs]);
        x.extend(vec![-3.0f32; gs]);
        for (i, bad) in [(3, f32::NAN), (5, f32::INFINITY), (0, f32::NEG_INFINITY)] {
            let mut g = sample(gs, i as u32 + 1);
            g[i] = bad;
            x.extend(g);
        }
        x.extend(vec![f32::NAN; gs]);
        for t in [FloatType::BF16, FloatType::F16, FloatType::F32] {
            for bits in [1, 2, 3, 4, 8] {
                let ours = run(&x, gs, bits, t, Some(None));
                let rtn = run(&x, gs, bits, t, None);
                assert!(
                    ours.iter()
                        .zip(&rtn)
                        .all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{t:?} {bits}-bit"
                );
            }
        }
    }

    #[test]
    fn tiny_and_huge_values_stay_finite_in_half_precision() {
        let base = sample(64 * 4, 9);
        for (t, factor) in [
            (FloatType::F16, 1e-4f32),
            (FloatType::F16, 6e4),
            (FloatType::BF16, 1e-30),
            (FloatType::BF16, 1e36),
        ] {
            let mut x: Vec<f32> = base.iter().map(|v| v * factor).collect();
            round_to(t, &mut x);
            for bits in [2, 3, 4, 8] {
                let y = run(&x, 64, bits, t, Some(None));
                assert!(
                    y.iter().all(|v| v.is_finite()),
                    "{t:?} x{factor} {bits}-bit"
                );
            }
        }
    }
}
