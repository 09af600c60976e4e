//! Float conversions between the three floating dtypes mlx computes in (F32, F16, BF16), bit-exact
//! with mlx 0.32.4's CPU `astype`.
//!
//! mlx on x86-64 does not use hardware half conversions: `float16_t` / `bfloat16_t` are the
//! software structs of `mlx/types/fp16.h` and `bf16.h`, and every `astype` and every half-precision
//! arithmetic op goes through them. Their observable behaviour (all verified with the oracle, the
//! f32 → f16/bf16 directions over all 2^32 inputs):
//! - f32 → bf16: round-to-nearest-even on the bit pattern; **every** NaN becomes `0x7FC0`
//!   (positive: the sign of a NaN is dropped).
//! - f32 → f16: round-to-nearest-even (overflow → ±inf, subnormals rounded correctly); every NaN
//!   becomes `0x7D00 | sign` (mlx's `__MLX_HALF_NAN__`, not the usual `0x7E00`).
//! - f16 → f32: exact; NaNs keep sign and payload and get the quiet bit set.
//! - bf16 → f32: exact (the 16 bits are the high half of the f32; NaN payloads kept unchanged).
//! - f16 ↔ bf16 goes through f32 with the rules above.
//!
//! Everything here is branch-free per element (selects), so the loops autovectorise.

/// The floating dtypes of weights mlx can load from safetensors and compute in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FloatType {
    F32,
    F16,
    BF16,
}

impl FloatType {
    /// Bytes per element.
    #[inline(always)]
    pub fn size(self) -> usize {
        match self {
            FloatType::F32 => 4,
            FloatType::F16 | FloatType::BF16 => 2,
        }
    }
}

/// The NaN mlx stores for any NaN cast to bfloat16 (`__MLX_BFLOAT_NAN__`).
pub const BF16_NAN: u16 = 0x7FC0;
/// The NaN mlx stores for any NaN cast to float16 (`__MLX_HALF_NAN__`), ORed with the sign.
pub const F16_NAN: u16 = 0x7D00;

/// f32 → bf16 bits exactly like mlx's `_MLX_BFloat16(float)`: add `0x7FFF + lsb` to the bit
/// pattern and truncate (round-to-nearest-even; overflow carries into the exponent and yields ±inf
/// naturally). NaN is special-cased *before* rounding because the carry could otherwise turn a NaN
/// payload into inf; mlx then stores a positive quiet NaN regardless of the input sign.
#[inline(always)]
pub fn f32_to_bf16_bits(x: f32) -> u16 {
    let u = x.to_bits();
    let r = (u.wrapping_add(0x7FFF + ((u >> 16) & 1)) >> 16) as u16;
    if x.is_nan() { BF16_NAN } else { r }
}

/// bf16 bits → f32 (exact; the bf16 is the upper half of an f32).
#[inline(always)]
pub fn bf16_bits_to_f32(h: u16) -> f32 {
    f32::from_bits((h as u32) << 16)
}

/// f32 → f16 bits exactly like mlx's `_MLX_Float16(float)` (Maratyszcza's FP16 algorithm). The
/// rounding is done by the FPU: the magnitude is scaled so that the bits below f16 precision fall
/// off the end of an f32 addition with a "magic" power of two, which rounds to nearest even for
/// normals, subnormals and overflow alike. Ported operation for operation (no FMA contraction in
/// Rust), so results are identical to mlx's for every non-NaN input; NaN → `0x7D00 | sign`.
#[inline(always)]
pub fn f32_to_f16_bits(x: f32) -> u16 {
    let u = x.to_bits();
    let sign16 = ((u & 0x8000_0000) >> 16) as u16;
    let mut expo = u & 0x7F80_0000;
    expo = if expo < 0x3880_0000 {
        0x3880_0000
    } else {
        expo
    };
    let expo = expo.wrapping_add(15 << 23);
    let inf_scale = f32::from_bits(0x7780_0000); // 2^112
    let zero_scale = f32::from_bits(0x0880_0000); // 2^-110
    let magic = f32::from_bits(expo) + (x.abs() * inf_scale) * zero_scale;
    let mb = magic.to_bits();
    let e16 = (mb >> 13) & 0x7C00;
    let m16 = mb & 0x0FFF;
    let r = sign16 | (e16.wrapping_add(m16) as u16);
    if x.is_nan() { sign16 | F16_NAN } else { r }
}

