//! GGML block formats and their dequantization to f32, bit-exact with the `gguf` Python
//! package's `gguf.quants.dequantize` (numpy arithmetic: every product and sum rounded to f32 in
//! the same order, no fused multiply-add).
//!
//! Pure functions over slices: a tensor row is a whole number of blocks, so any run of rows can
//! be decoded on its own, which is what lets the executor stream a GGUF tensor block by block.

use half::f16;

/// Elements per super-block of the k-quants.
const QK_K: usize = 256;

/// The GGML tensor types hf2mlx can decode (`ggml_type` ids as stored in GGUF tensor infos).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[allow(non_camel_case_types)] // the names are GGML's, as users see them in file listings
pub enum GgmlType {
    F32,
    F16,
    BF16,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Q2_K,
    Q3_K,
    Q4_K,
    Q5_K,
    Q6_K,
    Q8_K,
}

/// `(id, type, name, elements per block, bytes per block)` of every decodable type.
const TYPES: [(u32, GgmlType, &str, usize, usize); 14] = [
    (0, GgmlType::F32, "F32", 1, 4),
    (1, GgmlType::F16, "F16", 1, 2),
    (2, GgmlType::Q4_0, "Q4_0", 32, 18),
    (3, GgmlType::Q4_1, "Q4_1", 32, 20),
    (6, GgmlType::Q5_0, "Q5_0", 32, 22),
    (7, GgmlType::Q5_1, "Q5_1", 32, 24),
    (8, GgmlType::Q8_0, "Q8_0", 32, 34),
    (10, GgmlType::Q2_K, "Q2_K", QK_K, 84),
    (11, GgmlType::Q3_K, "Q3_K", QK_K, 110),
    (12, GgmlType::Q4_K, "Q4_K", QK_K, 144),
    (13, GgmlType::Q5_K, "Q5_K", QK_K, 176),
    (14, GgmlType::Q6_K, "Q6_K", QK_K, 210),
    (15, GgmlType::Q8_K, "Q8_K", QK_K, 292),
    (30, GgmlType::BF16, "BF16", 1, 2),
];

/// Names of GGML types that exist but that hf2mlx does not decode, for error messages.
const OTHER_TYPES: [(u32, &str); 20] = [
    (9, "Q8_1"),
    (16, "IQ2_XXS"),
    (17, "IQ2_XS"),
    (18, "IQ3_XXS"),
    (19, "IQ1_S"),
    (20, "IQ4_NL"),
    (21, "IQ3_S"),
    (22, "IQ2_S"),
    (23, "IQ4_XS"),
    (24, "I8"),
    (25, "I16"),
    (26, "I32"),
    (27, "I64"),
    (28, "F64"),
    (29, "IQ1_M"),
    (34, "TQ1_0"),
    (35, "TQ2_0"),
    (39, "MXFP4"),
    (40, "NVFP4"),
    (41, "Q1_0"),
];

impl GgmlType {
    fn entry(self) -> &'static (u32, GgmlType, &'static str, usize, usize) {
        // Every variant is in TYPES (checked by a unit test).
        TYPES.iter().find(|e| e.1 == self).unwrap_or(&TYPES[0])
    }

    /// The type with GGML id `id`; `Err` names the type when it is known but not decodable.
    pub fn from_id(id: u32) -> Result<GgmlType, String> {
        if let Some(e) = TYPES.iter().find(|e| e.0 == id) {
            return Ok(e.1);
        }
        Err(match OTHER_TYPES.iter().find(|e| e.0 == id) {
            Some((_, name)) => format!(
                "GGML type {name} is not supported (supported: {})",
                Self::supported_names()
            ),
            None => format!("unknown GGML type id {id}"),
        })
    }

    pub fn supported_names() -> String {
        TYPES.iter().map(|e| e.2).collect::<Vec<_>>().join(", ")
    }

    pub fn id(self) -> u32 {
        self.entry().0
    }

    pub fn name(self) -> &'static str {
        self.entry().2
    }

    /// Elements per block.
    pub fn block_len(self) -> usize {
        self.entry().3
    }

    /// Bytes per block.
    pub fn block_bytes(self) -> usize {
        self.entry().4
    }

    /// Bytes of `elems` elements, `None` if `elems` is not a whole number of blocks or overflows.
    pub fn bytes_for(self, elems: u64) -> Option<u64> {
        let b = self.block_len() as u64;
        if !elems.is_multiple_of(b) {
            return None;
        }
        (elems / b).checked_mul(self.block_bytes() as u64)
    }
}

