//! Data-free per-input-column error weights for the `clipfit` method.
//!
//! A linear layer's output error is `Σ_j x_j δw_j`: an error in column `j` counts as much as
//! input `j` is large. Without calibration data the best cheap proxy is the RMSNorm gain `γ` in
//! front of the layer: its inputs are `γ ⊙ normalize(h)`, so column `j` is scaled by `γ_j` and its
//! squared error by `γ_j²`. Layers without a norm in front get estimates from the layers that
//! feed them ([`inputs_of`]): `o_proj` reads `v_proj`'s outputs, `down_proj` reads
//! `silu(gate) * up`, whose mean squares follow from those layers' rows and the norm's gains
//! if the normalised inputs are taken as independent with unit variance. Untied embeddings get
//! no weights. Measured on SmolLM2-135M at 3 bits (2316 held-out tokens), the estimates for
//! o_proj/down_proj took clipfit from +6% KL against RTN to −13%: unweighted, the clip search
//! there cut the outlier columns that matter most.

/// The norm parameter whose gain scales the inputs of the quantized parameter `name`, if any.
/// `has_lm_head`: whether the model has its own `lm_head.weight` (otherwise a tied embedding
/// doubles as the output head, fed by the final norm). `arch`: the architecture's name; Gemma
/// models store their gains as `γ - 1`, for which the square is no proxy, so they get none.
pub fn norm_for(name: &str, has_lm_head: bool, arch: &str) -> Option<String> {
    if arch.contains("gemma") {
        return None;
    }
    let stem = name.strip_suffix(".weight")?;
    if stem == "lm_head" || (!has_lm_head && stem.ends_with("embed_tokens")) {
        // `[P.]lm_head` -> `[P.]model.norm`; `[P.]model.embed_tokens` -> `[P.]model.norm`.
        return match stem.strip_suffix("lm_head") {
            Some(prefix) => Some(format!("{prefix}model.norm.weight")),
            None => Some(format!("{}norm.weight", stem.strip_suffix("embed_tokens")?)),
        };
    }
    const ATTN: [&str; 4] = ["q_proj", "k_proj", "v_proj", "qkv_proj"];
    const MLP: [&str; 3] = ["gate_proj", "up_proj", "gate_up_proj"];
    let (parent, leaf) = stem.rsplit_once('.')?;
    let (layer, block) = parent.rsplit_once('.')?;
    let norm = match block {
        "self_attn" if ATTN.contains(&leaf) => "input_layernorm",
        "mlp" if MLP.contains(&leaf) => "post_attention_layernorm",
        _ => return None,
    };
    Some(format!("{layer}.{norm}.weight"))
}

/// The exponent applied to the estimated mean squares before they become column weights
/// ([`normalised`]), by bit width. At 3 bits and below the errors are large, and the columns the
/// (crude: independent unit-variance inputs) estimates single out are the ones whose errors
/// matter most; emphasising them beyond their estimated share lowered KL most there. At 4 bits
/// the plain estimates did better. Measured with bench/quality.sh (mean KL, 2.3k tokens):
/// SmolLM2-135M 3-bit (RTN 1.93): exponent 1: 1.67, 1.5: 1.56, 2: 1.54, 3: 1.40, 4: 1.68,
/// 6: 1.71; SmolLM2-135M 4-bit (RTN 0.419): 1: 0.260, 3: 0.279; Qwen2.5-Coder-0.5B 4-bit
/// (RTN 0.1145): 1: 0.097, 2: 0.100, 3: 0.107.
pub fn emphasis(bits: u32) -> f64 {
    if bits <= 3 { 3.0 } else { 1.0 }
}

