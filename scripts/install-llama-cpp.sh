#!/usr/bin/env bash
# Compile llama-cpp-python (no wheel for this platform on PyPI) for the fastest generated replies.
# Only the library is built — no tests, examples, tools, server or multimodal part — which takes
# minutes the first time (a fresh `bash .ci/run`, this build included, took 10 min on 2 cores); pip keeps the built wheel in its cache, so later
# installs on the same machine take seconds.
#   LLAMA_CPU=native    (default) tuned for this machine's CPU (AVX-512 where present)
#   LLAMA_CPU=portable  any x86-64 CPU with AVX2/FMA (images that run on other hosts)
#   LLAMA_WHEEL_DIR=DIR only build the wheel into DIR (the image's build stage; no install)
# Usage: scripts/install-llama-cpp.sh PYTHON
set -euo pipefail
PY=${1:-python3}
# Pinned: 0.3.36 (the newest on 2026-12-05) crashes with a segmentation fault in llama_decode on
# the first generated token of any model here, SmolLM2's own GGUF included; 0.3.16 generates.
VERSION="llama-cpp-python==0.3.16"
common="-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF"
common="$common -DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF -DLLAVA_BUILD=OFF"
if [ "${LLAMA_CPU:-native}" = portable ]; then
  cpu="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
else
  cpu="-DGGML_NATIVE=ON"
fi
echo "llama-cpp-python: building for ${LLAMA_CPU:-native} CPU (several minutes the first time)"
export CMAKE_ARGS="$common $cpu" CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}
if [ -n "${LLAMA_WHEEL_DIR:-}" ]; then
  "$PY" -m pip wheel -q --no-deps -w "$LLAMA_WHEEL_DIR" "$VERSION"
  exit 0
fi
"$PY" -m pip install -q "$VERSION"
"$PY" -c 'import llama_cpp; print("llama.cpp serving ready:", llama_cpp.__version__)'
