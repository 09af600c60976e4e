//! Floating-point block quantization (`mxfp4`, `nvfp4`, `mxfp8`), bit-exact with mlx 0.32.4's CPU
//! path (the op-graph "fallback" of `mlx/ops.cpp: fp_quantize` / `fp_dequantize`), plus the FP
//! codecs it uses: E2M1 (fp4 elements), E4M3 (fp8 elements, nvfp4 scales, mlx's `ToFP8`/`FromFP8`)
//! and E8M0 (mx scales).
//!
//! The op graph computes every intermediate in the weight dtype T (f32 arithmetic, rounded to T
//! after each op) except where mlx's type promotion goes to f32 (nvfp4's scale encoding), so the
//! kernels take T and round at the same points.
//!
//! mx modes (group 32, maxval 6 or 448):
//! ```text
//! amax = max|x| (NaN propagates) ; s = T(amax / maxval)
//! e    = s == 0 ? 0 : ceil(log2(s))  (exact)     scale code = (e + 127) mod 256
//! y    = T(x / T(2^e))
//! mxfp4: code = argmin_k |T(y - LUT[k])| (ties → lowest index)   mxfp8: code = ToFP8(y)
//! ```
//! nvfp4 (group 16): `enc = 2688/g` (or 1), `sc = f32(T(amax/6)) * enc`, scale code = `ToFP8(sc)`,
//! `d = T(FromFP8(code))`, `y = f32(T(x/d)) * enc`, code = argmin in f32.
//!
//! Measured details the reference text gets wrong or leaves out (all verified against mlx):
//! `ToFP8` saturates from 448 (`543 << 21`), not 480, so nothing rounds into the NaN code 0x7F;
//! non-finite mx groups get scale code 0x80 for f32 input but 0x00 for f16/bf16.

use crate::cast::{FloatType, round_one, round_to, x86};
use crate::quant::pack;

/// The three fp block formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FpMode {
    Mxfp4,
    Nvfp4,
    Mxfp8,
}

impl FpMode {
    /// Elements per scale (fixed by the format).
    #[inline]
    pub fn group_size(self) -> usize {
        match self {
            FpMode::Nvfp4 => 16,
            FpMode::Mxfp4 | FpMode::Mxfp8 => 32,
        }
    }

    /// Bits per element code.
    #[inline]
    pub fn bits(self) -> u32 {
        match self {
            FpMode::Mxfp8 => 8,
            FpMode::Mxfp4 | FpMode::Nvfp4 => 4,
        }
    }
}

// ------------------------------------------------------------------------------------- codecs

/// FP4 E2M1 code → value. Index 8 is −0, which the encoder never produces (see [`e2m1_encode`]).
pub const E2M1_LUT: [f32; 16] = [
    0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0,
];

/// E2M1 encoding of a *finite* `y` with `|y| <= 12`, equal to mlx's
/// `argmin_k |y - LUT[k]|` there: nearest grid value, ties toward zero (the lower index wins the
/// tie, and lower indices have smaller magnitude), and anything in `[-0.25, 0]` → code 0 (+0 has
/// index 0, so it beats −0 at index 8 on the tie). Why nearest-with-ties-down is exact even
/// though mlx computes the distances rounded to T (or f32): within that range the two candidate
/// distances around `y` are exact (Sterbenz), the midpoints are representable, and every other
/// distance is larger by at least 0.5, far more than its rounding error. Callers route everything
/// else (non-finite or huge `y`, possible with nvfp4 global scales) to [`e2m1_argmin`].
///
/// Computed mostly from the bits rather than by counting the 7 thresholds (about half the
/// vector instructions): from 1 up, the grid {1, 1.5, 2, 3, 4, 6} is every float with one
/// mantissa bit, so rounding `|y|` to one mantissa bit with ties down,
/// `r = (bits + 2^21 − 1) >> 22` (exponent·2 + kept bit; a carry moves to the next binade, as it
/// should), gives the code as `r − 252`, capped at 7 (6.0). Below 1 the grid {0, 0.5, 1} is
/// coarser than that rounding, so there the two thresholds 0.25 and 0.75 are counted; the larger
/// of the two counts is the code everywhere (each is at most the code where it does not apply).
#[inline(always)]
pub fn e2m1_encode(y: f32) -> u8 {
    let b = y.to_bits() & 0x7FFF_FFFF;
    let r = ((b + 0x1F_FFFF) >> 22) as i32;
    let below_one = (b > 0x3E80_0000) as i32 + (b > 0x3F40_0000) as i32;
    let idx = (r - 252).min(7).max(below_one) as u8;
    let neg = (y.to_bits() >> 31) as u8;
    idx | ((neg & (idx != 0) as u8) << 3)
}

