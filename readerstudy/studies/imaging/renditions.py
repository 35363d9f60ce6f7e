"""Renditions of a decoded frame: the reader's display JPEG, the thumbnail and the model-input crop,
stored under names derived from their bytes."""

from __future__ import annotations

import hashlib

import cv2
import numpy as np

from inference.geometry import crop, enlarged_box
from readerstudy.studies.imaging.decoding import ImageRejected
from readerstudy.studies.imaging.geometry import DISPLAY_LONG_SIDE, display_geometry

DISPLAY_QUALITY = 85
THUMBNAIL_LONG_SIDE = 256
THUMBNAIL_QUALITY = 80


def _resized(rgb: np.ndarray, long_side: int) -> np.ndarray:
    factor, width, height = display_geometry(rgb.shape[1], rgb.shape[0], long_side)
    if factor == 1.0:
        return rgb
    # Halve with a Gaussian pyramid while at least twice too big, then bilinear: as clean as
    # INTER_AREA (no aliasing of the speckle) at a fifth of its cost on fractional factors.
    while rgb.shape[1] >= 2 * width and rgb.shape[0] >= 2 * height:
        rgb = cv2.pyrDown(rgb)
    return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_LINEAR)


def _jpeg(rgb: np.ndarray, quality: int) -> bytes:
    ok, data = cv2.imencode(
        ".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    if not ok:
        raise ImageRejected("the image could not be encoded as JPEG")
    return data.tobytes()


def render_display(rgb: np.ndarray) -> bytes:
    """The reader's rendition: JPEG, long side at most 1024 px, no metadata."""
    return _jpeg(_resized(rgb, DISPLAY_LONG_SIDE), DISPLAY_QUALITY)


def render_thumbnail(rgb: np.ndarray) -> bytes:
    return _jpeg(_resized(rgb, THUMBNAIL_LONG_SIDE), THUMBNAIL_QUALITY)


def model_input_crop(
    rgb: np.ndarray, roi: tuple[int, int, int, int], *, scale: float = 1.3
) -> np.ndarray:
    """The lesion box (x, y, w, h) enlarged `scale` times about its centre, black where it reaches
    outside the image, as in the seed study's preprocessing (the inference core's own function)."""
    try:
        box = enlarged_box(roi, rgb.shape, scale=scale)
    except ValueError as error:
        raise ImageRejected(str(error)) from None
    return crop(rgb, box)


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content_file_name(data: bytes, *, extension: str) -> str:
    """A storage name derived from the bytes: identical renditions share a file, and the name
    reveals nothing about the patient."""
    digest = content_hash(data)
    return f"{digest[:2]}/{digest}.{extension.lstrip('.')}"