fn f16_at(b: &[u8], at: usize) -> f32 {
    f16::from_le_bytes([b[at], b[at + 1]]).to_f32()
}

/// Decodes `src` (whole blocks of `ty`) into `out`. `Err` if the lengths disagree.
pub fn dequantize(ty: GgmlType, src: &[u8], out: &mut [f32]) -> Result<(), String> {
    let (bl, bb) = (ty.block_len(), ty.block_bytes());
    if !out.len().is_multiple_of(bl) || src.len() != out.len() / bl * bb {
        return Err(format!(
            "{} data of {} bytes cannot hold {} values",
            ty.name(),
            src.len(),
            out.len()
        ));
    }
    let blocks = src.chunks_exact(bb).zip(out.chunks_exact_mut(bl));
    match ty {
        GgmlType::F32 => {
            for (b, o) in blocks {
                o[0] = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            }
        }
        GgmlType::F16 => {
            for (b, o) in blocks {
                o[0] = f16_at(b, 0);
            }
        }
        GgmlType::BF16 => {
            for (b, o) in blocks {
                o[0] = f32::from_bits((u16::from_le_bytes([b[0], b[1]]) as u32) << 16);
            }
        }
        GgmlType::Q4_0 => blocks.for_each(|(b, o)| q4_0(b, o)),
        GgmlType::Q4_1 => blocks.for_each(|(b, o)| q4_1(b, o)),
        GgmlType::Q5_0 => blocks.for_each(|(b, o)| q5_0(b, o)),
        GgmlType::Q5_1 => blocks.for_each(|(b, o)| q5_1(b, o)),
        GgmlType::Q8_0 => blocks.for_each(|(b, o)| q8_0(b, o)),
        GgmlType::Q2_K => blocks.for_each(|(b, o)| q2_k(b, o)),
        GgmlType::Q3_K => blocks.for_each(|(b, o)| q3_k(b, o)),
        GgmlType::Q4_K => blocks.for_each(|(b, o)| q4_k(b, o)),
        GgmlType::Q5_K => blocks.for_each(|(b, o)| q5_k(b, o)),
        GgmlType::Q6_K => blocks.for_each(|(b, o)| q6_k(b, o)),
        GgmlType::Q8_K => blocks.for_each(|(b, o)| q8_k(b, o)),
    }
    Ok(())
}

/// `d * (q - 8)`; low nibbles are elements 0..16, high nibbles 16..32.
fn q4_0(b: &[u8], o: &mut [f32]) {
    let d = f16_at(b, 0);
    for (j, &q) in b[2..18].iter().enumerate() {
        o[j] = d * ((q & 0xF) as i32 - 8) as f32;
        o[j + 16] = d * ((q >> 4) as i32 - 8) as f32;
    }
}

/// `d * q + m`.
fn q4_1(b: &[u8], o: &mut [f32]) {
    let (d, m) = (f16_at(b, 0), f16_at(b, 2));
    for (j, &q) in b[4..20].iter().enumerate() {
        o[j] = d * (q & 0xF) as f32 + m;
        o[j + 16] = d * (q >> 4) as f32 + m;
    }
}

