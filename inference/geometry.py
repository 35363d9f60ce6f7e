"""The lesion box and its enlarged crop, in image pixels, without torch, so the importer
(`readerstudy.studies.imaging`, which never loads torch) and the inference core
(`inference.preprocess`) crop with the one function.

At an image edge the enlarged box keeps its centre and size and reaches outside the image; the
part outside is filled with black (constant 0), not clipped (which would move the lesion off the
crop's centre and shrink the margin the seed's 1.3× adds) and not mirrored (reflection would
invent tissue, a mirrored lesion edge or speckle, where the scanner recorded none). Black is what an
ultrasound frame shows outside its sector anyway, and OpenCV's `equalizeHist` excludes the lowest
occupied grey level from its scale, so where the crop already holds black pixels the padding does
not change how its tissue is equalised.
"""

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
    """The lesion box (x, y, w, h) enlarged `scale` times about its centre; at an image edge it
    reaches outside the image (negative or past-the-end edges: `crop` pads there)."""
    x, y, w, h = roi
    height, width = int(image_shape[0]), int(image_shape[1])
    if w <= 0 or h <= 0 or x >= width or y >= height or x + w <= 0 or y + h <= 0:
        raise ValueError(f"the lesion box {roi} lies outside the {width}×{height} image")
    cx, cy = x + w / 2.0, y + h / 2.0
    half_w, half_h = w * scale / 2.0, h * scale / 2.0
    # The same edges as the clipped box had inside the image, so crops away from the edges (and
    # crops cached before padding, see `pad_clipped_crop`) are unchanged.
    return CropBox(round(cx - half_w), round(cy - half_h), round(cx + half_w), round(cy + half_h))


def clipped(box: CropBox, image_shape: tuple[int, ...]) -> CropBox:
    """The part of `box` inside the image."""
    height, width = int(image_shape[0]), int(image_shape[1])
    return CropBox(max(0, box.x0), max(0, box.y0), min(width, box.x1), min(height, box.y1))


def crop(image: np.ndarray, box: CropBox) -> np.ndarray:
    """The pixels of `box`, black (0) where it reaches outside the image (module docstring)."""
    inside = clipped(box, image.shape)
    return _placed(image[inside.y0 : inside.y1, inside.x0 : inside.x1], box, inside)


def _placed(pixels: np.ndarray, box: CropBox, inside: CropBox) -> np.ndarray:
    """`pixels` (those of `inside`) at their place in a black array of `box`'s size."""
    out = np.zeros((box.height, box.width, *pixels.shape[2:]), dtype=pixels.dtype)
    out[inside.y0 - box.y0 : inside.y1 - box.y0, inside.x0 - box.x0 : inside.x1 - box.x0] = pixels
    return out


def pad_clipped_crop(
    cached: np.ndarray, roi: Roi, image_shape: tuple[int, ...], *, scale: float = 1.3
) -> np.ndarray:
    """A model-input crop cached by the importer as the full enlarged box; one cached before
    padding existed (clipped to the image) is padded to it, which gives the same pixels."""
    box = enlarged_box(roi, image_shape, scale=scale)
    if cached.shape[:2] == (box.height, box.width):
        return cached
    inside = clipped(box, image_shape)
    if cached.shape[:2] != (inside.height, inside.width):
        raise ValueError(
            f"the cached crop is {cached.shape[1]}×{cached.shape[0]}, but the lesion box {roi} "
            f"enlarged {scale}× is {box.width}×{box.height} ({inside.width}×{inside.height} inside)"
        )
    return _placed(cached, box, inside)
