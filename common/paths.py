"""Where the product keeps what it makes: defined once, relative to the working directory.

``CACHE_DIR`` holds what can be rebuilt at any time (ONNX exports, embedded knowledge bases, the
dequantised base reply model); ``VAR_DIR`` holds what the product trained and serves (retriever and
generator versions). Neither is ever inside a source package, and both are ignored by git.
"""

from __future__ import annotations

from pathlib import Path

CACHE_DIR = Path(".cache/supportbot")
VAR_DIR = Path("var")
RETRIEVER_MODELS_DIR = VAR_DIR / "retriever"
GENERATOR_MODELS_DIR = VAR_DIR / "generator"
