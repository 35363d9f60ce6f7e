"""Precompute throughput, printed (not a timed test): probability + Grad-CAM heatmap per image.

    .venv/bin/python tests/benchmarks/bench_precompute.py [--quick] [--threads N] [--batch N]
    .venv/bin/python tests/benchmarks/bench_precompute.py --device cuda --batch 256   # on a GPU

For each architecture and path, images/s (median over repeats):
- `library`: pytorch-grad-cam's default `GradCAM` path (fp32; its forward gives the probability);
- `fp32`, `channels_last`, `bf16+cl`, `bf16+cl+compile`: ours (`inference.predictor.Predictor`:
  one forward pass for pooled-linear heads, autograd Grad-CAM for VGG), bf16 only where the
  predictor's measured check keeps probabilities within 0.01 of fp32, and the last with
  `torch.compile` (frozen weights; "compile s" is its load time, compile included; VGG: n/a);
- model-only (a ready batch of equalised 8-bit crops) and end to end (read a cached crop PNG
  from disk → decode → equalise/resize → probability + heatmap → 8-bit PNG bytes), the way
  precompute runs: the importer caches each image's model-input crop, so end to end starts
  from that PNG.
For ResNet18 also: where end to end spends its time, stage by stage; the library against our bf16
paths alternating round by round (both under the same load); and the pass's GFLOP/s against a
bf16 matrix product on the same device, i.e. how much faster the hardware could go.
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
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script from anywhere

from pytorch_grad_cam import GradCAM

from fixtures.phantom import generate_phantom_study
from inference.cam import heatmap_png
from inference.checkpoint import ModelBundle, ModelMeta, load_bundle, save_bundle
from inference.data import decode_file, prepare_dataset, read_manifest
from inference.predictor import Predictor, PreparedBatch
from inference.preprocess import Preprocessing, enlarged_box, model_input, normalise
from inference.train import TrainConfig, make_bundle, train_model
from inference.zoo import ARCHITECTURES, create_model, target_layer

CACHE = Path(__file__).resolve().parents[2] / "var" / "bench"
DEVICE = torch.device("cpu")  # --device


def decode_crop(path: Path) -> np.ndarray:
    """A cached crop PNG from disk → 8-bit RGB (the importer writes RGB crops)."""
    bgr = cv2.imdecode(np.frombuffer(path.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"cannot decode {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def timed(run: Callable[[], object]) -> float:
    """Seconds for one call, waiting for the GPU's queued work (CUDA runs asynchronously)."""
    started = time.perf_counter()
    run()
    if DEVICE.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started


def median_rate(run: Callable[[], object], images: int, repeats: int) -> float:
    timed(run)  # warm-up: oneDNN / cuDNN pick and cache their kernels on the first call
    return images / statistics.median(timed(run) for _ in range(repeats))


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
    config = TrainConfig.quick(
        epochs=epochs,
        patience=epochs,
        threads=1 if DEVICE.type == "cpu" else None,
        device=str(DEVICE),
        progress=True,
    )
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


