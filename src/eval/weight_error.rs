//! Per-tensor weight error of a quantized conversion: relative RMSE and SNR of the dequantized
//! weights against the values that were quantized. The executor feeds it right after each block
//! is quantized; a deterministic sample of rows (every [`SAMPLE_EVERY`]th) is dequantized with
//! our kernels, which keeps the cost to a few percent of the conversion.

use std::sync::Mutex;

use serde::Serialize;

use crate::cast::{self, FloatType};
use crate::plan::{Op, Plan};
use crate::quant::{affine, fp};

/// One row in this many is measured. Rows are whole quantization groups, so a sample row is
/// measured exactly as the model will see it.
pub const SAMPLE_EVERY: usize = 16;

#[derive(Clone, Copy, Default, Debug)]
struct Sums {
    /// Σ (dequantized − original)²
    err2: f64,
    /// Σ original²
    sig2: f64,
    elements: u64,
}

/// Accumulates the error of every quantized parameter of a plan, from all executor threads.
pub struct WeightErrors {
    sums: Vec<Mutex<Sums>>,
}

/// The measured error of one quantized tensor.
#[derive(Clone, Debug, Serialize)]
pub struct TensorError {
    pub name: String,
    pub mode: String,
    pub bits: u32,
    pub group_size: usize,
    /// Elements measured (a deterministic sample of rows).
    pub elements_sampled: u64,
    /// `sqrt(Σ e² / Σ x²)`.
    pub rel_rmse: f64,
    /// `10·log10(Σ x² / Σ e²)`; `null` for an exact (zero-error) tensor.
    pub snr_db: Option<f64>,
}

/// The rows of `[first, first+count)` that are measured.
fn sampled(first: usize, count: usize) -> impl Iterator<Item = usize> {
    let start = first.div_ceil(SAMPLE_EVERY) * SAMPLE_EVERY;
    (start..first + count).step_by(SAMPLE_EVERY)
}

impl WeightErrors {
    pub fn new(params: usize) -> WeightErrors {
        WeightErrors {
            sums: (0..params).map(|_| Mutex::new(Sums::default())).collect(),
        }
    }

    fn add(&self, param: usize, original: &[f32], restored: &[f32]) {
        let (e2, s2) = squared_sums(original, restored);
        if let Some(m) = self.sums.get(param)
            && let Ok(mut s) = m.lock()
        {
            s.err2 += e2;
            s.sig2 += s2;
            s.elements += original.len() as u64;
        }
    }

    /// Measures the sampled rows of a block just quantized with the affine kernel: `x` holds
    /// rows `[first, first+count)` of length `k` as quantized (already rounded to `float`).
    #[allow(clippy::too_many_arguments)]
    pub fn affine_block(
        &self,
        param: usize,
        first: usize,
        k: usize,
        x: &[f32],
        words: &[u32],
        scales: &[f32],
        biases: &[f32],
        group_size: usize,
        bits: u32,
        float: FloatType,
    ) {
        let count = x.len() / k.max(1);
        let (wpr, gpr) = (k * bits as usize / 32, k / group_size);
        let mut out = vec![0f32; k];
        let (mut s, mut b) = (vec![0f32; gpr], vec![0f32; gpr]);
        for r in sampled(first, count) {
            let i = r - first;
            // Stored scales/biases are `float`; dequantize from what is written.
            s.copy_from_slice(&scales[i * gpr..(i + 1) * gpr]);
            b.copy_from_slice(&biases[i * gpr..(i + 1) * gpr]);
            cast::round_to(float, &mut s);
            cast::round_to(float, &mut b);
            affine::dequantize(
                &words[i * wpr..(i + 1) * wpr],
                &s,
                &b,
                group_size,
                bits,
                float,
                &mut out,
            );
            self.add(param, &x[i * k..(i + 1) * k], &out);
        }
    }

    /// [`Self::affine_block`] for the fp modes (scale codes, no biases).
    #[allow(clippy::too_many_arguments)]
    pub fn fp_block(
        &self,
        param: usize,
        first: usize,
        k: usize,
        x: &[f32],
        words: &[u32],
        scale_codes: &[u8],
        mode: fp::FpMode,
        float: FloatType,
    ) {
        let count = x.len() / k.max(1);
        let bits = mode.bits() as usize;
        let (wpr, gpr) = (k * bits / 32, k / mode.group_size());
        let mut out = vec![0f32; k];
        for r in sampled(first, count) {
            let i = r - first;
            fp::dequantize(
                mode,
                float,
                &words[i * wpr..(i + 1) * wpr],
                &scale_codes[i * gpr..(i + 1) * gpr],
                None,
                &mut out,
            );
            // fp::dequantize yields f32 values; the model computes in `float`.
            cast::round_to(float, &mut out);
            self.add(param, &x[i * k..(i + 1) * k], &out);
        }
    }

