"""ResNet18 trained on synthetic phantoms learns the lesion and looks at it (slow: ~2 min).

Kept quick on a 2-core CPU: 200 cases (~425 images; the phantom's own patient-level cohorts, so
~300 training and ~40 validation images), 112 px model input instead of 224, from scratch (no
ImageNet weights offline), 8 epochs, bf16 autocast where the CPU has it, one thread.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fixtures.phantom import generate_phantom_study
from inference.checkpoint import save_bundle
from inference.data import decode_file, prepare_dataset, read_manifest
from inference.predictor import Predictor
from inference.preprocess import CropBox, Preprocessing
from inference.train import TrainConfig, make_bundle, train_model

CASES = 200
SIZE = 112


def on_lesion(
    heatmap: np.ndarray, roi: tuple[int, int, int, int], box: CropBox
) -> tuple[float, bool, float]:
    """(share of the heatmap's mass on the lesion box, whether its hottest pixel is on it, the
    lesion box's share of the crop's area — what a map blind to the lesion would score)."""
    x, y, w, h = roi
    sx, sy = heatmap.shape[1] / box.width, heatmap.shape[0] / box.height
    c0, c1 = round((x - box.x0) * sx), round((x + w - box.x0) * sx)
    r0, r1 = round((y - box.y0) * sy), round((y + h - box.y0) * sy)
    total = float(heatmap.sum(dtype=np.float64))
    mass = float(heatmap[r0:r1, c0:c1].sum(dtype=np.float64)) / total if total else 0.0
    row, col = np.unravel_index(int(np.argmax(heatmap)), heatmap.shape)
    return mass, bool(r0 <= row < r1 and c0 <= col < c1), w * h / (box.width * box.height)


@pytest.mark.slow
def test_resnet18_learns_phantoms_and_its_heatmaps_fall_on_the_lesion(tmp_path: Path) -> None:
    manifest = generate_phantom_study(cases=CASES, seed=3, out=tmp_path / "phantom", fmt="jpeg")
    images = read_manifest(manifest)
    spec = Preprocessing(size=SIZE)
    data = prepare_dataset(images, spec)
    train, validation = data.cohort("train"), data.cohort("validation")
    config = TrainConfig.quick(epochs=8, patience=4, threads=1, progress=False, imagenet=None)

    result = train_model(train, validation, spec, config)
    bundle = make_bundle(result, spec, validation)
    metrics = bundle.meta.validation_metrics
    print(
        f"\nvalidation AUC: image {metrics['image']['auc']:.3f} "
        f"(95% CI {metrics['image']['auc_ci_low']:.3f}–{metrics['image']['auc_ci_high']:.3f}), "
        f"case {metrics['case']['auc']:.3f}; best epoch {result.best_epoch}; "
        f"{sum(r.seconds for r in result.history):.0f} s for {len(result.history)} epochs"
    )
    assert result.best_validation_auc >= 0.85
    assert metrics["image"]["auc"] >= 0.85

    save_bundle(bundle, tmp_path / "model.ckpt")
    predictor = Predictor(tmp_path / "model.ckpt", device="cpu").load()
    held = [i for i in images if i.cohort == "validation"]
    out = predictor([decode_file(i.file) for i in held], [i.roi for i in held])
    assert out.heatmaps is not None
    scores = np.array(
        [on_lesion(h, i.roi, b) for h, i, b in zip(out.heatmaps, held, out.boxes, strict=True)]
    )
    mass, pointing, blind = scores[:, 0], scores[:, 1], scores[:, 2]
    print(
        f"heatmap mass on the lesion box: mean {mass.mean():.2f} (median {np.median(mass):.2f}; "
        f"a lesion-blind map: {blind.mean():.2f}); hottest pixel on the lesion in "
        f"{pointing.mean():.0%} of {len(mass)} validation images; precision "
        f"{predictor.precision} (bf16 max |Δp| {predictor.bf16_max_difference})"
    )
    assert mass.mean() > 0.5  # mostly on the lesion…
    assert mass.mean() > blind.mean()  # …and more than chance would put there
    assert pointing.mean() >= 0.75