def library_path(cam: GradCAM) -> Callable[[torch.Tensor], tuple[np.ndarray, np.ndarray]]:
    def run(x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        maps = cam(input_tensor=x, targets=None)  # default: the top "class", i.e. the one logit
        return torch.sigmoid(cam.outputs[:, 0]).detach().cpu().numpy(), maps

    return run


def bench_architecture(
    name: str, bundle: ModelBundle, crops: list[Path], *, batch: int, repeats: int
) -> dict[str, float | str | None]:
    spec = bundle.preprocessing
    pngs = crops[:batch]
    grey = torch.from_numpy(np.stack([model_input(decode_crop(p), None, spec)[0] for p in pngs]))
    x = normalise(grey, spec).to(DEVICE)  # the library gets the same normalised batch
    row: dict[str, float | str | None] = {}

    model = bundle.model.eval().to(DEVICE)
    # The library's hooks are released on leaving the block: our predictors trace the model.
    with GradCAM(model=model, target_layers=[target_layer(model, name)]) as cam:
        library = library_path(cam)
        row["library"] = median_rate(lambda: library(x), len(pngs), repeats)

        def end_to_end_library() -> None:
            images = [decode_crop(p) for p in pngs]
            batch_x = normalise(
                torch.from_numpy(np.stack([model_input(i, None, spec)[0] for i in images])), spec
            ).to(DEVICE)
            _, maps = library(batch_x)
            [heatmap_png(m) for m in np.round(maps * 255).astype(np.uint8)]

        row["library e2e"] = median_rate(end_to_end_library, len(pngs), repeats)

    prepared = PreparedBatch(grey, [])
    for label, channels_last, bf16, compiled in PATHS:
        started = time.perf_counter()
        predictor = Predictor(
            ModelBundle(model, spec, bundle.meta, bundle.calibration),
            device=str(DEVICE), channels_last=channels_last, allow_bf16=bf16,
            compile_model=compiled, batch_size=len(pngs),
        ).load()  # fmt: skip
        if compiled:
            row["compile s"] = time.perf_counter() - started
            if not predictor.compiled:
                row[label] = row[f"{label} e2e"] = "n/a"  # the autograd path is not compiled
                continue
        if bf16:
            row["bf16 max |dp| (check)"] = predictor.bf16_max_difference
            if predictor.precision != "bf16":
                row[label] = row[f"{label} e2e"] = "refused"
                continue
        row[label] = median_rate(functools.partial(predictor.predict, prepared), len(pngs), repeats)

        def end_to_end(p: Predictor = predictor) -> None:
            images = [decode_crop(f) for f in pngs]
            out = p(images)
            assert out.heatmaps is not None
            [heatmap_png(h) for h in out.heatmaps]

        row[f"{label} e2e"] = median_rate(end_to_end, len(pngs), repeats)
        model = predictor.bundle.model.to(memory_format=torch.contiguous_format)
    return row


def paired_ratios(
    checkpoint: Path, crops: list[Path], *, batch: int, rounds: int
) -> dict[str, list[float]]:
    """ResNet18, the library against each of our bf16 paths in alternation, round by round, so
    both see the same load on this shared machine: per round, library time / our time."""
    bundle = load_bundle(checkpoint)
    spec = bundle.preprocessing
    grey = torch.from_numpy(
        np.stack([model_input(decode_crop(p), None, spec)[0] for p in crops[:batch]])
    )
    x = normalise(grey, spec).to(DEVICE)
    ours = {
        label: functools.partial(
            Predictor(checkpoint, device=str(DEVICE), compile_model=compiled, batch_size=batch)
            .load()
            .predict,
            PreparedBatch(grey, []),
        )
        for label, compiled in (("bf16+cl", False), ("bf16+cl+compile", True))
    }
    ratios: dict[str, list[float]] = {label: [] for label in ours}
    model = bundle.model.eval().to(DEVICE)
    with GradCAM(model=model, target_layers=[target_layer(model, "resnet18")]) as cam:
        library = library_path(cam)
        library(x)
        for run in ours.values():
            run()
        for _ in range(rounds):
            library_time = timed(lambda: library(x))
            for label, run in ours.items():
                ours_time = statistics.median(timed(run) for _ in range(3))
                ratios[label].append(library_time / ours_time)
    return ratios


def conv_ceiling(bundle: ModelBundle, rate: float) -> str:
    """How close a path's images/s is to this machine's bf16 arithmetic: the model's FLOPs per
    image (torch's FLOP counter, convolutions and the head) at `rate`, against a large bf16
    matrix product, about the best rate oneDNN reaches here."""
    size = bundle.preprocessing.size
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        bundle.model.eval()(torch.zeros(1, 3, size, size, device=DEVICE))
    flops = counter.get_total_flops()
    a = torch.randn(2048, 2048, dtype=torch.bfloat16, device=DEVICE)
    matmul = median_rate(lambda: a @ a, 1, 5) * 2 * 2048**3
    return (
        f"{flops / 1e9:.2f} GFLOP per image: at {rate:.0f} images/s that is "
        f"{rate * flops / 1e9:.0f} GFLOP/s, {rate * flops / matmul:.0%} of this machine's bf16 "
        f"2048² matrix product ({matmul / 1e9:.0f} GFLOP/s), whose rate would give "
        f"{matmul / flops:.0f} images/s"
    )


def stage_times(checkpoint: Path, crops: list[Path], *, batch: int, repeats: int) -> str:
    """Where end to end goes, per image (ms), on the path precompute takes by default here
    (compiled on CUDA, eager on a CPU: INFERENCE_COMPILE=auto)."""
    predictor = Predictor(
        checkpoint, device=str(DEVICE), compile_model=DEVICE.type == "cuda", batch_size=batch
    ).load()
    pngs = crops[:batch]
    data = [p.read_bytes() for p in pngs]
    images = [decode_crop(p) for p in pngs]
    prepared = predictor.preprocess(images)
    probabilities, cams = predictor.predict(prepared)
    out = predictor.postprocess(prepared, probabilities, cams)
    assert out.heatmaps is not None
    heatmaps = out.heatmaps
    stages: dict[str, Callable[[], object]] = {
        "read + decode PNG": lambda: [
            cv2.imdecode(np.frombuffer(d, np.uint8), cv2.IMREAD_COLOR) for d in data
        ],
        "equalise + resize": lambda: predictor.preprocess(images),
        "model (to device, probability + heatmap)": lambda: predictor.predict(prepared),
        "to 8-bit on the host": lambda: predictor.postprocess(prepared, probabilities, cams),
        "encode PNG": lambda: [heatmap_png(h) for h in heatmaps],
    }
    parts = [
        f"{label} {1000 / median_rate(run, len(pngs), repeats):.2f}"
        for label, run in stages.items()
    ]
    return f"{predictor.path}, ms per image: " + ", ".join(parts)


def probability_gap(checkpoint: Path, crops: list[Path], *, batch: int) -> None:
    """On the trained model: the paths precompute takes (eager, compiled) against plain fp32
    (autograd Grad-CAM, no folding, no channels_last), over every crop."""
    images = [decode_crop(p) for p in crops]
    reference = Predictor(
        checkpoint,
        device=str(DEVICE),
        channels_last=False,
        fold_bn=False,
        allow_bf16=False,
        autograd=True,
    ).load()
    b = reference(images)
    assert b.heatmaps is not None
    for compiled in (False, True):
        used = Predictor(
            checkpoint, device=str(DEVICE), compile_model=compiled, batch_size=batch
        ).load()
        a = used(images)
        assert a.heatmaps is not None
        gap = np.abs(a.probabilities - b.probabilities)
        heat = np.abs(a.heatmaps.astype(int) - b.heatmaps.astype(int))
        print(
            f"trained ResNet18, {used.path}: max |p - p_fp32| = {gap.max():.4f} over "
            f"{len(images)} phantom crops (calibration check {used.bf16_max_difference}); "
            f"heatmaps differ by at most {heat.max()} / 255 (mean {heat.mean():.2f})"
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
    parser.add_argument("--device", default="cpu", help="cpu or cuda (then try --batch 256)")
    args = parser.parse_args()
    global DEVICE
    DEVICE = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    repeats = 2 if args.quick else 5
    where = torch.cuda.get_device_name(DEVICE) if DEVICE.type == "cuda" else "CPU"
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.size} px, {where}; "
        f"load average {os.getloadavg()[0]:.1f} (the cores are shared: figures move with it)"
    )
    with tempfile.TemporaryDirectory(prefix="bench-precompute-") as folder:
        manifest, crops = phantom_crops(60 if args.quick else 160, Path(folder))
        checkpoint = trained_resnet18(
            manifest, size=args.size, epochs=1 if args.quick else 3, fresh=args.fresh
        )
        probability_gap(checkpoint, crops, batch=args.batch)
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
            library = row["library"]
            if isinstance(library, float):
                ratios = ", ".join(
                    f"{label} {value / library:.1f}x"
                    for label, *_ in PATHS
                    if isinstance(value := row.get(label), float)
                )
                print(f"{'':<13} {'':>5}  {name} ours / library, model-only: {ratios}")
            best = row.get("bf16+cl+compile")
            if name == "resnet18" and isinstance(best, float):
                print(f"{'':<13} {'':>5}  resnet18 {conv_ceiling(bundle, best)}")
        if "resnet18" in args.architectures:
            print(
                "resnet18 end to end, "
                + stage_times(checkpoint, crops, batch=args.batch, repeats=repeats)
            )
            rounds = 3 if args.quick else 7
            paired = paired_ratios(checkpoint, crops, batch=args.batch, rounds=rounds)
            for label, values in paired.items():
                print(
                    f"resnet18 {label} / library, alternating in {rounds} rounds: median "
                    f"{statistics.median(values):.1f}x (range {min(values):.1f}-{max(values):.1f})"
                )


def cell(key: str, value: object) -> str:
    if isinstance(value, float):
        return f"{value:>14.4f}" if "dp" in key else f"{value:>14.1f}"
    return f"{value!s:>14}"


# (label, channels_last, bf16 where the check allows, torch.compile): ours, model-only columns
PATHS = (
    ("fp32", False, False, False),
    ("channels_last", True, False, False),
    ("bf16+cl", True, True, False),
    ("bf16+cl+compile", True, True, True),
)
COLUMNS = (
    "library",
    *(p[0] for p in PATHS),
    "library e2e",
    *(f"{p[0]} e2e" for p in PATHS),
    "bf16 max |dp| (check)",
    "compile s",
)

if __name__ == "__main__":
    main()