    /// One entry per quantized parameter of `plan`, in plan order.
    pub fn report(&self, plan: &Plan) -> Vec<TensorError> {
        plan.params
            .iter()
            .zip(&self.sums)
            .filter_map(|(p, m)| {
                let Op::Quantize {
                    mode,
                    group_size,
                    bits,
                    ..
                } = p.op
                else {
                    return None;
                };
                let s = m.lock().map(|s| *s).unwrap_or_default();
                let rel_rmse = if s.sig2 > 0.0 {
                    (s.err2 / s.sig2).sqrt()
                } else {
                    0.0
                };
                let snr_db =
                    (s.err2 > 0.0 && s.sig2 > 0.0).then(|| 10.0 * (s.sig2 / s.err2).log10());
                Some(TensorError {
                    name: p.name.clone(),
                    mode: mode.as_str().to_string(),
                    bits,
                    group_size,
                    elements_sampled: s.elements,
                    rel_rmse,
                    snr_db,
                })
            })
            .collect()
    }
}

/// `(Σ (y − x)², Σ x²)` in f64.
///
/// Independent accumulators: one running f64 sum is a chain of dependent adds that cannot
/// vectorise (measured: 3.6% of a whole `-q` conversion, for 1/16 of rows). Compiled per CPU
/// like the kernels: as baseline x86-64 code with eight accumulators in pairs of lanes this
/// still took 3.4% of an 8B `-q` run (perf), a tenth of the quantization kernel's time for a
/// sixteenth of its rows.
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+fma+bmi1+bmi2+lzcnt+popcnt",
    "x86_64+avx2+fma+bmi1+bmi2+lzcnt+popcnt",
    "aarch64+neon"
))]
fn squared_sums(original: &[f32], restored: &[f32]) -> (f64, f64) {
    // Four vectors of accumulators (with AVX-512), so that the adds of one do not wait on the
    // last add of the same register; fixed-size chunks so that LLVM sees whole vectors.
    const LANES: usize = 32;
    let (mut e2, mut s2) = ([0.0f64; LANES], [0.0f64; LANES]);
    let n = original.len().min(restored.len()) / LANES * LANES;
    for (xs, ys) in original[..n]
        .chunks_exact(LANES)
        .zip(restored[..n].chunks_exact(LANES))
    {
        let (Ok(xs), Ok(ys)) = (<&[f32; LANES]>::try_from(xs), <&[f32; LANES]>::try_from(ys))
        else {
            continue;
        };
        for l in 0..LANES {
            let (x, d) = (xs[l] as f64, (ys[l] - xs[l]) as f64);
            e2[l] += d * d;
            s2[l] += x * x;
        }
    }
    for (&x, &y) in original[n..].iter().zip(&restored[n..]) {
        let d = (y - x) as f64;
        e2[0] += d * d;
        s2[0] += (x as f64) * (x as f64);
    }
    (e2.iter().sum(), s2.iter().sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn squared_sums_match_a_plain_sum_for_every_tail_length() {
        for n in [0, 1, 31, 32, 33, 64, 1000] {
            let x: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let y: Vec<f32> = x.iter().map(|v| v + 0.01 * v.cos()).collect();
            let e2: f64 = x
                .iter()
                .zip(&y)
                .map(|(&a, &b)| ((b - a) as f64).powi(2))
                .sum();
            let s2: f64 = x.iter().map(|&a| (a as f64).powi(2)).sum();
            let (ge, gs) = squared_sums(&x, &y);
            assert!(
                (ge - e2).abs() <= 1e-12 * e2.max(1e-30),
                "n={n}: {ge} vs {e2}"
            );
            assert!(
                (gs - s2).abs() <= 1e-12 * s2.max(1e-30),
                "n={n}: {gs} vs {s2}"
            );
        }
    }

    #[test]
    fn samples_every_nth_row_across_blocks() {
        let a: Vec<usize> = sampled(0, 40).collect();
        assert_eq!(a, vec![0, 16, 32]);
        let b: Vec<usize> = sampled(17, 40).collect();
        assert_eq!(b, vec![32, 48]);
        assert_eq!(sampled(1, 10).count(), 0);
    }

    #[test]
    fn error_of_an_affine_round_trip_matches_its_definition() {
        // 4-bit affine of a ramp: the error is known to be bounded by half a step.
        let k = 64;
        let x: Vec<f32> = (0..k).map(|i| i as f32 / 10.0).collect();
        let mut words = vec![0u32; k * 4 / 32];
        let (mut s, mut b) = (vec![0f32; 1], vec![0f32; 1]);
        affine::quantize(&x, 64, 4, &mut words, &mut s, &mut b);
        let e = WeightErrors::new(1);
        e.affine_block(0, 0, k, &x, &words, &s, &b, 64, 4, FloatType::F32);
        let sums = *e.sums[0].lock().unwrap();
        assert_eq!(sums.elements, 64);
        let step = s[0].abs() as f64;
        assert!(sums.err2 > 0.0);
        assert!(
            sums.err2 <= (step / 2.0).powi(2) * 64.0 * 1.0001,
            "{sums:?} step {step}"
        );
        let sig2: f64 = x.iter().map(|&v| (v as f64).powi(2)).sum();
        assert!((sums.sig2 - sig2).abs() < 1e-6);
    }
}
