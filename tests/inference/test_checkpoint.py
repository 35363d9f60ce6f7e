from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from inference.checkpoint import (
    CheckpointError,
    ModelBundle,
    ModelMeta,
    load_bundle,
    read_manifest,
    save_bundle,
)
from inference.preprocess import Preprocessing


def make_bundle(model: torch.nn.Module) -> ModelBundle:
    meta = ModelMeta(
        "resnet18",
        training={"seed": 3, "initialisation": "scratch", "history": [{"auc": float("nan")}]},
        validation_metrics={"image": {"auc": 0.91}},
    )
    calibration = np.arange(2 * 32 * 32, dtype=np.uint32).reshape(2, 32, 32).astype(np.uint8)
    return ModelBundle(model, Preprocessing(size=32), meta, calibration)


def test_checkpoint_round_trip_keeps_weights_preprocessing_and_metadata(
    tmp_path: Path, fresh_model: Callable[[str], torch.nn.Module]
) -> None:
    bundle = make_bundle(fresh_model("resnet18"))
    saved = save_bundle(bundle, tmp_path / "m.ckpt")

    loaded = load_bundle(tmp_path / "m.ckpt", expected_sha256=saved.weights_sha256)

    assert loaded.meta == saved
    assert len(saved.weights_sha256) == 64
    assert saved.created_at.endswith("+00:00")
    assert loaded.meta.training["history"] == [{"auc": None}]  # NaN is not JSON
    assert loaded.preprocessing == Preprocessing(size=32)
    np.testing.assert_array_equal(loaded.calibration, bundle.calibration)
    for key, value in bundle.model.state_dict().items():
        torch.testing.assert_close(loaded.model.state_dict()[key], value)
    assert not loaded.model.training
    x = torch.randn(2, 3, 32, 32)
    with torch.inference_mode():
        torch.testing.assert_close(loaded.model(x), bundle.model.eval()(x))


def test_checkpoint_bytes_are_reproducible(fresh_model: Callable[[str], torch.nn.Module]) -> None:
    model = fresh_model("mobilenet_v2")
    bundle = ModelBundle(
        model, Preprocessing(), ModelMeta("mobilenet_v2", created_at="2025-01-01T00:00:00+00:00")
    )
    first, second = io.BytesIO(), io.BytesIO()
    save_bundle(bundle, first)
    save_bundle(bundle, second)
    assert first.getvalue() == second.getvalue()
    assert read_manifest(first.getvalue())["architecture"] == "mobilenet_v2"


def tampered(path: Path, out: Path) -> None:
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            if name == "weights.pt":
                state = torch.load(io.BytesIO(data), weights_only=True)
                state["fc.bias"] = state["fc.bias"] + 1.0
                buffer = io.BytesIO()
                torch.save(state, buffer)
                data = buffer.getvalue()
            target.writestr(name, data)


def test_checkpoint_with_altered_weights_is_rejected(
    tmp_path: Path, fresh_model: Callable[[str], torch.nn.Module]
) -> None:
    save_bundle(make_bundle(fresh_model("resnet18")), tmp_path / "m.ckpt")
    tampered(tmp_path / "m.ckpt", tmp_path / "bad.ckpt")
    with pytest.raises(CheckpointError, match="hash mismatch"):
        load_bundle(tmp_path / "bad.ckpt")


def test_checkpoint_other_than_the_recorded_one_is_rejected(
    tmp_path: Path, fresh_model: Callable[[str], torch.nn.Module]
) -> None:
    save_bundle(make_bundle(fresh_model("resnet18")), tmp_path / "m.ckpt")
    with pytest.raises(CheckpointError, match="not the expected"):
        load_bundle(tmp_path / "m.ckpt", expected_sha256="0" * 64)


def test_files_that_are_not_checkpoints_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not a zip"):
        load_bundle(b"not a checkpoint")
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as archive:
        archive.writestr("manifest.json", json.dumps({"format": "something-else"}))
    with pytest.raises(CheckpointError, match="unsupported checkpoint format"):
        load_bundle(tmp_path / "other.zip")
