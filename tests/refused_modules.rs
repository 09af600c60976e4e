//! mlx-lm modules hf2mlx declines (`arch::REFUSED`) fail before anything is read or written,
//! naming the model type and the reason, also under `--trust-remote-code` (whose generic rules
//! would otherwise write a model mlx-lm cannot load).

use hf2mlx::ConvertOptions;

#[test]
fn refused_modules_fail_with_their_reason() {
    for (name, aliases, _, why) in hf2mlx::arch::REFUSED {
        assert!(
            hf2mlx::arch::find(name).is_none(),
            "`{name}` is both registered and refused"
        );
        for model_type in std::iter::once(name).chain(aliases.iter()) {
            for trust_remote_code in [false, true] {
                let tmp = tempfile::tempdir().unwrap();
                let src = tmp.path().join("src");
                std::fs::create_dir(&src).unwrap();
                std::fs::write(
                    src.join("config.json"),
                    format!("{{\"model_type\": \"{model_type}\"}}"),
                )
                .unwrap();
                let out = tmp.path().join("out");
                let mut opts = ConvertOptions::new(&src, &out);
                opts.trust_remote_code = trust_remote_code;
                let err = hf2mlx::convert(&opts, &|_, _| {})
                    .expect_err("a refused module must not convert")
                    .to_string();
                assert!(
                    err.contains(&format!("`{model_type}`")) && err.contains(why),
                    "{model_type}: {err}"
                );
                assert!(!out.exists(), "{model_type}: output written");
            }
        }
    }
}

/// Kimi-VL converts for mlx-vlm by default (its config has a `vision_config`); only its
/// text-only (mlx-lm) conversion is refused, with mlx-lm's reason and the way out.
#[test]
fn kimi_vl_is_refused_only_text_only() {
    let src =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vlm/kimi_vl/hf");
    let (_, _, _, why) = hf2mlx::arch::REFUSED
        .iter()
        .find(|(name, ..)| *name == "kimi_vl")
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let mut opts = ConvertOptions::new(&src, &out);
    opts.text_only = true;
    let err = hf2mlx::convert(&opts, &|_, _| {})
        .expect_err("mlx-lm cannot load Kimi-VL")
        .to_string();
    assert!(
        err.contains(why) && err.contains("Drop --text-only"),
        "{err}"
    );
    assert!(!out.exists());
    opts.text_only = false;
    hf2mlx::convert(&opts, &|_, _| {}).unwrap();
    assert!(out.join("model.safetensors").exists());
}
