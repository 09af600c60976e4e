//! README.md for the converted model: the front matter mlx-lm writes (so the Hub lists the
//! model under MLX), plus a short provenance note mlx-lm leaves out.

use crate::plan::Plan;

/// The model card for a local source: mlx-lm's exact front matter, then what was done.
pub fn model_card(plan: &Plan) -> String {
    let mut s = String::from(
        "---\nlanguage: en\nlibrary_name: mlx\npipeline_tag: text-generation\ntags:\n- mlx\n---\n",
    );
    s.push_str(&format!(
        "\nConverted to MLX format with hf2mlx {} from a `{}` checkpoint.\n\n",
        env!("CARGO_PKG_VERSION"),
        plan.model_type
    ));
    match &plan.quantization {
        Some(q) => s.push_str(&format!(
            "- Quantization: {} {}-bit, group size {} ({:.3} bits per weight)\n",
            q.get("mode").and_then(|v| v.as_str()).unwrap_or("affine"),
            q.get("bits").map(|v| v.to_string()).unwrap_or_default(),
            q.get("group_size")
                .map(|v| v.to_string())
                .unwrap_or_default(),
            plan.bits_per_weight()
        )),
        None => s.push_str("- Quantization: none\n"),
    }
    if let Some(t) = plan.dtype {
        s.push_str(&format!("- Float dtype: {}\n", crate::dtype::float_name(t)));
    }
    s.push_str(&format!("- Parameters: {}\n", plan.total_parameters));
    s.push_str(
        "\n```python\nfrom mlx_lm import load, generate\n\nmodel, tokenizer = load(\"path/to/this/model\")\n\
         print(generate(model, tokenizer, prompt=\"Hello\", verbose=True))\n```\n",
    );
    s
}
