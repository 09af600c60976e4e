//! Bit packing shared by every quantization mode.
//!
//! mlx stores the codes of a row as one little-endian, LSB-first bit stream: code `j` occupies
//! stream bits `[j*bits, (j+1)*bits)` and `word[i]` holds stream bits `32i..32i+31`. For 1/2/4/8
//! bits this is simply `32/bits` codes per word, code `k` at bit `k*bits`; for 3/5/6 bits codes
//! straddle word boundaries (mlx's CPU kernel writes 3- or 5-byte little-endian packs into a byte
//! buffer, which is the same stream). 32 codes always fill exactly `bits` words, so every block of
//! 32 codes is packed independently; group sizes are multiples of 32 (affine) or the row length is
//! (fp modes, mxfp8 = 4 bytes per word), so groups never share a word with another row.

/// Bit widths mlx can pack.
pub const SUPPORTED_BITS: [u32; 7] = [1, 2, 3, 4, 5, 6, 8];

#[inline]
fn check(bits: u32, n_codes: usize, n_words: usize) {
    assert!(
        SUPPORTED_BITS.contains(&bits),
        "pack: unsupported bit width {bits}"
    );
    assert_eq!(
        n_codes * bits as usize,
        n_words * 32,
        "pack: codes*bits must equal words*32"
    );
}

/// Pack `codes` (each `< 2^bits`; higher bits are masked off) into `out`.
/// `codes.len() * bits == out.len() * 32`.
pub fn pack(codes: &[u8], bits: u32, out: &mut [u32]) {
    check(bits, codes.len(), out.len());
    match bits {
        1 => pack_pow2::<1>(codes, out),
        2 => pack_pow2::<2>(codes, out),
        4 => pack_pow2::<4>(codes, out),
        8 => pack_pow2::<8>(codes, out),
        3 => pack_block::<3>(codes, out),
        5 => pack_block::<5>(codes, out),
        6 => pack_block::<6>(codes, out),
        _ => unreachable!(),
    }
}

/// Unpack `words` into one code per byte. `out.len() * bits == words.len() * 32`.
pub fn unpack(words: &[u32], bits: u32, out: &mut [u8]) {
    check(bits, out.len(), words.len());
    match bits {
        1 => unpack_pow2::<1>(words, out),
        2 => unpack_pow2::<2>(words, out),
        4 => unpack_pow2::<4>(words, out),
        8 => unpack_pow2::<8>(words, out),
        3 => unpack_block::<3>(words, out),
        5 => unpack_block::<5>(words, out),
        6 => unpack_block::<6>(words, out),
        _ => unreachable!(),
    }
}

/// Squeezes 8 codes of `B` bits, one per byte of `v` (code k in byte k), into the low `8·B` bits
/// of the result, code k at bit `k·B`: three rounds of "merge neighbouring lanes", each halving
/// the lane count. 8 codes of B bits are exactly B bytes of mlx's LSB-first bit stream.
#[inline(always)]
pub(crate) fn squeeze8<const B: u32>(v: u64) -> u64 {
    const BYTES: u64 = 0x00FF_00FF_00FF_00FF;
    const HALVES: u64 = 0x0000_FFFF_0000_FFFF;
    let v = (v & BYTES) | ((v >> 8) & BYTES) << B;
    let v = (v & HALVES) | ((v >> 16) & HALVES) << (2 * B);
    (v & 0xFFFF_FFFF) | (v >> 32) << (4 * B)
}

/// [`pack`] for a fixed number of codes (a multiple of 32) and width, inlined into SIMD kernels:
/// `N·B/32` words from `N` codes that are already `< 2^B`; `N <= 128` (the largest group).
#[inline(always)]
pub(crate) fn pack_fixed<const N: usize, const B: u32>(codes: &[u8; N], wg: &mut [u32]) {
    match B {
        8 => {
            for (w, c) in wg.iter_mut().zip(codes.chunks_exact(4)) {
                *w = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            }
        }
        4 => {
            for (w, c) in wg.iter_mut().zip(codes.as_chunks::<8>().0) {
                *w = squeeze8::<4>(u64::from_le_bytes(*c)) as u32;
            }
        }
        2 => {
            for (w, c) in wg.iter_mut().zip(codes.as_chunks::<16>().0) {
                let (lo, hi) = c.split_at(8);
                let lo = u64::from_le_bytes(lo.try_into().expect("8 bytes"));
                let hi = u64::from_le_bytes(hi.try_into().expect("8 bytes"));
                *w = (squeeze8::<2>(lo) | squeeze8::<2>(hi) << 16) as u32;
            }
        }
        _ => {
            // 1, 3, 5, 6 bits: every 8 codes are B whole bytes of the stream. Each step writes
            // 8 bytes of which the top 8-B are zero and get overwritten by the next step.
            let mut bytes = [0u8; 128 * 6 / 8 + 8];
            for (i, c) in codes.as_chunks::<8>().0.iter().enumerate() {
                let at = i * B as usize;
                let v = squeeze8::<B>(u64::from_le_bytes(*c));
                bytes[at..at + 8].copy_from_slice(&v.to_le_bytes());
            }
            for (w, b) in wg.iter_mut().zip(bytes.chunks_exact(4)) {
                *w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            }
        }
    }
}

