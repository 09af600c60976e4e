//! Vision-language conversions against mlx-vlm 0.7.10: every tiny checkpoint under
//! `tests/fixtures/vlm/<family>/<layout>/` (built from transformers' own model classes by
//! `tools/gen_vlm_fixtures.py`), converted with every recorded setting, must give exactly the
//! tensors `mlx_vlm.convert` wrote (`expected/<layout>-<variant>.json`), and `mlx_vlm.load` must
//! open our output.
//!
//! Layouts: `hf` is the classic one (what transformers 4.x wrote), `hf-new` the one of
//! transformers 4.52 and later (`model.language_model.*`, `model.visual.*`, ...), `hf-v5` what transformers 5
//! saves for CLIP/SigLIP towers (no `vision_model.` level). mlx-vlm maps only the classic layout
//! (the reference's caveat 6), so for the others its recorded manifest is the error it raised
//! and our output must equal its conversion of the classic layout: same tensors, other names.
//!
//! `pixtral` is Pixtral-12B as on the Hub: a `llava` config with a `pixtral` vision_config.
//! mlx-vlm refuses it ("Unsupported model type: pixtral") unless the user edits `model_type` to
//! `pixtral`; its manifests are recorded from such an edited copy, and our output, which writes
//! `model_type: pixtral` itself, must equal them (config included).

mod common;

use std::path::{Path, PathBuf};

use hf2mlx::cast::FloatType;
use hf2mlx::plan::ConvertOptions;
use hf2mlx::quant::Mode;
use serde_json::Value;

/// The settings `tools/gen_vlm_fixtures.py` ran mlx_vlm.convert with.
fn options(variant: &str, src: &Path, dst: &Path) -> ConvertOptions {
    let mut o = ConvertOptions::new(src, dst);
    match variant {
        "plain" => {}
        "q4" => o.quantize = true,
        "f16" => o.dtype = Some(FloatType::F16),
        "mxfp4" => {
            o.quantize = true;
            o.q_mode = Mode::Mxfp4;
        }
        "mixed_3_6" => {
            o.quantize = true;
            o.quant_predicate = Some("mixed_3_6".into());
        }
        other => panic!("test does not know variant {other}"),
    }
    o
}

/// config.json keys where we deliberately differ from mlx-vlm: it merges generation_config.json
/// into config.json (`generation_config`), and drops `torch_dtype` (so a re-conversion of its
/// output cannot infer the dtype; the reference's caveat 9). We keep config.json as the source
/// has it.
const CONFIG_DIFFERENCES: &[&str] = &["generation_config", "torch_dtype"];

/// Projectors mlx-vlm quantizes although they feed the language model from a tower (its
/// substring skip list misses their names): we keep them in float like every other projector,
/// so our tensors there equal mlx-vlm's unquantized (`plain`) output. Per family: layer prefix.
/// Deliberate differences, as mlx-vlm's bug: Idefics3/SmolVLM's `connector`, Idefics2's
/// `connector` (its `modality_projection` and the Perceiver resampler pooling the image
/// features; mlx-vlm quantizes the Linears whose input width 64 divides), InternVL's `mlp1`
/// (LayerNorm + two Linears from the pixel-shuffled ViT features into the text model), and
/// DeepSeek-VL2's `projector` (the two-layer MLP over the 2x2-downsampled SigLIP features),
/// FastVLM's `mm_projector` (the two-layer GELU MLP from the FastViTHD features into the text
/// model), and Florence-2's `image_pos_embed` (the row and column position tables added to the DaViT
/// features before `image_projection`), and Gemma 3n's `embed_audio` (the embedder that
/// normalizes the audio Conformer's output and projects it to the text width; its `vision`
/// twin `embed_vision` mlx-vlm already skips, as its skip list matches `vision` anywhere).
const KEPT_FLOAT: &[(&str, &str)] = &[
    ("deepseek_vl_v2", "projector."),
    ("fastvlm", "mm_projector."),
    ("florence2", "image_pos_embed."),
    ("gemma3n", "embed_audio."),
    ("idefics2", "connector."),
    ("idefics3", "connector."),
    ("internvl_chat", "mlp1."),
];

