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


def voxtral():
    """Voxtral (Mistral): a Whisper-style encoder (`audio_tower`), a two-Linear projector and a
    Llama language model, in transformers' `VoxtralForConditionalGeneration` layout as the Hub
    repos' `model-*.safetensors` have it. mlx-audio keeps `audio_tower` out of quantization.

    mlx-audio's AudioConfig reads the encoder's size from `d_model`, `encoder_layers`,
    `encoder_attention_heads` and `encoder_ffn_dim`, which the Hub config does not have (its
    defaults are Voxtral-Mini's); the tiny config carries them next to transformers' names.
    Hub repos also ship Mistral's `consolidated.safetensors`, which mlx-audio 0.6.2 would prefer
    and cannot sanitize; the fixture has the transformers shards only. The tokenizer is a tiny
    Tekken file (`tekken.json`, loadable by mistral-common) over the 256 byte tokens."""
    import transformers as t

    audio = dict(hidden_size=64, num_hidden_layers=1, num_attention_heads=2,
                 num_key_value_heads=2, head_dim=32, intermediate_size=256, num_mel_bins=8,
                 max_source_positions=8)
    cfg = t.VoxtralConfig(
        audio_config=audio,
        text_config=dict(model_type="llama", vocab_size=320, hidden_size=128,
                         intermediate_size=256, num_hidden_layers=2, num_attention_heads=2,
                         num_key_value_heads=1, head_dim=64, tie_word_embeddings=False),
        audio_token_id=TEKKEN_SPECIALS.index("[AUDIO]"),
    )
    model = t.VoxtralForConditionalGeneration(cfg)
    fe = t.WhisperFeatureExtractor(feature_size=8, chunk_length=1, n_fft=64, hop_length=16)

    def fix(hf: Path) -> None:
        c = json.loads((hf / "config.json").read_text())
        c["audio_config"].update(d_model=64, encoder_layers=1, encoder_attention_heads=2,
                                 encoder_ffn_dim=256)
        (hf / "config.json").write_text(json.dumps(c, indent=2, sort_keys=True) + "\n")
        (hf / "tekken.json").write_text(json.dumps(tiny_tekken(320)) + "\n")

    return model, fe, None, fix


TEKKEN_SPECIALS = ["<unk>", "<s>", "</s>", "[INST]", "[/INST]", "[AVAILABLE_TOOLS]",
                   "[/AVAILABLE_TOOLS]", "[TOOL_RESULTS]", "[/TOOL_RESULTS]", "[TOOL_CALLS]",
                   "[IMG]", "<pad>", "[IMG_BREAK]", "[IMG_END]", "[PREFIX]", "[MIDDLE]",
                   "[SUFFIX]", "[SYSTEM_PROMPT]", "[/SYSTEM_PROMPT]", "[TOOL_CONTENT]", "[AUDIO]",
                   "[BEGIN_AUDIO]", "[TRANSCRIBE]"]


def tiny_tekken(vocab_size: int) -> dict:
    """A Tekken tokenizer file (mistral-common's `Tekkenizer.from_file` format, version v7):
    the 256 byte tokens after `vocab_size - 256` control tokens, no merges."""
    import base64

    n_special = vocab_size - 256
    names = TEKKEN_SPECIALS + [f"<SPECIAL_{i}>" for i in range(len(TEKKEN_SPECIALS), n_special)]
    return {
        "config": {
            "pattern": r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+"
                       r"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*"
                       r"|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+",
            "num_vocab_tokens": 256,
            "default_vocab_size": vocab_size,
            "default_num_special_tokens": n_special,
            "version": "v7",
        },
        "vocab": [{"rank": i, "token_bytes": base64.b64encode(bytes([i])).decode(),
                   "token_str": None} for i in range(256)],
        "special_tokens": [{"rank": i, "token_str": s, "is_control": True}
                           for i, s in enumerate(names)],
    }


