"""Decode DICOM, JPEG and PNG to 8-bit RGB frames, turning every failure into `ImageRejected`.

Decoding is pydicom's (with its pylibjpeg / Pillow pixel-data plugins) and Pillow's; this module
only chooses frames, maps every photometric interpretation and bit depth to 8-bit RGB, and turns
every failure into one exception. Header de-identification is in `imaging.deid`, the ultrasound
region in `imaging.regions`, renditions in `imaging.renditions`.

Decisions:
- Cine (multi-frame) DICOM becomes one image, its middle frame (the operator froze the loop around
  the lesion, and the middle frame is least likely to be a transition);
  `decode(..., all_frames=True)` returns every frame for a caller that wants them.
- Grey levels: a VOI LUT sequence when present, else the first Window Center/Width (PS3.3
  C.11.2.1.2), else 8-bit data as stored and deeper data min-max stretched; MONOCHROME1 is inverted.
  Colour deeper than 8 bits is scaled by its Bits Stored range, so hues are kept.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from PIL import Image, ImageOps
from pydicom.dataset import Dataset
from pydicom.pixels import (
    apply_color_lut,
    apply_modality_lut,
    apply_voi_lut,
    get_decoder,
    pixel_array,
)
from pydicom.uid import UID, ImplicitVRLittleEndian

MAX_SIDE = 8192  # no ultrasound machine writes more; bigger is a broken or hostile file
MAX_FRAMES = 2000  # a 60 s cine at 30 Hz, with room
MAX_DECODED_BYTES = 1 << 30  # all frames at once, as 8-bit RGB
JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class ImageRejected(Exception):
    """A file that cannot become a case image; `message` says why, for a coordinator to act on."""

    def __init__(self, message: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


@dataclass(frozen=True)
class DecodedImage:
    frames: tuple[np.ndarray, ...]  # each (H, W, 3) uint8 RGB
    frame_indices: tuple[int, ...]  # which source frames they are
    n_frames: int  # frames in the source
    kind: str  # dicom | jpeg | png
    dataset: Dataset | None  # the parsed DICOM, for de-identification and the region

    @property
    def rgb(self) -> np.ndarray:
        return self.frames[0]


def decode(source: str | Path | bytes, *, all_frames: bool = False) -> DecodedImage:
    """Decode a DICOM, JPEG or PNG file (path or bytes) to 8-bit RGB frames."""
    data = Path(source).read_bytes() if isinstance(source, str | Path) else bytes(source)
    if not data:
        raise ImageRejected("the file is empty")
    if data[128:132] == b"DICM":
        return _decode_dicom(data, all_frames=all_frames)
    if data.startswith(JPEG_MAGIC) or data.startswith(PNG_MAGIC):
        return _decode_raster(data)
    return _decode_dicom(data, all_frames=all_frames, sniffed=False)


def _read_dataset(data: bytes, *, sniffed: bool) -> Dataset:
    try:
        ds = pydicom.dcmread(io.BytesIO(data), force=True)
        # parsing is lazy: convert every element now, so that a malformed one is rejected here
        # rather than met later by the region or the de-identification code
        for _ in ds.iterall():
            pass
        for _ in getattr(ds, "file_meta", None) or ():
            pass
    except Exception as error:  # hostile bytes make pydicom raise anything: struct, zlib, VRs…
        raise ImageRejected(f"not a readable DICOM file: {error}") from error
    if not sniffed and not any(tag in ds for tag in ("SOPClassUID", "Rows", "PixelData")):
        raise ImageRejected("not an image: neither DICOM nor JPEG/PNG")
    return ds


def _decode_dicom(data: bytes, *, all_frames: bool, sniffed: bool = True) -> DecodedImage:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns about every oddity; we judge for ourselves
        ds = _read_dataset(data, sniffed=sniffed)
    return decode_dataset(ds, all_frames=all_frames)


def decode_dataset(ds: Dataset, *, all_frames: bool = False) -> DecodedImage:
    """Decode an already parsed DICOM dataset (see `decode`)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _decode_pixels(ds, all_frames=all_frames)