/// Files `mlx_vlm.convert` writes that the source does not have, from its processor's
/// `save_pretrained`. We copy the source's files and run no processor; mlx-vlm builds the same
/// processor from what we copy whenever it loads our output. DeepSeek-VL2's
/// `chat_template.jinja` is `DeepseekVLV2Processor.default_chat_template`; Florence-2's
/// `processor_config.json` is transformers 5's re-save of the image processor settings already
/// in `preprocessor_config.json`; Phi-3-Vision's, FastVLM's, Kimi-VL's and Molmo's are mlx-vlm's
/// own processors (`Phi3VProcessor`, `FastVLMProcessor`, `KimiVLProcessor`, `MolmoProcessor`)
/// re-saving the settings they read from
/// `preprocessor_config.json`.
const PROCESSOR_WRITTEN: &[(&str, &str)] = &[
    ("deepseek_vl_v2", "chat_template.jinja"),
    ("fastvlm", "processor_config.json"),
    ("florence2", "processor_config.json"),
    ("kimi_vl", "processor_config.json"),
    ("molmo", "processor_config.json"),
    ("phi3_v", "processor_config.json"),
];

fn vlm_root() -> PathBuf {
    common::fixtures().join("vlm")
}

use common::sorted_dirs;

/// Differences between our output and an mlx-vlm manifest, config.json outside
/// [`CONFIG_DIFFERENCES`]; beyond mlx-vlm's files, a quantized conversion writes its
/// weight-error report.
fn differences(out: &Path, expected: &Value) -> Vec<String> {
    common::differences_from_converter(
        out,
        expected,
        &[hf2mlx::eval::REPORT_FILE],
        CONFIG_DIFFERENCES,
    )
}

/// The manifest a layout's output must equal: mlx-vlm's own conversion of it, or, where
/// mlx-vlm cannot map the layout, its conversion of the classic layout of the same model.
fn expected_for(family: &Path, layout: &str, variant: &str) -> Value {
    let read = |name: &str| -> Value {
        let p = family.join("expected").join(name);
        serde_json::from_slice(&std::fs::read(&p).unwrap_or_else(|e| panic!("{p:?}: {e}"))).unwrap()
    };
    let own = read(&format!("{layout}-{variant}.json"));
    let mut expected = if own.get("error").is_none() {
        own
    } else {
        assert_ne!(
            layout, "hf",
            "{family:?}: mlx-vlm failed on the classic layout: {own}"
        );
        read(&format!("hf-{variant}.json"))
    };
    let name = family.file_name().unwrap().to_string_lossy().to_string();
    for (_, file) in PROCESSOR_WRITTEN.iter().filter(|(f, _)| *f == name) {
        if let Some(files) = expected["files"].as_array_mut() {
            files.retain(|f| f != file);
        }
    }
    for (_, prefix) in KEPT_FLOAT.iter().filter(|(f, _)| *f == name) {
        if variant == "plain" || variant == "f16" {
            continue;
        }
        let plain = read("hf-plain.json");
        let tensors = expected["tensors"].as_object_mut().unwrap();
        tensors.retain(|k, _| !k.starts_with(prefix));
        for (k, v) in plain["tensors"].as_object().unwrap() {
            if k.starts_with(prefix) {
                tensors.insert(k.clone(), v.clone());
            }
        }
        // A mixed recipe names every layer it quantizes in the config: not these.
        if let Some(q) = expected["config"]["quantization"].as_object_mut() {
            q.retain(|k, _| !k.starts_with(prefix));
        }
        if let Some(q) = expected["config"]["quantization_config"].as_object_mut() {
            q.retain(|k, _| !k.starts_with(prefix));
        }
    }
    expected
}

/// Variants recorded for every family; others only where their manifests exist.
const EVERY_FAMILY: &[&str] = &["plain", "q4", "f16", "mxfp4"];