/// Exact emulation of mlx's `argmin(abs(y - lut))` with the subtraction rounded to `arith`: first
/// minimum wins, and a NaN distance counts as the minimum (mlx's argmin), so NaN `y` → code 0, and
/// ±inf `y` (all distances inf) → code 0.
pub fn e2m1_argmin(y: f32, arith: FloatType) -> u8 {
    let mut best = 0u8;
    let mut best_d = f32::INFINITY;
    for (k, &l) in E2M1_LUT.iter().enumerate() {
        let d = round_one(arith, y - l).abs();
        if d.is_nan() {
            return k as u8;
        }
        if k == 0 || d < best_d {
            best = k as u8;
            best_d = d;
        }
    }
    best
}

/// mlx's `detail::ToFP8` (CPU), f32 → E4M3 code. Round-to-nearest-even; magnitudes ≥ 448
/// (`543 << 21` = 0x43E00000; incl. ±inf and NaN) saturate to ±448 (0x7E / 0xFE), so values in
/// (464, 480) never round up into E4M3's NaN code 0x7F; the sign bit is always kept (−0 → 0x80,
/// NaN keeps its sign bit). Subnormals (|x| < 2^-6) are rounded by an f32 addition of 2^14, whose
/// ulp is the E4M3 subnormal step 2^-9.
#[inline(always)]
pub fn to_fp8_e4m3(x: f32) -> u8 {
    let b0 = x.to_bits();
    let sign = b0 & 0x8000_0000;
    let b = b0 ^ sign;
    let low = (f32::from_bits(b) + 16384.0)
        .to_bits()
        .wrapping_sub(0x4680_0000);
    let high = b
        .wrapping_sub(120 << 23)
        .wrapping_add(0x7FFFF + ((b >> 20) & 1))
        >> 20;
    let r = if b < (121 << 23) { low } else { high };
    let r = if b >= 0x43E0_0000 { 0x7E } else { r };
    (r as u8) | ((sign >> 24) as u8)
}

/// mlx 0.32.4's `detail::FromFP8`, E4M3 code → f32. The code's low 7 bits shifted left by 7 are
/// an f16 with the same exponent bias offset by 8, so the value is that f16 × 256. 0x7F/0xFF (E4M3
/// NaN) decode to NaN with the bits mlx produces (`0x7FF00000 | sign`: the f16 NaN `0x7F80`
/// widened).
#[inline(always)]
pub fn from_fp8_e4m3(c: u8) -> f32 {
    let v = (c & 0x7F) as u16;
    let sign = ((c as u32) & 0x80) << 24;
    let mag = crate::cast::f16_bits_to_f32(v << 7) * 256.0;
    let mag = if v == 0x7F {
        f32::from_bits(0x7FF0_0000)
    } else {
        mag
    };
    f32::from_bits(mag.to_bits() | sign)
}

/// E8M0 code → `2^(c-127)` as f32 (exact; 2^-127 is an f32 subnormal; code 255 → +inf, as mlx's
/// `power(2, 128)` overflows).
#[inline(always)]
pub fn e8m0_to_f32(c: u8) -> f32 {
    pow2_f32(c as i32 - 127)
}

/// Exact `2^e` in f32 for any e (subnormal / 0 / inf outside the range).
#[inline(always)]
fn pow2_f32(e: i32) -> f32 {
    if e > 127 {
        f32::INFINITY
    } else if e >= -126 {
        f32::from_bits(((e + 127) as u32) << 23)
    } else if e >= -149 {
        f32::from_bits(1u32 << (e + 149))
    } else {
        0.0
    }
}

/// Exact `ceil(log2(s))` of a positive finite f32 (subnormals included). mlx 0.32.4 derives the
/// E8M0 exponent this way (0.32.2 used `round(log2)`): the smallest power of two ≥ s, which
/// guarantees `|x / 2^e| <= maxval` (up to the rounding of s itself). Bit arithmetic rather than
/// `log2f`, which rounds: for `s = 1024·(1+2^-23)`, `log2f(s)` is exactly 10.0 but the answer is 11.
#[inline(always)]
pub fn ceil_log2(s: f32) -> i32 {
    let b = s.to_bits() & 0x7FFF_FFFF;
    let exp = (b >> 23) as i32;
    let mant = b & 0x7F_FFFF;
    if exp == 0 {
        // subnormal: s = mant * 2^-149, mant >= 1
        let m = mant.max(1);
        -149 + (32 - (m - 1).leading_zeros()) as i32
    } else {
        exp - 127 + (mant != 0) as i32
    }
}

/// E8M0 scale code for a T-rounded group scale `s = T(amax/maxval)` (finite, ≥ 0): `s == 0` → 127
/// (2^0), else `(ceil(log2 s) + 127) mod 256` — mlx does not clamp, so exponents below −127 wrap.
#[inline(always)]
pub fn e8m0_encode_ceil(s: f32) -> (u8, i32) {
    let e = if s == 0.0 { 0 } else { ceil_log2(s) };
    ((e + 127) as u8, e)
}

