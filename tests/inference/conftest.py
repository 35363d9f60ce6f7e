"""Shared helpers for the inference core's tests: no Django, small images, few threads."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _few_threads() -> Iterator[None]:
    # The two cores are shared with other engineers: with two threads, OpenMP barriers wait on a
    # descheduled thread and a training step ran 7–25× slower than with one (measured).
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def speckle_image(
    rng: np.random.Generator, *, height: int = 90, width: int = 120, lesion: bool = True
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A small RGB 'B-mode' picture with a dark round lesion and its box (x, y, w, h)."""
    grey = rng.rayleigh(40.0, size=(height, width)).clip(0, 255)
    roi = (width // 3, height // 3, width // 3, height // 3)
    if lesion:
        yy, xx = np.mgrid[0:height, 0:width]
        cx, cy = roi[0] + roi[2] / 2, roi[1] + roi[3] / 2
        inside = ((xx - cx) / (roi[2] / 2)) ** 2 + ((yy - cy) / (roi[3] / 2)) ** 2 <= 1
        grey[inside] *= 0.3
    rgb = np.repeat(grey.astype(np.uint8)[:, :, None], 3, axis=2)
    return rgb, roi


_MODELS: dict[str, torch.nn.Module] = {}


@pytest.fixture
def fresh_model() -> Callable[[str], torch.nn.Module]:
    """A randomly initialised model per architecture, built once per session (VGG16 alone has
    138M parameters to initialise) and handed out as an eval-mode copy with seed-0 weights."""
    from inference.zoo import create_model

    def get(name: str) -> torch.nn.Module:
        if name not in _MODELS:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                _MODELS[name] = create_model(name).eval()
        return copy.deepcopy(_MODELS[name])

    return get
