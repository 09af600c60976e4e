#!/usr/bin/env python3
"""Tiny speech fixtures, built with transformers' own model classes, and mlx-audio's
conversions of them.

Two steps, two Python environments (as tools/gen_vlm_fixtures.py):

1. `build` needs torch + transformers (~/.cache/hf2mlx/fixture-gen):

       ~/.cache/hf2mlx/fixture-gen/bin/python tools/gen_audio_fixtures.py build [FAMILY ...]

   writes `tests/fixtures/audio/<family>/hf/`: `save_pretrained` output of a tiny random model
   (float32, `torch_dtype: float32` as on the Hub) with its processor files (feature extractor,
   a tiny byte-level BPE tokenizer, generation_config.json).

2. `record` runs with the oracle venv (`tools/mlx-oracle.sh --vlm` brings mlx-audio 0.6.2):

       PY=$(tools/mlx-oracle.sh --vlm | tail -1); $PY tools/gen_audio_fixtures.py record [FAMILY ...]

   converts each layout with `mlx_audio.convert` under each variant and records the output with
   `tools/manifest.py describe` in `expected/<layout>-<variant>.json` (or `{"error": ...}`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "audio"

VARIANTS = {
    "plain": [],
    "q4": ["-q"],
    "f16": ["--dtype", "float16"],
    "mxfp4": ["-q", "--q-mode", "mxfp4"],
    "mixed_3_6": ["-q", "--quant-predicate", "mixed_3_6"],
}


def byte_bpe_tokenizer(specials: list[str]):
    """A byte-level BPE over the 256 byte symbols (no merges) plus `specials`: the vocab.json +
    merges.txt + tokenizer.json a Whisper tokenizer needs, at a few kilobytes."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from tokenizers.pre_tokenizers import ByteLevel

    alphabet = ByteLevel.alphabet()
    vocab = {c: i for i, c in enumerate(sorted(alphabet))}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(specials)
    return tok, vocab


def whisper():
    import transformers as t

    specials = ["<|endoftext|>", "<|startoftranscript|>", "<|en|>", "<|translate|>",
                "<|transcribe|>", "<|startoflm|>", "<|startofprev|>", "<|nocaptions|>",
                "<|notimestamps|>"]
    tok, vocab = byte_bpe_tokenizer(specials)
    ids = {s: len(vocab) + i for i, s in enumerate(specials)}
    cfg = t.WhisperConfig(
        vocab_size=320,
        num_mel_bins=8,
        d_model=64,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=256,  # mlx-audio builds the MLP as 4 * d_model
        decoder_ffn_dim=256,
        max_source_positions=16,
        max_target_positions=16,
        pad_token_id=ids["<|endoftext|>"],
        bos_token_id=ids["<|endoftext|>"],
        eos_token_id=ids["<|endoftext|>"],
        decoder_start_token_id=ids["<|startoftranscript|>"],
        begin_suppress_tokens=[220, ids["<|endoftext|>"]],
        suppress_tokens=[],
    )
    model = t.WhisperForConditionalGeneration(cfg)
    fast = t.WhisperTokenizerFast(tokenizer_object=tok, unk_token="<|endoftext|>",
                                  bos_token="<|endoftext|>", eos_token="<|endoftext|>",
                                  pad_token="<|endoftext|>")
    fe = t.WhisperFeatureExtractor(feature_size=8, chunk_length=1, n_fft=64, hop_length=16)
    proc = t.WhisperProcessor(feature_extractor=fe, tokenizer=fast)
    return model, proc, vocab


