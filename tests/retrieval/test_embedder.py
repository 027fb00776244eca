"""The query encoder on ONNX Runtime: same vectors as torch, exported once per model version."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from retrieval import SentenceTransformerEmbedder

TEXTS = [
    "where is my parcel",
    "I was charged twice for the same order, can I get the money back?",
    "pwd reset",
    "Wie lange dauert der Versand nach Österreich?",
]


@pytest.fixture(scope="module")
def onnx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One export shared by this module's tests (an export takes seconds)."""
    folder = tmp_path_factory.mktemp("onnx")
    SentenceTransformerEmbedder(runtime="onnx", onnx_dir=folder).warm_up()
    return folder


def test_onnx_vectors_match_torch(onnx_dir: Path) -> None:
    torch_model = SentenceTransformerEmbedder(runtime="torch")
    onnx_model = SentenceTransformerEmbedder(runtime="onnx", onnx_dir=onnx_dir)
    assert onnx_model.active_runtime == "onnx" and torch_model.active_runtime == "torch"
    assert onnx_model.dim == torch_model.dim == 384
    ref = torch_model.encode(TEXTS)
    # One at a time (the bot's path) and as a padded batch (building an index) agree with torch.
    single = np.vstack([onnx_model.encode([t]) for t in TEXTS])
    batch = onnx_model.encode(TEXTS)
    assert single.dtype == np.float32 and single.shape == ref.shape
    assert np.min(np.sum(single * ref, axis=1)) > 0.9999
    assert np.min(np.sum(batch * ref, axis=1)) > 0.9999
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)


def test_export_happens_once_per_model_version(onnx_dir: Path) -> None:
    exported = list(onnx_dir.glob("*.onnx"))
    assert [p.name for p in exported] == [f"{SentenceTransformerEmbedder().name}.onnx"]
    assert not list(onnx_dir.glob(".*.tmp"))
    stamp = exported[0].stat().st_mtime_ns
    again = SentenceTransformerEmbedder(runtime="onnx", onnx_dir=onnx_dir)
    assert again.active_runtime == "onnx"
    assert exported[0].stat().st_mtime_ns == stamp
    # Another max_seq_length is another model, so it gets its own file.
    assert SentenceTransformerEmbedder(max_seq_length=32).name != again.name


def test_torch_runtime_exports_nothing(tmp_path: Path) -> None:
    model = SentenceTransformerEmbedder(runtime="torch", onnx_dir=tmp_path)
    assert model.encode(["hello"]).shape == (1, 384)
    assert not list(tmp_path.iterdir())


def test_auto_falls_back_to_torch_when_the_export_cannot_be_written(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the export folder should be")
    model = SentenceTransformerEmbedder(onnx_dir=blocker / "onnx")
    with caplog.at_level(logging.WARNING, logger="retrieval.embedder"):
        assert model.active_runtime == "torch"
    assert "queries are encoded with torch" in caplog.text
    assert model.encode(["where is my parcel"]).shape == (1, 384)
    with pytest.raises(OSError):
        SentenceTransformerEmbedder(runtime="onnx", onnx_dir=blocker / "onnx").warm_up()


def test_unknown_runtime_is_refused() -> None:
    with pytest.raises(ValueError, match="expected 'auto', 'onnx' or 'torch'"):
        SentenceTransformerEmbedder(runtime="tensorrt")  # type: ignore[arg-type]
