#!/usr/bin/env bash
# Runs every test of hf2mlx: unit, kernel, conformance (against mlx-lm's recorded outputs) and
# interop (our output loaded by stock mlx_lm.load). Makes the pinned mlx/mlx-lm venv on first use.
set -euo pipefail
cd "$(dirname "$0")/.."

# --vlm adds mlx-vlm 0.7.10 (and with it mlx-audio 0.6.2): tests/vlm.rs and tests/audio.rs open
# our multimodal and speech outputs with mlx_vlm.load and mlx_audio.stt.load.
HF2MLX_ORACLE_PYTHON="$(bash tools/mlx-oracle.sh --vlm | tail -1)"
export HF2MLX_ORACLE_PYTHON

cargo fmt --check
cargo clippy --all-targets --release -- -D warnings
cargo test --release
