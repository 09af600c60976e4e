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
/// Lanes for the min/max reduction: independent accumulators let the loop vectorise (a single
/// running max is a serial dependency LLVM will not reorder without fast-math).
const LANES: usize = 8;

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
/// `maxps`/`minps`. (Which zero sign wins for ±0 can differ from the sequential order, but no
/// result depends on it: only |w_min|, |w_max| and w_max − w_min are used, and a ±0 edge gives
/// q0 = 0.)
#[inline]
fn max_min(xg: &[f32]) -> (f32, f32) {
    let mut hi = [f32::NEG_INFINITY; LANES];
    let mut lo = [f32::INFINITY; LANES];
    for c in xg.chunks_exact(LANES) {
        for l in 0..LANES {
            let v = c[l];
            hi[l] = if hi[l] < v { v } else { hi[l] };
            lo[l] = if v < lo[l] { v } else { lo[l] };
        }
    }
    let mut h = hi[0];
    let mut m = lo[0];
    for l in 1..LANES {
        h = if h < hi[l] { hi[l] } else { h };
        m = if lo[l] < m { lo[l] } else { m };
    }
    (h, m)
}

/// The per-group (scale, bias) in f32, before rounding to T. Scalar code with explicit x86 NaN
/// semantics: non-finite groups produce NaN scales whose sign is visible in f16/f32 outputs
/// (e.g. all-NaN → `-inf/inf` = default NaN `0xFFC00000`; all-+inf → `-(inf-inf)` = `0x7FC00000`).
#[inline]
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

/// Codes of one group: `clamp(rint((x - bias) / scale), 0, n_bins)`. The clamp is applied before
/// the rounding (equivalent, since the bounds are integers and rounding is monotone), which lets
/// the rounding be done with the 2^23 trick: for v in [0, 2^23) `v + 2^23` rounds to an integer
/// with ties to even, and its low mantissa bits *are* the integer. NaN (from a NaN element or a
/// NaN scale) fails `v > 0` and becomes code 0, which is what the x86 float→int conversion in
/// mlx leaves in the packed word.
#[inline]
fn encode_group(xg: &[f32], scale: f32, bias: f32, n_bins: f32, codes: &mut [u8]) {
    const MAGIC: f32 = 8_388_608.0; // 2^23
    for (c, &x) in codes.iter_mut().zip(xg) {
        let v = (x - bias) / scale;
        let v = if v > 0.0 { v } else { 0.0 };
        let v = if v < n_bins { v } else { n_bins };
        *c = ((v + MAGIC).to_bits() - MAGIC.to_bits()) as u8;
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
    let n_bins = ((1u32 << bits) - 1) as f32;
    let mut codes = [0u8; 128];
    let codes = &mut codes[..group_size];
    let groups = x.chunks_exact(group_size).zip(words.chunks_exact_mut(wpg));
    for ((xg, wg), (s, b)) in groups.zip(scales.iter_mut().zip(biases.iter_mut())) {
        let (w_max, w_min) = max_min(xg);
        let (scale, bias) = group_params(w_max, w_min, bits);
        match bits {
            // Word-aligned widths: codes go straight into their word (one pass, vectorisable).
            2 => encode_pack_pow2::<2>(xg, scale, bias, n_bins, wg),
            4 => encode_pack_pow2::<4>(xg, scale, bias, n_bins, wg),
            8 => encode_pack_pow2::<8>(xg, scale, bias, n_bins, wg),
            _ => {
                encode_group(xg, scale, bias, n_bins, codes);
                pack::pack(codes, bits, wg);
            }
        }
        *s = scale;
        *b = bias;
    }
}

/// [`encode_group`] fused with packing for widths that divide 32: `32/B` consecutive codes
/// fill one word, LSB first.
#[inline]
fn encode_pack_pow2<const B: u32>(xg: &[f32], scale: f32, bias: f32, n_bins: f32, wg: &mut [u32]) {
    const MAGIC: f32 = 8_388_608.0; // 2^23, see encode_group
    let per = (32 / B) as usize;
    for (w, xs) in wg.iter_mut().zip(xg.chunks_exact(per)) {
        let mut acc = 0u32;
        for (k, &x) in xs.iter().enumerate() {
            let v = (x - bias) / scale;
            let v = if v > 0.0 { v } else { 0.0 };
            let v = if v < n_bins { v } else { n_bins };
            let c = (v + MAGIC).to_bits() - MAGIC.to_bits();
            acc |= c << (k as u32 * B);
        }
        *w = acc;
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
