#!/usr/bin/env bash
# Make (once) a Python venv holding the reference implementation: mlx 0.32.4 (CPU), mlx-lm 0.32.2
# and, with --vlm, mlx-vlm 0.7.10. Prints the venv's python path on the last line.
#   PY=$(tools/mlx-oracle.sh | tail -1); $PY -m mlx_lm convert --hf-path ... --mlx-path ... -q
# The venv goes to $MLX_ORACLE_VENV (default: ~/.cache/hf2mlx/mlx-oracle).
set -euo pipefail
venv=${MLX_ORACLE_VENV:-$HOME/.cache/hf2mlx/mlx-oracle}
want="mlx[cpu]==0.32.4 mlx-cpu==0.32.4 mlx-lm==0.32.2 numpy tokenizers huggingface_hub"
[ "${1:-}" = "--vlm" ] && want="$want mlx-vlm==0.7.10"
stamp="$venv/.stamp-$(echo "$want" | sha1sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check $want >&2
  touch "$stamp"
fi
echo "$venv/bin/python"