def qwen2_audio():
    """Qwen2-Audio: a Whisper-style encoder (`audio_tower`), a Linear projector and a Qwen2
    language model; mlx-audio keeps the first two out of quantization."""
    import transformers as t

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|AUDIO|>", "<|audio_bos|>",
                "<|audio_eos|>"]
    tok, vocab = byte_bpe_tokenizer(specials)
    ids = {s: len(vocab) + i for i, s in enumerate(specials)}
    cfg = t.Qwen2AudioConfig(
        audio_config=dict(d_model=64, encoder_layers=1, encoder_attention_heads=2,
                          encoder_ffn_dim=128, num_mel_bins=8, max_source_positions=16),
        # hidden_size 96 is a multiple of 32 but not of 64: mlx-audio leaves such layers float
        # even at group size 32 (mxfp4), where mlx-lm would quantize them.
        text_config=dict(model_type="qwen2", vocab_size=320, hidden_size=96,
                         intermediate_size=192, num_hidden_layers=2, num_attention_heads=2,
                         num_key_value_heads=1, tie_word_embeddings=False,
                         bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"]),
        audio_token_index=ids["<|AUDIO|>"],
    )
    model = t.Qwen2AudioForConditionalGeneration(cfg)
    fast = t.Qwen2TokenizerFast(tokenizer_object=tok, unk_token=None, bos_token=None,
                                eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                extra_special_tokens={"audio_token": "<|AUDIO|>",
                                                      "audio_bos_token": "<|audio_bos|>",
                                                      "audio_eos_token": "<|audio_eos|>"})
    fe = t.WhisperFeatureExtractor(feature_size=8, chunk_length=1, n_fft=64, hop_length=16)
    template = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}"
                "<|im_end|>\n{% endfor %}")
    proc = t.Qwen2AudioProcessor(feature_extractor=fe, tokenizer=fast, chat_template=template)
    return model, proc, vocab


FAMILIES = {"whisper": whisper, "qwen2_audio": qwen2_audio}


def build(family: str) -> None:
    import torch

    torch.manual_seed(sum(map(ord, family)))
    model, proc, vocab = FAMILIES[family]()
    fam = OUT / family
    if fam.exists():
        shutil.rmtree(fam)
    hf = fam / "hf"
    model.save_pretrained(hf)
    proc.save_pretrained(hf)
    # Hub Whisper repos carry the feature extractor's own file, which transformers 5 folds into
    # processor_config.json.
    proc.feature_extractor.save_pretrained(hf)
    # The slow tokenizer's files, as Hub Whisper repos carry them next to tokenizer.json.
    (hf / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False) + "\n")
    (hf / "merges.txt").write_text("#version: 0.2\n")
    cfg = json.loads((hf / "config.json").read_text())
    cfg["torch_dtype"] = "float32"
    (hf / "config.json").write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")
    print(family, sorted(p.name for p in hf.iterdir()))


def record(family: str) -> None:
    fam = OUT / family
    exp = fam / "expected"
    if exp.exists():
        shutil.rmtree(exp)
    exp.mkdir()
    convert = Path(sys.executable).parent / "mlx_audio.convert"
    manifest = ROOT / "tools" / "manifest.py"
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    for layout in sorted(p.name for p in fam.iterdir() if p.name.startswith("hf")):
        for variant, args in VARIANTS.items():
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "out"
                r = subprocess.run(
                    [str(convert), "--hf-path", str(fam / layout), "--mlx-path", str(out),
                     "--model-domain", "stt", *args],
                    capture_output=True, text=True, env=env,
                )
                target = exp / f"{layout}-{variant}.json"
                if r.returncode != 0:
                    err = (r.stderr.strip().splitlines() or ["?"])[-1]
                    target.write_text(json.dumps({"error": err}, indent=1) + "\n")
                    print(f"{family}/{layout} {variant}: mlx-audio failed: {err}")
                    continue
                m = subprocess.run([sys.executable, str(manifest), "describe", str(out)],
                                   capture_output=True, text=True, check=True).stdout
                target.write_text(m)
                print(f"{family}/{layout} {variant}: {len(json.loads(m)['tensors'])} tensors")


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in ("build", "record"):
        sys.exit(__doc__)
    families = sys.argv[2:] or list(FAMILIES)
    for f in families:
        (build if sys.argv[1] == "build" else record)(f)


if __name__ == "__main__":
    main()
