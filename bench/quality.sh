#!/usr/bin/env bash
# Quantization quality benchmark: converts each model with every --quant-method at each bit
# width (group size 64), then measures KL(source || quantized), perplexity and top-1 agreement
# with mlx-lm's own forward pass (bench/quality.py, oracle venv) on a held-out text. Prints the
# TSV the README's "Quantization quality" table is made from.
#
#   bench/quality.sh [MODEL_DIR...]     default: ~/.cache/hf2mlx/models/SmolLM2-135M-Instruct
# Env: BITS (default "2 3 4 8"), METHODS (default "rtn search"), TEXT (default
# bench/texts/heldout.txt; bench/texts/tune.txt is the one methods were tuned on), TOKENS (first N
# tokens of the text, default 0 = all), OUT (scratch folder, default ~/.cache/hf2mlx/quality).
set -euo pipefail
cd "$(dirname "$0")/.."
models=("$@")
[ ${#models[@]} -gt 0 ] || models=("$HOME/.cache/hf2mlx/models/SmolLM2-135M-Instruct")
bits=${BITS:-"2 3 4 8"}
methods=${METHODS:-"rtn search"}
text=${TEXT:-bench/texts/heldout.txt}
tokens=${TOKENS:-0}
out=${OUT:-$HOME/.cache/hf2mlx/quality}
PY=${HF2MLX_ORACLE_PYTHON:-/root/.cache/hf2mlx/mlx-oracle/bin/python}
cargo build --release -q
bin=$PWD/target/release/hf2mlx
mkdir -p "$out"
for model in "${models[@]}"; do
  name=$(basename "$model")
  dirs=()
  for b in $bits; do
    for m in $methods; do
      d=$out/$name-$m-$b
      start=$(date +%s.%N)
      "$bin" convert --hf-path "$model" --mlx-path "$d" -q --q-bits "$b" --q-group-size 64 \
        --quant-method "$m" --force --quiet
      echo "# $name $m $b-bit: converted in $(echo "$(date +%s.%N) - $start" | bc) s" >&2
      dirs+=("$d")
    done
  done
  "$PY" bench/quality.py --source "$model" --text "$text" --max-tokens "$tokens" "${dirs[@]}"
done