// ------------------------------------------------------------------------------------- kernels

/// NaN-propagating `max |x|` of a group (mlx `max(abs(x))`), as bits. With the sign cleared, the
/// order of f32 bit patterns as unsigned integers is the order of the values, and every NaN
/// pattern is above +inf: an integer max both finds the maximum and propagates NaN (as some
/// positive NaN; which one never matters, see the callers). Integer max is associative, so LLVM
/// vectorises the reduction fully.
///
/// `inline(always)` here and below: these helpers must be compiled inside each `multiversion`
/// clone of [`quantize`] to get its SIMD width (out-of-line copies run baseline SSE2 code).
#[inline(always)]
fn amax_bits<const G: usize>(xg: &[f32; G]) -> u32 {
    xg.iter()
        .map(|v| v.to_bits() & 0x7FFF_FFFF)
        .fold(0, u32::max)
}

/// `round_one` over a group, inlined (the public [`round_to`] is a dispatching entry point).
#[inline(always)]
fn round_group<const G: usize>(t: FloatType, y: &mut [f32; G]) {
    match t {
        FloatType::F32 => {}
        FloatType::F16 => y
            .iter_mut()
            .for_each(|v| *v = round_one(FloatType::F16, *v)),
        FloatType::BF16 => y
            .iter_mut()
            .for_each(|v| *v = round_one(FloatType::BF16, *v)),
    }
}

/// E2M1 codes of a group by thresholds: exact while every `|y| <= 12` (the callers check).
#[inline(always)]
fn encode_fp4<const G: usize>(y: &[f32; G]) -> [u8; G] {
    core::array::from_fn(|i| e2m1_encode(y[i]))
}

/// Whether [`encode_fp4`] is exact for the whole group.
#[inline(always)]
fn fp4_thresholds_ok<const G: usize>(y: &[f32; G]) -> bool {
    y.iter().fold(true, |a, &v| a & (v.abs() <= 12.0))
}

/// The exact E2M1 argmin for a group [`encode_fp4`] cannot take (NaN, inf or huge `y`).
#[cold]
#[inline(never)]
fn pack_fp4_argmin(y: &[f32], arith: FloatType, wg: &mut [u32]) {
    let codes: Vec<u8> = y.iter().map(|&v| e2m1_argmin(v, arith)).collect();
    pack::pack(&codes, 4, wg);
}

/// mxfp4 (`FP8 = false`, maxval 6) or mxfp8 (`FP8 = true`, maxval 448), groups of 32. Scale
/// exponents are computed for a batch of groups at once (one per SIMD lane, as in nvfp4); the
/// common group (finite, scale exponent ≥ −127) then runs straight-line with everything in
/// registers, and the rare ones go to [`mx_group_slow`].
#[inline(always)]
fn quantize_mx<const FP8: bool>(t: FloatType, x: &[f32], words: &mut [u32], scales: &mut [u8]) {
    const G: usize = 32;
    let maxval = if FP8 { 448.0 } else { 6.0 };
    let wpg = G * if FP8 { 8 } else { 4 } / 32;
    let batches = x
        .chunks(FP_BATCH * G)
        .zip(words.chunks_mut(FP_BATCH * wpg))
        .zip(scales.chunks_mut(FP_BATCH));
    for ((xb, wb), sb) in batches {
        let mut amax = [0f32; FP_BATCH];
        for (a, xg) in amax.iter_mut().zip(xb.chunks_exact(G)) {
            let xg: &[f32; G] = xg.try_into().expect("chunks_exact(G) yields G elements");
            *a = f32::from_bits(amax_bits(xg));
        }
        // For a finite a: s and e as mlx computes them (garbage, and unused, otherwise).
        let e: [i32; FP_BATCH] =
            core::array::from_fn(|l| e8m0_encode_ceil(round_one(t, amax[l] / maxval)).1);
        // The common batch (all 16 groups finite, scale exponents >= -127) runs as one flat
        // loop over its 512 values, so every step is full SIMD width; the others go group by
        // group.
        let fast = amax.iter().fold(true, |f, a| f & a.is_finite()) & e.iter().all(|&e| e >= -127);
        if let (true, Ok(xb), Ok(sb)) = (
            fast,
            <&[f32; FP_BATCH * G]>::try_from(xb),
            <&mut [u8; FP_BATCH]>::try_from(&mut *sb),
        ) {
            *sb = core::array::from_fn(|l| (e[l] + 127) as u8);
            // x / 2^e and x · 2^-e are the same real number, correctly rounded: identical bits
            // (2^-e is exact for e >= -127), and a multiply is several times cheaper than a
            // divide. (mlx divides by T(2^e), which is 2^e: exact in T for every T-valued s.)
            let mut codes = [0u8; FP_BATCH * G];
            let mut fp4_ok = true;
            for ((cg, xg), e) in codes.chunks_exact_mut(G).zip(xb.chunks_exact(G)).zip(e) {
                let r = pow2_f32(-e);
                for (c, &xv) in cg.iter_mut().zip(xg) {
                    let y = round_one(t, xv * r);
                    if FP8 {
                        *c = to_fp8_e4m3(y);
                    } else {
                        fp4_ok &= y.abs() <= 12.0;
                        *c = e2m1_encode(y);
                    }
                }
            }
            if FP8 {
                pack::pack_fixed::<{ FP_BATCH * G }, 8>(&codes, wb);
            } else if fp4_ok {
                pack::pack_fixed::<{ FP_BATCH * G }, 4>(&codes, wb);
            } else {
                for ((xg, wg), e) in xb.chunks_exact(G).zip(wb.chunks_exact_mut(wpg)).zip(e) {
                    let r = pow2_f32(-e);
                    let y: [f32; G] = core::array::from_fn(|i| round_one(t, xg[i] * r));
                    pack_fp4_batch::<G, G>(&y, t, wg);
                }
            }
            continue;
        }
        let groups = xb.chunks_exact(G).zip(wb.chunks_exact_mut(wpg));
        for (l, ((xg, wg), sc)) in groups.zip(sb.iter_mut()).enumerate() {
            let xg: &[f32; G] = xg.try_into().expect("chunks_exact(G) yields G elements");
            let e = e[l];
            if !amax[l].is_finite() || e < -127 {
                *sc = mx_group_slow::<FP8>(t, xg, wg);
                continue;
            }
            *sc = (e + 127) as u8;
            let r = pow2_f32(-e);
            let mut y: [f32; G] = core::array::from_fn(|i| xg[i] * r);
            round_group(t, &mut y);
            if FP8 {
                let codes: [u8; G] = core::array::from_fn(|i| to_fp8_e4m3(y[i]));
                pack::pack_fixed::<G, 8>(&codes, wg);
            } else {
                pack_fp4_batch::<G, G>(&y, t, wg);
            }
        }
    }
}

