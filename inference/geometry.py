"""The lesion box and its enlarged crop, in image pixels, without torch, so the importer (`readerstudy.studies.imaging`, which never loads torch) and the inference core
(`inference.preprocess`) crop with the one function."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Roi = tuple[int, int, int, int]  # x, y, w, h in image pixels (the manifest's roi_x..roi_h)


@dataclass(frozen=True)
class CropBox:
    """A crop in image pixels: columns x0..x1-1, rows y0..y1-1."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @classmethod
    def whole(cls, image: np.ndarray) -> CropBox:
        return cls(0, 0, int(image.shape[1]), int(image.shape[0]))


def enlarged_box(roi: Roi, image_shape: tuple[int, ...], *, scale: float = 1.3) -> CropBox:
    """The lesion box (x, y, w, h) enlarged `scale` times about its centre, clamped to the image."""
    x, y, w, h = roi
    height, width = int(image_shape[0]), int(image_shape[1])
    if w <= 0 or h <= 0 or x >= width or y >= height or x + w <= 0 or y + h <= 0:
        raise ValueError(f"the lesion box {roi} lies outside the {width}×{height} image")
    cx, cy = x + w / 2.0, y + h / 2.0
    half_w, half_h = w * scale / 2.0, h * scale / 2.0
    x0, x1 = max(0, round(cx - half_w)), min(width, round(cx + half_w))
    y0, y1 = max(0, round(cy - half_h)), min(height, round(cy + half_h))
    return CropBox(x0, y0, x1, y1)
