#!/usr/bin/env bash
# Quantization quality benchmark: converts each model with every --quant-method at each bit
# width (group size 64), timing each conversion, then measures KL(source || quantized),
# perplexity and top-1 agreement on a held-out text with `hf2mlx eval` (candle forward pass,
# checked against mlx-lm's logits in tests/eval.rs). Prints, per model, the conversion times
# (wall and CPU = user + sys, from /usr/bin/time) with their ratios to rtn's at the same bit
# width, then the eval table: what README's "Quantization quality" table is made from. The CPU
# ratio is the one to quote on a shared machine: rtn is mostly I/O and clipfit mostly compute,
# so their wall-time ratio grows with the load from other processes, their CPU-time ratio much less. bench/quality.py does the same measurement with mlx-lm's own
# forward pass (much slower on CPU-only machines).
#
#   bench/quality.sh [MODEL_DIR...]     default: ~/.cache/hf2mlx/models/SmolLM2-135M-Instruct
# Env: BITS (default "2 3 4 8"), METHODS (default "rtn clipfit search"; rtn must come first for
# the time ratio; a method name followed by `+rebalance`, e.g. `clipfit+rebalance`, adds
# --q-rebalance), TEXT (default: bench/texts/heldout.txt followed by src/eval/corpus.txt, about
# 2300 tokens, original prose; bench/texts/tune.txt is the one methods were first tuned on),
# TOKENS (first N tokens of the text, default 0 = all), OUT (scratch folder, default
# ~/.cache/hf2mlx/quality), REPS (conversions timed per cell, best kept; default 3), EVAL (0:
# only the times, no eval; default 1).
set -euo pipefail
cd "$(dirname "$0")/.."
models=("$@")
[ ${#models[@]} -gt 0 ] || models=("$HOME/.cache/hf2mlx/models/SmolLM2-135M-Instruct")
bits=${BITS:-"2 3 4 8"}
methods=${METHODS:-"rtn clipfit search"}
tokens=${TOKENS:-0}
reps=${REPS:-3}
out=${OUT:-$HOME/.cache/hf2mlx/quality}
cargo build --release -q
bin=$PWD/target/release/hf2mlx
mkdir -p "$out"
# 868 tokens of heldout.txt alone leave 3-bit differences of a few percent within noise.
text=${TEXT:-$out/heldout-long.txt}
[ -n "${TEXT:-}" ] || cat bench/texts/heldout.txt src/eval/corpus.txt >"$text"
limit=()
[ "$tokens" = 0 ] || limit=(--max-tokens "$tokens")
for model in "${models[@]}"; do
  name=$(basename "$model")
  dirs=()
  echo "# $name: conversion time, best of $reps (wall, CPU = user + sys), and ratios to rtn at the same bits"
  printf 'method\tbits\twall s\tCPU s\twall/rtn\tCPU/rtn\n'
  for b in $bits; do
    rtn_wall="" rtn_cpu=""
    for m in $methods; do
      d=$out/$name-$m-$b
      extra=()
      [ "${m%+rebalance}" = "$m" ] || extra=(--q-rebalance)
      wall="" cpu=""
      for _ in $(seq "$reps"); do
        /usr/bin/time -f '%e %U %S' -o "$out/time.txt" \
          "$bin" convert --hf-path "$model" --mlx-path "$d" -q --q-bits "$b" --q-group-size 64 \
          --quant-method "${m%+rebalance}" "${extra[@]}" --force --quiet
        read -r w u s <"$out/time.txt"
        c=$(echo "$u + $s" | bc)
        if [ -z "$wall" ] || [ "$(echo "$w < $wall" | bc)" = 1 ]; then wall=$w; fi
        if [ -z "$cpu" ] || [ "$(echo "$c < $cpu" | bc)" = 1 ]; then cpu=$c; fi
      done
      [ "$m" = rtn ] && rtn_wall=$wall rtn_cpu=$cpu
      wall_ratio="" cpu_ratio=""
      if [ -n "$rtn_wall" ]; then
        wall_ratio=$(echo "scale=2; $wall / $rtn_wall" | bc)x
        cpu_ratio=$(echo "scale=2; $cpu / $rtn_cpu" | bc)x
      fi
      printf '%s\t%s-bit\t%.2f\t%.2f\t%s\t%s\n' "$m" "$b" "$wall" "$cpu" "$wall_ratio" "$cpu_ratio"
      dirs+=("$d")
    done
  done
  [ "${EVAL:-1}" = 0 ] || "$bin" eval --reference "$model" --text "$text" "${limit[@]}" "${dirs[@]}"
done
