"""The checkpoint: weights, the preprocessing spec, metadata and a content hash, in one zip file.

Layout (a plain zip, readable without torch; entries stored uncompressed with fixed timestamps so
the same bundle gives the same bytes):
- `manifest.json`: format and version, architecture, preprocessing spec, training provenance,
  validation metrics, creation time and `weights_sha256`;
- `weights.pt`: the state dict as `torch.save` bytes (contiguous CPU tensors), loaded with
  `weights_only=True` so a checkpoint cannot run code;
- `calibration.npy` (optional): a few 8-bit model inputs from the validation set, on which the
  predictor measures whether bf16 keeps the model's probabilities (no pickle).

`weights_sha256` is the SHA-256 of the `weights.pt` bytes. It is checked on every load, and against
the hash the platform recorded (`expected_sha256`) when given, so a swapped or corrupted file is
refused before its weights are used.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import time
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch
from torch import nn

from inference.preprocess import Preprocessing
from inference.zoo import architecture, create_model

FORMAT = "readerstudy.checkpoint"
FORMAT_VERSION = 1
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class CheckpointError(ValueError):
    """The file is not a checkpoint of this format, or its content does not match its hash."""


@dataclass(frozen=True)
class ModelMeta:
    """What the platform records about a model version (design.md: Model version)."""

    architecture: str
    training: dict[str, Any] = field(default_factory=dict)  # data, seeds, epochs, folds, init
    validation_metrics: dict[str, Any] = field(default_factory=dict)
    created_at: str = ""  # ISO 8601, UTC
    weights_sha256: str = ""  # filled in by save_bundle / load_bundle

    def to_dict(self) -> dict[str, Any]:
        return {
            "architecture": self.architecture,
            "training": self.training,
            "validation_metrics": self.validation_metrics,
            "created_at": self.created_at,
            "weights_sha256": self.weights_sha256,
        }


@dataclass
class ModelBundle:
    """A loaded model with the preprocessing it was trained with and its metadata."""

    model: nn.Module
    preprocessing: Preprocessing
    meta: ModelMeta
    calibration: np.ndarray | None = None  # uint8 (N, S, S) model inputs


def weights_bytes(model: nn.Module) -> bytes:
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def json_safe(value: Any) -> Any:
    """Plain JSON: NaN and ±inf (an undefined AUC, say) become null, tuples lists."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _write(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    info.compress_type = zipfile.ZIP_STORED
    archive.writestr(info, data)


def save_bundle(bundle: ModelBundle, destination: Path | str | IO[bytes]) -> ModelMeta:
    """Write the bundle; return its metadata with `weights_sha256` (and `created_at`) filled in."""
    architecture(bundle.meta.architecture)  # refuse unknown names before writing anything
    weights = weights_bytes(bundle.model)
    created_at = bundle.meta.created_at or datetime.fromtimestamp(time.time(), tz=UTC).isoformat(
        timespec="seconds"
    )
    meta = _meta(
        json_safe(
            {
                **bundle.meta.to_dict(),
                "created_at": created_at,
                "weights_sha256": sha256(weights),
            }
        )
    )
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "preprocessing": bundle.preprocessing.to_dict(),
        **meta.to_dict(),
    }
    target = Path(destination) if isinstance(destination, str | Path) else destination
    with zipfile.ZipFile(target, "w") as archive:
        _write(
            archive,
            "manifest.json",
            json.dumps(manifest, indent=2, sort_keys=True, allow_nan=False).encode(),
        )
        _write(archive, "weights.pt", weights)
        if bundle.calibration is not None:
            buffer = io.BytesIO()
            np.save(buffer, np.ascontiguousarray(bundle.calibration, dtype=np.uint8))
            _write(archive, "calibration.npy", buffer.getvalue())
    return meta


def read_manifest(source: Path | str | bytes | IO[bytes]) -> dict[str, Any]:
    """The checkpoint's manifest alone (no weights loaded), for importers and admin pages."""
    with _open(source) as archive:
        return _manifest(archive)


def load_bundle(
    source: Path | str | bytes | IO[bytes],
    *,
    expected_sha256: str | None = None,
    map_location: str | torch.device = "cpu",
) -> ModelBundle:
    """Read, verify and build the model (in eval mode) of a checkpoint."""
    with _open(source) as archive:
        manifest = _manifest(archive)
        weights = archive.read("weights.pt")
        names = set(archive.namelist())
        calibration = (
            np.load(io.BytesIO(archive.read("calibration.npy")), allow_pickle=False)
            if "calibration.npy" in names
            else None
        )
    digest = sha256(weights)
    if digest != manifest["weights_sha256"]:
        raise CheckpointError(
            f"weights hash mismatch: file has {digest}, manifest says {manifest['weights_sha256']}"
        )
    if expected_sha256 is not None and digest != expected_sha256:
        raise CheckpointError(f"weights hash {digest} is not the expected {expected_sha256}")
    model = create_model(manifest["architecture"])
    state = torch.load(io.BytesIO(weights), map_location=map_location, weights_only=True)
    model.load_state_dict(state, strict=True)
    model.eval()
    return ModelBundle(
        model, Preprocessing.from_dict(manifest["preprocessing"]), _meta(manifest), calibration
    )


def _meta(data: Mapping[str, Any]) -> ModelMeta:
    return ModelMeta(
        architecture=str(data["architecture"]),
        training=dict(data.get("training", {})),
        validation_metrics=dict(data.get("validation_metrics", {})),
        created_at=str(data.get("created_at", "")),
        weights_sha256=str(data["weights_sha256"]),
    )


def _open(source: Path | str | bytes | IO[bytes]) -> zipfile.ZipFile:
    try:
        if isinstance(source, bytes):
            return zipfile.ZipFile(io.BytesIO(source))
        return zipfile.ZipFile(Path(source) if isinstance(source, str) else source)
    except zipfile.BadZipFile as error:
        raise CheckpointError(f"not a checkpoint (not a zip file): {error}") from None


def _manifest(archive: zipfile.ZipFile) -> dict[str, Any]:
    try:
        manifest: Mapping[str, Any] = json.loads(archive.read("manifest.json"))
    except (KeyError, json.JSONDecodeError) as error:
        raise CheckpointError(f"checkpoint has no readable manifest: {error}") from None
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"unsupported checkpoint format {manifest.get('format')!r} "
            f"version {manifest.get('format_version')!r}"
        )
    missing = {"architecture", "preprocessing", "weights_sha256"} - set(manifest)
    if missing:
        raise CheckpointError(f"checkpoint manifest lacks {sorted(missing)}")
    return dict(manifest)
