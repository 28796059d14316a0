#!/usr/bin/env bash
# Creates Benchmarks/pytorch/.venv with PyTorch's CPU wheel (and numpy, tiktoken, safetensors) for the
# side-by-side benchmarks. Run once: bash Benchmarks/pytorch/setup.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python3 -m venv "$here/.venv"
"$here/.venv/bin/pip" install -q --upgrade pip
if ls /opt/wheels/torch-*.whl >/dev/null 2>&1; then
    "$here/.venv/bin/pip" install -q /opt/wheels/torch-*.whl
else
    "$here/.venv/bin/pip" install -q torch --index-url https://download.pytorch.org/whl/cpu || "$here/.venv/bin/pip" install -q torch
fi
"$here/.venv/bin/pip" install -q numpy tiktoken safetensors
"$here/.venv/bin/python" -c "import torch; print('torch', torch.__version__, 'threads', torch.get_num_threads())"