fn check_variant(variant: &str) {
    let mut failures = Vec::new();
    let mut checked = 0;
    for family in sorted_dirs(&vlm_root()) {
        for src in sorted_dirs(&family) {
            let layout = src.file_name().unwrap().to_string_lossy().to_string();
            if !layout.starts_with("hf") {
                continue;
            }
            let recorded = family
                .join("expected")
                .join(format!("{layout}-{variant}.json"))
                .is_file();
            if !recorded && !EVERY_FAMILY.contains(&variant) {
                continue;
            }
            let expected = expected_for(&family, &layout, variant);
            let name = format!("{}/{layout}", family.file_name().unwrap().to_string_lossy());
            let tmp = tempfile::tempdir().unwrap();
            let out = tmp.path().join("out");
            match hf2mlx::convert(&options(variant, &src, &out), &|_, _| {}) {
                Err(e) => failures.push(format!("{name}: conversion failed: {e}")),
                Ok(_) => {
                    let d = differences(&out, &expected);
                    if !d.is_empty() {
                        let head: Vec<_> = d.iter().take(8).cloned().collect();
                        failures.push(format!(
                            "{name}: {} differences:\n    {}",
                            d.len(),
                            head.join("\n    ")
                        ));
                    }
                }
            }
            checked += 1;
        }
    }
    let least = if EVERY_FAMILY.contains(&variant) {
        8
    } else {
        1
    };
    assert!(checked >= least, "only {checked} VLM fixtures found");
    assert!(
        failures.is_empty(),
        "{variant}: {} of {checked} VLM fixtures differ from mlx-vlm:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn plain() {
    check_variant("plain");
}

#[test]
fn q4() {
    check_variant("q4");
}

#[test]
fn f16() {
    check_variant("f16");
}

#[test]
fn mxfp4() {
    check_variant("mxfp4");
}

/// A mixed recipe, for the families recorded with one (`EXTRA_VARIANTS` in
/// `tools/gen_vlm_fixtures.py`).
#[test]
fn mixed_3_6() {
    check_variant("mixed_3_6");
}

/// Families whose text model is not under `language_model.`: where it is instead.
/// Qwen3-Omni's quantized models are the thinker's text model, the talker (but for its
/// `code_predictor`, which mlx-vlm's skip list keeps float) and code2wav.
const TEXT_MODEL_ELSEWHERE: &[(&str, &[&str])] = &[
    (
        "phi3_v",
        &[
            "model.embed_tokens.",
            "model.layers.",
            "model.norm.",
            "lm_head.",
        ],
    ),
    (
        "qwen3_omni_moe",
        &[
            "thinker.language_model.",
            "talker.model.",
            "talker.codec_head.",
            "talker.text_projection.",
            "talker.hidden_projection.",
            "code2wav.",
        ],
    ),
];

/// Whether an output tensor belongs to a family's text model.
fn is_text_model(family: &str, tensor: &str) -> bool {
    match TEXT_MODEL_ELSEWHERE.iter().find(|(f, _)| *f == family) {
        Some((_, prefixes)) => prefixes.iter().any(|p| tensor.starts_with(p)),
        None => tensor.starts_with("language_model."),
    }
}

/// No tower or projector tensor is ever quantized by default, in any family.
#[test]
fn towers_stay_float_when_quantizing() {
    for family in sorted_dirs(&vlm_root()) {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let mut o = ConvertOptions::new(family.join("hf"), &out);
        o.quantize = true;
        hf2mlx::convert(&o, &|_, _| {}).unwrap();
        let got = common::describe(&out);
        let name = family.file_name().unwrap().to_string_lossy().to_string();
        let towers: Vec<&String> = got
            .tensors
            .keys()
            .filter(|k| !is_text_model(&name, k))
            .collect();
        assert!(!towers.is_empty(), "{family:?} lost its towers");
        for k in towers {
            assert!(
                !k.ends_with(".scales"),
                "{family:?}: tower tensor {k} quantized"
            );
        }
        // (Qwen3-Omni describes its towers in `thinker_config`; like mlx-vlm's `setdefault`,
        // quantizing adds an empty top-level vision_config.)
        assert!(got.config.get("vision_config").is_some());
    }
}

/// `--q-override` is the one way to quantize a tower layer.
#[test]
fn q_override_quantizes_a_tower_layer() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let mut o = ConvertOptions::new(vlm_root().join("qwen2_vl/hf"), &out);
    o.quantize = true;
    o.q_overrides = vec![r"vision_tower\.merger\.mlp\.0=8".into()];
    hf2mlx::convert(&o, &|_, _| {}).unwrap();
    let got = common::describe(&out);
    assert_eq!(
        got.tensors["vision_tower.merger.mlp.0.weight"].dtype, "U32",
        "override ignored"
    );
    assert!(
        !got.tensors
            .contains_key("vision_tower.blocks.0.attn.qkv.scales")
    );
    assert_eq!(
        got.config["quantization"]["vision_tower.merger.mlp.0"]["bits"],
        8
    );
}

/// Our own (MLX) output is not a Hugging Face checkpoint: converting it again would move its
/// conv kernels twice, so it is refused with what to do instead.
#[test]
fn mlx_output_is_not_converted_again() {
    let tmp = tempfile::tempdir().unwrap();
    let first = tmp.path().join("first");
    let o = ConvertOptions::new(vlm_root().join("qwen2_vl/hf"), &first);
    hf2mlx::convert(&o, &|_, _| {}).unwrap();
    let again = ConvertOptions::new(&first, tmp.path().join("again"));
    let err = hf2mlx::convert(&again, &|_, _| {}).unwrap_err().to_string();
    assert!(err.contains("already an MLX model"), "{err}");
    assert!(!tmp.path().join("again").exists());
}