/// E2M1 codes of `N` values (whole groups of `G`), packed: by thresholds when every value allows
/// it (the common case, one flat SIMD loop), else group by group, the exact argmin only for the
/// groups that need it (a zero group's `0/0`, say).
#[inline(always)]
fn pack_fp4_batch<const N: usize, const G: usize>(
    y: &[f32; N],
    arith: FloatType,
    words: &mut [u32],
) {
    if fp4_thresholds_ok(y) {
        pack::pack_fixed::<N, 4>(&encode_fp4(y), words);
        return;
    }
    for (yg, wg) in y.chunks_exact(G).zip(words.chunks_exact_mut(G / 8)) {
        let yg: &[f32; G] = yg.try_into().expect("chunks_exact(G) yields G elements");
        if fp4_thresholds_ok(yg) {
            pack::pack_fixed::<G, 4>(&encode_fp4(yg), wg);
        } else {
            pack_fp4_argmin(yg, arith, wg);
        }
    }
}

/// An mx group off the fast path: non-finite (see [`mx_nonfinite_group`]) or with a scale below
/// 2^-127 (divided by the subnormal 2^e as mlx does). Returns the scale code.
#[cold]
#[inline(never)]
fn mx_group_slow<const FP8: bool>(t: FloatType, xg: &[f32], wg: &mut [u32]) -> u8 {
    let mode = if FP8 { FpMode::Mxfp8 } else { FpMode::Mxfp4 };
    let maxval = if FP8 { 448.0 } else { 6.0 };
    let mut codes = [0u8; 32];
    let a = f32::from_bits(
        xg.iter()
            .map(|v| v.to_bits() & 0x7FFF_FFFF)
            .fold(0, u32::max),
    );
    let code = if !a.is_finite() {
        mx_nonfinite_group(mode, t, xg, &mut codes);
        mx_nonfinite_scale_code(t)
    } else {
        let s = round_one(t, a / maxval);
        let (code, e) = e8m0_encode_ceil(s);
        let p = round_one(t, pow2_f32(e));
        let mut y = [0f32; 32];
        for (v, &xv) in y.iter_mut().zip(xg) {
            *v = xv / p;
        }
        round_to(t, &mut y);
        for (c, &v) in codes.iter_mut().zip(y.iter()) {
            *c = if FP8 {
                to_fp8_e4m3(v)
            } else {
                e2m1_argmin(v, t)
            };
        }
        code
    };
    pack::pack(&codes, if FP8 { 8 } else { 4 }, wg);
    code
}

/// Groups whose scales are computed together, one per SIMD lane.
const FP_BATCH: usize = 16;

