//! Affine quantization methods: how codes, scales and biases are chosen. Every method writes the
//! same MLX affine format (`--q-mode affine`), so its output loads in stock mlx-lm; they differ
//! only in quality and time. `rtn` is mlx's own round-to-nearest, bit-exact with `mx.quantize`.

pub mod clipfit;
pub mod importance;
pub mod search;

/// The caller contract shared by the affine methods: a group size mlx supports, whole groups,
/// and as many words, scales and biases as they take. Returns the words per group.
pub(crate) fn check_lengths(
    method: &str,
    n: usize,
    group_size: usize,
    bits: u32,
    words: &[u32],
    scales: &[f32],
    biases: &[f32],
) -> usize {
    assert!(
        crate::quant::affine::GROUP_SIZES.contains(&group_size) && n.is_multiple_of(group_size),
        "{method}: bad group size {group_size} for length {n}"
    );
    let wpg = group_size * bits as usize / 32;
    let n_groups = n / group_size;
    assert_eq!(words.len(), n_groups * wpg, "{method}: words length");
    assert_eq!(scales.len(), n_groups, "{method}: scales length");
    assert_eq!(biases.len(), n_groups, "{method}: biases length");
    wpg
}

/// Weights-like test data shared by the methods' unit tests.
#[cfg(test)]
mod test_sample {
    /// A deterministic bell-shaped sample with a few outliers, like trained weights.
    pub fn sample(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed.wrapping_mul(2_654_435_761).max(1);
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s as f32 / u32::MAX as f32) - 0.5
        };
        (0..n)
            .map(|i| {
                let v = (next() + next() + next()) * 0.05;
                if i % 97 == 13 { v * 12.0 } else { v }
            })
            .collect()
    }
}

use crate::cast::FloatType;
use crate::quant::affine;

/// `--quant-method`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum QuantMethod {
    /// mlx's round-to-nearest (`mx.quantize`): output identical to mlx-lm's.
    #[default]
    Rtn,
    /// Per-group search over clipping ranges with weighted least-squares refits
    /// ([`search`]); data-free. Measured: lower KL than RTN at 4 bits, higher at 3 bits, and
    /// tens of times RTN's CPU time, hence not the default.
    Search,
    /// Per-group clip search and bias refit, weighted per input column by a data-free estimate
    /// of that input's mean square ([`clipfit`], [`importance`]).
    Clipfit,
}

impl QuantMethod {
    pub const ALL: [QuantMethod; 3] = [QuantMethod::Rtn, QuantMethod::Search, QuantMethod::Clipfit];

    pub fn as_str(self) -> &'static str {
        match self {
            QuantMethod::Rtn => "rtn",
            QuantMethod::Search => "search",
            QuantMethod::Clipfit => "clipfit",
        }
    }

    pub fn parse(s: &str) -> Option<QuantMethod> {
        QuantMethod::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// Whether the method weighs errors per input column (see [`importance`]), so the executor
    /// should look up the column weights of each parameter.
    pub fn uses_column_weights(self) -> bool {
        self == QuantMethod::Clipfit
    }

    /// Quantizes `x` (values of the weight dtype `t`, whole rows) in the affine format: packed
    /// words plus per-group scales and biases as f32 (encode them to `t` to store them).
    /// `col_weight`: per-column error weights of one row, for methods that use them.
    #[allow(clippy::too_many_arguments)]
    pub fn quantize_affine(
        self,
        x: &[f32],
        group_size: usize,
        bits: u32,
        t: FloatType,
        col_weight: Option<&[f32]>,
        words: &mut [u32],
        scales: &mut [f32],
        biases: &mut [f32],
    ) {
        match self {
            QuantMethod::Rtn => affine::quantize(x, group_size, bits, words, scales, biases),
            QuantMethod::Search => search::quantize(
                x,
                group_size,
                bits,
                t,
                &search::Params::DEFAULT,
                words,
                scales,
                biases,
            ),
            QuantMethod::Clipfit => {
                clipfit::quantize(x, group_size, bits, t, col_weight, words, scales, biases)
            }
        }
    }
}