/// The whole kernel for one (group size, bits) pair, so every loop has constant bounds.
/// Word-aligned widths: `32/B` codes per word.
#[inline]
fn pack_pow2<const B: u32>(codes: &[u8], out: &mut [u32]) {
    let per = (32 / B) as usize;
    let mask = ((1u32 << B) - 1) as u8;
    for (w, c) in out.iter_mut().zip(codes.chunks_exact(per)) {
        let mut acc = 0u32;
        for (k, &v) in c.iter().enumerate() {
            acc |= ((v & mask) as u32) << (k as u32 * B);
        }
        *w = acc;
    }
}

#[inline]
fn unpack_pow2<const B: u32>(words: &[u32], out: &mut [u8]) {
    let per = (32 / B) as usize;
    let mask = (1u32 << B) - 1;
    for (&w, c) in words.iter().zip(out.chunks_exact_mut(per)) {
        for (k, v) in c.iter_mut().enumerate() {
            *v = ((w >> (k as u32 * B)) & mask) as u8;
        }
    }
}

/// Straddling widths: 32 codes → `B` words through a 64-bit accumulator. The loop bounds are
/// constants, so the compiler fully unrolls each block.
#[inline]
fn pack_block<const B: u32>(codes: &[u8], out: &mut [u32]) {
    let mask = (1u64 << B) - 1;
    for (w, c) in out.chunks_exact_mut(B as usize).zip(codes.chunks_exact(32)) {
        let mut acc = 0u64;
        let mut nbits = 0u32;
        let mut wi = 0usize;
        for &v in c {
            acc |= ((v as u64) & mask) << nbits;
            nbits += B;
            if nbits >= 32 {
                w[wi] = acc as u32;
                wi += 1;
                acc >>= 32;
                nbits -= 32;
            }
        }
    }
}

#[inline]
fn unpack_block<const B: u32>(words: &[u32], out: &mut [u8]) {
    let mask = (1u64 << B) - 1;
    for (w, c) in words.chunks_exact(B as usize).zip(out.chunks_exact_mut(32)) {
        let mut acc = 0u64;
        let mut nbits = 0u32;
        let mut wi = 0usize;
        for v in c.iter_mut() {
            if nbits < B {
                acc |= (w[wi] as u64) << nbits;
                wi += 1;
                nbits += 32;
            }
            *v = (acc & mask) as u8;
            acc >>= B;
            nbits -= B;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The straightforward stream definition, used as the oracle.
    fn pack_ref(codes: &[u8], bits: u32) -> Vec<u32> {
        let mut out = vec![0u32; codes.len() * bits as usize / 32];
        for (j, &c) in codes.iter().enumerate() {
            let pos = j * bits as usize;
            let (w, off) = (pos / 32, pos % 32);
            let c = (c as u64) & ((1 << bits) - 1);
            out[w] |= (c << off) as u32;
            if off + bits as usize > 32 {
                out[w + 1] |= (c >> (32 - off)) as u32;
            }
        }
        out
    }

    #[test]
    fn matches_stream_definition() {
        for &bits in &SUPPORTED_BITS {
            let codes: Vec<u8> = (0..256u32)
                .map(|i| (i.wrapping_mul(2654435761) >> 7) as u8)
                .collect();
            let mut out = vec![0u32; 256 * bits as usize / 32];
            pack(&codes, bits, &mut out);
            assert_eq!(out, pack_ref(&codes, bits), "bits {bits}");
            let mut back = vec![0u8; 256];
            unpack(&out, bits, &mut back);
            let m = ((1u32 << bits) - 1) as u8;
            assert!(
                back.iter().zip(&codes).all(|(a, b)| *a == b & m),
                "bits {bits}"
            );
        }
    }

    #[test]
    fn doc_example_3bit_straddle() {
        // code 10 of a 3-bit stream = bits 30,31 of word 0 + bit 0 of word 1
        let mut codes = [0u8; 32];
        codes[10] = 0b111;
        let mut out = [0u32; 3];
        pack(&codes, 3, &mut out);
        assert_eq!(out, [0xC000_0000, 1, 0]);
    }
}