/// nvfp4, groups of 16: an E4M3 scale (times the global scale's `enc`), E2M1 elements. Like the
/// affine kernel, the per-group scalar chain (max → scale code → decoded divisor) runs for a batch
/// of groups at once, so it vectorises across groups instead of running one serial chain per
/// 16 elements.
#[inline(always)]
fn quantize_nv(
    t: FloatType,
    x: &[f32],
    global_scale: Option<f32>,
    words: &mut [u32],
    scales: &mut [u8],
) {
    const G: usize = 16;
    // scale_encode = 448*6 / global_scale (f32), or 1
    let enc = match global_scale {
        Some(g) => x86::div(2688.0, g),
        None => 1.0,
    };
    let wpg = G * 4 / 32;
    let batches = x
        .chunks(FP_BATCH * G)
        .zip(words.chunks_mut(FP_BATCH * wpg))
        .zip(scales.chunks_mut(FP_BATCH));
    for ((xb, wb), sb) in batches {
        let mut amax = [0f32; FP_BATCH];
        for (a, xg) in amax.iter_mut().zip(xb.chunks_exact(G)) {
            let xg: &[f32; G] = xg.try_into().expect("chunks_exact(G) yields G elements");
            *a = f32::from_bits(amax_bits(xg));
        }
        let mut d = [0f32; FP_BATCH];
        // With every max finite and enc finite and non-zero, no NaN can arise in the scale chain
        // (`s * enc` is finite or ±inf), so plain IEEE arithmetic equals the NaN-exact x86 ops.
        let finite = amax.iter().fold(true, |f, a| f & a.is_finite());
        match <&mut [u8; FP_BATCH]>::try_from(&mut *sb) {
            Ok(sb) if finite && enc.is_finite() && enc != 0.0 => {
                *sb = core::array::from_fn(|l| to_fp8_e4m3(round_one(t, amax[l] / 6.0) * enc));
                d = core::array::from_fn(|l| round_one(t, from_fp8_e4m3(sb[l])));
            }
            _ => {
                for (l, sc) in sb.iter_mut().enumerate() {
                    // A NaN max: any positive NaN gives the same results below (x86::div keeps
                    // it NaN, to_fp8_e4m3 of a positive NaN is 0x7E).
                    let s = round_one(t, x86::div(amax[l], 6.0));
                    *sc = to_fp8_e4m3(x86::mul(s, enc));
                    d[l] = round_one(t, from_fp8_e4m3(*sc));
                }
            }
        }
        if let (Ok(xb), Ok(wb)) = (
            <&[f32; FP_BATCH * G]>::try_from(xb),
            <&mut [u32; FP_BATCH * G / 8]>::try_from(&mut *wb),
        ) {
            // A whole batch: codes for its 256 values straight from the input, one group (one
            // SIMD register) at a time, packed together at the end.
            let mut codes = [0u8; FP_BATCH * G];
            let mut fp4_ok = true;
            for ((cg, xg), d) in codes.chunks_exact_mut(G).zip(xb.chunks_exact(G)).zip(d) {
                for (c, &xv) in cg.iter_mut().zip(xg) {
                    let y = round_one(t, xv / d) * enc;
                    fp4_ok &= y.abs() <= 12.0;
                    *c = e2m1_encode(y);
                }
            }
            if fp4_ok {
                pack::pack_fixed::<{ FP_BATCH * G }, 4>(&codes, wb);
            } else {
                for ((xg, wg), d) in xb.chunks_exact(G).zip(wb.chunks_exact_mut(wpg)).zip(d) {
                    let y: [f32; G] = core::array::from_fn(|i| round_one(t, xg[i] / d) * enc);
                    pack_fp4_batch::<G, G>(&y, FloatType::F32, wg);
                }
            }
            continue;
        }
        let groups = xb.chunks_exact(G).zip(wb.chunks_exact_mut(wpg));
        for ((xg, wg), &d) in groups.zip(d.iter()) {
            let xg: &[f32; G] = xg.try_into().expect("chunks_exact(G) yields G elements");
            let mut y: [f32; G] = core::array::from_fn(|i| xg[i] / d);
            round_group(t, &mut y);
            let y: [f32; G] = core::array::from_fn(|i| y[i] * enc);
            pack_fp4_batch::<G, G>(&y, FloatType::F32, wg);
        }
    }
}

/// The caller contract of [`quantize`] and [`dequantize`]: whole groups, and as many words and
/// scales as they take.
fn check_lengths(mode: FpMode, n: usize, words: usize, scales: usize, what: &str) {
    let gs = mode.group_size();
    assert_eq!(
        n % gs,
        0,
        "fp::{what}: length is not a multiple of the group size"
    );
    let n_groups = n / gs;
    assert_eq!(
        words,
        n_groups * gs * mode.bits() as usize / 32,
        "fp::{what}: words length"
    );
    assert_eq!(scales, n_groups, "fp::{what}: scales length");
}

