"""Renditions of a decoded frame: the reader's display JPEG, the thumbnail and the model-input crop,
stored under names derived from their bytes.

The display rendition is what a reader windows on a canvas, so it keeps the original resolution
(up to 2048 px a side: no scanner writes more) at JPEG quality 92, one channel for a grey image
(an ultrasound image is grey once its burned-in colour text is blanked) and full-resolution
chroma (4:4:4) for colour. Measured on the phantoms (800×600): lossless PNG 146 KB, lossless
WebP 128 KB, JPEG q92 grey 92 KB, q85 70 KB a view; lossless would break the 400 KB per-case
budget at four views, while q92's error (a few grey levels on speckle) stays below what a
window of 40 levels or wider shows.
"""

from __future__ import annotations

import hashlib

import cv2
import numpy as np

from inference.geometry import crop, enlarged_box
from readerstudy.studies.imaging.decoding import ImageRejected
from readerstudy.studies.imaging.geometry import DISPLAY_LONG_SIDE, display_geometry

DISPLAY_QUALITY = 92
FRAME_QUALITY = 85  # a cine's other frames are seen moving: lighter, and loaded only on demand
MAX_STORED_FRAMES = 240  # 8 s at 30 Hz; a longer cine keeps every n-th frame
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
    if rgb.ndim == 3 and (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all():
        ok, data = cv2.imencode(".jpg", rgb[..., 0], [cv2.IMWRITE_JPEG_QUALITY, quality])
    else:
        ok, data = cv2.imencode(
            ".jpg",
            cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
            [cv2.IMWRITE_JPEG_QUALITY, quality,
             cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444],
        )  # fmt: skip
    if not ok:
        raise ImageRejected("the image could not be encoded as JPEG")
    return data.tobytes()


def render_display(rgb: np.ndarray) -> bytes:
    """The reader's rendition: JPEG q92, the original size up to 2048 px a side, no metadata."""
    return _jpeg(_resized(rgb, DISPLAY_LONG_SIDE), DISPLAY_QUALITY)


def stored_frame_indices(n_frames: int) -> list[int]:
    """Which frames of a cine are kept for the reader: all, or evenly spaced up to the cap."""
    if n_frames <= MAX_STORED_FRAMES:
        return list(range(n_frames))
    step = n_frames / MAX_STORED_FRAMES
    return [int(i * step) for i in range(MAX_STORED_FRAMES)]


def render_frame(rgb: np.ndarray) -> bytes:
    """One cine frame for the reader: the display rendition's size, lighter quality."""
    return _jpeg(_resized(rgb, DISPLAY_LONG_SIDE), FRAME_QUALITY)


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
