//! Affine quantization (`mode="affine"`), bit-exact with mlx 0.32.4's CPU kernel
//! (`backend/cpu/quantized.cpp: quantize`) and its op-graph dequantization.
//!
//! Per group of `group_size` consecutive values (all arithmetic in f32 on values already rounded to
//! the weight dtype `T`, rounding = `rint`, half to even):
//! ```text
//! w_max, w_min = max/min over the group, skipping NaN      (std::max/min from ±inf)
//! bits 2..8:  mask  = |w_min| > |w_max|
//!             scale = ±max((w_max - w_min) / (2^bits - 1), 1e-7)   (negative unless mask)
//!             edge  = mask ? w_min : w_max ;  q0 = rint(edge / scale)
//!             if q0 != 0 { scale = edge / q0 ; bias = edge } else { bias = 0 }
//! bits 1:     scale = max(w_max - w_min, 1e-7) ; bias = w_min
//! code        = clamp(rint((x - bias) / scale), 0, 2^bits - 1)      (NaN → 0)
//! stored      = T(scale), T(bias)          dequant: T(T(code * scale) + bias)
//! ```
//! The sign trick: the bias is the extreme with the larger magnitude, and the scale points from it
//! towards zero (hence negative when the maximum dominates), so that extreme is hit exactly and zero
//! lands (almost) on a code. Codes are computed from the *unrounded* f32 scale/bias, exactly as mlx.

use crate::cast::{FloatType, round_one, x86};
use crate::quant::pack;

/// Group sizes mlx accepts for affine quantization.
pub const GROUP_SIZES: [usize; 3] = [32, 64, 128];

const EPS: f32 = 1e-7;
/// Lanes of the min/max accumulators: one AVX-512 register of f32 (two AVX2 or four NEON ones).
/// Independent accumulators let the loop vectorise (a single running max is a serial dependency
/// LLVM will not reorder without fast-math).
const LANES: usize = 16;
/// 2^23: for v in [0, 2^23), `v + 2^23` rounds to an integer with ties to even (`rint`), and the
/// low mantissa bits of the sum *are* that integer.
const MAGIC: f32 = 8_388_608.0;

#[inline]
fn check(group_size: usize, bits: u32, n: usize) {
    assert!(
        GROUP_SIZES.contains(&group_size),
        "affine: unsupported group size {group_size}"
    );
    assert!(
        bits != 7 && pack::SUPPORTED_BITS.contains(&bits),
        "affine: unsupported bits {bits}"
    );
    assert_eq!(
        n % group_size,
        0,
        "affine: length {n} is not a multiple of the group size"
    );
}

/// NaN-skipping (max, min) of a group, as mlx's `w_max = std::max(w_max, w)` loop starting from
/// ∓inf: `std::max(m, NaN)` keeps `m`, so NaN elements are ignored and an all-NaN group yields
/// (−inf, +inf). The comparison-select form is exactly `std::max`/`std::min` and maps to
/// `maxps`/`minps`. The accumulators never hold a NaN, so the lanes can be combined in any order
/// (a tree here). Which zero sign wins for ±0 can differ from the sequential order, but no result
/// depends on it: only |w_min|, |w_max| and w_max − w_min are used, and a ±0 edge gives q0 = 0.
///
/// `inline(always)` here and below: these helpers must be compiled inside each
/// `multiversion` clone of [`quantize`] to get its SIMD width; a call to an out-of-line copy
/// runs baseline SSE2 code (measured: 56% of the kernel's time before).
#[inline(always)]
fn max_min<const G: usize>(xg: &[f32; G]) -> (f32, f32) {
    let mut hi = [f32::NEG_INFINITY; LANES];
    let mut lo = [f32::INFINITY; LANES];
    for c in xg.chunks_exact(LANES) {
        for l in 0..LANES {
            let v = c[l];
            hi[l] = if hi[l] < v { v } else { hi[l] };
            lo[l] = if v < lo[l] { v } else { lo[l] };
        }
    }
    // A performance-only barrier (results do not depend on it): without it LLVM fuses the
    // chunk loop and the tree into one "horizontal reduction" that it vectorises two lanes
    // wide (measured 0.15 vs 0.05 ns per element for this function).
    let (hi, lo) = core::hint::black_box((hi, lo));
    let (hi, lo) = (fold_half::<8, true>(&hi), fold_half::<8, false>(&lo));
    let (hi, lo) = (fold_half::<4, true>(&hi), fold_half::<4, false>(&lo));
    let (hi, lo) = (fold_half::<2, true>(&hi), fold_half::<2, false>(&lo));
    let (hi, lo) = (fold_half::<1, true>(&hi), fold_half::<1, false>(&lo));
    (hi[0], lo[0])
}