/// `--text-only` gives mlx-lm's text model: no tower tensor, no vision_config.
#[test]
fn text_only_drops_the_towers() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let mut o = ConvertOptions::new(vlm_root().join("qwen2_vl/hf"), &out);
    o.text_only = true;
    let plan = hf2mlx::plan(&o).unwrap();
    assert!(!plan.multimodal);
    hf2mlx::convert(&o, &|_, _| {}).unwrap();
    let got = common::describe(&out);
    assert!(got.tensors.keys().all(|k| k.starts_with("language_model.")));
    assert!(got.config.get("vision_config").is_none());
}

/// Loads `out` with `mlx_vlm.load` (0.7.10) and counts the saved tensors that equal the loaded
/// model's parameters (after its own load-time sanitize, which re-guesses conv layouts).
/// mlx-vlm builds some towers at the released size whatever the config says; the tiny fixtures
/// need those size constants shrunk, as when their manifests were recorded.
fn mlx_vlm_load(py: &Path, out: &Path, what: &str) -> Value {
    let script = r#"
import sys, json
sys.path.insert(0, sys.argv[2])
import mlx_vlm_tiny_towers
mlx_vlm_tiny_towers.patch()
import mlx.core as mx
from mlx.utils import tree_flatten
from mlx_vlm import load
out = sys.argv[1]
model, processor = load(out)
params = dict(tree_flatten(model.parameters()))
saved = mx.load(out + "/model.safetensors")
same = sum(1 for k, v in saved.items() if k in params and params[k].shape == v.shape
           and params[k].dtype == v.dtype and mx.array_equal(params[k], v).item())
print(json.dumps({"saved": len(saved), "same": same, "params": len(params)}))
"#;
    let r = std::process::Command::new(py)
        .args(["-c", script])
        .arg(out)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tools"))
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .unwrap();
    assert!(
        r.status.success(),
        "{what}: mlx_vlm.load failed (is mlx-vlm in the oracle venv? run \
         `bash tools/mlx-oracle.sh --vlm`): {}",
        common::stderr(&r)
    );
    let line = String::from_utf8_lossy(&r.stdout);
    let v: Value = serde_json::from_str(line.lines().last().unwrap_or("")).unwrap();
    assert_eq!(v["saved"], v["same"], "{what}: {v}");
    assert_eq!(v["saved"], v["params"], "{what}: {v}");
    v
}

/// `mlx_vlm.load` (0.7.10) opens our output, and the parameters it ends up with equal the
/// tensors we wrote.
#[test]
fn mlx_vlm_loads_our_output() {
    let py = common::oracle_python();
    let tmp = tempfile::tempdir().unwrap();
    for family in sorted_dirs(&vlm_root()) {
        // The newest layout each family has (the one mlx-vlm cannot convert itself), and a
        // model without some of the parts (Qwen3-Omni-Thinking: no talker, no code2wav).
        let newest = ["hf-v5", "hf-new", "hf"]
            .iter()
            .map(|l| family.join(l))
            .find(|p| p.is_dir())
            .unwrap();
        let sources = [newest, family.join("hf-thinker")];
        let name = family.file_name().unwrap().to_string_lossy().to_string();
        for (src, quantize) in sources
            .iter()
            .filter(|p| p.is_dir())
            .flat_map(|p| [(p, false), (p, true)])
        {
            let layout = src.file_name().unwrap().to_string_lossy();
            let family = format!("{name}/{layout}");
            let out = tmp.path().join(format!("{name}-{layout}-{quantize}"));
            let mut o = ConvertOptions::new(src, &out);
            o.quantize = quantize;
            hf2mlx::convert(&o, &|_, _| {}).unwrap();
            mlx_vlm_load(&py, &out, &format!("{family} (q={quantize})"));
        }
    }
}

