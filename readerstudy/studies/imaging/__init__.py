"""The importer's imaging core, free of Django: decoding (`decode`), the ultrasound region and
blanking (`regions`), renditions and crops (`renditions`) and DICOM de-identification (`deid`).

The names below are the package's public surface, so callers write `imaging.decode(...)`.
"""

from __future__ import annotations

from readerstudy.studies.imaging.decode import DecodedImage, ImageRejected, decode, decode_dataset
from readerstudy.studies.imaging.regions import (
    Region,
    blank_outside,
    detect_sector,
    ultrasound_region,
)
from readerstudy.studies.imaging.renditions import (
    content_file_name,
    content_hash,
    display_geometry,
    model_input_crop,
    render_display,
    render_thumbnail,
)

__all__ = [
    "DecodedImage",
    "ImageRejected",
    "Region",
    "blank_outside",
    "content_file_name",
    "content_hash",
    "decode",
    "decode_dataset",
    "detect_sector",
    "display_geometry",
    "model_input_crop",
    "render_display",
    "render_thumbnail",
    "ultrasound_region",
]
