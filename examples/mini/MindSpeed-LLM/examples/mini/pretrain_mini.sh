#!/bin/bash
# The model shell of the bundled example: run from MindSpeed-LLM's folder, like examples/mcore/*/pretrain_*.sh.
# PYTHONPATH: the caller's (patchmerge check points it at its workspace), else this tree's three roots.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT_DIR="$(cd .. && pwd)"
export PYTHONPATH="${PYTHONPATH:-$ROOT_DIR/Megatron-LM:$ROOT_DIR/MindSpeed:$ROOT_DIR/MindSpeed-LLM}"
PYTHON="${PYTHON:-$(command -v python || command -v python3)}"

GPT_ARGS=(
    --num-layers 2
    --hidden-size 8
    --num-attention-heads 2
    --seq-length 4
    --train-iters 3
    --lr 0.05
    --init-method-std 0.1
    --seed 1234
)

"$PYTHON" pretrain_mini.py "${GPT_ARGS[@]}" "$@"
