//! `--quant-method search`: a data-free affine quantizer that searches, per group, for the
//! (scale, bias) pair with the smallest *weighted* squared error, in the MLX affine format
//! (`w ≈ code * scale + bias`, codes `0..2^bits-1`), so mlx-lm loads the output unchanged.
//!
//! Per group (after llama.cpp's `make_qkx2_quants`, used for its k-quants):
//! 1. Candidates: mlx's own round-to-nearest parameters, and grids that spread the group's
//!    `[min, max]` over `n_bins + rmin + i*rdelta` steps (slightly fewer or more than the code
//!    range: fewer clips the extremes a little, more leaves headroom), anchored at the minimum
//!    and at the maximum.
//! 2. Each candidate's codes are refit: the weighted least-squares (scale, bias) for those codes
//!    (closed form from five sums), then re-encoded and refit again `iters` times.
//! 3. The candidate with the smallest weighted error wins; its scale and bias are rounded to the
//!    weight dtype *before* the final codes are chosen, so the codes are the nearest ones for the
//!    values actually stored (mlx's RTN encodes with the unrounded f32 values).
//!
//! The error weight of an element grows with its magnitude (see [`Weighting`]): large weights
//! carry the activations' signal, and a plain MSE search clips them, which measurably hurts the
//! model's output distribution at 3 bits even when it lowers the weight MSE.
//!
//! Groups holding NaN or ±Inf, and constant groups, are quantized by mlx's RTN kernel unchanged,
//! so non-finite inputs give exactly RTN's output and no finite input ever yields a NaN/Inf.

use super::check_lengths;
use crate::cast::{FloatType, round_one};
use crate::quant::{affine, pack};

/// How much each element's squared error counts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Weighting {
    /// Plain squared error.
    Uniform,
    /// `|x|`.
    Abs,
    /// `x²`.
    Square,
    /// `rms(group) + |x|`, llama.cpp's k-quant weighting.
    RmsAbs,
}

/// Search settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Params {
    pub weighting: Weighting,
    /// First grid's step count relative to the code range (`n_bins + rmin`).
    pub rmin: f32,
    /// Step-count increment between grids.
    pub rdelta: f32,
    /// Number of grids after the first, per anchor.
    pub nstep: u32,
    /// Extra encode/refit rounds per candidate.
    pub iters: u32,
    /// Anchor grids at the maximum as well as at the minimum.
    pub both_anchors: bool,
    /// Refit (scale, bias) by weighted least squares for each candidate's codes; without it the
    /// candidates are the grids themselves, whose reconstruction is not shrunk towards the mean.
    pub refit: bool,
}

impl Params {
    pub const DEFAULT: Params = Params {
        weighting: Weighting::RmsAbs,
        rmin: -1.0,
        rdelta: 0.1,
        nstep: 20,
        iters: 1,
        both_anchors: true,
        refit: true,
    };
}

const LANES: usize = 8;
/// 2^23: for v in [0, 2^23), `(v + 2^23) - 2^23` is `rint(v)` (ties to even).
const MAGIC: f32 = 8_388_608.0;

/// Weighted sums of one group that do not depend on the codes.
struct Fixed {
    sw: f64,
    sx: f64,
    sxx: f64,
}

/// Weighted sums that do: Σwq, Σwq², Σwqx.
#[derive(Clone, Copy)]
struct CodeSums {
    sq: f64,
    sqq: f64,
    sqx: f64,
}

/// Encodes `xg` with `(scale, bias)` (codes clamped to `[0, n_bins]`) and returns the code sums.
/// Lane accumulators so the loop vectorises without reassociating a single running sum.
#[inline(always)]
fn code_sums(xg: &[f32], wg: &[f32], scale: f32, bias: f32, n_bins: f32) -> CodeSums {
    let inv = 1.0 / scale;
    let mut sq = [0f32; LANES];
    let mut sqq = [0f32; LANES];
    let mut sqx = [0f32; LANES];
    for (xc, wc) in xg.chunks_exact(LANES).zip(wg.chunks_exact(LANES)) {
        for l in 0..LANES {
            let v = (xc[l] - bias) * inv;
            let v = if v > 0.0 { v } else { 0.0 };
            let v = if v < n_bins { v } else { n_bins };
            let q = (v + MAGIC) - MAGIC;
            let wq = wc[l] * q;
            sq[l] += wq;
            sqq[l] += wq * q;
            sqx[l] += wq * xc[l];
        }
    }
    let total = |a: [f32; LANES]| a.iter().map(|&v| v as f64).sum::<f64>();
    CodeSums {
        sq: total(sq),
        sqq: total(sqq),
        sqx: total(sqx),
    }
}

