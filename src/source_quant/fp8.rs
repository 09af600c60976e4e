//! fp8 (E4M3) weights with per-tile inverse scales (`weight_scale_inv`, DeepSeek-V3 style 128×128
//! blocks), dequantized exactly as mlx-lm's `sanitize` does:
//! `(from_fp8(w, bfloat16) * scale_inv).astype(bfloat16)`. The E4M3 → bfloat16 step is exact
//! (NaN codes aside, which keep mlx's bits), the product is one f32 multiplication with x86 NaN
//! rules, then rounded to bfloat16.

use crate::cast::{f32_to_bf16_bits, x86};
use crate::quant::fp::from_fp8_e4m3;

/// One weight row: `codes` (E4M3, `cols` of them) times `scales` (one per `block` columns, or a
/// single broadcast scale), written as little-endian bfloat16 into `out` (`2 · cols` bytes).
pub fn dequantize_row(codes: &[u8], scales: &[f32], block: usize, out: &mut [u8]) {
    let one = scales.len() == 1;
    for (j, (&c, o)) in codes.iter().zip(out.chunks_exact_mut(2)).enumerate() {
        let w = crate::cast::bf16_bits_to_f32(f32_to_bf16_bits(from_fp8_e4m3(c)));
        let s = if one { scales[0] } else { scales[j / block] };
        o.copy_from_slice(&f32_to_bf16_bits(x86::mul(w, s)).to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bf16(b: &[u8]) -> Vec<f32> {
        b.chunks_exact(2)
            .map(|c| crate::cast::bf16_bits_to_f32(u16::from_le_bytes([c[0], c[1]])))
            .collect()
    }

    #[test]
    fn scales_apply_per_block_of_columns() {
        // 0x38 = 1.0, 0x40 = 2.0, 0xB8 = -1.0 in E4M3.
        let codes = [0x38, 0x40, 0xB8, 0x38];
        let mut out = [0u8; 8];
        dequantize_row(&codes, &[0.5, 3.0], 2, &mut out);
        assert_eq!(bf16(&out), vec![0.5, 1.0, -3.0, 3.0]);
        dequantize_row(&codes, &[0.25], 2, &mut out);
        assert_eq!(bf16(&out), vec![0.25, 0.5, -0.25, 0.25]);
    }

    #[test]
    fn product_rounds_once_to_bfloat16() {
        // 1.125 (0x39) × (1 + 2^-8 + 2^-20): f32 product rounds, then to bf16 (ties to even).
        let s = 1.0 + 2f32.powi(-8) + 2f32.powi(-20);
        let mut out = [0u8; 2];
        dequantize_row(&[0x39], &[s], 128, &mut out);
        let want = crate::cast::bf16_bits_to_f32(f32_to_bf16_bits(1.125f32 * s));
        assert_eq!(bf16(&out), vec![want]);
    }
}
