//! Replays mlx-lm's behaviour, recorded by `tools/arch_survey.py` in
//! `tests/fixtures/arch_survey/*.json`, through `hf2mlx::arch`: for every case, the
//! architecture found for its `model_type` must turn the checkpoint's tensor names into exactly
//! the model's parameters, order them as `tree_flatten(model.parameters())` does, and agree on
//! which weights are quantizable, the model's `quant_predicate` and its `cast_predicate`.

use std::fs;
use std::path::{Path, PathBuf};

use hf2mlx::arch::{self, Arch, LayerQuant, REGISTRY, apply};
use serde_json::{Map, Value};

struct Param {
    name: String,
    shape: Vec<usize>,
    quantizable: bool,
    /// `None` = the model's predicate returns True (or there is none).
    predicate: Option<Value>,
    cast: bool,
}

struct Case {
    file: PathBuf,
    name: String,
    model_type: String,
    module: String,
    config: Map<String, Value>,
    inputs: Vec<(String, Vec<usize>)>,
    params: Vec<Param>,
}

fn survey_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/arch_survey")
}

fn shape(v: &Value) -> Vec<usize> {
    v.as_array()
        .expect("shape is an array")
        .iter()
        .map(|d| d.as_u64().expect("dimension") as usize)
        .collect()
}

fn load_case(file: PathBuf) -> Case {
    let text = fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let v: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let s = |k: &str| {
        v[k].as_str()
            .unwrap_or_else(|| panic!("{}: no `{k}`", file.display()))
            .to_string()
    };
    let inputs = v["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .map(|e| (e[0].as_str().expect("input name").to_string(), shape(&e[1])))
        .collect();
    let params = v["params"]
        .as_array()
        .expect("params")
        .iter()
        .map(|p| Param {
            name: p["name"].as_str().expect("param name").to_string(),
            shape: shape(&p["shape"]),
            quantizable: p["quantizable"].as_bool().expect("quantizable"),
            predicate: p.get("predicate").filter(|x| !x.is_null()).cloned(),
            cast: p.get("cast").and_then(Value::as_bool).unwrap_or(true),
        })
        .collect();
    Case {
        name: s("case"),
        model_type: s("model_type"),
        module: s("module"),
        config: v["config"].as_object().expect("config").clone(),
        inputs,
        params,
        file,
    }
}

fn cases() -> Vec<Case> {
    let mut files: Vec<PathBuf> = fs::read_dir(survey_dir())
        .expect("tests/fixtures/arch_survey exists (run tools/arch_survey.py)")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no survey cases in {}",
        survey_dir().display()
    );
    files.into_iter().map(load_case).collect()
}

/// What `model_predicate` says, as the Python predicate's return value (`None` = True).
fn predicate_json(q: Option<LayerQuant>) -> Option<Value> {
    match q? {
        LayerQuant::Skip => Some(Value::String("skip".into())),
        LayerQuant::Dict {
            group_size,
            bits,
            mode,
        } => {
            let mut m = Map::new();
            if let Some(g) = group_size {
                m.insert("group_size".into(), Value::from(g));
            }
            if let Some(b) = bits {
                m.insert("bits".into(), Value::from(b));
            }
            if let Some(x) = mode {
                m.insert("mode".into(), Value::from(x));
            }
            Some(Value::Object(m))
        }
    }
}

/// Everything that differs between hf2mlx and mlx-lm for one case.
fn check(case: &Case, arch: &Arch) -> Vec<String> {
    let mut errs = Vec::new();
    if arch.name != case.module {
        errs.push(format!(
            "model_type `{}` finds `{}`, mlx-lm uses `{}`",
            case.model_type, arch.name, case.module
        ));
    }

    // sanitize: same names, each with its shape.
    let mut got = apply::sanitize(arch, &case.config, case.inputs.clone()).expect("sanitize");
    let mut got_sorted = got.clone();
    got_sorted.sort();
    let mut want_sorted: Vec<(String, Vec<usize>)> = case
        .params
        .iter()
        .map(|p| (p.name.clone(), p.shape.clone()))
        .collect();
    want_sorted.sort();
    if got_sorted != want_sorted {
        let missing: Vec<_> = want_sorted
            .iter()
            .filter(|x| !got_sorted.contains(x))
            .map(|x| &x.0)
            .collect();
        let extra: Vec<_> = got_sorted
            .iter()
            .filter(|x| !want_sorted.contains(x))
            .map(|x| &x.0)
            .collect();
        errs.push(format!(
            "sanitize: missing {missing:?}, unexpected {extra:?}"
        ));
        return errs;
    }

    // module order, from the checkpoint's (alphabetical) order.
    got.sort_by(|a, b| apply::module_order(arch, &a.0, &b.0));
    let order: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
    let want: Vec<&str> = case.params.iter().map(|p| p.name.as_str()).collect();
    if order != want {
        let i = order
            .iter()
            .zip(&want)
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        errs.push(format!(
            "module order differs at #{i}: got {:?}, mlx-lm {:?}",
            &order[i..(i + 4).min(order.len())],
            &want[i..(i + 4).min(want.len())]
        ));
    }

    for p in &case.params {
        let q = apply::is_quantizable(arch, &p.name, &p.shape);
        if q != p.quantizable {
            errs.push(format!(
                "is_quantizable({}) = {q}, mlx-lm {}",
                p.name, p.quantizable
            ));
        }
        if p.quantizable {
            let layer = p.name.strip_suffix(".weight").unwrap_or(&p.name);
            let mine = predicate_json(apply::model_predicate_with_config(
                arch,
                &case.config,
                layer,
            ));
            if mine != p.predicate {
                errs.push(format!(
                    "model_predicate({layer}) = {mine:?}, mlx-lm {:?}",
                    p.predicate
                ));
            }
        }
        let c = apply::may_cast(arch, &p.name);
        if c != p.cast {
            errs.push(format!("may_cast({}) = {c}, mlx-lm {}", p.name, p.cast));
        }
    }
    errs
}

#[test]
fn survey_cases_match_mlx_lm() {
    let mut failures = Vec::new();
    let all = cases();
    for case in &all {
        let Some(arch) = arch::find(&case.model_type) else {
            failures.push(format!(
                "{}: no architecture for model_type `{}`",
                case.name, case.model_type
            ));
            continue;
        };
        for e in check(case, arch) {
            failures.push(format!("{} ({}): {e}", case.name, case.file.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} survey cases disagree with mlx-lm:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}

#[test]
fn every_registered_arch_has_a_survey_case() {
    let all = cases();
    let missing: Vec<&str> = REGISTRY
        .iter()
        .filter(|a| {
            !all.iter()
                .any(|c| arch::find(&c.model_type).is_some_and(|f| std::ptr::eq(f, **a)))
        })
        .map(|a| a.name)
        .collect();
    assert!(
        missing.is_empty(),
        "registered architectures without a case in tests/fixtures/arch_survey (add one to tools/arch_survey.py): {missing:?}"
    );
}

#[test]
fn every_alias_resolves_to_its_module() {
    // MODEL_REMAPPING entries whose target is one of these modules.
    for (alias, module) in [
        ("mistral", "llama"),
        ("llava", "mistral3"),
        ("qwen2_5_vl", "qwen2_vl"),
    ] {
        if let Some(target) = REGISTRY.iter().find(|a| a.name == module) {
            let found = arch::find(alias).map(|a| a.name);
            assert_eq!(found, Some(target.name), "model_type `{alias}`");
        }
    }
}