/// Weighted squared error of `(scale, bias)` with the codes summarised in `c`.
#[inline(always)]
fn error(f: &Fixed, c: &CodeSums, scale: f64, bias: f64) -> f64 {
    f.sxx - 2.0 * scale * c.sqx - 2.0 * bias * f.sx
        + scale * scale * c.sqq
        + 2.0 * scale * bias * c.sq
        + bias * bias * f.sw
}

/// Weighted least-squares (scale, bias) for fixed codes; `None` when the codes do not determine
/// a positive, finite scale (all codes equal, or a degenerate fit).
#[inline(always)]
fn refit(f: &Fixed, c: &CodeSums) -> Option<(f64, f64)> {
    let d = f.sw * c.sqq - c.sq * c.sq;
    if d <= 1e-12 * f.sw * c.sqq {
        return None;
    }
    let scale = (f.sw * c.sqx - c.sq * f.sx) / d;
    let bias = (c.sqq * f.sx - c.sq * c.sqx) / d;
    (scale.is_finite() && bias.is_finite() && scale > 0.0).then_some((scale, bias))
}

/// The best (scale, bias) of one finite, non-constant group, in f32 before rounding to T.
/// Inlined so it is compiled for the SIMD targets of [`quantize`].
#[inline(always)]
fn search_group(
    xg: &[f32],
    wg: &[f32],
    w_max: f32,
    w_min: f32,
    bits: u32,
    p: &Params,
) -> (f32, f32) {
    let n_bins = ((1u32 << bits) - 1) as f32;
    let mut f = Fixed {
        sw: 0.0,
        sx: 0.0,
        sxx: 0.0,
    };
    for (&x, &w) in xg.iter().zip(wg) {
        let (x, w) = (x as f64, w as f64);
        f.sw += w;
        f.sx += w * x;
        f.sxx += w * x * x;
    }
    // Start from mlx's RTN parameters (expressed with a positive scale: same grid).
    let (rs, rb) = affine::group_params(w_max, w_min, bits);
    let (mut best_s, mut best_b) = if rs < 0.0 {
        (-rs, rb + n_bins * rs)
    } else {
        (rs, rb)
    };
    let c = code_sums(xg, wg, best_s, best_b, n_bins);
    let mut best_e = error(&f, &c, best_s as f64, best_b as f64);

    let range = w_max - w_min;
    let anchors: &[bool] = if p.both_anchors {
        &[false, true]
    } else {
        &[false]
    };
    let mut consider = |s: f32, b: f32| {
        let mut c = code_sums(xg, wg, s, b, n_bins);
        if !p.refit {
            let e = error(&f, &c, s as f64, b as f64);
            if e < best_e {
                (best_e, best_s, best_b) = (e, s, b);
            }
            return;
        }
        let mut fit = refit(&f, &c);
        for _ in 0..p.iters {
            let Some((s2, b2)) = fit else { break };
            c = code_sums(xg, wg, s2 as f32, b2 as f32, n_bins);
            fit = refit(&f, &c).or(fit);
        }
        if let Some((s2, b2)) = fit {
            // The error of the refit parameters with the codes they were fit to; the final
            // re-encoding can only lower it.
            let e = error(&f, &c, s2, b2);
            if e < best_e {
                best_e = e;
                best_s = s2 as f32;
                best_b = b2 as f32;
            }
        }
    };
    for &from_max in anchors {
        for i in 0..=p.nstep {
            let steps = n_bins + p.rmin + p.rdelta * i as f32;
            if steps <= 0.0 {
                continue;
            }
            let s = range / steps;
            let b = if from_max { w_max - n_bins * s } else { w_min };
            consider(s, b);
        }
    }
    (best_s, best_b)
}

