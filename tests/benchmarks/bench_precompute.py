"""Precompute throughput, printed (not a timed test): probability + Grad-CAM heatmap per image.

    .venv/bin/python tests/benchmarks/bench_precompute.py [--quick] [--threads N] [--batch N]

For each architecture and path, images/s (median over repeats):
- `library`: pytorch-grad-cam's default `GradCAM` path (fp32; its forward gives the probability);
- `fp32`, `channels_last`, `bf16+cl`: ours (`inference.cam.logits_and_cams`), the last only where
  the predictor's measured check keeps probabilities within 0.01 of fp32;
- model-only (a ready, normalised batch) and end to end (read a cached crop PNG from disk → decode
  → equalise/resize → probability + heatmap → 8-bit PNG bytes), the way precompute runs: the
  importer caches each image's model-input crop, so end to end starts from that PNG.
ResNet18 runs a model trained here on phantoms (224 px; cached under var/bench/), on which the
largest |p − p_fp32| of the path used is reported; the other four run freshly initialised weights
(speed does not depend on the values), with a smaller batch because VGG16 is slow on a CPU.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script from anywhere

from pytorch_grad_cam import GradCAM

from fixtures.phantom import generate_phantom_study
from inference.cam import heatmap_png, logits_and_cams
from inference.checkpoint import ModelBundle, ModelMeta, load_bundle, save_bundle
from inference.data import decode_file, prepare_dataset, read_manifest
from inference.predictor import Predictor
from inference.preprocess import Preprocessing, enlarged_box, model_input, normalise
from inference.train import TrainConfig, make_bundle, train_model
from inference.zoo import ARCHITECTURES, create_model, target_layer

CACHE = Path(__file__).resolve().parents[2] / "var" / "bench"


def decode_crop(path: Path) -> np.ndarray:
    """A cached crop PNG from disk → 8-bit RGB (the importer writes RGB crops)."""
    bgr = cv2.imdecode(np.frombuffer(path.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"cannot decode {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def median_rate(run: Callable[[], object], images: int, repeats: int) -> float:
    run()  # warm-up: oneDNN picks and caches its kernels on the first call
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return images / statistics.median(times)


def phantom_crops(cases: int, out: Path) -> tuple[Path, list[Path]]:
    """A phantom study and its cached model-input crops (PNG), as the importer stores them."""
    manifest = generate_phantom_study(cases=cases, seed=21, out=out, fmt="jpeg")
    crops = []
    for i, image in enumerate(read_manifest(manifest)):
        rgb = decode_file(image.file)
        box = enlarged_box(image.roi, rgb.shape)
        path = out / "crops" / f"{i:04d}.png"
        path.parent.mkdir(exist_ok=True)
        crop = cv2.cvtColor(rgb[box.y0 : box.y1, box.x0 : box.x1], cv2.COLOR_RGB2BGR)
        cv2.imwrite(str(path), crop)
        crops.append(path)
    return manifest, crops


def trained_resnet18(manifest: Path, *, size: int, epochs: int, fresh: bool) -> Path:
    path = CACHE / f"resnet18-{size}px-{epochs}ep.ckpt"
    if path.exists() and not fresh:
        print(f"trained model: {path} (cached; --fresh retrains)")
        return path
    spec = Preprocessing(size=size)
    data = prepare_dataset(read_manifest(manifest), spec)
    train, validation = data.cohort("train"), data.cohort("validation", "internal_test")
    config = TrainConfig.quick(epochs=epochs, patience=epochs, threads=1, progress=True)
    started = time.perf_counter()
    result = train_model(train, validation, spec, config)
    CACHE.mkdir(parents=True, exist_ok=True)
    save_bundle(make_bundle(result, spec, validation), path)
    print(
        f"trained ResNet18 at {size} px on {len(train)} phantom images for {len(result.history)} "
        f"epochs in {time.perf_counter() - started:.0f} s: validation AUC "
        f"{result.best_validation_auc:.3f} -> {path}"
    )
    return path


def library_path(
    model: torch.nn.Module, layer: torch.nn.Module
) -> Callable[[torch.Tensor], tuple[np.ndarray, np.ndarray]]:
    cam = GradCAM(model=model, target_layers=[layer])

    def run(x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        maps = cam(input_tensor=x, targets=None)  # default: the top "class", i.e. the one logit
        return torch.sigmoid(cam.outputs[:, 0]).detach().numpy(), maps

    return run


def bench_architecture(
    name: str, bundle: ModelBundle, crops: list[Path], *, batch: int, repeats: int
) -> dict[str, float | str | None]:
    spec = bundle.preprocessing
    pngs = crops[:batch]
    grey = torch.from_numpy(np.stack([model_input(decode_crop(p), None, spec)[0] for p in pngs]))
    x = normalise(grey, spec)
    row: dict[str, float | str | None] = {}

    model = bundle.model.eval()
    library = library_path(model, target_layer(model, name))
    row["library"] = median_rate(lambda: library(x), len(pngs), repeats)

    def end_to_end_library() -> None:
        images = [decode_crop(p) for p in pngs]
        batch_x = normalise(
            torch.from_numpy(np.stack([model_input(i, None, spec)[0] for i in images])), spec
        )
        _, maps = library(batch_x)
        [heatmap_png(m) for m in np.round(maps * 255).astype(np.uint8)]

    row["library e2e"] = median_rate(end_to_end_library, len(pngs), repeats)

    for label, channels_last, bf16 in (
        ("fp32", False, False),
        ("channels_last", True, False),
        ("bf16+cl", True, True),
    ):
        predictor = Predictor(
            ModelBundle(model, spec, bundle.meta, bundle.calibration),
            device="cpu", channels_last=channels_last, allow_bf16=bf16,
        ).load()  # fmt: skip
        if bf16:
            row["bf16 max |dp| (check)"] = predictor.bf16_max_difference
            if predictor.precision != "bf16":
                row[label] = row[f"{label} e2e"] = "refused"
                continue
        xin = x.contiguous(memory_format=torch.channels_last) if channels_last else x
        model_only = functools.partial(
            logits_and_cams,
            predictor.bundle.model,
            predictor._layer,
            xin,
            autocast_dtype=predictor.autocast_dtype,
        )
        row[label] = median_rate(model_only, len(pngs), repeats)

        def end_to_end(p: Predictor = predictor) -> None:
            images = [decode_crop(f) for f in pngs]
            out = p(images)
            assert out.heatmaps is not None
            [heatmap_png(h) for h in out.heatmaps]

        row[f"{label} e2e"] = median_rate(end_to_end, len(pngs), repeats)
        model = predictor.bundle.model.to(memory_format=torch.contiguous_format)
    return row


def probability_gap(checkpoint: Path, crops: list[Path]) -> None:
    """On the trained model: the path precompute uses against plain fp32, over every crop."""
    images = [decode_crop(p) for p in crops]
    used = Predictor(checkpoint, device="cpu").load()
    reference = Predictor(checkpoint, device="cpu", channels_last=False, allow_bf16=False).load()
    a, b = used(images), reference(images)
    assert a.heatmaps is not None
    assert b.heatmaps is not None
    gap = np.abs(a.probabilities - b.probabilities)
    heat = np.abs(a.heatmaps.astype(int) - b.heatmaps.astype(int))
    print(
        f"trained ResNet18, path used = {used.precision}{'+channels_last' if used.channels_last else ''}: "
        f"max |p - p_fp32| = {gap.max():.4f} over {len(images)} phantom crops (calibration check "
        f"{used.bf16_max_difference}); heatmaps differ by at most {heat.max()} / 255 "
        f"(mean {heat.mean():.2f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer images, repeats and epochs")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's)"
    )
    parser.add_argument("--batch", type=int, default=32, help="batch size for ResNet18")
    parser.add_argument("--size", type=int, default=224, help="model input (the seed: 224)")
    parser.add_argument("--fresh", action="store_true", help="retrain the cached ResNet18")
    parser.add_argument("--architectures", nargs="*", default=list(ARCHITECTURES))
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    repeats = 2 if args.quick else 5
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.size} px, CPU; "
        f"load average {os.getloadavg()[0]:.1f} (the cores are shared: figures move with it)"
    )
    with tempfile.TemporaryDirectory(prefix="bench-precompute-") as folder:
        manifest, crops = phantom_crops(60 if args.quick else 160, Path(folder))
        checkpoint = trained_resnet18(
            manifest, size=args.size, epochs=1 if args.quick else 3, fresh=args.fresh
        )
        probability_gap(checkpoint, crops)
        print(f"{'architecture':<13} {'batch':>5}  " + "  ".join(f"{c:>14}" for c in COLUMNS))
        for name in args.architectures:
            if name == "resnet18":
                bundle, batch = load_bundle(checkpoint), args.batch
            else:
                torch.manual_seed(0)
                bundle = ModelBundle(
                    create_model(name), Preprocessing(size=args.size), ModelMeta(name)
                )
                batch = max(4, args.batch // 4)
            row = bench_architecture(
                name, bundle, crops, batch=batch, repeats=max(2, repeats - (name != "resnet18") * 2)
            )
            print(
                f"{name:<13} {batch:>5}  "
                + "  ".join(cell(k, row.get(k)) for k in COLUMNS)
                + f"   (load {os.getloadavg()[0]:.1f})",
                flush=True,
            )
            if name == "resnet18" and isinstance(row["library"], float):
                best = max(
                    (
                        v
                        for k, v in row.items()
                        if k in ("fp32", "channels_last", "bf16+cl") and isinstance(v, float)
                    ),
                    default=0.0,
                )
                print(
                    f"{'':<13} {'':>5}  ResNet18 ours/library: {best / row['library']:.1f}x model-only"
                )


def cell(key: str, value: object) -> str:
    if isinstance(value, float):
        return f"{value:>14.4f}" if "dp" in key else f"{value:>14.1f}"
    return f"{value!s:>14}"


COLUMNS = (
    "library",
    "fp32",
    "channels_last",
    "bf16+cl",
    "library e2e",
    "fp32 e2e",
    "channels_last e2e",
    "bf16+cl e2e",
    "bf16 max |dp| (check)",
)

if __name__ == "__main__":
    main()
