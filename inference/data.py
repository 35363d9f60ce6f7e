"""Training data: manifest rows → preprocessed 8-bit crops in memory, patient-grouped splits and
folds, the seed's augmentation, and oversampling of the malignant class.

Crops are preprocessed once (`inference.preprocess.model_input`) and kept as uint8 tensors;
augmentation runs per image on those, so an epoch costs no decoding. Splits and folds come from
scikit-learn's `StratifiedGroupKFold`: grouped by patient (no patient in two sets) and stratified by
truth, which a plain random patient split does not guarantee with ~20% malignant cases.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pydicom
import torch
from sklearn.model_selection import StratifiedGroupKFold
from torchvision.transforms import v2
from tqdm import tqdm

from inference.preprocess import Preprocessing, Roi, model_input

# The seed's augmentation: "rotation (the maximum rotation angle is set to 15), flip (horizontal
# flip), scaling (maximum scale is set to 1), translation (maximum panning distance of -20 pixels
# to +20 pixels), and mixed transformations" (Methods). See `Augmentation` for what it leaves open.
ROTATION_DEGREES = 15.0
TRANSLATION_PX_AT_224 = 20
SCALE_RANGE = (0.9, 1.0)

Decoder = Callable[[Path], np.ndarray]


@dataclass(frozen=True)
class ManifestImage:
    patient_id: str
    case_id: str
    file: Path
    malignant: bool
    cohort: str
    roi: Roi


def read_manifest(path: Path | str) -> list[ManifestImage]:
    """The phantom/import manifest (one row per image); files resolved against its folder."""
    path = Path(path)
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    images = []
    for row in rows:
        if row["truth"] not in ("benign", "malignant"):
            raise ValueError(f"truth must be benign or malignant, got {row['truth']!r}")
        roi = (int(row["roi_x"]), int(row["roi_y"]), int(row["roi_w"]), int(row["roi_h"]))
        images.append(
            ManifestImage(
                row["patient_id"],
                row["case_id"],
                path.parent / row["file"],
                row["truth"] == "malignant",
                row["cohort"],
                roi,
            )
        )
    return images


def decode_file(path: Path) -> np.ndarray:
    """8-bit RGB from a JPEG/PNG, or from a plain 8-bit DICOM (RGB or MONOCHROME2).

    The platform's importer (`readerstudy.studies.imaging.decoding`) is the complete decoder
    (compressed syntaxes, VOI LUTs, cine); pass it as `decode=` where that matters. This one keeps
    the training core free of the web project for phantoms and exported crops.
    """
    if path.suffix.lower() == ".dcm":
        ds = pydicom.dcmread(path)
        pixels = np.asarray(ds.pixel_array)
        if pixels.dtype != np.uint8 or ds.PhotometricInterpretation not in ("RGB", "MONOCHROME2"):
            raise ValueError(f"{path.name}: use the importer's decoder for this DICOM")
        return pixels if pixels.ndim == 3 else np.repeat(pixels[:, :, None], 3, axis=2)
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"cannot decode {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@dataclass(frozen=True)
class Dataset:
    """Preprocessed images and their labels, aligned by index."""

    inputs: torch.Tensor  # uint8 (N, S, S)
    labels: np.ndarray  # float32 (N,), 1 = malignant
    patient_ids: np.ndarray  # str (N,)
    case_ids: np.ndarray  # str (N,)
    cohorts: np.ndarray  # str (N,)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, index: np.ndarray) -> Dataset:
        index = np.asarray(index, dtype=np.int64)
        return Dataset(
            self.inputs[torch.from_numpy(index)],
            self.labels[index],
            self.patient_ids[index],
            self.case_ids[index],
            self.cohorts[index],
        )

    def cohort(self, *names: str) -> Dataset:
        return self.subset(np.flatnonzero(np.isin(self.cohorts, names)))


def prepare_dataset(
    images: Sequence[ManifestImage],
    spec: Preprocessing,
    *,
    decode: Decoder = decode_file,
    progress: bool = False,
) -> Dataset:
    crops = []
    for image in tqdm(images, desc="preprocess", unit="image", disable=not progress):
        crop, _box = model_input(decode(image.file), image.roi, spec)
        crops.append(crop)
    return Dataset(
        torch.from_numpy(np.stack(crops)),
        np.array([i.malignant for i in images], dtype=np.float32),
        np.array([i.patient_id for i in images]),
        np.array([i.case_id for i in images]),
        np.array([i.cohort for i in images]),
    )


def _patient_labels(patient_ids: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Each image stratified by its patient's worst truth, so a patient's images share a stratum."""
    worst = dict.fromkeys(patient_ids, 0)
    for p, y in zip(patient_ids, labels, strict=True):
        worst[p] = max(worst[p], int(y))
    return np.array([worst[p] for p in patient_ids])