/// Per-element error weights of a group.
#[inline]
fn weights(xg: &[f32], how: Weighting, out: &mut [f32]) {
    match how {
        Weighting::Uniform => out.fill(1.0),
        Weighting::Abs => {
            for (o, &x) in out.iter_mut().zip(xg) {
                *o = x.abs();
            }
        }
        Weighting::Square => {
            for (o, &x) in out.iter_mut().zip(xg) {
                *o = x * x;
            }
        }
        Weighting::RmsAbs => {
            let ms = xg.iter().map(|&x| x * x).sum::<f32>() / xg.len() as f32;
            let rms = ms.sqrt();
            for (o, &x) in out.iter_mut().zip(xg) {
                *o = rms + x.abs();
            }
        }
    }
}

/// Quantizes `x` (values already rounded to `t`; a multiple of `group_size` long) into packed
/// words and per-group scales and biases (already rounded to `t`), like [`affine::quantize`].
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
    p: &Params,
    words: &mut [u32],
    scales: &mut [f32],
    biases: &mut [f32],
) {
    let wpg = check_lengths("search", x.len(), group_size, bits, words, scales, biases);
    let n_bins = ((1u32 << bits) - 1) as f32;
    let mut wbuf = [0f32; 128];
    let mut codes = [0u8; 128];
    let groups = x.chunks_exact(group_size).zip(words.chunks_exact_mut(wpg));
    for (g, (xg, wg)) in groups.enumerate() {
        let (w_max, w_min) = xg
            .iter()
            .fold((f32::NEG_INFINITY, f32::INFINITY), |(h, l), &v| {
                (h.max(v), l.min(v))
            });
        let finite = xg.iter().all(|v| v.is_finite());
        // 1-bit has nothing to search (two codes: min and max are already optimal).
        let rtn = |wg: &mut [u32], s: &mut [f32], b: &mut [f32]| {
            affine::quantize(xg, group_size, bits, wg, s, b);
        };
        if !finite || w_max <= w_min || bits == 1 {
            rtn(wg, &mut scales[g..g + 1], &mut biases[g..g + 1]);
            continue;
        }
        let w = &mut wbuf[..group_size];
        weights(xg, p.weighting, w);
        let (s, b) = search_group(xg, w, w_max, w_min, bits, p);
        let (s, b) = (round_one(t, s), round_one(t, b));
        if !(s.is_finite() && b.is_finite() && s > 0.0) {
            // The scale underflowed (or overflowed) the weight dtype: RTN's sign trick copes.
            rtn(wg, &mut scales[g..g + 1], &mut biases[g..g + 1]);
            continue;
        }
        let codes = &mut codes[..group_size];
        for (c, &v) in codes.iter_mut().zip(xg) {
            let v = (v - b) / s;
            let v = if v > 0.0 { v } else { 0.0 };
            let v = if v < n_bins { v } else { n_bins };
            *c = ((v + MAGIC).to_bits() - MAGIC.to_bits()) as u8;
        }
        pack::pack(codes, bits, wg);
        scales[g] = s;
        biases[g] = b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cast::round_to;
    use crate::quant::method::test_sample::sample;

    struct Out {
        words: Vec<u32>,
        scales: Vec<f32>,
        biases: Vec<f32>,
    }

    fn run(x: &[f32], gs: usize, bits: u32, t: FloatType, rtn: bool) -> Out {
        let g = x.len() / gs;
        let mut o = Out {
            words: vec![0; x.len() * bits as usize / 32],
            scales: vec![0.0; g],
            biases: vec![0.0; g],
        };
        if rtn {
            affine::quantize(x, gs, bits, &mut o.words, &mut o.scales, &mut o.biases);
        } else {
            let p = Params::DEFAULT;
            quantize(
                x,
                gs,
                bits,
                t,
                &p,
                &mut o.words,
                &mut o.scales,
                &mut o.biases,
            );
        }
        // What is stored: the weight dtype's values.
        round_to(t, &mut o.scales);
        round_to(t, &mut o.biases);
        o
    }

    fn dequant(o: &Out, gs: usize, bits: u32, t: FloatType, n: usize) -> Vec<f32> {
        let mut y = vec![0.0; n];
        affine::dequantize(&o.words, &o.scales, &o.biases, gs, bits, t, &mut y);
        y
    }

    fn same_bits(a: &[f32], b: &[f32]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
    }

    #[test]
    fn finite_in_range_and_no_worse_than_rtn_in_weighted_error() {
        for t in [FloatType::BF16, FloatType::F16, FloatType::F32] {
            for gs in affine::GROUP_SIZES {
                for bits in [2, 3, 4, 5, 6, 8] {
                    let mut x = sample(gs * 40, bits + gs as u32);
                    round_to(t, &mut x);
                    let ours = run(&x, gs, bits, t, false);
                    let rtn = run(&x, gs, bits, t, true);
                    let (yo, yr) = (
                        dequant(&ours, gs, bits, t, x.len()),
                        dequant(&rtn, gs, bits, t, x.len()),
                    );
                    assert!(yo.iter().all(|v| v.is_finite()), "{t:?} {gs} {bits}");
                    assert!(ours.scales.iter().all(|s| s.is_finite() && *s > 0.0));
                    // Codes beyond 2^bits-1 cannot be represented; unpacking must give them back.
                    let mut codes = vec![0u8; x.len()];
                    pack::unpack(&ours.words, bits, &mut codes);
                    assert!(codes.iter().all(|&c| (c as u32) < (1 << bits)));
                    // The search starts from RTN's grid and only accepts lower weighted error.
                    let werr = |y: &[f32]| -> f64 {
                        let mut e = 0.0;
                        for (xg, yg) in x.chunks(gs).zip(y.chunks(gs)) {
                            let mut w = vec![0.0; gs];
                            weights(xg, Params::DEFAULT.weighting, &mut w);
                            for ((a, b), w) in xg.iter().zip(yg).zip(&w) {
                                e += (*w as f64) * ((a - b) as f64).powi(2);
                            }
                        }
                        e
                    };
                    assert!(
                        werr(&yo) <= werr(&yr) * 1.02,
                        "{t:?} gs {gs} bits {bits}: {} > rtn {}",
                        werr(&yo),
                        werr(&yr)
                    );
                }
            }
        }
    }

    #[test]
    fn constant_zero_and_non_finite_groups_are_rtn_exactly() {
        let gs = 32;
        let mut x = vec![0.0f32; gs]; // zeros
        x.extend(vec![0.75f32; gs]); // constant
        x.extend(vec![-3.0f32; gs]); // negative constant
        let mut g = sample(gs, 1);
        g[3] = f32::NAN;
        x.extend(g);
        let mut g = sample(gs, 2);
        g[5] = f32::INFINITY;
        x.extend(g);
        let mut g = sample(gs, 3);
        g[0] = f32::NEG_INFINITY;
        x.extend(g);
        x.extend(vec![f32::NAN; gs]);
        for t in [FloatType::BF16, FloatType::F16, FloatType::F32] {
            for bits in [1, 2, 3, 4, 8] {
                let ours = run(&x, gs, bits, t, false);
                let rtn = run(&x, gs, bits, t, true);
                assert_eq!(ours.words, rtn.words, "{t:?} {bits}");
                assert!(same_bits(&ours.scales, &rtn.scales), "{t:?} {bits}");
                assert!(same_bits(&ours.biases, &rtn.biases), "{t:?} {bits}");
            }
        }
    }

    #[test]
    fn tiny_and_huge_values_stay_finite_in_half_precision() {
        let gs = 64;
        let base = sample(gs * 4, 9);
        for (t, factor) in [
            (FloatType::F16, 1e-4f32), // scale below f16's normal range
            (FloatType::F16, 6e4),     // values near f16's maximum
            (FloatType::BF16, 1e-30),
            (FloatType::BF16, 1e36),
        ] {
            let mut x: Vec<f32> = base.iter().map(|v| v * factor).collect();
            round_to(t, &mut x);
            for bits in [2, 3, 4, 8] {
                let ours = run(&x, gs, bits, t, false);
                let y = dequant(&ours, gs, bits, t, x.len());
                assert!(
                    y.iter().all(|v| v.is_finite()),
                    "{t:?} x{factor} {bits}-bit: non-finite output"
                );
            }
        }
    }
}
