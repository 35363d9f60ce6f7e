"""The seed study's preprocessing, shared by training and inference: enlarged lesion box → crop →
histogram equalisation → resize → ImageNet normalisation, plus the map from a heatmap on the model
input back to the displayed image.

Decisions (the `Preprocessing` spec records them and travels inside every checkpoint):
- Lesion box: enlarged `roi_scale` (1.3) times about its centre, edges rounded with Python's
  `round`; at an image edge the box keeps its centre and size and the part outside the image is
  black (`inference.geometry.enlarged_box` and `crop`, which the importer's
  `readerstudy.studies.imaging.model_input_crop` calls too, so a crop cached at import is this
  crop; `geometry` says why black). The crop is then resized like any other.
- Colour: RGB → grey (ITU-R BT.601 luma, `cv2.COLOR_RGB2GRAY`) → `cv2.equalizeHist` → the grey plane
  replicated to three channels. B-mode is grey by nature; what colour there is comes from the
  scanner's tint map or a colour-Doppler overlay, both of which differ by site and say nothing
  about malignancy, and the seed equalises precisely to remove scanner differences. Equalising
  the luma of YCrCb and keeping the chroma would preserve those site signatures instead.
- Equalisation runs on the crop (not the whole frame), before resizing, in the order the seed
  describes, so the grey levels are spread over the lesion and its margin rather than over text,
  black borders and distant tissue.
- Resize to `size`×`size` (224 in the seed; smaller for quick training): `cv2.INTER_AREA` when the
  crop shrinks (it averages, so speckle does not alias), `cv2.INTER_LINEAR` when it grows.
- Normalisation with the ImageNet mean and standard deviation happens on the batch tensor
  (`normalise`), after augmentation, so training and inference share one code path.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import cv2
import numpy as np
import torch

from inference.geometry import CropBox, Roi, crop, enlarged_box

__all__ = ["CropBox", "Roi", "crop", "enlarged_box"]  # re-exported: callers take them from here too

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
SPEC_VERSION = 1


@dataclass(frozen=True)
class Preprocessing:
    """Everything that turns an image + lesion box into the model input; saved in checkpoints."""

    roi_scale: float = 1.3
    size: int = 224
    colour: str = "grey_equalised"  # the only mode: see the module docstring
    interpolation: str = "area_down_linear_up"
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    version: int = field(default=SPEC_VERSION)

    def __post_init__(self) -> None:
        if self.roi_scale < 1.0 or self.size < 1:
            raise ValueError(f"roi_scale must be ≥ 1 and size ≥ 1, got {self}")
        if self.colour != "grey_equalised" or self.interpolation != "area_down_linear_up":
            raise ValueError(f"unsupported preprocessing mode: {self}")
        if self.version != SPEC_VERSION:
            raise ValueError(f"preprocessing spec version {self.version} is not {SPEC_VERSION}")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["mean"], data["std"] = list(self.mean), list(self.std)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Preprocessing:
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown preprocessing field(s): {sorted(unknown)}")
        values = dict(data)
        for key in ("mean", "std"):
            if key in values:
                values[key] = tuple(float(v) for v in values[key])
        return cls(**values)


def equalised_grey(image: np.ndarray) -> np.ndarray:
    """8-bit RGB or grey → histogram-equalised 8-bit grey (H, W)."""
    if image.dtype != np.uint8:
        raise TypeError(f"expected 8-bit pixels, got {image.dtype}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return cv2.equalizeHist(np.ascontiguousarray(image))


def resize_square(grey: np.ndarray, size: int) -> np.ndarray:
    shrinking = grey.shape[0] * grey.shape[1] >= size * size
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(grey, (size, size), interpolation=interpolation)


def model_input(
    image: np.ndarray, roi: Roi | None, spec: Preprocessing
) -> tuple[np.ndarray, CropBox]:
    """Crop, equalise and resize one image: 8-bit grey (size, size) and the crop box used.

    `roi=None` means the image is already the crop (the importer's cached model-input crop).
    """
    box = (
        CropBox.whole(image)
        if roi is None
        else enlarged_box(roi, image.shape, scale=spec.roi_scale)
    )
    return resize_square(equalised_grey(crop(image, box)), spec.size), box


def normalise(grey: torch.Tensor, spec: Preprocessing) -> torch.Tensor:
    """uint8 (N, 1 or 3, S, S) or (N, S, S) → float32 (N, 3, S, S), ImageNet-normalised."""
    if grey.ndim == 3:
        grey = grey.unsqueeze(1)
    x = grey.to(torch.float32).div_(255.0)
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    mean = torch.tensor(spec.mean, dtype=torch.float32, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(spec.std, dtype=torch.float32, device=x.device).view(1, 3, 1, 1)
    return (x - mean) / std


def heatmap_to_display(
    heatmap: np.ndarray,
    box: CropBox,
    *,
    display_shape: tuple[int, int],
    display_scale: float,
    interpolation: int = cv2.INTER_LINEAR,
) -> np.ndarray:
    """Place a heatmap of the (square) model input onto the displayed image; zero outside the crop.

    The model input is the crop `box` of the original image stretched to a square, and the
    displayed image is the original scaled by `display_scale` into `display_shape` (rows, cols).
    The map works on pixel centres (pixel i covers [i, i+1)), as cv2.resize does, so a
    heatmap pixel lands on the display pixels that show the image pixels it was computed from.
    """
    rows, cols = heatmap.shape[:2]
    sx = box.width * display_scale / cols
    sy = box.height * display_scale / rows
    # display = offset + scale · (heat + ½) − ½, per axis.
    tx = box.x0 * display_scale + 0.5 * sx - 0.5
    ty = box.y0 * display_scale + 0.5 * sy - 0.5
    matrix = np.array([[sx, 0.0, tx], [0.0, sy, ty]], dtype=np.float64)
    height, width = int(display_shape[0]), int(display_shape[1])
    # Replicating the border keeps the crop's edge pixels at full strength; what lies outside
    # the crop is zeroed afterwards (a display pixel is inside when its centre maps into the box).
    placed = cv2.warpAffine(
        heatmap,
        matrix,
        (width, height),
        flags=interpolation,
        borderMode=cv2.BORDER_REPLICATE,
    )
    c0, c1 = (max(0, min(width, math.ceil(v * display_scale - 0.5))) for v in (box.x0, box.x1))
    r0, r1 = (max(0, min(height, math.ceil(v * display_scale - 0.5))) for v in (box.y0, box.y1))
    out = np.zeros_like(placed)
    out[r0:r1, c0:c1] = placed[r0:r1, c0:c1]
    return out