/// f16 bits → f32, exact. Same results as mlx's `_MLX_Float16::operator float` (which quiets
/// signalling NaNs through a multiplication): NaNs keep sign and payload (`mant << 13`) and get the
/// quiet bit. Written with integer selects instead of that multiplication so the NaN bits do not
/// depend on the host FPU.
#[inline(always)]
pub fn f16_bits_to_f32(h: u16) -> f32 {
    let h = h as u32;
    let sign = (h & 0x8000) << 16;
    let em = h & 0x7FFF;
    let mant = em & 0x03FF;
    let normal = (em << 13).wrapping_add(112 << 23);
    // zero / subnormal: mant * 2^-24 is exact in f32
    let sub = ((em as f32) * f32::from_bits(0x3380_0000)).to_bits();
    let quiet = if mant != 0 { 0x0040_0000 } else { 0 };
    let infnan = 0x7F80_0000 | (mant << 13) | quiet;
    let r = if em < 0x0400 {
        sub
    } else if em >= 0x7C00 {
        infnan
    } else {
        normal
    };
    f32::from_bits(r | sign)
}

/// Decode little-endian bytes of `src` type into f32 (bytes may be unaligned).
/// `out.len()` must equal `bytes.len() / src.size()`.

#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+fma+bmi1+bmi2+lzcnt+popcnt",
    "x86_64+avx2+fma+bmi1+bmi2+lzcnt+popcnt",
    "aarch64+neon"
))]
pub fn decode_to_f32(src: FloatType, bytes: &[u8], out: &mut [f32]) {
    assert_eq!(
        bytes.len(),
        out.len() * src.size(),
        "decode_to_f32: length mismatch"
    );
    match src {
        FloatType::F32 => {
            for (o, b) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                *o = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            }
        }
        FloatType::F16 => {
            for (o, b) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                *o = f16_bits_to_f32(u16::from_le_bytes([b[0], b[1]]));
            }
        }
        FloatType::BF16 => {
            for (o, b) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                *o = bf16_bits_to_f32(u16::from_le_bytes([b[0], b[1]]));
            }
        }
    }
}

/// Encode f32 into little-endian bytes of `dst` type with mlx `astype` semantics (RNE; NaN rules in
/// the module docs). `out.len()` must equal `x.len() * dst.size()`.

#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+fma+bmi1+bmi2+lzcnt+popcnt",
    "x86_64+avx2+fma+bmi1+bmi2+lzcnt+popcnt",
    "aarch64+neon"
))]
pub fn encode_from_f32(dst: FloatType, x: &[f32], out: &mut [u8]) {
    assert_eq!(
        out.len(),
        x.len() * dst.size(),
        "encode_from_f32: length mismatch"
    );
    match dst {
        FloatType::F32 => {
            for (o, v) in out.chunks_exact_mut(4).zip(x) {
                o.copy_from_slice(&v.to_le_bytes());
            }
        }
        FloatType::F16 => {
            for (o, v) in out.chunks_exact_mut(2).zip(x) {
                o.copy_from_slice(&f32_to_f16_bits(*v).to_le_bytes());
            }
        }
        FloatType::BF16 => {
            for (o, v) in out.chunks_exact_mut(2).zip(x) {
                o.copy_from_slice(&f32_to_bf16_bits(*v).to_le_bytes());
            }
        }
    }
}

/// Round one value to `t` and back to f32 (what `T(x)` means throughout mlx's half arithmetic:
/// compute in f32, store as T).
#[inline(always)]
pub fn round_one(t: FloatType, x: f32) -> f32 {
    match t {
        FloatType::F32 => x,
        FloatType::F16 => f16_bits_to_f32(f32_to_f16_bits(x)),
        FloatType::BF16 => bf16_bits_to_f32(f32_to_bf16_bits(x)),
    }
}

/// Round each value to `t` and back to f32, in place (RNE, as mlx `astype`).

#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+fma+bmi1+bmi2+lzcnt+popcnt",
    "x86_64+avx2+fma+bmi1+bmi2+lzcnt+popcnt",
    "aarch64+neon"
))]
pub fn round_to(t: FloatType, x: &mut [f32]) {
    match t {
        FloatType::F32 => {}
        FloatType::F16 => {
            for v in x.iter_mut() {
                *v = f16_bits_to_f32(f32_to_f16_bits(*v));
            }
        }
        FloatType::BF16 => {
            for v in x.iter_mut() {
                *v = bf16_bits_to_f32(f32_to_bf16_bits(*v));
            }
        }
    }
}