/// Column weights from a norm's gains, for a `bits`-bit quantization: `γ²` raised to
/// [`emphasis`], normalised to mean 1, floored at 1e-3 so that no column is ignored. `None` when
/// the gains are unusable (empty, non-finite, all zero).
pub fn weights_from_gains(gains: &[f32], bits: u32) -> Option<Vec<f32>> {
    if gains.is_empty() || !gains.iter().all(|g| g.is_finite()) {
        return None;
    }
    let sq: Vec<f32> = gains.iter().map(|&g| g * g).collect();
    normalised(&sq, bits)
}

/// Where the inputs of a layer without a norm in front come from, to estimate their mean
/// squares data-free (see [`inputs_of`]).
#[derive(Debug, PartialEq, Eq)]
pub enum Feeder {
    /// `o_proj`: its inputs are attention-weighted averages of `v_proj`'s outputs, which are
    /// `v_proj(γ ⊙ normalize(h))`.
    Values { v_proj: String, norm: String },
    /// `down_proj`: its inputs are `silu(gate_proj(a)) * up_proj(a)`, `a = γ ⊙ normalize(h)`.
    GatedMlp {
        gate_proj: String,
        up_proj: String,
        norm: String,
    },
}

/// The layers and norm that feed the quantized parameter `name`, for the layers [`norm_for`]
/// has no norm for. Gemma models get none (see [`norm_for`]).
pub fn inputs_of(name: &str, arch: &str) -> Option<Feeder> {
    if arch.contains("gemma") {
        return None;
    }
    let stem = name.strip_suffix(".weight")?;
    let (parent, leaf) = stem.rsplit_once('.')?;
    let (layer, block) = parent.rsplit_once('.')?;
    match (block, leaf) {
        ("self_attn", "o_proj") => Some(Feeder::Values {
            v_proj: format!("{parent}.v_proj.weight"),
            norm: format!("{layer}.input_layernorm.weight"),
        }),
        ("mlp", "down_proj") => Some(Feeder::GatedMlp {
            gate_proj: format!("{parent}.gate_proj.weight"),
            up_proj: format!("{parent}.up_proj.weight"),
            norm: format!("{layer}.post_attention_layernorm.weight"),
        }),
        _ => None,
    }
}

/// Per output row of `w` (`[rows, gains.len()]`), the variance of that output for inputs
/// `γ ⊙ z` with `z` independent, zero-mean, unit-variance: `Σ_i w_ri² γ_i²`.
/// Summed in eight interleaved f64 partial sums, so that the loop is vector code rather than
/// one chain of dependent additions (it runs over the model's largest layers).
pub fn output_variances(w: &[f32], gains: &[f32]) -> Vec<f64> {
    const LANES: usize = 8;
    let k = gains.len().max(1);
    let g2: Vec<f64> = gains.iter().map(|&g| (g as f64) * (g as f64)).collect();
    w.chunks_exact(k)
        .map(|row| {
            let mut acc = [0.0f64; LANES];
            let (body, tail) = row.split_at(k - k % LANES);
            for (r, g) in body.chunks_exact(LANES).zip(g2.chunks_exact(LANES)) {
                for l in 0..LANES {
                    let v = r[l] as f64;
                    acc[l] += v * v * g[l];
                }
            }
            let rest: f64 = tail
                .iter()
                .zip(&g2[k - k % LANES..])
                .map(|(&v, g)| (v as f64) * (v as f64) * g)
                .sum();
            acc.iter().sum::<f64>() + rest
        })
        .collect()
}

/// `o_proj` column weights: column `c` (head `c / head_dim`) reads value channel
/// `c % head_dim` of the key-value head its query head shares (grouped-query attention).
/// `v_var`: [`output_variances`] of `v_proj`, `kv_heads * head_dim` of them.
pub fn values_weights(v_var: &[f64], heads: usize, head_dim: usize, bits: u32) -> Option<Vec<f32>> {
    let kv_heads = v_var.len() / head_dim.max(1);
    if head_dim == 0
        || kv_heads == 0
        || v_var.len() != kv_heads * head_dim
        || !heads.is_multiple_of(kv_heads)
    {
        return None;
    }
    let rep = heads / kv_heads;
    let per_col: Vec<f32> = (0..heads * head_dim)
        .map(|c| v_var[(c / head_dim / rep) * head_dim + c % head_dim] as f32)
        .collect();
    normalised(&per_col, bits)
}