def qwen3_asr():
    """Qwen3-ASR as the Hub repos (Qwen/Qwen3-ASR-*) store it: the qwen-asr package's layout,
    `thinker.audio_tower.*` (Conv2d stem, Whisper-style layers, `proj1`/`proj2`), `thinker.model.*`
    (a Qwen3 decoder), config under `thinker_config`. transformers 5's own Qwen3ASR classes use
    another layout (`model.language_model`, `model.multi_modal_projector.linear_{1,2}`), so the
    tiny model is built with them and its keys renamed to the Hub's. The head is tied (as in
    both released sizes), so no `lm_head` is stored: mlx-audio would read a small stored head
    as the forced aligner's."""
    import transformers as t

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|audio_start|>",
                "<|audio_end|>", "<|audio_pad|>"]
    tok, vocab = byte_bpe_tokenizer(specials)
    ids = {s: len(vocab) + i for i, s in enumerate(specials)}
    audio = dict(d_model=64, encoder_layers=1, encoder_attention_heads=2, encoder_ffn_dim=128,
                 num_mel_bins=16, output_dim=128, downsample_hidden_size=32,
                 max_source_positions=16, n_window=8, n_window_infer=16)
    text = dict(vocab_size=320, hidden_size=128, intermediate_size=256, num_hidden_layers=2,
                num_attention_heads=2, num_key_value_heads=1, head_dim=64,
                tie_word_embeddings=True, rope_theta=1000000.0)
    model = t.Qwen3ASRForConditionalGeneration(
        t.Qwen3ASRConfig(audio_config=audio, text_config=text, tie_word_embeddings=True))
    fast = t.Qwen2TokenizerFast(tokenizer_object=tok, unk_token=None, bos_token=None,
                                eos_token="<|im_end|>", pad_token="<|endoftext|>")
    fe = t.WhisperFeatureExtractor(feature_size=16, chunk_length=1, n_fft=64, hop_length=16)

    def fix(hf: Path) -> None:
        from safetensors.torch import load_file, save_file

        renames = [("model.multi_modal_projector.linear_1.", "thinker.audio_tower.proj1."),
                   ("model.multi_modal_projector.linear_2.", "thinker.audio_tower.proj2."),
                   ("model.audio_tower.", "thinker.audio_tower."),
                   ("model.language_model.", "thinker.model.")]
        weights = load_file(hf / "model.safetensors")
        out = {}
        for k, v in weights.items():
            for a, b in renames:
                if k.startswith(a):
                    k = b + k[len(a):]
                    break
            else:
                raise SystemExit(f"qwen3_asr: no Hub name for {k}")
            out[k] = v.contiguous()
        save_file(out, hf / "model.safetensors", metadata={"format": "pt"})
        fast.save_pretrained(hf)
        config = {
            "architectures": ["Qwen3ASRForConditionalGeneration"],
            "model_type": "qwen3_asr",
            "support_languages": ["Chinese", "English"],
            "thinker_config": {
                "audio_config": dict(audio, model_type="qwen3_asr_audio_encoder",
                                     activation_function="gelu", conv_chunksize=500,
                                     scale_embedding=False),
                "text_config": dict(text, model_type="qwen3_asr_text", hidden_act="silu",
                                    rms_norm_eps=1e-6, max_position_embeddings=65536,
                                    attention_bias=False),
                "audio_token_id": ids["<|audio_pad|>"],
                "audio_start_token_id": ids["<|audio_start|>"],
                "audio_end_token_id": ids["<|audio_end|>"],
                "model_type": "qwen3_asr_thinker",
            },
            "torch_dtype": "float32",
        }
        (hf / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")

    return model, fe, vocab, fix


def granite_speech():
    """IBM Granite Speech: a Conformer CTC encoder (Conv1d kernels in PyTorch layout, BatchNorm
    statistics), a Q-Former projector and a Granite language model, in transformers'
    `GraniteSpeechForConditionalGeneration` layout. mlx-audio keeps `encoder` and `projector` out
    of quantization. Tied head, as granite-speech-3.3-2b (no `lm_head` stored); no LoRA adapter
    (as the 4.x releases)."""
    import transformers as t

    specials = ["<|end_of_text|>", "<|start_of_role|>", "<|end_of_role|>", "<|audio|>"]
    tok, vocab = byte_bpe_tokenizer(specials)
    ids = {s: len(vocab) + i for i, s in enumerate(specials)}
    cfg = t.GraniteSpeechConfig(
        encoder_config=dict(input_dim=64, num_layers=2, hidden_dim=64, feedforward_mult=2,
                            num_heads=2, dim_head=32, output_dim=16, context_size=8,
                            max_pos_emb=8, conv_kernel_size=3, conv_expansion_factor=2),
        projector_config=dict(hidden_size=64, num_hidden_layers=1, num_attention_heads=2,
                              intermediate_size=128, encoder_hidden_size=64),
        text_config=dict(model_type="granite", vocab_size=320, hidden_size=128,
                         intermediate_size=256, num_hidden_layers=2, num_attention_heads=2,
                         num_key_value_heads=1, tie_word_embeddings=True,
                         bos_token_id=ids["<|end_of_text|>"], eos_token_id=ids["<|end_of_text|>"]),
        audio_token_index=ids["<|audio|>"], has_lora_adapter=False, tie_word_embeddings=True,
    )
    model = t.GraniteSpeechForConditionalGeneration(cfg)
    # BatchNorm statistics that are not the initial 0/1, so a swapped or dropped one shows.
    import torch
    with torch.no_grad():
        for name, buf in model.named_buffers():
            if name.endswith("running_mean"):
                buf.uniform_(-0.5, 0.5)
            elif name.endswith("running_var"):
                buf.uniform_(0.5, 1.5)
    fast = t.PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|end_of_text|>",
                                     pad_token="<|end_of_text|>")

    def fix(hf: Path) -> None:
        fast.save_pretrained(hf)
        # GraniteSpeechFeatureExtractor needs torchaudio to be built; its file as the Hub has it.
        fe = {"feature_extractor_type": "GraniteSpeechFeatureExtractor",
              "melspec_kwargs": {"hop_length": 160, "n_fft": 512, "n_mels": 32,
                                 "sample_rate": 16000, "win_length": 400},
              "processor_class": "GraniteSpeechProcessor", "projector_downsample_rate": 5,
              "projector_window_size": 15, "sampling_rate": 16000}
        (hf / "preprocessor_config.json").write_text(json.dumps(fe, indent=2) + "\n")

    return model, fast, vocab, fix