/// Quantize `x` (f32 values holding T values, T = weight dtype) to `mode`. Writes
/// `x.len()*bits/32` packed words and one u8 scale code per group (`x.len()/group_size`).
/// `global_scale` is only meaningful for nvfp4 (ignored otherwise). `x.len()` must be a multiple
/// of the group size; mlx's CPU nvfp4 additionally needs `N·K % 32 == 0`, a caller-level check.

#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+fma+bmi1+bmi2+lzcnt+popcnt",
    "x86_64+avx2+fma+bmi1+bmi2+lzcnt+popcnt",
    "aarch64+neon"
))]
pub fn quantize(
    mode: FpMode,
    t: FloatType,
    x: &[f32],
    global_scale: Option<f32>,
    words: &mut [u32],
    scales: &mut [u8],
) {
    check_lengths(mode, x.len(), words.len(), scales.len(), "quantize");
    // One call per dtype with `t` a constant, so each kernel loop is compiled for one dtype: with
    // `t` a runtime value LLVM computed the f16 rounding for bf16 input too, then selected.
    match t {
        FloatType::BF16 => quantize_as(mode, FloatType::BF16, x, global_scale, words, scales),
        FloatType::F16 => quantize_as(mode, FloatType::F16, x, global_scale, words, scales),
        FloatType::F32 => quantize_as(mode, FloatType::F32, x, global_scale, words, scales),
    }
}

/// [`quantize`] for one (constant) dtype.
#[inline(always)]
fn quantize_as(
    mode: FpMode,
    t: FloatType,
    x: &[f32],
    global_scale: Option<f32>,
    words: &mut [u32],
    scales: &mut [u8],
) {
    match mode {
        FpMode::Mxfp4 => quantize_mx::<false>(t, x, words, scales),
        FpMode::Mxfp8 => quantize_mx::<true>(t, x, words, scales),
        FpMode::Nvfp4 => quantize_nv(t, x, global_scale, words, scales),
    }
}

/// Scale code mlx 0.32.4 (x86-64) writes for an mx group whose max is NaN or ±inf. Observed, and
/// consistent with the exponent becoming `INT_MIN + 1` (x86's float→int of NaN/inf) and the
/// `+ 127` being done in T before the cast to uint8: in f32, `-2^31 + 127` rounds to
/// `-2^31 + 128` → low byte 0x80; in bf16 it stays `-2^31` and in f16 it is `-inf` → 0x00.
#[inline]
fn mx_nonfinite_scale_code(t: FloatType) -> u8 {
    if t == FloatType::F32 { 0x80 } else { 0x00 }
}

/// A group whose max is NaN or ±inf under an mx mode (see [`mx_nonfinite_scale_code`]). The
/// divisor `2^e` is `+0`, so every element becomes `T(x / +0)`: ±inf, or NaN for x = NaN / ±0.
/// fp4 codes are then all 0
/// (argmin over all-inf/NaN distances); fp8 codes are `ToFP8` of those, i.e. `0x7E | sign` where
/// the sign is that of the x86 result *after rounding to T*: x's sign for ±inf and NaN (whose
/// payload is propagated), negative for 0/0 (the x86 default NaN), and always positive for bf16
/// (mlx stores every bf16 NaN as 0x7FC0). Platform-dependent in mlx; reproduced for identity.
fn mx_nonfinite_group(mode: FpMode, t: FloatType, xg: &[f32], codes: &mut [u8]) {
    if mode == FpMode::Mxfp4 {
        codes.fill(0);
        return;
    }
    for (c, &x) in codes.iter_mut().zip(xg) {
        let neg = if x.is_nan() {
            x.is_sign_negative() && t != FloatType::BF16
        } else if x == 0.0 {
            t != FloatType::BF16
        } else {
            x < 0.0
        };
        *c = 0x7E | ((neg as u8) << 7);
    }
}

/// Dequantize to f32 values of `out_t` (mlx's default output dtype for fp modes is bfloat16).
///
/// mx modes: `T(T(elem) * T(2^(c-127)))`; nvfp4: `T(T(elem) * T(FromFP8(c)))`. With an nvfp4
/// `global_scale`, mlx promotes the scale `FromFP8(c) * (g / 2688)` to **float32**, so the output
/// is float32 values (not rounded to `out_t`) regardless of `out_t`; the caller must store F32.