/// One step of a tree reduction: lane `l` of the result combines lanes `l` and `l + H`.
#[inline(always)]
fn fold_half<const H: usize, const MAX: bool>(v: &[f32]) -> [f32; H] {
    core::array::from_fn(|l| {
        let (a, b) = (v[l], v[l + H]);
        if MAX {
            if a < b { b } else { a }
        } else if b < a {
            b
        } else {
            a
        }
    })
}

/// The per-group (scale, bias) in f32, before rounding to T. Scalar code with explicit x86 NaN
/// semantics: non-finite groups produce NaN scales whose sign is visible in f16/f32 outputs
/// (e.g. all-NaN → `-inf/inf` = default NaN `0xFFC00000`; all-+inf → `-(inf-inf)` = `0x7FC00000`).
#[inline(always)]
pub fn group_params(w_max: f32, w_min: f32, bits: u32) -> (f32, f32) {
    if bits == 1 {
        // 0.32.4 1-bit: code 0 → w_min, code 1 → w_max
        return (x86::std_max(x86::sub(w_max, w_min), EPS), w_min);
    }
    let n_bins = ((1u32 << bits) - 1) as f32;
    let mask = w_min.abs() > w_max.abs();
    let mut scale = x86::std_max(x86::div(x86::sub(w_max, w_min), n_bins), EPS);
    if !mask {
        scale = -scale; // a sign flip, also of a NaN (as the compiled `-scale`)
    }
    let edge = if mask { w_min } else { w_max };
    let q0 = x86::rint(x86::div(edge, scale));
    let mut bias = 0.0;
    if q0 != 0.0 {
        // (NaN != 0 is true, as in C++)
        scale = x86::div(edge, q0);
        bias = edge;
    }
    (scale, bias)
}

/// Codes of one group, one per byte: `clamp(rint((x - bias) / scale), 0, n_bins)`. The clamp is
/// applied before the rounding (equivalent, since the bounds are integers and rounding is
/// monotone), which lets the rounding be done with the [`MAGIC`] addition. NaN (from a NaN
/// element or a NaN scale) fails `v > 0` and becomes code 0, which is what the x86 float→int
/// conversion in mlx leaves in the packed word.
///
/// mlx divides by the scale; a SIMD division costs ~10× a multiplication, so this multiplies by
/// the reciprocal and proves the result instead: `(x - bias) * (1 / scale)` is within 3 ulp-units
/// (3·2⁻²⁴ relative) of the true quotient and mlx's rounded quotient, i.e. within 4.6e-5 for any
/// value that can round to a code (≤ 255.5). Rounding both to an integer can then differ only
/// if a half-integer lies within that distance; a group where any value is within
/// [`TIE_MARGIN`] (2.6× that) of a half-integer is recomputed with the division (about 1.6% of
/// groups at 64 values). Everything else holds for NaN/inf too: `(x - bias) * (1/±inf)` and
/// `(x - bias) / ±inf` are both ±0 or both NaN, and both give the same code.
#[inline(always)]
fn encode<const G: usize>(xg: &[f32; G], scale: f32, bias: f32, n_bins: f32, codes: &mut [u8; G]) {
    let inv = 1.0 / scale;
    let mut near_tie = false;
    for (c, &x) in codes.iter_mut().zip(xg) {
        let v = (x - bias) * inv;
        let v = if v > 0.0 { v } else { 0.0 };
        let v = if v < n_bins { v } else { n_bins };
        let r = (v + MAGIC) - MAGIC;
        near_tie |= (v - r).abs() > 0.5 - TIE_MARGIN;
        *c = (v + MAGIC).to_bits().wrapping_sub(MAGIC.to_bits()) as u8;
    }
    if near_tie {
        encode_dividing(xg, scale, bias, n_bins, codes);
    }
}