def add_bpe_head(fam: Path) -> None:
    """`<family>/out_llm.safetensors`: the optional file Granite Speech 5.0 ships next to its
    weights (an encoder BPE head for speculative decoding: a Linear from the encoder's hidden
    size, bare `weight`/`bias` names). mlx-audio copies it unchanged; its loader merges it in and
    drops the two keys again. `record` converts the `hf-head` layout (`hf` plus this file, put
    together in a temporary folder, as tests/audio.rs does, so the fixture is not stored twice).
    Written with the standard library (numbers from a fixed formula): no torch, no seed."""
    import struct

    hf = fam / "hf"
    hidden = json.loads((hf / "config.json").read_text())["encoder_config"]["hidden_dim"]
    vocab = 24
    tensors = {"weight": [vocab, hidden], "bias": [vocab]}
    header, data, offset = {}, b"", 0
    for name, shape in tensors.items():
        n = 1
        for d in shape:
            n *= d
        values = [((i * 37) % 101 - 50) / 400.0 for i in range(n)]
        raw = struct.pack(f"<{n}f", *values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        data += raw
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    (fam / "out_llm.safetensors").write_bytes(struct.pack("<Q", len(text)) + text + data)


FAMILIES = {"whisper": whisper, "qwen2_audio": qwen2_audio, "voxtral": voxtral,
            "qwen3_asr": qwen3_asr, "granite_speech": granite_speech}


def build(family: str) -> None:
    import torch

    torch.manual_seed(sum(map(ord, family)))
    made = FAMILIES[family]()
    model, proc, vocab = made[:3]
    fix = made[3] if len(made) > 3 else None
    fam = OUT / family
    if fam.exists():
        shutil.rmtree(fam)
    hf = fam / "hf"
    model.save_pretrained(hf)
    proc.save_pretrained(hf)
    # Hub Whisper repos carry the feature extractor's own file, which transformers 5 folds into
    # processor_config.json.
    getattr(proc, "feature_extractor", proc).save_pretrained(hf)
    if vocab is not None:
        # The slow tokenizer's files, as Hub Whisper repos carry them next to tokenizer.json.
        (hf / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False) + "\n")
        (hf / "merges.txt").write_text("#version: 0.2\n")
    cfg = json.loads((hf / "config.json").read_text())
    cfg["torch_dtype"] = "float32"
    (hf / "config.json").write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")
    if fix is not None:
        fix(hf)
    if family == "granite_speech":
        add_bpe_head(fam)
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
    layouts = {p.name: p for p in fam.iterdir() if p.name.startswith("hf")}
    staged = tempfile.TemporaryDirectory()
    if (fam / "out_llm.safetensors").exists():
        layouts["hf-head"] = Path(staged.name) / "hf-head"
        shutil.copytree(fam / "hf", layouts["hf-head"])
        shutil.copy(fam / "out_llm.safetensors", layouts["hf-head"])
    for layout in sorted(layouts):
        for variant, args in VARIANTS.items():
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "out"
                r = subprocess.run(
                    [str(convert), "--hf-path", str(layouts[layout]), "--mlx-path", str(out),
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
