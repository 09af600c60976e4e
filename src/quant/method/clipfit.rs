//! `--quant-method clipfit`: a data-free affine quantizer in the MLX format (`w ≈ code * scale +
//! bias`, codes `0..2^bits-1`), so mlx-lm loads the output unchanged.
//!
//! Per group:
//! 1. **Clip search.** The group's `[min, max]` is shrunk about its centre by `1 - 0.04 i`
//!    (`i = 0..=6`); each range's grid (scale and bias rounded to the weight dtype, as stored)
//!    encodes the group, and the one with the smallest weighted squared error is kept.
//! 2. **Zero refit** (the half-quadratic step of HQQ, which for trained weights' magnitudes
//!    reduces to this): with the scale fixed, the bias is set to the weighted least-squares value
//!    for the current codes and the group re-encoded, a few times.
//! 3. mlx's own RTN parameters are the fallback: whichever of the two has the smaller weighted
//!    error, with the values actually stored, is written.
//!
//! The error weights are per input column ([`column weights`](super::importance)): the square of
//! the RMSNorm gain in front of the layer, when there is one, since the layer's inputs are
//! scaled by it; otherwise all ones. Measured on real models (bench/quality.sh) this is what
//! makes the method lower the output distribution's KL rather than only the weight error;
//! the scale's own least-squares refit, by contrast, shrank reconstructions and raised KL.
//!
//! Groups holding NaN or ±Inf, constant groups, and 1-bit are quantized by mlx's RTN kernel
//! unchanged, so non-finite inputs give exactly RTN's output and no finite input yields NaN/Inf.

use super::check_lengths;
use crate::cast::{FloatType, round_one};
use crate::quant::{affine, pack};

/// Shrink factors tried: `1 - CLIP_STEP * i` for `i` in `0..=CLIP_STEPS`.
const CLIP_STEPS: u32 = 6;
const CLIP_STEP: f32 = 0.04;
/// Bias refits after the clip search.
const ZERO_REFITS: u32 = 3;
/// Independent accumulators, so that sums vectorise without reassociation.
const LANES: usize = 8;
/// 2^23: for v in [0, 2^23), `(v + 2^23) - 2^23` is `rint(v)` (ties to even).
const MAGIC: f32 = 8_388_608.0;

#[inline(always)]
fn code(x: f32, inv: f32, zero: f32, n_bins: f32) -> f32 {
    let v = x * inv + zero;
    let v = if v > 0.0 { v } else { 0.0 };
    let v = if v < n_bins { v } else { n_bins };
    (v + MAGIC) - MAGIC
}

/// Weighted squared error of encoding `xg` with the stored `(scale, bias)`: codes are the
/// nearest for those values, as in [`quantize`]'s final encoding.
#[inline(always)]
fn stored_error(xg: &[f32], wg: &[f32], scale: f32, bias: f32, n_bins: f32) -> f32 {
    let inv = 1.0 / scale;
    let zero = -bias * inv;
    let mut e = [0.0f32; LANES];
    for (xc, wc) in xg.chunks_exact(LANES).zip(wg.chunks_exact(LANES)) {
        for l in 0..LANES {
            let d = code(xc[l], inv, zero, n_bins) * scale + bias - xc[l];
            e[l] += wc[l] * d * d;
        }
    }
    e.iter().sum()
}

