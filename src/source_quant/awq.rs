//! AutoAWQ (and GPTQ, which mlx-lm reads with the same layout assumption) 4-bit packs, turned
//! into MLX's affine layout exactly as mlx-lm's `_transform_awq_weights` does:
//! - `qweight` int32 `[in, out/8]`, eight nibbles per word in AWQ's interleaved order
//!   `[0, 4, 1, 5, 2, 6, 3, 7]`, becomes `weight` uint32 `[out, in/8]` packed LSB-first;
//! - `scales` `[in/G, out]` becomes `scales.T` `[out, in/G]`;
//! - `qzeros` int32 `[in/G, out/8]` (same nibble order) gives `biases = -zeros · scales`
//!   computed in float32 and rounded to the scales' dtype; without `qzeros` the zero point is
//!   8 (`biases = -8 · scales`).
//!
//! The functions work on a run of output rows (`out` indices `o0..o0+count`): the columns of
//! the source words that hold them, for every source row, so a layer streams in bounded memory.

/// Bit positions (in nibbles) of the eight values of an AWQ word: value `k` sits at
/// `4 · AWQ_ORDER[k]`.
pub const AWQ_ORDER: [u32; 8] = [0, 4, 1, 5, 2, 6, 3, 7];

/// Value `k` (0..8) of an AWQ-packed word.
#[inline]
pub fn awq_nibble(word: u32, k: usize) -> u32 {
    (word >> (4 * AWQ_ORDER[k])) & 0xF
}

/// The first source word column and the number of word columns that hold output rows
/// `o0..o0+count` (eight rows per word column).
pub fn word_columns(o0: usize, count: usize) -> (usize, usize) {
    let c0 = o0 / 8;
    let c1 = (o0 + count).div_ceil(8);
    (c0, c1 - c0)
}

/// MLX words of output rows `o0..o0+count`: `cols` holds, for each of the `rows` source rows
/// (input features), the `ncols` words starting at word column `o0 / 8` (see [`word_columns`]).
/// `out` receives `count` rows of `rows / 8` words each.
pub fn repack_rows(
    cols: &[u32],
    rows: usize,
    ncols: usize,
    o0: usize,
    count: usize,
    out: &mut [u32],
) {
    let per_row = rows / 8;
    let c0 = o0 / 8;
    for (r, dst) in out.chunks_exact_mut(per_row).take(count).enumerate() {
        let o = o0 + r;
        let (c, k) = (o / 8 - c0, o % 8);
        for (w, d) in dst.iter_mut().enumerate() {
            let mut word = 0u32;
            for j in 0..8 {
                let src = cols[(w * 8 + j) * ncols + c];
                word |= awq_nibble(src, k) << (4 * j);
            }
            *d = word;
        }
    }
}

/// Biases of output rows `o0..o0+count` as float32 products `-zero · scale` (the caller rounds
/// them to the scales' dtype). `scales` holds, for each of the `groups` group rows, the scales
/// of output rows `o0..o0+count` (already in their stored precision); `zero_cols`, if any, for
/// each group row the `ncols` qzeros words starting at word column `o0 / 8`. `out` is
/// `count × groups`, row-major (MLX layout).
pub fn biases_rows(
    zero_cols: Option<&[u32]>,
    ncols: usize,
    scales: &[f32],
    groups: usize,
    o0: usize,
    count: usize,
    out: &mut [f32],
) {
    let c0 = o0 / 8;
    for r in 0..count {
        let o = o0 + r;
        for g in 0..groups {
            let zero = match zero_cols {
                Some(z) => awq_nibble(z[g * ncols + o / 8 - c0], o % 8) as f32,
                None => 8.0,
            };
            out[r * groups + g] = -zero * scales[g * count + r];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWQ-packs `vals` (8 per word) the way AutoAWQ does.
    fn awq_pack(vals: &[u32]) -> Vec<u32> {
        vals.chunks(8)
            .map(|c| {
                c.iter()
                    .enumerate()
                    .fold(0, |w, (k, &v)| w | (v << (4 * AWQ_ORDER[k])))
            })
            .collect()
    }

    #[test]
    fn nibbles_follow_the_interleaved_order() {
        let w = awq_pack(&[1, 2, 3, 4, 5, 6, 7, 8])[0];
        assert_eq!(w, 0x8642_7531);
        assert_eq!(
            (0..8).map(|k| awq_nibble(w, k)).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5, 6, 7, 8]
        );
    }

    #[test]
    fn repack_transposes_and_packs_lsb_first() {
        // 16 inputs × 16 outputs, value (i, o) = (i + 3·o) mod 16.
        let (n_in, n_out) = (16, 16);
        let val = |i: usize, o: usize| ((i + 3 * o) % 16) as u32;
        let qweight: Vec<u32> = (0..n_in)
            .flat_map(|i| awq_pack(&(0..n_out).map(|o| val(i, o)).collect::<Vec<_>>()))
            .collect();
        // Output rows 5..13 need word columns 0..2 of every row.
        let (c0, nc) = word_columns(5, 8);
        assert_eq!((c0, nc), (0, 2));
        let cols: Vec<u32> = (0..n_in)
            .flat_map(|i| qweight[i * 2 + c0..i * 2 + c0 + nc].to_vec())
            .collect();
        let mut out = vec![0u32; 8 * 2];
        repack_rows(&cols, n_in, nc, 5, 8, &mut out);
        for r in 0..8 {
            for i in 0..n_in {
                let got = (out[r * 2 + i / 8] >> (4 * (i % 8))) & 0xF;
                assert_eq!(got, val(i, 5 + r), "row {r} input {i}");
            }
        }
    }

    #[test]
    fn biases_are_minus_zero_times_scale() {
        // One group row, outputs 8..10, zeros 3 and 15.
        let z = awq_pack(&[0, 0, 0, 0, 0, 0, 0, 0, 3, 15, 0, 0, 0, 0, 0, 0]);
        let mut out = [0f32; 2];
        biases_rows(Some(&z[1..2]), 1, &[0.5, 0.25], 1, 8, 2, &mut out);
        assert_eq!(out, [-1.5, -3.75]);
        biases_rows(None, 0, &[0.5, 0.25], 1, 8, 2, &mut out);
        assert_eq!(out, [-4.0, -2.0]);
    }
}