def _decode_pixels(ds: Dataset, *, all_frames: bool) -> DecodedImage:
    if "PixelData" not in ds:
        if "FloatPixelData" in ds or "DoubleFloatPixelData" in ds:
            raise ImageRejected("float pixel data (a parametric map) is not a displayable image")
        what = getattr(ds.get("SOPClassUID"), "name", "unknown SOP class")
        raise ImageRejected(f"DICOM file has no pixel data ({what})")
    try:
        rows, cols = int(ds.Rows), int(ds.Columns)
        n_frames = int(ds.get("NumberOfFrames") or 1)
        samples = int(ds.get("SamplesPerPixel") or 1)
    except (AttributeError, ValueError, TypeError) as error:
        raise ImageRejected(f"DICOM image attributes are missing or invalid: {error}") from error
    if not (0 < rows <= MAX_SIDE and 0 < cols <= MAX_SIDE and 0 < n_frames <= MAX_FRAMES):
        raise ImageRejected(
            f"absurd image dimensions: {cols}×{rows} pixels, {n_frames} frames "
            f"(at most {MAX_SIDE}×{MAX_SIDE}, {MAX_FRAMES} frames)"
        )
    if all_frames and n_frames * rows * cols * 3 > MAX_DECODED_BYTES:
        raise ImageRejected(f"the cine is too large to decode at once ({n_frames} frames)")
    meta = getattr(ds, "file_meta", None)
    syntax = UID((meta.get("TransferSyntaxUID") if meta else None) or ImplicitVRLittleEndian)
    if not syntax.is_transfer_syntax:
        raise ImageRejected(f"unknown transfer syntax: {str(syntax)[:64]!r}")
    if syntax.is_compressed:
        try:
            decoder = get_decoder(syntax)
        except NotImplementedError as error:
            raise ImageRejected(f"unsupported transfer syntax: {syntax.name}") from error
        if not decoder.is_available:
            raise ImageRejected(f"no decoder installed for transfer syntax {syntax.name}")
    indices = tuple(range(n_frames)) if all_frames else (n_frames // 2,)
    try:
        if all_frames:
            stack = pixel_array(ds)
            arrays = [stack] if n_frames == 1 else list(stack)
        else:
            arrays = [pixel_array(ds, index=indices[0])]
        frames = tuple(_to_rgb8(arr, ds, samples=samples) for arr in arrays)
    except ImageRejected:
        raise
    except Exception as error:  # decoders raise anything from ValueError to RuntimeError
        raise ImageRejected(f"truncated or corrupt pixel data ({syntax.name}): {error}") from error
    except BaseException as error:
        # a Rust decoder's panic (pylibjpeg-rle's) is pyo3's PanicException, a BaseException
        if type(error).__name__ != "PanicException":
            raise
        raise ImageRejected(f"truncated or corrupt pixel data ({syntax.name}): {error}") from error
    return DecodedImage(frames, indices, n_frames, "dicom", ds)


def _scale_to_uint8(arr: np.ndarray, lo: float, hi: float) -> np.ndarray:
    if hi <= lo:
        return np.zeros(arr.shape, dtype=np.uint8)
    scaled = (arr.astype(np.float64) - lo) * (255.0 / (hi - lo))
    return np.clip(scaled + 0.5, 0, 255).astype(np.uint8)


def _window(arr: np.ndarray, ds: Dataset) -> np.ndarray | None:
    """Window Center/Width to 0..255 (PS3.3 C.11.2.1.2); None without a usable window."""
    try:
        centre = float(np.atleast_1d(np.asarray(ds.WindowCenter, dtype=float))[0])
        width = float(np.atleast_1d(np.asarray(ds.WindowWidth, dtype=float))[0])
    except (AttributeError, ValueError, TypeError, IndexError):
        return None
    function = str(ds.get("VOILUTFunction", "LINEAR")).upper()
    x = arr.astype(np.float64)
    if function == "SIGMOID" and width > 0:
        out = 1.0 / (1.0 + np.exp(-4.0 * (x - centre) / width))
    elif function == "LINEAR_EXACT" and width > 0:
        out = (x - centre) / width + 0.5
    elif width >= 1:
        out = (x - (centre - 0.5)) / (width - 1.0) + 0.5
    else:
        return None
    return np.clip(out * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _to_rgb8(arr: np.ndarray, ds: Dataset, *, samples: int) -> np.ndarray:
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip().upper()
    if photometric == "PALETTE COLOR":
        rgb = apply_color_lut(arr, ds)
        bits = int(ds.RedPaletteColorLookupTableDescriptor[2])
        return (rgb >> (bits - 8)).astype(np.uint8) if bits > 8 else rgb.astype(np.uint8)
    if samples == 3:  # RGB, and YBR which pydicom has already converted to RGB
        if arr.dtype == np.uint8:
            return np.ascontiguousarray(arr)
        return _scale_to_uint8(arr, 0, 2 ** int(ds.get("BitsStored", 8)) - 1)
    if samples != 1 or arr.ndim != 2:
        raise ImageRejected(f"unsupported pixel layout: {samples} samples, {photometric}")
    grey: np.ndarray | None
    if "VOILUTSequence" in ds:
        values = apply_voi_lut(apply_modality_lut(arr, ds), ds, prefer_lut=True)
        grey = _scale_to_uint8(values, 0, 2 ** int(ds.VOILUTSequence[0].LUTDescriptor[2]) - 1)
    elif "WindowCenter" in ds and "WindowWidth" in ds:
        grey = _window(apply_modality_lut(arr, ds), ds)
    else:
        grey = None
    if grey is None:
        if arr.dtype == np.uint8 and int(ds.get("BitsStored", 8)) == 8:
            grey = arr  # 8-bit ultrasound is display-ready; stretching would change its look
        else:
            grey = _scale_to_uint8(arr, float(arr.min()), float(arr.max()))
    if photometric == "MONOCHROME1":
        grey = 255 - grey
    return np.ascontiguousarray(np.repeat(grey[..., None], 3, axis=2))


def _decode_raster(data: bytes) -> DecodedImage:
    kind = "jpeg" if data.startswith(JPEG_MAGIC) else "png"
    try:
        image = Image.open(io.BytesIO(data))  # lazy: reads the header only
        width, height = image.size
        if width > MAX_SIDE or height > MAX_SIDE or width < 1 or height < 1:
            raise ImageRejected(
                f"absurd image dimensions: {width}×{height} pixels (at most {MAX_SIDE}×{MAX_SIDE})"
            )
        image.load()
    except ImageRejected:
        raise
    except Image.DecompressionBombError as error:
        raise ImageRejected(f"absurd image dimensions: {error}") from error
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageRejected(f"truncated or corrupt {kind} file: {error}") from error
    # cameras and some PACS exports store the pixels sideways with an EXIF orientation
    upright: Image.Image = ImageOps.exif_transpose(image) or image
    if upright.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(upright)
        grey = _scale_to_uint8(arr, float(arr.min()), float(arr.max()))
        rgb = np.repeat(grey[..., None], 3, axis=2)
    elif upright.mode in ("RGBA", "LA", "PA") or (
        upright.mode == "P" and "transparency" in upright.info
    ):
        rgba = upright.convert("RGBA")
        rgb = np.asarray(
            Image.alpha_composite(Image.new("RGBA", rgba.size, (0, 0, 0, 255)), rgba).convert("RGB")
        )
    else:
        rgb = np.asarray(upright.convert("RGB"))
    return DecodedImage((np.ascontiguousarray(rgb),), (0,), 1, kind, None)