/// A mixed recipe on Qwen3-Omni (mlx-vlm's rule, see the README) ranks the layers of the
/// thinker's text model, the first with `down_proj` in module order, and keeps the towers and
/// the talker's `code_predictor` float. (mlx-vlm's own builder takes its layer position from
/// code2wav's `pre_transformer.layers.<i>`, the first `down_proj` its reversed `named_modules`
/// walk meets, and so ranks every thinker layer as layer 0.)
#[test]
fn qwen3_omni_mixed_recipe_ranks_the_thinker_layers() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let mut o = ConvertOptions::new(vlm_root().join("qwen3_omni_moe/hf"), &out);
    o.quantize = true;
    o.quant_predicate = Some("mixed_3_6".into());
    hf2mlx::convert(&o, &|_, _| {}).unwrap();
    let got = common::describe(&out);
    let q = &got.config["quantization"];
    let bits = |layer: &str| q[layer]["bits"].as_u64();
    let text = "thinker.language_model.model.layers";
    // Two layers: layer 1 is in the last eighth, layer 0 is not.
    assert_eq!(bits(&format!("{text}.0.self_attn.v_proj")), Some(3));
    assert_eq!(bits(&format!("{text}.1.self_attn.v_proj")), Some(6));
    assert_eq!(bits("thinker.language_model.lm_head"), Some(6));
    assert_eq!(bits("talker.codec_head"), Some(3));
    for k in got.tensors.keys().filter(|k| k.ends_with(".scales")) {
        assert!(
            !k.starts_with("thinker.vision_tower.")
                && !k.starts_with("thinker.audio_tower.")
                && !k.starts_with("talker.code_predictor."),
            "{k} quantized"
        );
    }
}

/// A mixed recipe (`--quant-predicate mixed_3_6`, mlx-vlm's rule; see the README) quantizes only
/// the text model, at both bit widths where the model has `down_proj` layers (Kimi-VL's
/// DeepSeek-V3; Molmo's `ff_out` is not one, so it gets the low width throughout), and
/// `mlx_vlm.load` opens the result. mlx-vlm's own recipe refuses Molmo ("Model does not have
/// expected keys for mixed quant").
#[test]
fn mixed_recipe_quantizes_only_the_text_model() {
    let py = common::oracle_python();
    let tmp = tempfile::tempdir().unwrap();
    for (family, widths) in [("kimi_vl", &[3, 6][..]), ("molmo", &[3][..])] {
        let out = tmp.path().join(family);
        let mut o = ConvertOptions::new(vlm_root().join(family).join("hf"), &out);
        o.quantize = true;
        o.quant_predicate = Some("mixed_3_6".into());
        hf2mlx::convert(&o, &|_, _| {}).unwrap();
        let got = common::describe(&out);
        for k in got.tensors.keys().filter(|k| k.ends_with(".scales")) {
            assert!(k.starts_with("language_model."), "{family}: {k} quantized");
        }
        let q = got.config["quantization"].as_object().unwrap();
        let mut bits: Vec<u64> = q.values().filter_map(|v| v.get("bits")?.as_u64()).collect();
        bits.sort_unstable();
        bits.dedup();
        assert_eq!(bits, widths, "{family}: {q:?}");
        assert!(q.keys().all(|k| !k.starts_with("vision_tower")), "{family}");
        mlx_vlm_load(&py, &out, &format!("{family} mixed_3_6"));
    }
}

/// What mlx-vlm's unpatched Gemma 3n makes of a checkpoint's names and shapes: its `Model`,
/// built from the checkpoint's config, and its load-time sanitize chain (`Model`,
/// `VisionModel`, `LanguageModel`, `AudioModel`) over lazy arrays of those shapes, as
/// `load_model` runs it. Exits with an error unless the result is exactly the model's
/// parameters (its strict load); prints them (name, shape) in `tree_flatten` order.
const MLX_VLM_GEMMA3N_LAYOUT: &str = r#"
import sys, json
import mlx.core as mx
from mlx.utils import tree_flatten
from mlx_vlm.utils import get_model_and_args, sanitize_weights, update_module_configs

spec = json.load(open(sys.argv[1]))
config = spec["config"]
model_class, _ = get_model_and_args(config=config)
model_config = model_class.ModelConfig.from_dict(config)
model_config = update_module_configs(
    model_config, model_class, config, ["text", "vision", "perceiver", "projector", "audio"])