/// The 5-bit codes of a Q5 block: nibbles plus bit `j` of the 32-bit `qh` word.
fn q5_codes(qh: &[u8], qs: &[u8]) -> [u8; 32] {
    let h = u32::from_le_bytes([qh[0], qh[1], qh[2], qh[3]]);
    let mut q = [0u8; 32];
    for j in 0..16 {
        q[j] = (qs[j] & 0xF) | ((((h >> j) & 1) as u8) << 4);
        q[j + 16] = (qs[j] >> 4) | ((((h >> (j + 16)) & 1) as u8) << 4);
    }
    q
}

/// `d * (q - 16)`.
fn q5_0(b: &[u8], o: &mut [f32]) {
    let d = f16_at(b, 0);
    for (x, q) in o.iter_mut().zip(q5_codes(&b[2..6], &b[6..22])) {
        *x = d * (q as i32 - 16) as f32;
    }
}

/// `d * q + m`.
fn q5_1(b: &[u8], o: &mut [f32]) {
    let (d, m) = (f16_at(b, 0), f16_at(b, 2));
    for (x, q) in o.iter_mut().zip(q5_codes(&b[4..8], &b[8..24])) {
        *x = d * q as f32 + m;
    }
}

/// `q * d`.
fn q8_0(b: &[u8], o: &mut [f32]) {
    let d = f16_at(b, 0);
    for (x, &q) in o.iter_mut().zip(&b[2..34]) {
        *x = (q as i8) as f32 * d;
    }
}

/// 16 groups of 16: `(d * (sc & 15)) * q - dmin * (sc >> 4)`, 2-bit codes in 4 planes of 32
/// bytes per half.
fn q2_k(b: &[u8], o: &mut [f32]) {
    let (scales, qs) = (&b[0..16], &b[16..80]);
    let (d, dmin) = (f16_at(b, 80), f16_at(b, 82));
    for (e, x) in o.iter_mut().enumerate() {
        let sc = scales[e / 16];
        let dl = d * (sc & 0xF) as f32;
        let ml = dmin * (sc >> 4) as f32;
        let (half, plane, l) = (e / 128, (e % 128) / 32, e % 32);
        let q = (qs[half * 32 + l] >> (2 * plane)) & 3;
        *x = dl * q as f32 - ml;
    }
}

/// 16 groups of 16 with signed 6-bit scales: `(d * (sc - 32)) * (q - 4 * !h)`.
fn q3_k(b: &[u8], o: &mut [f32]) {
    let (hmask, qs, sc) = (&b[0..32], &b[32..96], &b[96..108]);
    let d = f16_at(b, 108);
    let mut dl = [0f32; 16];
    for (k, v) in dl.iter_mut().enumerate() {
        let low = (sc[k % 8] >> (4 * (k / 8))) & 0xF;
        let high = (sc[8 + k % 4] >> (2 * (k / 4))) & 3;
        *v = d * ((low | (high << 4)) as i32 - 32) as f32;
    }
    for (e, x) in o.iter_mut().enumerate() {
        let (half, plane, l) = (e / 128, (e % 128) / 32, e % 32);
        let low = ((qs[half * 32 + l] >> (2 * plane)) & 3) as i32;
        let high = ((hmask[l] >> (e / 32)) & 1) as i32;
        *x = dl[e / 16] * (low - ((high ^ 1) << 2)) as f32;
    }
}

/// The 8 six-bit (scale, min) pairs of Q4_K/Q5_K packed in 12 bytes.
fn scale_min_k4(s: &[u8]) -> ([u8; 8], [u8; 8]) {
    let (mut sc, mut mn) = ([0u8; 8], [0u8; 8]);
    for i in 0..4 {
        let (d, m, md) = (s[i], s[4 + i], s[8 + i]);
        sc[i] = d & 0x3F;
        sc[4 + i] = (md & 0xF) | ((d >> 2) & 0x30);
        mn[i] = m & 0x3F;
        mn[4 + i] = (md >> 4) | ((m >> 2) & 0x30);
    }
    (sc, mn)
}

