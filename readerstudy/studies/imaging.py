"""The importer's imaging core, free of Django: decode DICOM, JPEG and PNG to RGB, find the
ultrasound region, blank what lies outside it, and make renditions and model-input crops.

Decoding is pydicom's (with its pylibjpeg / Pillow pixel-data plugins) and Pillow's; this module
only chooses frames, maps every photometric interpretation and bit depth to 8-bit RGB, and turns
every failure into one exception, `ImageRejected`. Header de-identification is in `studies.deid`.

Decisions:
- Cine (multi-frame) DICOM becomes one image, its middle frame (the operator froze the loop around
  the lesion, and the middle frame is least likely to be a transition);
  `decode(..., all_frames=True)` returns every frame for a caller that wants them.
- Grey levels: a VOI LUT sequence when present, else the first Window Center/Width (PS3.3
  C.11.2.1.2), else 8-bit data as stored and deeper data min-max stretched; MONOCHROME1 is inverted.
  Colour deeper than 8 bits is scaled by its Bits Stored range, so hues are kept.
- The ultrasound region comes from the header's Sequence of Ultrasound Regions when it has a 2D
  tissue or colour-flow region; otherwise it is detected (see `detect_sector`).
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pydicom
from PIL import Image, ImageOps
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.pixels import (
    apply_color_lut,
    apply_modality_lut,
    apply_voi_lut,
    get_decoder,
    pixel_array,
)
from pydicom.uid import UID, ImplicitVRLittleEndian

from inference.geometry import enlarged_box

MAX_SIDE = 8192  # no ultrasound machine writes more; bigger is a broken or hostile file
MAX_FRAMES = 2000  # a 60 s cine at 30 Hz, with room
MAX_DECODED_BYTES = 1 << 30  # all frames at once, as 8-bit RGB
DISPLAY_LONG_SIDE = 1024
DISPLAY_QUALITY = 85
THUMBNAIL_LONG_SIDE = 256
THUMBNAIL_QUALITY = 80
# RegionDataType (PS3.3 C.8.5.5.1.2): 1 tissue (B-mode), 2 colour flow drawn over it
BMODE_DATA_TYPES = {1, 2}
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


@dataclass(frozen=True)
class Region:
    """Where the ultrasound image lies: inclusive pixel bounds, and its shape when detected."""

    x0: int
    y0: int
    x1: int
    y1: int
    source: str  # dicom | detected (or manual: a box a coordinator drew)
    mask: np.ndarray | None = None  # (H, W) bool; None means the whole box


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
        if not sniffed:  # no preamble: parsing is lazy, so touch the elements that we judge by
            ds.get("Rows")
            ds.get("SOPClassUID")
    except (InvalidDicomError, ValueError, TypeError, KeyError, OSError, EOFError) as error:
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


def ultrasound_region(ds: Dataset | None, rgb: np.ndarray) -> Region | None:
    """The ultrasound image area: from the DICOM header, else detected; None when neither works
    (the caller must then flag the image: its burned-in text cannot be removed automatically)."""
    if ds is not None:
        region = _header_region(ds, rgb.shape[1], rgb.shape[0])
        if region is not None:
            return region
    return detect_sector(rgb)


def _header_region(ds: Dataset, width: int, height: int) -> Region | None:
    boxes = []
    for item in ds.get("SequenceOfUltrasoundRegions", []):
        try:
            if int(item.get("RegionSpatialFormat", 1)) != 1:
                continue
            if int(item.RegionDataType) not in BMODE_DATA_TYPES:
                continue
            box = [int(item.RegionLocationMinX0), int(item.RegionLocationMinY0),
                   int(item.RegionLocationMaxX1), int(item.RegionLocationMaxY1)]  # fmt: skip
        except (AttributeError, ValueError, TypeError):
            continue  # a malformed item is skipped, not trusted
        x0, x1 = max(0, min(box[0], box[2])), min(width - 1, max(box[0], box[2]))
        y0, y1 = max(0, min(box[1], box[3])), min(height - 1, max(box[1], box[3]))
        if x1 > x0 and y1 > y0:
            boxes.append((x0, y0, x1, y1))
    if not boxes:
        return None
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    mask = np.zeros((height, width), dtype=bool)
    for bx0, by0, bx1, by1 in boxes:  # a union of boxes, not their bounding box
        mask[by0 : by1 + 1, bx0 : bx1 + 1] = True
    return Region(x0, y0, x1, y1, "dicom", None if len(boxes) == 1 else mask)


def detect_sector(rgb: np.ndarray, *, min_fraction: float = 0.08) -> Region | None:
    """Find the scanned area as the largest solid, textured bright blob.

    Method: threshold non-black pixels; a closing fuses speckle into a solid area; an opening
    with a disc of 1/40 of the image side (about 15 px) erases text, tick marks and thin graphics
    (their strokes are never that thick); the largest connected component is the sector; its
    convex hull (linear, trapezoid and curved sectors are convex but for the shallow arc of a
    curved probe) restores anechoic cysts and acoustic shadows inside it. Fails (None) when no
    blob covers `min_fraction` of the image.
    """
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb
    height, width = grey.shape
    scale = max(1, round(max(height, width) / 512))  # work at ~512 px: same answer, 4× faster
    small = (
        cv2.resize(grey, (width // scale, height // scale), interpolation=cv2.INTER_AREA)
        if scale > 1
        else grey
    )
    lit = (small > 6).astype(np.uint8)
    side = max(3, round(min(small.shape) / 40)) | 1
    closed = cv2.morphologyEx(lit, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    binary = cv2.morphologyEx(
        closed, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))
    )
    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    if count < 2:
        return None
    best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    if stats[best, cv2.CC_STAT_AREA] < min_fraction * binary.size:
        return None
    points = cv2.findNonZero((labels == best).astype(np.uint8))
    hull = cv2.convexHull(points).astype(np.float64) * scale + (scale - 1) / 2.0
    mask8 = np.zeros((height, width), dtype=np.uint8)
    cv2.fillConvexPoly(mask8, np.round(hull).astype(np.int32), 1)
    ys, xs = np.nonzero(mask8)
    return Region(
        int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max()), "detected", mask8.astype(bool)
    )


def region_mask(region: Region, shape: tuple[int, ...]) -> np.ndarray:
    if region.mask is not None:
        return region.mask
    mask = np.zeros(shape[:2], dtype=bool)
    mask[region.y0 : region.y1 + 1, region.x0 : region.x1 + 1] = True
    return mask


def blank_outside(rgb: np.ndarray, region: Region) -> np.ndarray:
    """A copy with every pixel outside the region black: removes burned-in text and graphics."""
    if region.mask is None:
        out = np.zeros_like(rgb)
        box = (slice(region.y0, region.y1 + 1), slice(region.x0, region.x1 + 1))
        out[box] = rgb[box]
        return out
    return cv2.bitwise_and(rgb, rgb, mask=region.mask.astype(np.uint8))


def display_geometry(
    width: int, height: int, long_side: int = DISPLAY_LONG_SIDE
) -> tuple[float, int, int]:
    """The display rendition's scale and size (width, height) for an image of width × height:
    shrunk to `long_side`, never enlarged. Readers' lesion boxes and heatmaps use the same."""
    factor = long_side / max(height, width)
    if factor >= 1.0:
        return 1.0, width, height
    return factor, max(1, round(width * factor)), max(1, round(height * factor))


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
    """The lesion box (x, y, w, h) enlarged `scale` times about its centre, clipped to the image,
    as in the seed study's preprocessing (the inference core's own box function)."""
    try:
        box = enlarged_box(roi, rgb.shape, scale=scale)
    except ValueError as error:
        raise ImageRejected(str(error)) from None
    return rgb[box.y0 : box.y1, box.x0 : box.x1].copy()


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content_file_name(data: bytes, *, extension: str) -> str:
    """A storage name derived from the bytes: identical renditions share a file, and the name
    reveals nothing about the patient."""
    digest = content_hash(data)
    return f"{digest[:2]}/{digest}.{extension.lstrip('.')}"