/// `E[silu(g)²]` for `g ~ N(0, var)`, by the trapezoid rule over ±8 standard deviations (64
/// steps: the rule converges geometrically for this smooth, Gaussian-weighted integrand).
pub fn silu_mean_square(var: f64) -> f64 {
    let sd = var.max(0.0).sqrt();
    let n = 64;
    let (lo, step) = (-8.0, 16.0 / n as f64);
    let mut acc = 0.0;
    for i in 0..=n {
        let z: f64 = lo + step * i as f64;
        let g = sd * z;
        let silu = g / (1.0 + (-g).exp());
        let w = if i == 0 || i == n { 0.5 } else { 1.0 };
        acc += w * silu * silu * (-0.5 * z * z).exp();
    }
    acc * step / (2.0 * std::f64::consts::PI).sqrt()
}

/// `down_proj` column weights: the mean square of `silu(g_j) u_j`, taking the gate and up
/// outputs as independent Gaussians with the variances given.
pub fn gated_weights(gate_var: &[f64], up_var: &[f64], bits: u32) -> Option<Vec<f32>> {
    if gate_var.len() != up_var.len() {
        return None;
    }
    let per_col: Vec<f32> = gate_var
        .iter()
        .zip(up_var)
        .map(|(&g, &u)| (silu_mean_square(g) * u) as f32)
        .collect();
    normalised(&per_col, bits)
}

