"""Quantization quality with mlx-lm's own forward pass: KL(source || quantized), perplexity and
top-1 agreement of quantized MLX models against their float source, over a text.

    python bench/quality.py --source SRC_DIR --text bench/texts/heldout.txt QUANT_DIR [QUANT_DIR...]

SRC_DIR is any folder mlx_lm.load opens (an HF checkpoint or an unquantized MLX model). Prints one
TSV row per quantized model: name, bits per weight (from the safetensors sizes), mean KL, p99 KL,
perplexity, top-1 agreement; the source's own perplexity is printed first. Run with the oracle venv
(/root/.cache/hf2mlx/mlx-oracle/bin/python). The text is split into windows of --window tokens
(each starting with BOS if the tokenizer has one), so every position sees real context.
Half-precision parameters are widened to float32 after loading (exact), see load_f32.
"""

import argparse
import glob
import json
import math
import os
import sys

import mlx.core as mx
import numpy as np
from mlx_lm import load


def load_f32(path):
    """mlx_lm.load, with every half-precision parameter (weights, scales, biases) widened to
    float32: exact for the stored values, much faster than bf16 on mlx's CPU backend, and the
    activations then carry no extra rounding, so the differences measured are the weights'."""
    from mlx.utils import tree_map

    model, tok = load(path)
    half = (mx.bfloat16, mx.float16)
    model.update(tree_map(lambda p: p.astype(mx.float32) if p.dtype in half else p, model.parameters()))
    mx.eval(model.parameters())
    return model, tok


def windows(tokenizer, text, window, max_tokens=0):
    ids = tokenizer.encode(text)
    if max_tokens:
        ids = ids[: max_tokens + 1]
    bos = tokenizer.bos_token_id
    if bos is not None and ids and ids[0] == bos:
        ids = ids[1:]
    step = window - (1 if bos is not None else 0)
    out = []
    for i in range(0, len(ids), step):
        chunk = ids[i : i + step]
        if len(chunk) < 2:
            continue
        out.append(([bos] if bos is not None else []) + chunk)
    return out


def log_probs(model, wins):
    """Per window: float32 log-softmax over the vocabulary, positions predicting a next token."""
    out = []
    for w in wins:
        logits = model(mx.array(w)[None])[0, :-1].astype(mx.float32)
        lp = logits - mx.logsumexp(logits, axis=-1, keepdims=True)
        mx.eval(lp)
        out.append(lp)
    return out


def compare(ref, wins, model):
    kls, nll, agree, n = [], 0.0, 0, 0
    for lp_ref, w in zip(ref, wins):
        lp = log_probs(model, [w])[0]
        p = mx.exp(lp_ref)
        kl = mx.sum(p * (lp_ref - lp), axis=-1)
        tgt = mx.array(w[1:])
        nll += float(-mx.sum(mx.take_along_axis(lp, tgt[:, None], axis=-1)))
        agree += int(mx.sum(mx.argmax(lp, -1) == mx.argmax(lp_ref, -1)))
        n += len(w) - 1
        kls.append(np.array(kl))
    kls = np.concatenate(kls)
    return {
        "kl_mean": float(kls.mean()),
        "kl_p99": float(np.percentile(kls, 99)),
        "ppl": math.exp(nll / n),
        "top1": agree / n,
        "tokens": n,
    }


def perplexity(ref, wins):
    nll, n = 0.0, 0
    for lp, w in zip(ref, wins):
        tgt = mx.array(w[1:])
        nll += float(-mx.sum(mx.take_along_axis(lp, tgt[:, None], axis=-1)))
        n += len(w) - 1
    return math.exp(nll / n)


def bits_per_weight(path):
    """Bits per weight of the quantized layers as mlx-lm reports it: total bytes*8/parameters."""
    idx = os.path.join(path, "model.safetensors.index.json")
    if os.path.exists(idx):
        meta = json.load(open(idx)).get("metadata", {})
        if "total_parameters" in meta:
            return int(meta["total_size"]) * 8 / int(meta["total_parameters"])
    from mlx.utils import tree_flatten

    params = dict(tree_flatten(load(path)[0].parameters()))
    size = sum(v.nbytes for v in params.values())
    cfg = json.load(open(os.path.join(path, "config.json")))
    q = cfg.get("quantization", {})
    count = 0
    for k, v in params.items():
        if k.endswith(".scales") or k.endswith(".biases"):
            continue
        if v.dtype == mx.uint32 and k.endswith(".weight"):
            count += v.size * 32 // q.get("bits", 4)
        else:
            count += v.size
    return size * 8 / count


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", required=True)
    ap.add_argument("--text", required=True)
    ap.add_argument("--window", type=int, default=512)
    ap.add_argument("--max-tokens", type=int, default=0, help="use only the text's first N tokens (0: all)")
    ap.add_argument("--json", action="store_true", help="one JSON object per line instead of TSV")
    ap.add_argument("quantized", nargs="+")
    a = ap.parse_args()
    model, tok = load_f32(a.source)
    wins = windows(tok, open(a.text).read(), a.window, a.max_tokens)
    ref = log_probs(model, wins)
    del model
    print(f"# source {a.source}: {sum(len(w) - 1 for w in wins)} tokens, ppl {perplexity(ref, wins):.4f}")
    if not a.json:
        print("model\tbpw\tkl_mean\tkl_p99\tppl\ttop1")
    for q in a.quantized:
        m, _ = load_f32(q)
        r = compare(ref, wins, m)
        r["bpw"] = bits_per_weight(q)
        r["model"] = q
        if a.json:
            print(json.dumps(r))
        else:
            print(f"{q}\t{r['bpw']:.3f}\t{r['kl_mean']:.5f}\t{r['kl_p99']:.4f}\t{r['ppl']:.3f}\t{r['top1']:.4f}")
        sys.stdout.flush()
        del m


if __name__ == "__main__":
    main()