#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+fma+bmi1+bmi2+lzcnt+popcnt",
    "x86_64+avx2+fma+bmi1+bmi2+lzcnt+popcnt",
    "aarch64+neon"
))]
pub fn dequantize(
    mode: FpMode,
    out_t: FloatType,
    words: &[u32],
    scales: &[u8],
    global_scale: Option<f32>,
    out: &mut [f32],
) {
    check_lengths(mode, out.len(), words.len(), scales.len(), "dequantize");
    let gs = mode.group_size();
    let bits = mode.bits() as usize;
    let wpg = gs * bits / 32;

    // element values in out_t
    let mut lut4 = E2M1_LUT;
    round_to(out_t, &mut lut4);
    let elem = |c: u8| -> f32 {
        if bits == 4 {
            lut4[(c & 15) as usize]
        } else {
            round_one(out_t, from_fp8_e4m3(c))
        }
    };
    let inv = match (mode, global_scale) {
        (FpMode::Nvfp4, Some(g)) => Some(x86::div(g, 2688.0)),
        _ => None,
    };
    // result dtype of the final product
    let rt = if inv.is_some() { FloatType::F32 } else { out_t };

    let mut codes = [0u8; 32];
    let codes = &mut codes[..gs];
    let groups = out.chunks_exact_mut(gs).zip(words.chunks_exact(wpg));
    for ((og, wg), &sc) in groups.zip(scales) {
        if bits == 4 {
            pack::unpack(wg, 4, codes);
        } else {
            for (c, w) in codes.chunks_exact_mut(4).zip(wg) {
                c.copy_from_slice(&w.to_le_bytes());
            }
        }
        let sv = match mode {
            FpMode::Nvfp4 => {
                let d = round_one(out_t, from_fp8_e4m3(sc));
                match inv {
                    Some(i) => x86::mul(d, i),
                    None => d,
                }
            }
            _ => round_one(out_t, e8m0_to_f32(sc)),
        };
        for (o, &c) in og.iter_mut().zip(codes.iter()) {
            *o = elem(c) * sv;
        }
        round_to(rt, og);
        // NaN bits are host-dependent (default NaN of 0*inf, payload propagation): redo such
        // groups with explicit x86 semantics.
        if og.iter().any(|v| v.is_nan()) {
            for (o, &c) in og.iter_mut().zip(codes.iter()) {
                *o = round_one(rt, x86::mul(elem(c), sv));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The algorithm of the module docs, one group at a time, scalar, with the exact argmin: what
    /// the batched kernels must reproduce bit for bit.
    fn quantize_literally(
        mode: FpMode,
        t: FloatType,
        x: &[f32],
        global_scale: Option<f32>,
    ) -> (Vec<u32>, Vec<u8>) {
        let gs = mode.group_size();
        let mut words = vec![0u32; x.len() * mode.bits() as usize / 32];
        let mut scales = vec![0u8; x.len() / gs];
        let wpg = gs * mode.bits() as usize / 32;
        let groups = x.chunks_exact(gs).zip(words.chunks_exact_mut(wpg));
        for ((xg, wg), sc) in groups.zip(scales.iter_mut()) {
            *sc = match mode {
                FpMode::Mxfp4 => mx_group_slow::<false>(t, xg, wg),
                FpMode::Mxfp8 => mx_group_slow::<true>(t, xg, wg),
                FpMode::Nvfp4 => {
                    let enc = global_scale.map_or(1.0, |g| x86::div(2688.0, g));
                    let amax = xg.iter().fold(0f32, |a, v| {
                        if a.is_nan() || v.is_nan() {
                            f32::NAN
                        } else {
                            a.max(v.abs())
                        }
                    });
                    let code = to_fp8_e4m3(x86::mul(round_one(t, x86::div(amax, 6.0)), enc));
                    let d = round_one(t, from_fp8_e4m3(code));
                    let codes: Vec<u8> = xg
                        .iter()
                        .map(|&v| {
                            let y = x86::mul(round_one(t, x86::div(v, d)), enc);
                            e2m1_argmin(y, FloatType::F32)
                        })
                        .collect();
                    pack::pack(&codes, 4, wg);
                    code
                }
            };
        }
        (words, scales)
    }

    /// Weight-like values with the cases that take the kernels off their fast paths mixed in:
    /// zero groups, non-finite and huge values, subnormals, values right at E2M1 thresholds.
    fn weights() -> impl Strategy<Value = Vec<f32>> {
        let value = prop_oneof![
            40 => (-1.0f32..1.0).prop_map(|v| v * 0.02),
            1 => prop::sample::select(vec![
                0.0f32, -0.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 3e38, -3e38,
                1e-40, -1e-41, 0.25, 0.75, 1.25, 5.0, -1.75, 6.0, 448.0,
            ]),
        ];
        // 1 to 3 batches of the widest group (16 groups of 32) plus a ragged tail
        (1usize..4, 0usize..16, any::<bool>()).prop_flat_map(move |(batches, tail, zeros)| {
            let n = (batches * 16 + tail) * 32;
            prop::collection::vec(value.clone(), n).prop_map(move |mut x| {
                if zeros {
                    x[64..96].fill(0.0);
                }
                x
            })
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn batched_kernels_equal_the_literal_algorithm(
            x in weights(),
            mode in prop::sample::select(vec![FpMode::Mxfp4, FpMode::Nvfp4, FpMode::Mxfp8]),
            t in prop::sample::select(vec![FloatType::F32, FloatType::F16, FloatType::BF16]),
            global_scale in prop::sample::select(vec![None, Some(1.0f32), Some(37.5), Some(1e-30)]),
        ) {
            let x: Vec<f32> = x.iter().map(|&v| round_one(t, v)).collect();
            let g = if mode == FpMode::Nvfp4 { global_scale } else { None };
            let (want_w, want_s) = quantize_literally(mode, t, &x, g);
            let mut words = vec![0u32; want_w.len()];
            let mut scales = vec![0u8; want_s.len()];
            quantize(mode, t, &x, g, &mut words, &mut scales);
            prop_assert_eq!(scales, want_s);
            prop_assert_eq!(words, want_w);
        }
    }

    #[test]
    fn e2m1_thresholds_equal_argmin_for_all_halfs() {
        // exhaustive over all f16 and bf16 values with |y| <= 12, in T arithmetic
        for h in 0..=u16::MAX {
            for (t, y) in [
                (FloatType::F16, crate::cast::f16_bits_to_f32(h)),
                (FloatType::BF16, crate::cast::bf16_bits_to_f32(h)),
            ] {
                if y.is_finite() && y.abs() <= 12.0 {
                    assert_eq!(e2m1_encode(y), e2m1_argmin(y, t), "{t:?} {h:#x} {y}");
                    assert_eq!(
                        e2m1_encode(y),
                        e2m1_argmin(y, FloatType::F32),
                        "{t:?} {h:#x} {y}"
                    );
                }
            }
        }
    }

    #[test]
    fn e2m1_thresholds_equal_argmin_f32_sweep() {
        // every f32 with |y| <= 12 would be 2^31 values; sweep with a stride co-prime to 2^k plus
        // all values near the decision points
        let mut u: u32 = 0;
        while u < 0x4140_0001 {
            for s in [0u32, 0x8000_0000] {
                let y = f32::from_bits(u | s);
                assert_eq!(
                    e2m1_encode(y),
                    e2m1_argmin(y, FloatType::F32),
                    "{:#x}",
                    u | s
                );
            }
            u += 977;
        }
        for m in [0.25f32, 0.75, 1.25, 1.75, 2.5, 3.5, 5.0, 0.5, 1.0, 6.0, 0.0] {
            let b = m.to_bits() as i64;
            for d in -3000i64..3000 {
                for s in [1.0f32, -1.0] {
                    let y = f32::from_bits((b + d).max(0) as u32) * s;
                    assert_eq!(e2m1_encode(y), e2m1_argmin(y, FloatType::F32), "{y}");
                }
            }
        }
    }

    #[test]
    fn fp8_roundtrip_all_codes() {
        for c in 0..=255u8 {
            let v = from_fp8_e4m3(c);
            if c & 0x7F == 0x7F {
                assert!(v.is_nan());
            } else {
                assert_eq!(to_fp8_e4m3(v), c, "{c:#x} {v}");
            }
        }
        assert_eq!(to_fp8_e4m3(448.0), 0x7E);
        assert_eq!(to_fp8_e4m3(470.0), 0x7E); // would round to 0x7F (NaN) without the 448 clamp
        assert_eq!(to_fp8_e4m3(1e9), 0x7E);
        assert_eq!(to_fp8_e4m3(f32::NEG_INFINITY), 0xFE);
        assert_eq!(to_fp8_e4m3(f32::NAN), 0x7E);
        assert_eq!(to_fp8_e4m3(-0.0), 0x80);
    }

    #[test]
    fn ceil_log2_examples() {
        // from the spec: amax 1.0 -> e=-2 (s = 1/6), 6.0 -> 0, 6.1 -> 1, 12.1 -> 2
        for (amax, e) in [
            (1.0f32, -2),
            (1.9, -1),
            (3.0, -1),
            (3.5, 0),
            (6.0, 0),
            (6.1, 1),
            (12.1, 2),
        ] {
            assert_eq!(ceil_log2(amax / 6.0), e, "{amax}");
        }
        let s = f32::from_bits((6144.0f32).to_bits() + 1) / 6.0;
        assert_eq!(ceil_log2(s), 11);
        assert_eq!(ceil_log2(f32::from_bits(1)), -149);
        assert_eq!(ceil_log2(f32::from_bits(3)), -147);
        assert_eq!(ceil_log2(f32::from_bits(4)), -147);
        assert_eq!(ceil_log2(1.0), 0);
    }
}