def patient_folds(
    patient_ids: np.ndarray, labels: np.ndarray, *, n_folds: int = 5, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, validation) image indices of `n_folds` folds grouped by patient."""
    splitter = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    strata = _patient_labels(patient_ids, labels)
    return [
        (np.sort(train), np.sort(held))
        for train, held in splitter.split(np.zeros(len(labels)), strata, groups=patient_ids)
    ]


def split_by_patient(
    patient_ids: np.ndarray, labels: np.ndarray, *, seed: int = 0
) -> dict[str, np.ndarray]:
    """The seed's 8:1:1 split by patient: image indices of train, validation and internal_test.

    Ten patient-grouped stratified folds; one is the internal test, the next the validation set.
    """
    folds = patient_folds(patient_ids, labels, n_folds=10, seed=seed)
    test, validation = folds[0][1], folds[1][1]
    train = np.setdiff1d(np.arange(len(labels)), np.concatenate([test, validation]))
    return {"train": train, "validation": validation, "internal_test": test}


@dataclass(frozen=True)
class Augmentation:
    """The training augmentation; recorded in every checkpoint (`training.augmentation`).

    The seed gives the ranges: rotation up to 15°, horizontal flip, translation ±20 px (at its
    224 px input; scaled with the input size here) and a scale whose maximum is 1, i.e. the crop
    may shrink but is never enlarged (enlarging would cut the margin the 1.3× box adds). It gives
    neither the smallest scale (ours: 0.9) nor how often each transformation is applied: it lists
    them and "mixed transformations" as what the images underwent, so every image gets the affine
    (p = 1, its rotation, shift and scale drawn from their ranges, near-identity draws included)
    and a flip half of the time. Bilinear interpolation: nearest-neighbour would alias the speckle.
    What the affine moves in from outside the crop is black, like the padding at an image edge.
    """

    rotation_degrees: float = ROTATION_DEGREES
    translation_px_at_224: float = TRANSLATION_PX_AT_224
    scale: tuple[float, float] = SCALE_RANGE
    horizontal_flip_p: float = 0.5
    affine_p: float = 1.0
    interpolation: str = "bilinear"  # or "nearest" (the earlier default, for comparison)
    fill: int = 0

    def __post_init__(self) -> None:
        low, high = self.scale
        if not 0 < low <= high:
            raise ValueError(f"augmentation scale must be 0 < low ≤ high, got {self.scale}")
        if not (0 <= self.horizontal_flip_p <= 1 and 0 <= self.affine_p <= 1):
            raise ValueError(f"augmentation probabilities must lie in [0, 1]: {self}")
        if self.interpolation not in _INTERPOLATIONS:
            raise ValueError(f"interpolation must be one of {sorted(_INTERPOLATIONS)}")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["scale"] = list(self.scale)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Augmentation:
        values = dict(data)
        if "scale" in values:
            values["scale"] = tuple(float(v) for v in values["scale"])
        return cls(**values)


_INTERPOLATIONS = {
    "bilinear": v2.InterpolationMode.BILINEAR,
    "nearest": v2.InterpolationMode.NEAREST,
}


def augmentation(size: int, spec: Augmentation | None = None) -> v2.Transform:
    """Random flip + rotation/translation/scaling (`Augmentation`) on a uint8 (1, S, S) crop."""
    spec = spec or Augmentation()
    shift = spec.translation_px_at_224 / 224
    return v2.Compose(
        [
            v2.RandomHorizontalFlip(p=spec.horizontal_flip_p),
            v2.RandomApply(
                [
                    v2.RandomAffine(
                        degrees=spec.rotation_degrees,
                        translate=(shift, shift),
                        scale=spec.scale,
                        interpolation=_INTERPOLATIONS[spec.interpolation],
                        fill=spec.fill,
                    )
                ],
                p=spec.affine_p,
            ),
        ]
    )


def oversampled_indices(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """All images once, plus random repeats of the minority class up to the majority's count
    (the seed augments malignant images until they match the benign ones); shuffled."""
    positive = np.flatnonzero(labels > 0.5)
    negative = np.flatnonzero(labels <= 0.5)
    minority, majority = sorted((positive, negative), key=len)
    extra = (
        rng.choice(minority, size=len(majority) - len(minority), replace=True)
        if len(minority)
        else np.empty(0, dtype=np.int64)
    )
    return rng.permutation(np.concatenate([positive, negative, extra]))