/// Mean squares `v` as column weights for `bits`: `(v / mean v)^emphasis(bits)`, normalised to
/// mean 1 and floored at 1e-3 (see [`weights_from_gains`]). `None` for empty, negative,
/// non-finite or all-zero `v`.
fn normalised(v: &[f32], bits: u32) -> Option<Vec<f32>> {
    let power = emphasis(bits);
    if v.is_empty() || !v.iter().all(|x| x.is_finite() && *x >= 0.0) {
        return None;
    }
    let mean = v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64;
    if !(mean > 0.0 && mean.is_finite()) {
        return None;
    }
    let raised: Vec<f64> = v.iter().map(|&x| (x as f64 / mean).powf(power)).collect();
    let mean = raised.iter().sum::<f64>() / raised.len() as f64;
    if !(mean > 0.0 && mean.is_finite()) {
        return None;
    }
    Some(
        raised
            .iter()
            .map(|&x| ((x / mean) as f32).max(1e-3))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn norms_in_front_of_each_layer() {
        let n = |s, head| norm_for(s, head, "llama");
        assert_eq!(
            n("model.layers.3.self_attn.k_proj.weight", true).as_deref(),
            Some("model.layers.3.input_layernorm.weight")
        );
        assert_eq!(
            n("model.layers.0.mlp.up_proj.weight", true).as_deref(),
            Some("model.layers.0.post_attention_layernorm.weight")
        );
        assert_eq!(n("model.layers.0.mlp.down_proj.weight", true), None);
        assert_eq!(n("model.layers.0.self_attn.o_proj.weight", true), None);
        assert_eq!(
            n("lm_head.weight", true).as_deref(),
            Some("model.norm.weight")
        );
        // A tied embedding is also the head; an untied one is only a lookup table.
        assert_eq!(
            n("model.embed_tokens.weight", false).as_deref(),
            Some("model.norm.weight")
        );
        assert_eq!(n("model.embed_tokens.weight", true), None);
        assert_eq!(
            n("language_model.model.embed_tokens.weight", false).as_deref(),
            Some("language_model.model.norm.weight")
        );
        assert_eq!(
            norm_for("model.layers.0.mlp.up_proj.weight", true, "gemma2"),
            None
        );
    }

    #[test]
    fn weights_are_normalised_squares() {
        let w = weights_from_gains(&[1.0, 3.0, 0.0], 4).expect("usable gains");
        // squares 1, 9, 0, raised to emphasis(4): 1, 9^p, 0, whose mean is (1 + 9^p) / 3
        let big = 9f64.powf(emphasis(4));
        let mean = (1.0 + big) / 3.0;
        assert!((w[0] as f64 - 1.0 / mean).abs() < 1e-6, "{w:?}");
        assert!((w[1] as f64 - big / mean).abs() < 1e-4, "{w:?}");
        assert_eq!(w[2], 1e-3);
        assert_eq!(weights_from_gains(&[0.0, 0.0], 4), None);
        assert_eq!(weights_from_gains(&[1.0, f32::NAN], 4), None);
        // Fewer bits, more emphasis on the largest gains.
        let low = weights_from_gains(&[1.0, 3.0, 0.0], 3).expect("usable gains");
        assert!(
            emphasis(3) >= emphasis(4) && low[1] >= w[1],
            "{low:?} vs {w:?}"
        );
    }
    #[test]
    fn feeders_of_layers_without_a_norm() {
        assert_eq!(
            inputs_of("model.layers.2.self_attn.o_proj.weight", "llama"),
            Some(Feeder::Values {
                v_proj: "model.layers.2.self_attn.v_proj.weight".into(),
                norm: "model.layers.2.input_layernorm.weight".into(),
            })
        );
        assert_eq!(
            inputs_of("model.layers.0.mlp.down_proj.weight", "qwen2"),
            Some(Feeder::GatedMlp {
                gate_proj: "model.layers.0.mlp.gate_proj.weight".into(),
                up_proj: "model.layers.0.mlp.up_proj.weight".into(),
                norm: "model.layers.0.post_attention_layernorm.weight".into(),
            })
        );
        assert_eq!(
            inputs_of("model.layers.0.mlp.up_proj.weight", "llama"),
            None
        );
        assert_eq!(
            inputs_of("model.layers.0.mlp.down_proj.weight", "gemma2"),
            None
        );
    }

    #[test]
    fn value_channels_follow_grouped_query_heads() {
        // 2 kv heads of dim 2, 4 query heads: heads 0,1 read kv head 0, heads 2,3 kv head 1.
        let w = [1.0f32, 0.0, 0.0, 2.0, 3.0, 0.0, 0.0, 1.0];
        let var = output_variances(&w, &[1.0, 2.0]);
        assert_eq!(var, vec![1.0, 16.0, 9.0, 4.0]);
        let cw = values_weights(&var, 4, 2, 3).expect("shapes fit");
        let raised = [1.0, 16.0, 1.0, 16.0, 9.0, 4.0, 9.0, 4.0].map(|v: f64| v.powf(emphasis(3)));
        let mean = raised.iter().sum::<f64>() / 8.0;
        let want = raised.map(|v| ((v / mean) as f32).max(1e-3));
        assert!(
            cw.iter()
                .zip(want)
                .all(|(a, b)| (a - b).abs() < 1e-5 * b.max(1.0)),
            "{cw:?}"
        );
        assert_eq!(values_weights(&var, 3, 2, 3), None);
    }

    #[test]
    fn silu_mean_square_matches_its_limits() {
        // Small inputs: silu(g) ≈ g/2, so E = var/4; large: silu(g)² ≈ g² on the positive half.
        let small = silu_mean_square(1e-4);
        assert!((small / 2.5e-5 - 1.0).abs() < 1e-3, "{small}");
        let large = silu_mean_square(1e4);
        assert!((large / 5e3 - 1.0).abs() < 1e-2, "{large}");
        let w = gated_weights(&[1.0, 1.0, 4.0], &[1.0, 2.0, 1.0], 4).expect("finite");
        assert!(w[1] > w[0] && w[2] > w[0] && (w.iter().sum::<f32>() - 3.0).abs() < 1e-5);
    }
}
