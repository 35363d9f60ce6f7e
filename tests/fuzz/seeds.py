"""Real files to mutate: phantom DICOM, JPEG and PNG, and small pydicom test files it ships."""

from __future__ import annotations

import functools
import io
from pathlib import Path

import cv2
import pydicom
from pydicom.data import get_testdata_file

from fixtures.phantom import encode_jpeg, iter_study, write_image

# shipped in the wheel (never downloaded), small, and covering the decoders and layouts
PYDICOM_NAMES = (
    "CT_small.dcm", "MR_small.dcm", "MR_small_RLE.dcm", "MR_small_bigendian.dcm",
    "MR_small_implicit.dcm", "MR_small_jp2klossless.dcm", "MR_small_jpeg_ls_lossless.dcm",
    "SC_rgb_rle.dcm", "SC_rgb_rle_16bit_2frame.dcm", "SC_rgb_rle_32bit.dcm", "SC_rgb_jpeg.dcm",
    "SC_rgb_small_odd.dcm", "SC_rgb_small_odd_big_endian.dcm", "SC_ybr_full_422_uncompressed.dcm",
    "JPEGLSNearLossless_08.dcm", "JPGExtended.dcm", "693_J2KI.dcm", "rtdose_1frame.dcm",
    "ExplVR_BigEndNoMeta.dcm", "ExplVR_LitEndNoMeta.dcm", "no_meta.dcm", "image_dfl.dcm",
    "nested_priv_SQ.dcm", "UN_sequence.dcm", "badVR.dcm", "liver_1frame.dcm",
)  # fmt: skip


@functools.cache
def phantom_files(tmp: str) -> dict[str, bytes]:
    """One phantom view as DICOM, JPEG and PNG."""
    image = next(iter_study(cases=1, seed=5))
    dicom = write_image(image, Path(tmp), fmt="dicom", seed=5)
    return {
        "phantom.dcm": dicom.read_bytes(),
        "phantom.jpg": encode_jpeg(image.rgb),
        "phantom.png": cv2.imencode(".png", image.rgb)[1].tobytes(),
    }


@functools.cache
def pydicom_files() -> dict[str, bytes]:
    files = {}
    for name in PYDICOM_NAMES:
        path = get_testdata_file(name, download=False)
        if path is not None:
            files[name] = Path(str(path)).read_bytes()
    return files


def dicom_bytes(ds: pydicom.Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer)
    return buffer.getvalue()
