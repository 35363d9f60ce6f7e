"""The importer's imaging core, free of Django: decoding (`decoding`), the ultrasound region and
blanking (`regions`), renditions and crops (`renditions`) and DICOM de-identification (`deid`).

The names below are the package's public surface, so callers write `imaging.decode(...)`. They
load on first use (PEP 562): the web process, which only needs `display_geometry`'s arithmetic,
never pays for pydicom, Pillow and OpenCV at start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from readerstudy.studies.imaging.decoding import (
        DecodedImage,
        ImageRejected,
        decode,
        decode_dataset,
    )
    from readerstudy.studies.imaging.regions import (
        Region,
        Spacing,
        blank_outside,
        detect_sector,
        physical_spacing,
        ultrasound_region,
    )
    from readerstudy.studies.imaging.renditions import (
        content_file_name,
        content_hash,
        display_geometry,
        model_input_crop,
        render_display,
        render_frame,
        render_thumbnail,
        stored_frame_indices,
    )

_HOME = {
    "DecodedImage": "decoding",
    "ImageRejected": "decoding",
    "decode": "decoding",
    "decode_dataset": "decoding",
    "Region": "regions",
    "Spacing": "regions",
    "physical_spacing": "regions",
    "render_frame": "renditions",
    "stored_frame_indices": "renditions",
    "blank_outside": "regions",
    "detect_sector": "regions",
    "ultrasound_region": "regions",
    "content_file_name": "renditions",
    "content_hash": "renditions",
    "display_geometry": "renditions",
    "model_input_crop": "renditions",
    "render_display": "renditions",
    "render_thumbnail": "renditions",
}
__all__ = [
    "DecodedImage",
    "ImageRejected",
    "Region",
    "Spacing",
    "blank_outside",
    "content_file_name",
    "content_hash",
    "decode",
    "decode_dataset",
    "detect_sector",
    "display_geometry",
    "model_input_crop",
    "physical_spacing",
    "render_display",
    "render_frame",
    "render_thumbnail",
    "stored_frame_indices",
    "ultrasound_region",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