/// Distance to a half-integer below which [`encode`] falls back to dividing: 2⁻¹³.
const TIE_MARGIN: f32 = 1.0 / 8192.0;

/// [`encode`] the way mlx computes it, with a division per value.
#[inline(always)]
fn encode_dividing<const G: usize>(
    xg: &[f32; G],
    scale: f32,
    bias: f32,
    n_bins: f32,
    codes: &mut [u8; G],
) {
    for (c, &x) in codes.iter_mut().zip(xg) {
        let v = (x - bias) / scale;
        let v = if v > 0.0 { v } else { 0.0 };
        let v = if v < n_bins { v } else { n_bins };
        *c = (v + MAGIC).to_bits().wrapping_sub(MAGIC.to_bits()) as u8;
    }
}

/// Groups handled together: their parameters are computed one per SIMD lane.
const BATCH: usize = 16;

/// [`group_params`] for a batch of groups at once. When every max and min is finite no NaN can
/// arise anywhere (a range that overflows gives scale ±inf, edge/scale = ±0, q0 = 0), so plain
/// IEEE arithmetic gives the same bits as the NaN-exact scalar code and vectorises across the
/// batch; a batch with a non-finite group takes the scalar code.
#[inline(always)]
fn batch_params<const B: u32>(
    hi: &[f32; BATCH],
    lo: &[f32; BATCH],
    scales: &mut [f32; BATCH],
    biases: &mut [f32; BATCH],
) {
    let finite = hi
        .iter()
        .zip(lo)
        .fold(true, |a, (h, l)| a & h.is_finite() & l.is_finite());
    if !finite {
        for l in 0..BATCH {
            (scales[l], biases[l]) = group_params(hi[l], lo[l], B);
        }
        return;
    }
    let n_bins = ((1u32 << B) - 1) as f32;
    for l in 0..BATCH {
        let (w_max, w_min) = (hi[l], lo[l]);
        if B == 1 {
            let range = w_max - w_min;
            scales[l] = if range < EPS { EPS } else { range };
            biases[l] = w_min;
            continue;
        }
        let mask = w_min.abs() > w_max.abs();
        let step = (w_max - w_min) / n_bins;
        let scale = if step < EPS { EPS } else { step };
        let scale = if mask { scale } else { -scale };
        let edge = if mask { w_min } else { w_max };
        let q0 = (edge / scale).round_ties_even();
        let refit = q0 != 0.0;
        scales[l] = if refit { edge / q0 } else { scale };
        biases[l] = if refit { edge } else { 0.0 };
    }
}