model = model_class.Model(model_config)
# Lazy arrays: only their shapes are looked at, nothing is computed or allocated.
weights = {k: mx.zeros(s, dtype=mx.bfloat16) for k, s in spec["tensors"]}
weights = sanitize_weights(model, weights)
weights = sanitize_weights(model_class.VisionModel, weights, model_config.vision_config)
weights = sanitize_weights(model_class.LanguageModel, weights, model_config.text_config)
weights = sanitize_weights(model_class.AudioModel, weights, model_config.audio_config)
params = tree_flatten(model.parameters())
missing = sorted({k for k, _ in params} - set(weights))
extra = sorted(set(weights) - {k for k, _ in params})
wrong = [k for k, v in params if k in weights and weights[k].shape != v.shape]
if missing or extra or wrong:
    sys.exit(f"mlx-vlm cannot load it: missing {missing[:5]}, unexpected {extra[:5]}, "
             f"wrong shapes {wrong[:5]}")
print(json.dumps([[k, list(weights[k].shape)] for k, _ in params]))
"#;

/// Gemma 3n at the Hub's tower sizes: the tiny fixture needs mlx-vlm's MobileNetV5 shrunk
/// (`tools/mlx_vlm_tiny_towers.py`), so this checks the full-size layout without that patch.
/// `full-size.json` holds the names and shapes (no data) of transformers' Gemma 3n with timm's
/// `mobilenetv5_300m_enc` as shipped and the default (Hub) audio Conformer around the tiny text
/// model; a checkpoint with that header and a sparse data section (nothing written) is planned
/// by hf2mlx. Our parameters must be mlx-vlm's, in its module order, with the same shapes
/// (conv kernels moved to MLX layout).
#[test]
fn gemma3n_full_size_towers_match_mlx_vlm() {
    let fixture = vlm_root().join("gemma3n/full-size.json");
    let spec: Value = serde_json::from_slice(&std::fs::read(&fixture).unwrap()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("config.json"), spec["config"].to_string()).unwrap();
    let tokenizer = vlm_root().join("gemma3n/hf/tokenizer.json");
    std::fs::copy(tokenizer, src.join("tokenizer.json")).unwrap();
    let mut header = serde_json::Map::new();
    header.insert("__metadata__".into(), serde_json::json!({"format": "pt"}));
    let mut end = 0u64;
    for t in spec["tensors"].as_array().unwrap() {
        let shape: Vec<u64> = t[1]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap())
            .collect();
        let start = end;
        end += 2 * shape.iter().product::<u64>();
        header.insert(
            t[0].as_str().unwrap().to_string(),
            serde_json::json!({"dtype": "BF16", "shape": shape, "data_offsets": [start, end]}),
        );
    }
    let mut text = Value::Object(header).to_string().into_bytes();
    text.resize(text.len().next_multiple_of(8), b' ');
    let mut bytes = (text.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(&text);
    let file = src.join("model.safetensors");
    std::fs::write(&file, &bytes).unwrap();
    // The data section is a hole: the plan reads headers only.
    let f = std::fs::OpenOptions::new().write(true).open(&file).unwrap();
    f.set_len(bytes.len() as u64 + end).unwrap();

    let plan = hf2mlx::plan(&ConvertOptions::new(&src, tmp.path().join("out"))).unwrap();
    assert!(plan.multimodal);
    let ours: Vec<(String, Vec<u64>)> = plan
        .params
        .iter()
        .map(|p| {
            let shape = p.input.shape().iter().map(|&d| d as u64).collect();
            (p.name.clone(), shape)
        })
        .collect();

    let r = std::process::Command::new(common::oracle_python())
        .args(["-c", MLX_VLM_GEMMA3N_LAYOUT])
        .arg(&fixture)
        .output()
        .unwrap();
    assert!(
        r.status.success(),
        "mlx-vlm's Gemma 3n (is mlx-vlm in the oracle venv? run `bash tools/mlx-oracle.sh \
         --vlm`): {}",
        common::stderr(&r)
    );
    let theirs: Vec<(String, Vec<u64>)> =
        serde_json::from_slice(&r.stdout).expect("mlx-vlm's layout as JSON");
    assert!(
        theirs.iter().any(
            |(k, s)| k == "vision_tower.timm_model.msfa.ffn.pw_exp.conv.weight"
                && s == &[3840, 1, 1, 1920]
        ),
        "not the full-size MobileNetV5"
    );
    let first_difference = ours.iter().zip(&theirs).position(|(a, b)| a != b);
    assert!(
        ours.len() == theirs.len() && first_difference.is_none(),
        "{} parameters, mlx-vlm has {}; first difference at {first_difference:?}: ours {:?}, \
         mlx-vlm's {:?}",
        ours.len(),
        theirs.len(),
        first_difference.map(|i| &ours[i]),
        first_difference.map(|i| &theirs[i]),
    );
}