/// Convert bytes of one float type to another (src → f32 → dst, as mlx's `astype` does), through a
/// small stack buffer. Same type → plain copy (mlx's `astype` to the same dtype is a no-op, so NaN
/// payloads survive). `out.len()` must equal `bytes.len() / src.size() * dst.size()`.
pub fn convert_bytes(src: FloatType, dst: FloatType, bytes: &[u8], out: &mut [u8]) {
    assert_eq!(
        bytes.len() % src.size(),
        0,
        "convert_bytes: partial element"
    );
    let n = bytes.len() / src.size();
    assert_eq!(out.len(), n * dst.size(), "convert_bytes: length mismatch");
    if src == dst {
        out.copy_from_slice(bytes);
        return;
    }
    const CHUNK: usize = 1024;
    let mut buf = [0f32; CHUNK];
    for (inb, outb) in bytes
        .chunks(CHUNK * src.size())
        .zip(out.chunks_mut(CHUNK * dst.size()))
    {
        let m = inb.len() / src.size();
        decode_to_f32(src, inb, &mut buf[..m]);
        encode_from_f32(dst, &buf[..m], outb);
    }
}

/// Scalar f32 arithmetic with x86-64 SSE NaN semantics, for the few places where the *bits* of a
/// NaN produced by mlx end up in an output (stored scales, dequantized values, mxfp8 codes).
///
/// IEEE leaves NaN payloads/signs to the hardware. The reference outputs come from x86-64, where
/// an invalid operation (`0/0`, `inf-inf`, `0*inf`) yields the "default NaN" `0xFFC00000`
/// (negative!) and an operation with a NaN operand returns that operand, quieted (the first one if
/// both are NaN). ARM hosts generate `0x7FC00000` instead, so we never rely on the host: these
/// helpers decide the NaN explicitly. They are only used on per-group scalars and slow paths.
pub(crate) mod x86 {
    /// x86's default NaN, produced by invalid operations.
    pub const DEFAULT_NAN: f32 = f32::from_bits(0xFFC0_0000);

    #[inline(always)]
    pub fn quiet(a: f32) -> f32 {
        f32::from_bits(a.to_bits() | 0x0040_0000)
    }

    #[inline(always)]
    fn binop(a: f32, b: f32, r: f32) -> f32 {
        if a.is_nan() {
            quiet(a)
        } else if b.is_nan() {
            quiet(b)
        } else if r.is_nan() {
            DEFAULT_NAN
        } else {
            r
        }
    }

    #[inline(always)]
    pub fn add(a: f32, b: f32) -> f32 {
        binop(a, b, a + b)
    }
    #[inline(always)]
    pub fn sub(a: f32, b: f32) -> f32 {
        binop(a, b, a - b)
    }
    #[inline(always)]
    pub fn mul(a: f32, b: f32) -> f32 {
        binop(a, b, a * b)
    }
    #[inline(always)]
    pub fn div(a: f32, b: f32) -> f32 {
        binop(a, b, a / b)
    }
    /// `std::rint` (round half to even); NaN passes through quieted like `roundss`.
    #[inline(always)]
    pub fn rint(a: f32) -> f32 {
        if a.is_nan() {
            quiet(a)
        } else {
            a.round_ties_even()
        }
    }
    /// `std::max(a, b)` = `(a < b) ? b : a` (returns `a` when either is NaN).
    #[inline(always)]
    pub fn std_max(a: f32, b: f32) -> f32 {
        if a < b { b } else { a }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_matches_half_crate_on_a_sweep() {
        // non-NaN f32 -> f16 must be plain RNE (the half crate is RNE)
        let mut u: u32 = 0;
        loop {
            let x = f32::from_bits(u);
            if !x.is_nan() {
                assert_eq!(
                    f32_to_f16_bits(x),
                    half::f16::from_f32(x).to_bits(),
                    "{u:#x}"
                );
            }
            let (nu, o) = u.overflowing_add(65_537);
            if o {
                break;
            }
            u = nu;
        }
        for h in 0..=u16::MAX {
            let a = f16_bits_to_f32(h);
            let b = half::f16::from_bits(h).to_f32();
            if b.is_nan() {
                assert!(a.is_nan());
                assert_eq!(
                    a.to_bits(),
                    0x7FC0_0000 | ((h as u32 & 0x8000) << 16) | ((h as u32 & 0x3FF) << 13)
                );
            } else {
                assert_eq!(a.to_bits(), b.to_bits(), "{h:#x}");
            }
        }
    }

    #[test]
    fn nan_rules() {
        assert_eq!(f32_to_bf16_bits(f32::from_bits(0xFFC0_0000)), 0x7FC0);
        assert_eq!(f32_to_bf16_bits(f32::from_bits(0x7F80_0001)), 0x7FC0);
        assert_eq!(f32_to_f16_bits(f32::from_bits(0xFFC0_0000)), 0xFD00);
        assert_eq!(f32_to_f16_bits(f32::from_bits(0x7F80_0001)), 0x7D00);
        assert_eq!(f32_to_f16_bits(f32::INFINITY), 0x7C00);
        assert_eq!(f32_to_bf16_bits(f32::NEG_INFINITY), 0xFF80);
    }
}