/// The whole kernel for one (group size, bits) pair, so every loop has constant bounds: per batch
/// of groups, the min/max of each group, then all their parameters, then each group's codes.
#[inline(always)]
fn quantize_groups<const G: usize, const B: u32>(
    x: &[f32],
    words: &mut [u32],
    scales: &mut [f32],
    biases: &mut [f32],
) {
    let n_bins = ((1u32 << B) - 1) as f32;
    let wpg = G * B as usize / 32;
    let batches = x
        .chunks(BATCH * G)
        .zip(words.chunks_mut(BATCH * wpg))
        .zip(scales.chunks_mut(BATCH).zip(biases.chunks_mut(BATCH)));
    for ((xb, wb), (sb, bb)) in batches {
        let mut hi = [0f32; BATCH];
        let mut lo = [0f32; BATCH];
        for ((h, l), xg) in hi.iter_mut().zip(lo.iter_mut()).zip(xb.chunks_exact(G)) {
            let xg: &[f32; G] = xg.try_into().expect("chunks_exact(G) yields G elements");
            (*h, *l) = max_min(xg);
        }
        match (
            <&mut [f32; BATCH]>::try_from(&mut *sb),
            <&mut [f32; BATCH]>::try_from(&mut *bb),
        ) {
            (Ok(s), Ok(b)) => batch_params::<B>(&hi, &lo, s, b),
            _ => {
                for (g, (s, b)) in sb.iter_mut().zip(bb.iter_mut()).enumerate() {
                    (*s, *b) = group_params(hi[g], lo[g], B);
                }
            }
        }
        let groups = xb.chunks_exact(G).zip(wb.chunks_exact_mut(wpg));
        for ((xg, wg), (&scale, &bias)) in groups.zip(sb.iter().zip(bb.iter())) {
            let xg: &[f32; G] = xg.try_into().expect("chunks_exact(G) yields G elements");
            let mut codes = [0u8; G];
            encode(xg, scale, bias, n_bins, &mut codes);
            pack::pack_fixed::<G, B>(&codes, wg);
        }
    }
}

/// Quantize `x` (f32 values already rounded to the weight dtype T; whole rows flattened, so the
/// length is a multiple of `group_size`). Writes `x.len()*bits/32` packed words and the unrounded
/// f32 scale and bias of every group (`x.len()/group_size` each); encode those to T with
/// [`crate::cast::encode_from_f32`] to get mlx's stored values.

#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+fma+bmi1+bmi2+lzcnt+popcnt",
    "x86_64+avx2+fma+bmi1+bmi2+lzcnt+popcnt",
    "aarch64+neon"
))]
pub fn quantize(
    x: &[f32],
    group_size: usize,
    bits: u32,
    words: &mut [u32],
    scales: &mut [f32],
    biases: &mut [f32],
) {
    check(group_size, bits, x.len());
    let n_groups = x.len() / group_size;
    let wpg = group_size * bits as usize / 32;
    assert_eq!(
        words.len(),
        n_groups * wpg,
        "affine::quantize: words length"
    );
    assert_eq!(scales.len(), n_groups, "affine::quantize: scales length");
    assert_eq!(biases.len(), n_groups, "affine::quantize: biases length");
    let (w, s, b) = (words, scales, biases);
    match (group_size, bits) {
        (32, 1) => quantize_groups::<32, 1>(x, w, s, b),
        (32, 2) => quantize_groups::<32, 2>(x, w, s, b),
        (32, 3) => quantize_groups::<32, 3>(x, w, s, b),
        (32, 4) => quantize_groups::<32, 4>(x, w, s, b),
        (32, 5) => quantize_groups::<32, 5>(x, w, s, b),
        (32, 6) => quantize_groups::<32, 6>(x, w, s, b),
        (32, 8) => quantize_groups::<32, 8>(x, w, s, b),
        (64, 1) => quantize_groups::<64, 1>(x, w, s, b),
        (64, 2) => quantize_groups::<64, 2>(x, w, s, b),
        (64, 3) => quantize_groups::<64, 3>(x, w, s, b),
        (64, 4) => quantize_groups::<64, 4>(x, w, s, b),
        (64, 5) => quantize_groups::<64, 5>(x, w, s, b),
        (64, 6) => quantize_groups::<64, 6>(x, w, s, b),
        (64, 8) => quantize_groups::<64, 8>(x, w, s, b),
        (128, 1) => quantize_groups::<128, 1>(x, w, s, b),
        (128, 2) => quantize_groups::<128, 2>(x, w, s, b),
        (128, 3) => quantize_groups::<128, 3>(x, w, s, b),
        (128, 4) => quantize_groups::<128, 4>(x, w, s, b),
        (128, 5) => quantize_groups::<128, 5>(x, w, s, b),
        (128, 6) => quantize_groups::<128, 6>(x, w, s, b),
        (128, 8) => quantize_groups::<128, 8>(x, w, s, b),
        _ => unreachable!("group size and bits checked above"),
    }
}