/// 8 groups of 32: `(d * sc) * q - dmin * m`; group `g` is the low (even g) or high nibble of
/// bytes `32 * (g / 2)..`.
fn q4_k(b: &[u8], o: &mut [f32]) {
    let (d, dmin) = (f16_at(b, 0), f16_at(b, 2));
    let (sc, mn) = scale_min_k4(&b[4..16]);
    let qs = &b[16..144];
    for (g, og) in o.chunks_exact_mut(32).enumerate() {
        let (dl, ml) = (d * sc[g] as f32, dmin * mn[g] as f32);
        for (l, x) in og.iter_mut().enumerate() {
            let q = (qs[(g / 2) * 32 + l] >> (4 * (g % 2))) & 0xF;
            *x = dl * q as f32 - ml;
        }
    }
}

/// Q4_K plus a fifth bit: bit `g` of `qh[l]`.
fn q5_k(b: &[u8], o: &mut [f32]) {
    let (d, dmin) = (f16_at(b, 0), f16_at(b, 2));
    let (sc, mn) = scale_min_k4(&b[4..16]);
    let (qh, qs) = (&b[16..48], &b[48..176]);
    for (g, og) in o.chunks_exact_mut(32).enumerate() {
        let (dl, ml) = (d * sc[g] as f32, dmin * mn[g] as f32);
        for (l, x) in og.iter_mut().enumerate() {
            let low = (qs[(g / 2) * 32 + l] >> (4 * (g % 2))) & 0xF;
            let high = (qh[l] >> g) & 1;
            *x = dl * (low | (high << 4)) as f32 - ml;
        }
    }
}

/// 16 groups of 16 with int8 scales: `(d * sc) * (q - 32)`, 6-bit codes from a nibble plane
/// and a 2-bit plane.
fn q6_k(b: &[u8], o: &mut [f32]) {
    let (ql, qh, scales) = (&b[0..128], &b[128..192], &b[192..208]);
    let d = f16_at(b, 208);
    for (e, x) in o.iter_mut().enumerate() {
        let half = e / 128;
        let (nib, l64) = ((e % 128) / 64, e % 64);
        let (plane, l32) = ((e % 128) / 32, e % 32);
        let low = (ql[half * 64 + l64] >> (4 * nib)) & 0xF;
        let high = (qh[half * 32 + l32] >> (2 * plane)) & 3;
        let q = (low | (high << 4)) as i32 - 32;
        *x = d * (scales[e / 16] as i8) as f32 * q as f32;
    }
}

/// `d * q` with an f32 `d` (llama.cpp's intermediate format; the block sums are not needed).
fn q8_k(b: &[u8], o: &mut [f32]) {
    let d = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    for (x, &q) in o.iter_mut().zip(&b[4..260]) {
        *x = d * (q as i8) as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_is_in_the_table_and_round_trips_its_id() {
        for (id, ty, name, bl, bb) in TYPES {
            assert_eq!(GgmlType::from_id(id), Ok(ty));
            assert_eq!(
                (ty.id(), ty.name(), ty.block_len(), ty.block_bytes()),
                (id, name, bl, bb)
            );
        }
        assert!(GgmlType::from_id(23).unwrap_err().contains("IQ4_XS"));
        assert!(GgmlType::from_id(999).unwrap_err().contains("unknown"));
    }

    #[test]
    fn q8_k_is_scale_times_code() {
        let mut b = vec![0u8; 292];
        b[0..4].copy_from_slice(&0.5f32.to_le_bytes());
        b[4] = 0xFE; // -2
        b[5] = 3;
        let mut o = vec![1f32; 256];
        dequantize(GgmlType::Q8_K, &b, &mut o).unwrap();
        assert_eq!(&o[..3], &[-1.0, 1.5, 0.0]);
    }

    #[test]
    fn length_mismatch_is_an_error() {
        let mut o = vec![0f32; 32];
        assert!(dequantize(GgmlType::Q4_0, &[0u8; 17], &mut o).is_err());
        let mut o = vec![0f32; 31];
        assert!(dequantize(GgmlType::Q4_0, &[0u8; 18], &mut o).is_err());
    }
}
