"""Phantom and imaging-core figures, printed (not a timed test):

    .venv/bin/python tests/benchmarks/bench_phantom.py [--cases 100] [--learnability]

- phantom generation speed (images/s, DICOM written to a temporary folder);
- per-image cost of the importer's path: decode DICOM, find the region, blank, display rendition,
  thumbnail, model-input crop;
- with --learnability: trains a small CNN on the 1.3x ROI crops (histogram-equalised, 64x64, as the
  seed study's preprocessing at a smaller size) of the train cohort and prints the case-level AUC
  (soft vote) on validation + internal test and on the external test. The phantom's features must
  be learnable (AUC >= 0.85) but not trivially (AUC < 1).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script from anywhere

from fixtures.phantom import generate_phantom_study, iter_study
from readerstudy.studies.imaging import (
    blank_outside,
    decode,
    model_input_crop,
    render_display,
    render_thumbnail,
    ultrasound_region,
)
from tests.benchmarks._django import scratch_dir


def bench_generation(cases: int) -> Path:
    out = scratch_dir("phantom-bench-")
    started = time.perf_counter()
    manifest = generate_phantom_study(cases=cases, seed=11, out=out, fmt="dicom")
    elapsed = time.perf_counter() - started
    with manifest.open() as handle:
        n = sum(1 for _ in handle) - 1
    print(
        f"phantom: {n} images ({cases} cases) as DICOM in {elapsed:.2f} s "
        f"= {n / elapsed:.1f} images/s"
    )
    return manifest


def bench_import_path(manifest: Path) -> None:
    rows = list(csv.DictReader(manifest.open()))
    stages = dict.fromkeys(("decode", "region", "blank", "display", "thumbnail", "crop"), 0.0)
    sizes = []
    for row in rows:
        t0 = time.perf_counter()
        image = decode(manifest.parent / row["file"])
        t1 = time.perf_counter()
        region = ultrasound_region(image.dataset, image.rgb)
        assert region is not None
        t2 = time.perf_counter()
        clean = blank_outside(image.rgb, region)
        t3 = time.perf_counter()
        sizes.append(len(render_display(clean)))
        t4 = time.perf_counter()
        render_thumbnail(clean)
        t5 = time.perf_counter()
        roi = (int(row["roi_x"]), int(row["roi_y"]), int(row["roi_w"]), int(row["roi_h"]))
        model_input_crop(clean, roi)
        t6 = time.perf_counter()
        for key, seconds in zip(
            stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5), strict=True
        ):
            stages[key] += seconds
    per_image = ", ".join(f"{k} {1000 * v / len(rows):.1f} ms" for k, v in stages.items())
    print(
        f"import path per image: {per_image}; "
        f"total {1000 * sum(stages.values()) / len(rows):.1f} ms"
    )
    print(
        f"display rendition: mean {np.mean(sizes) / 1024:.0f} KiB, max {max(sizes) / 1024:.0f} KiB"
    )
    started = time.perf_counter()
    for row in rows[:50]:
        image = decode(manifest.parent / row["file"])
        detected = ultrasound_region(None, image.rgb)  # the path JPEG/PNG imports take
        assert detected is not None
    per_image_ms = 1000 * (time.perf_counter() - started) / min(50, len(rows))
    print(f"sector detection without a header (decode included): {per_image_ms:.1f} ms/image")


def learnability(cases: int, seed: int) -> None:
    import torch
    from sklearn.metrics import roc_auc_score
    from torch import nn

    torch.manual_seed(seed)
    torch.set_num_threads(2)
    crops, labels, cohorts, case_ids = [], [], [], []
    started = time.perf_counter()
    for image in iter_study(cases=cases, seed=seed):
        grey = cv2.cvtColor(model_input_crop(image.rgb, image.view.roi), cv2.COLOR_RGB2GRAY)
        crops.append(cv2.resize(cv2.equalizeHist(grey), (64, 64), interpolation=cv2.INTER_AREA))
        labels.append(image.case.truth == "malignant")
        cohorts.append(image.patient.cohort)
        case_ids.append(image.case.case_id)
    print(f"learnability: {len(crops)} crops in {time.perf_counter() - started:.0f} s")
    x = torch.tensor(np.stack(crops)[:, None] / 255.0, dtype=torch.float32)
    y = torch.tensor(labels, dtype=torch.float32)
    train = np.flatnonzero(np.array(cohorts) == "train")

    def block(cin: int, cout: int) -> nn.Sequential:
        return nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2)
        )

    model = nn.Sequential(
        *(block(cin, cout) for cin, cout in ((1, 16), (16, 32), (32, 64), (64, 64))),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Dropout(0.3),
        nn.Linear(64, 1),
    )
    optimiser = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-3)
    positive = float(y[train].mean())
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=torch.tensor((1 - positive) / positive))
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    for _epoch in range(25):
        model.train()
        for batch in np.array_split(rng.permutation(train), max(1, len(train) // 32)):
            xb = x[batch]
            if rng.random() < 0.5:
                xb = torch.flip(xb, dims=[3])  # horizontal flip, as in the seed's augmentation
            optimiser.zero_grad()
            loss_fn(model(xb).squeeze(1), y[batch]).backward()
            optimiser.step()
    model.eval()
    with torch.inference_mode():
        prob = torch.sigmoid(model(x).squeeze(1)).numpy()
    print(f"learnability: trained in {time.perf_counter() - started:.0f} s")
    for name, wanted in (
        ("validation+internal_test", {"validation", "internal_test"}),
        ("external_test", {"external_test"}),
    ):
        by_case: dict[str, list[float]] = {}
        truth: dict[str, bool] = {}
        for i, cohort in enumerate(cohorts):
            if cohort in wanted:
                by_case.setdefault(case_ids[i], []).append(float(prob[i]))
                truth[case_ids[i]] = bool(labels[i])
        ids = sorted(by_case)
        auc = roc_auc_score([truth[c] for c in ids], [np.mean(by_case[c]) for c in ids])
        print(f"learnability: case-level AUC on {name} ({len(ids)} cases) = {auc:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100)
    parser.add_argument("--learnability", action="store_true")
    parser.add_argument("--learn-cases", type=int, default=800)
    args = parser.parse_args()
    bench_import_path(bench_generation(args.cases))
    if args.learnability:
        learnability(args.learn_cases, seed=5)


if __name__ == "__main__":
    main()