/// Dequantize: `scales`/`biases` hold T values (as f32); the output holds T values, rounded as
/// mlx's op graph does (`multiply` then `add`, each rounded to T): `T(T(q * s) + b)`.

#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+fma+bmi1+bmi2+lzcnt+popcnt",
    "x86_64+avx2+fma+bmi1+bmi2+lzcnt+popcnt",
    "aarch64+neon"
))]
pub fn dequantize(
    words: &[u32],
    scales: &[f32],
    biases: &[f32],
    group_size: usize,
    bits: u32,
    t: FloatType,
    out: &mut [f32],
) {
    check(group_size, bits, out.len());
    let n_groups = out.len() / group_size;
    let wpg = group_size * bits as usize / 32;
    assert_eq!(
        words.len(),
        n_groups * wpg,
        "affine::dequantize: words length"
    );
    assert_eq!(scales.len(), n_groups, "affine::dequantize: scales length");
    assert_eq!(biases.len(), n_groups, "affine::dequantize: biases length");
    let mut codes = [0u8; 128];
    let codes = &mut codes[..group_size];
    let groups = out
        .chunks_exact_mut(group_size)
        .zip(words.chunks_exact(wpg));
    for ((og, wg), (&s, &b)) in groups.zip(scales.iter().zip(biases)) {
        pack::unpack(wg, bits, codes);
        if s.is_finite() && b.is_finite() {
            // no NaN can be generated: q*s is finite or ±inf, and b is finite
            for (o, &q) in og.iter_mut().zip(codes.iter()) {
                *o = q as f32 * s;
            }
            crate::cast::round_to(t, og);
            for o in og.iter_mut() {
                *o += b;
            }
            crate::cast::round_to(t, og);
        } else {
            for (o, &q) in og.iter_mut().zip(codes.iter()) {
                let m = round_one(t, x86::mul(q as f32, s));
                *o = round_one(t, x86::add(m, b));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The algorithm of the module docs, literally: one group at a time, scalar, sequential
    /// min/max, codes then [`pack::pack`]. The batched SIMD kernel must match it bit for bit.
    fn reference(x: &[f32], gs: usize, bits: u32) -> (Vec<u32>, Vec<f32>, Vec<f32>) {
        let n_bins = ((1u32 << bits) - 1) as f32;
        let (mut words, mut scales, mut biases) = (Vec::new(), Vec::new(), Vec::new());
        for xg in x.chunks_exact(gs) {
            let (mut w_max, mut w_min) = (f32::NEG_INFINITY, f32::INFINITY);
            for &v in xg {
                w_max = x86::std_max(w_max, v);
                w_min = if v < w_min { v } else { w_min };
            }
            let (scale, bias) = group_params(w_max, w_min, bits);
            let codes: Vec<u8> = xg
                .iter()
                .map(|&v| {
                    let q = x86::rint(x86::div(x86::sub(v, bias), scale));
                    if q.is_nan() {
                        0
                    } else {
                        q.clamp(0.0, n_bins) as u8
                    }
                })
                .collect();
            let mut w = vec![0u32; gs * bits as usize / 32];
            pack::pack(&codes, bits, &mut w);
            words.extend(w);
            scales.push(scale);
            biases.push(bias);
        }
        (words, scales, biases)
    }

    fn bits_of(v: &[f32]) -> Vec<u32> {
        v.iter().map(|f| f.to_bits()).collect()
    }

    /// Mostly ordinary weights, with specials sprinkled in so that some batches of 16 groups
    /// are all finite (vector parameters) and some are not (scalar fallback).
    fn value() -> impl Strategy<Value = f32> {
        prop_oneof![
            40 => (-1.0f32..1.0).prop_map(|v| v * 0.05),
            4 => -3.0e38f32..3.0e38,
            1 => prop::sample::select(vec![
                f32::NAN,
                -f32::NAN,
                f32::INFINITY,
                f32::NEG_INFINITY,
                0.0,
                -0.0,
                1e-40,
                -1e-45,
                0.5,
            ]),
        ]
    }

    /// The reciprocal fast path of [`encode`] must give mlx's codes exactly where it is most
    /// likely not to: values whose quotient is on or a few ulp around a half-integer (the
    /// rounding boundary between two codes), for scales of both signs and odd magnitudes.
    #[test]
    fn reciprocal_encode_matches_division_around_every_code_boundary() {
        let mut checked_ties = 0;
        for &(scale, bias) in &[
            (-0.1f32, 1.5f32),
            (0.1, -0.7),
            (3.0e-7, 0.0),
            (-7.3e-3, 0.05),
            (0.012_345_6, -1.0),
            (1.0 / 3.0, 2.0),
            (-1.0e-7, 3.0e-6),
        ] {
            for bits in [2u32, 3, 4, 5, 6, 8] {
                let n_bins = ((1u32 << bits) - 1) as f32;
                let mut xs = Vec::new();
                for k in 0..=(1u32 << bits) {
                    let x0 = bias + (k as f32 - 0.5) * scale;
                    for step in -40i32..=40 {
                        xs.push(f32::from_bits(x0.to_bits().wrapping_add_signed(step)));
                    }
                }
                xs.resize(xs.len().div_ceil(64) * 64, bias);
                for xg in xs.chunks_exact(64) {
                    let xg: &[f32; 64] = xg.try_into().unwrap();
                    let (mut fast, mut exact) = ([0u8; 64], [0u8; 64]);
                    encode(xg, scale, bias, n_bins, &mut fast);
                    encode_dividing(xg, scale, bias, n_bins, &mut exact);
                    assert_eq!(fast, exact, "scale {scale} bias {bias} bits {bits}");
                    checked_ties += xg
                        .iter()
                        .filter(|&&x| {
                            let q = (x - bias) / scale;
                            q > 0.0 && q < n_bins && (q - q.floor() - 0.5).abs() < 1e-4
                        })
                        .count();
                }
            }
        }
        // The sweep really did land next to the boundaries it is meant to test.
        assert!(checked_ties > 1000, "{checked_ties}");
    }

    proptest! {
        #[test]
        fn matches_reference(
            gs in prop::sample::select(GROUP_SIZES.to_vec()),
            bits in prop::sample::select(vec![1u32, 2, 3, 4, 5, 6, 8]),
            groups in 1usize..40,
            seed in prop::collection::vec(value(), 128 * 40),
            constant in any::<bool>(),
        ) {
            let mut x = seed[..gs * groups].to_vec();
            if constant {
                // constant groups take the q0 == 0 / eps branches
                for g in x.chunks_exact_mut(gs).step_by(3) {
                    let c = g[0];
                    g.fill(c);
                }
            }
            let n = x.len() / gs;
            let (mut w, mut s, mut b) =
                (vec![0u32; x.len() * bits as usize / 32], vec![0f32; n], vec![0f32; n]);
            quantize(&x, gs, bits, &mut w, &mut s, &mut b);
            let (rw, rs, rb) = reference(&x, gs, bits);
            prop_assert_eq!(w, rw);
            prop_assert_eq!(bits_of(&s), bits_of(&rs));
            prop_assert_eq!(bits_of(&b), bits_of(&rb));
        }
    }
}