/// The chosen `(scale, bias)` of one finite, non-constant group, rounded to `t`.
#[inline(always)]
fn fit_group(
    xg: &[f32],
    wg: &[f32],
    w_min: f32,
    w_max: f32,
    n_bins: f32,
    t: FloatType,
) -> (f32, f32) {
    let centre = 0.5 * (w_max + w_min);
    let half = 0.5 * (w_max - w_min);
    let (mut best_e, mut best_s, mut best_lo) = (f32::INFINITY, 0.0f32, 0.0f32);
    for i in 0..=CLIP_STEPS {
        let a = 1.0 - CLIP_STEP * i as f32;
        let lo = centre - half * a;
        let s = 2.0 * half * a / n_bins;
        let (sr, br) = (round_one(t, s), round_one(t, lo));
        if !(sr.is_finite() && sr > 0.0 && br.is_finite()) {
            continue;
        }
        let e = stored_error(xg, wg, sr, br, n_bins);
        if e < best_e {
            (best_e, best_s, best_lo) = (e, s, lo);
        }
    }
    if !best_e.is_finite() {
        return (f32::NAN, f32::NAN);
    }
    // Bias refit with the scale fixed: z = Σw(q - x/s) / Σw, in code units.
    let inv = 1.0 / best_s;
    let sw: f32 = wg.iter().sum();
    let mut zero = -best_lo * inv;
    for _ in 0..ZERO_REFITS {
        let mut acc = [0.0f32; LANES];
        for (xc, wc) in xg.chunks_exact(LANES).zip(wg.chunks_exact(LANES)) {
            for l in 0..LANES {
                acc[l] += wc[l] * (code(xc[l], inv, zero, n_bins) - xc[l] * inv);
            }
        }
        zero = acc.iter().sum::<f32>() / sw;
    }
    (round_one(t, best_s), round_one(t, -zero * best_s))
}

/// Quantizes `x` (values already rounded to `t`; whole rows of `row_len` elements, a multiple of
/// `group_size`) into packed words and per-group scales and biases (already rounded to `t`),
/// like [`affine::quantize`]. `col_weight`, if given, holds one error weight per column of a row
/// (positive, finite); without it every element counts the same.
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
    let wpg = check_lengths("clipfit", x.len(), group_size, bits, words, scales, biases);
    if let Some(cw) = col_weight {
        assert!(
            cw.len().is_multiple_of(group_size) && x.len().is_multiple_of(cw.len()),
            "clipfit: column weights ({}) do not tile rows of {} elements",
            cw.len(),
            x.len()
        );
    }
    let n_bins = ((1u32 << bits) - 1) as f32;
    let ones = [1f32; 128];
    let mut codes = [0u8; 128];
    let mut rtn_words = [0u32; 32];
    let groups = x.chunks_exact(group_size).zip(words.chunks_exact_mut(wpg));
    for (g, (xg, wg)) in groups.enumerate() {
        let (w_max, w_min) = xg
            .iter()
            .fold((f32::NEG_INFINITY, f32::INFINITY), |(h, l), &v| {
                (h.max(v), l.min(v))
            });
        // mlx's RTN for this group: the fallback, and the answer where there is nothing to fit.
        affine::quantize(
            xg,
            group_size,
            bits,
            &mut rtn_words[..wpg],
            &mut scales[g..g + 1],
            &mut biases[g..g + 1],
        );
        wg.copy_from_slice(&rtn_words[..wpg]);
        let finite = xg.iter().all(|v| v.is_finite());
        if !finite || w_max <= w_min || bits == 1 {
            continue;
        }
        let weights = match col_weight {
            Some(cw) => {
                let at = (g * group_size) % cw.len();
                &cw[at..at + group_size]
            }
            None => &ones[..group_size],
        };
        let (s, b) = fit_group(xg, weights, w_min, w_max, n_bins, t);
        if !(s.is_finite() && b.is_finite() && s > 0.0) {
            continue;
        }
        // RTN's error with the values it stores (its codes were chosen with unrounded ones).
        let rtn_err = {
            let (rs, rb) = (round_one(t, scales[g]), round_one(t, biases[g]));
            let codes = &mut codes[..group_size];
            pack::unpack(&rtn_words[..wpg], bits, codes);
            let mut e = 0.0f32;
            for ((&c, &v), &w) in codes.iter().zip(xg).zip(weights) {
                let d = c as f32 * rs + rb - v;
                e += w * d * d;
            }
            e
        };
        if stored_error(xg, weights, s, b, n_bins) >= rtn_err {
            continue;
        }
        let codes = &mut codes[..group_size];
        let (inv, zero) = (1.0 / s, -b / s);
        for (c, &v) in codes.iter_mut().zip(xg) {
            *c = code(v, inv, zero, n_bins) as u8;
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
                let cw = crate::quant::method::importance::weights_from_gains(&gains).unwrap();
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
