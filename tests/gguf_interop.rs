//! GGUF import with the mlx-lm oracle: `mlx_lm.load` opens `hf2mlx convert --hf-path x.gguf`
//! and gives bit-identical logits to `mlx_lm.convert` of the imported Hugging Face checkpoint
//! (which tests/gguf.rs checks tensor for tensor against tools/gguf_to_hf.py); the rebuilt
//! SentencePiece tokenizer encodes as transformers' GGUF converter does.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/gguf")
        .join(name)
}

fn run(cmd: &mut Command, what: &str) {
    let o = cmd.output().expect(what);
    assert!(
        o.status.success(),
        "{what}:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        common::stderr(&o)
    );
}

fn hf2mlx(args: &[&Path]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hf2mlx"));
    c.args(args);
    c
}

#[test]
fn converted_gguf_loads_in_mlx_lm_with_reference_logits() {
    let py = common::oracle_python();
    let tmp = tempfile::tempdir().unwrap();
    for name in ["tiny-llama", "tiny-qwen2", "tiny-qwen3"] {
        for q in [false, true] {
            let src = fixture(&format!("{name}.gguf"));
            let hf = tmp.path().join(format!("{name}-{q}-hf"));
            let ours = tmp.path().join(format!("{name}-{q}-ours"));
            let reference = tmp.path().join(format!("{name}-{q}-ref"));
            run(
                &mut hf2mlx(&[Path::new("import-gguf"), &src, &hf]),
                "import-gguf",
            );
            let mut c = hf2mlx(&[
                Path::new("convert"),
                Path::new("--hf-path"),
                &src,
                Path::new("--mlx-path"),
                &ours,
            ]);
            let mut r = Command::new(&py);
            r.args(["-m", "mlx_lm", "convert", "--hf-path"])
                .arg(&hf)
                .arg("--mlx-path")
                .arg(&reference);
            if q {
                c.arg("-q");
                r.arg("-q");
            }
            run(&mut c, "hf2mlx convert of the GGUF");
            run(r.env("HF_HUB_OFFLINE", "1"), "mlx_lm.convert");
            let script =
                Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/compare_logits.py");
            run(
                Command::new(&py)
                    .arg(script)
                    .arg(&ours)
                    .arg(&reference)
                    .env("HF_HUB_OFFLINE", "1"),
                &format!("{name} (q={q}): logits of mlx_lm.load"),
            );
        }
    }
}

#[test]
fn sentencepiece_tokenizer_encodes_like_transformers() {
    let py = common::oracle_python();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("spm");
    run(
        &mut hf2mlx(&[
            Path::new("import-gguf"),
            &fixture("tiny-llama-spm.gguf"),
            &out,
        ]),
        "import-gguf",
    );
    let script = r#"
import json, sys
from tokenizers import Tokenizer
t = Tokenizer.from_file(sys.argv[1] + "/tokenizer.json")
bad = []
for text, ids in json.load(open(sys.argv[2])).items():
    got = t.encode(text, add_special_tokens=False).ids
    if got != ids:
        bad.append((text, got, ids))
    if t.encode(text).ids[:1] != [1]:
        bad.append((text, "no BOS"))
print(bad)
sys.exit(1 if bad else 0)
"#;
    run(
        Command::new(&py)
            .arg("-c")
            .arg(script)
            .arg(&out)
            .arg(fixture("expected/tiny-llama-spm/tokens.json")),
        "tokenizer ids differ from transformers' GGUF converter",
    );
}
