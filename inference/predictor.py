"""The precompute predictor: load a checkpoint once, then images → malignancy probabilities and
8-bit Grad-CAM heatmaps in batches, as plain numpy arrays; and the case-level soft vote.

    predictor = Predictor("model.ckpt").load()
    out = predictor(images, rois)            # preprocess → predict → postprocess
    out.probabilities, out.heatmaps, out.boxes

Speed decisions, each measured by tests/benchmarks/bench_precompute.py:
- the device is chosen automatically (cuda > mps > cpu) and the model runs channels_last, with
  batch-norm folded into the convolutions (`fold_batch_norm`);
- the heatmap comes out of the same forward pass as the probability. For pooled-linear heads
  (ResNets, MobileNetV2) Grad-CAM's gradient is the head's weight (`inference.cam.PooledHeadCam`),
  so the pass is pure inference (`inference_mode()`); for VGG, autograd differentiates only the
  layers after the Grad-CAM layer (`inference.cam.logits_and_cams`, weights frozen);
- `compile_model=True` runs the pure pass through `torch.compile` with frozen weights, at one
  fixed batch size (`batch_size`; a shorter batch is padded with blank images, which cannot
  change the others' results in eval mode), compiled and warmed up in `load()`; if compiling
  fails (no C++ compiler, an unsupported op) the predictor stays eager and says why in
  `compile_error`. On the 2-core development CPU it made ResNet18 bf16 1.04–1.13× faster after a
  ~15 s compile, so the adapter compiles on CUDA only unless INFERENCE_COMPILE=on;
- bf16 autocast is used only when the hardware has native bf16 and a measured check on the loaded
  model keeps every probability within `tolerance` (0.01) of fp32: at `load()` the predictor runs a
  calibration batch (crops passed to `load()`, else the checkpoint's validation crops, else
  synthetic speckle) through the path it will use (compiled or not) and through plain fp32, and
  records the largest difference in `bf16_max_difference`. On ResNet18s trained on phantoms
  (112 and 224 px) bf16 moved probabilities by at most 0.006 over 346 phantom crops (0.003–0.005
  on the calibration crops), so bf16 was used; heatmaps moved by at most 4/255.
  A case whose soft vote lies within `bf16_margin` of the threshold could still change class, so
  precompute recomputes its images with `predict_fp32` (`cases_near_threshold` picks them);
`path` names the result, e.g. "bf16+channels_last+compiled"; precompute stores it with each
prediction.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import cv2
import numpy as np
import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from analysis.model import soft_vote
from inference.cam import TARGETS, PooledHeadCam, logits_and_cams, to_uint8
from inference.checkpoint import ModelBundle, load_bundle
from inference.preprocess import CropBox, Roi, model_input, normalise
from inference.zoo import architecture, target_layer

log = logging.getLogger(__name__)
CamForward = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def choose_device(preferred: str | None = None) -> torch.device:
    if preferred:
        return torch.device(preferred)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def native_bf16(device: torch.device) -> bool:
    """Whether bf16 matmuls/convolutions run in hardware (elsewhere bf16 is emulated and slower)."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if device.type == "cpu":
        with contextlib.suppress(AttributeError, RuntimeError):
            return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    return False


def fold_batch_norm(model: nn.Module) -> nn.Module:
    """Fold each eval-mode BatchNorm2d into the Conv2d before it (in place), keeping module
    names so the Grad-CAM layer is still found: a Conv2d followed by a BatchNorm2d in a
    Sequential (MobileNetV2, torchvision's Conv2dNormActivation) or a `convN`/`bnN` pair
    (ResNet blocks; `downsample` is a Sequential). The outputs are unchanged up to rounding
    (~1e-6); the saved memory passes made ResNet18 ~10 % and MobileNetV2 ~50 % faster here."""
    for module in list(model.modules()):
        children = dict(module.named_children())
        for name, child in children.items():
            if not isinstance(child, nn.Conv2d):
                continue
            if isinstance(module, nn.Sequential):
                bn_name = str(int(name) + 1) if name.isdigit() else ""
            else:
                bn_name = "bn" + name[4:] if name.startswith("conv") else ""
            bn = children.get(bn_name)
            if isinstance(bn, nn.BatchNorm2d) and bn.track_running_stats:
                setattr(module, name, fuse_conv_bn_eval(child, bn))
                setattr(module, bn_name, nn.Identity())
    return model


def synthetic_calibration(size: int, n: int = 16, seed: int = 0) -> np.ndarray:
    """Speckle-like equalised images, for checkpoints that carry no calibration crops."""
    rng = np.random.default_rng(seed)
    images = []
    for _ in range(n):
        field = np.abs(rng.normal(size=(size, size)) + 1j * rng.normal(size=(size, size)))
        field = cv2.GaussianBlur(field, (0, 0), 1.0)
        grey = (255 * (field - field.min()) / np.ptp(field)).astype(np.uint8)
        images.append(cv2.equalizeHist(grey))
    return np.stack(images)


@dataclass(frozen=True)
class PreparedBatch:
    inputs: torch.Tensor  # uint8 (N, S, S) equalised crops, on the CPU
    boxes: list[CropBox]  # each crop's box in its source image


@dataclass(frozen=True)
class Predictions:
    probabilities: np.ndarray  # float32 (N,)
    heatmaps: np.ndarray | None  # uint8 (N, S, S) on the model input (the crop), or None
    boxes: list[CropBox]


class Predictor:
    """Loads a checkpoint once and runs batched predictions with heatmaps. Given a ModelBundle
    instead of a checkpoint, it takes the bundle's model over (frozen, folded, moved)."""

    def __init__(
        self,
        checkpoint: Path | str | bytes | IO[bytes] | ModelBundle,
        *,
        expected_sha256: str | None = None,
        device: str | None = None,
        channels_last: bool = True,
        fold_bn: bool = True,
        allow_bf16: bool = True,
        tolerance: float = 0.01,
        heatmap_target: str = "predicted",
        compile_model: bool = False,
        batch_size: int = 64,
        autograd: bool = False,
        require_native_bf16: bool = True,
    ) -> None:
        if heatmap_target not in TARGETS:
            raise ValueError(f"heatmap_target must be one of {TARGETS}, not {heatmap_target!r}")
        self.checkpoint = checkpoint
        self.expected_sha256 = expected_sha256
        self.device = choose_device(device)
        self.channels_last = channels_last
        self.fold_bn = fold_bn
        self.allow_bf16 = allow_bf16
        self.tolerance = tolerance
        self.heatmap_target = heatmap_target  # see inference.cam: the predicted class's evidence
        self.compile_model = compile_model
        self.autograd = autograd  # Grad-CAM by autograd even for a pooled head (the reference)
        # False tries bf16 where it is only emulated (slower, same arithmetic): for tests on CPUs.
        self.require_native_bf16 = require_native_bf16
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        self.batch_size = batch_size  # the compiled graph's fixed batch; shorter ones are padded
        self.autocast_dtype: torch.dtype | None = None
        self.bf16_max_difference: float | None = None
        self.compiled = False
        self.compile_error: str | None = None
        self._bundle: ModelBundle | None = None
        self._cam_forward: CamForward | None = None
        self._pooled: PooledHeadCam | None = None
        self._fp32_forward: CamForward | None = None

    @property
    def bundle(self) -> ModelBundle:
        if self._bundle is None:
            raise RuntimeError("call Predictor.load() first")
        return self._bundle

    @property
    def precision(self) -> str:
        return "bf16" if self.autocast_dtype == torch.bfloat16 else "fp32"

    @property
    def path(self) -> str:
        """The path probabilities and heatmaps take, e.g. "bf16+channels_last+compiled"."""
        parts = [self.precision, "channels_last" if self.channels_last else ""]
        parts += ["compiled" if self.compiled else "", "autograd" if self._pooled is None else ""]
        return "+".join(p for p in parts if p)

    def load(self, calibration: np.ndarray | None = None) -> Predictor:
        """Read and verify the checkpoint, place the model, and decide bf16 by measurement."""
        bundle = (
            self.checkpoint
            if isinstance(self.checkpoint, ModelBundle)  # already loaded (benchmarks, training)
            else load_bundle(self.checkpoint, expected_sha256=self.expected_sha256)
        )
        model = bundle.model.eval().requires_grad_(False)
        if self.fold_bn:
            model = fold_batch_norm(model)
        model = model.to(self.device)
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last)
        bundle.model = model
        self._bundle = bundle
        arch = architecture(bundle.meta.architecture)
        self._layer = target_layer(model, arch.name)
        self._pooled = (
            PooledHeadCam(model, arch, target=self.heatmap_target)
            if arch.pooled_head and not self.autograd
            else None
        )
        self.autocast_dtype = None
        self._fp32_forward = None
        if self.allow_bf16 and (native_bf16(self.device) or not self.require_native_bf16):
            if calibration is None:
                calibration = bundle.calibration
            if calibration is None:
                calibration = synthetic_calibration(bundle.preprocessing.size)
            self.autocast_dtype = torch.bfloat16
            self._build()
            self.bf16_max_difference = self.measure_bf16(calibration)
            if self.bf16_max_difference > self.tolerance:
                self.autocast_dtype = None
                self._build()
        else:
            self._build()
        return self

    def _build(self) -> None:
        """Set the probability + heatmap pass for the current precision: autograd Grad-CAM, or
        for pooled-linear heads one pure forward, compiled when asked (and warmed up here, so a
        failed compile falls back to eager at load, not midway through a job)."""
        model, dtype, device = self.bundle.model, self.autocast_dtype, self.device.type
        if self._pooled is None:

            def autograd(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
                return logits_and_cams(
                    model, self._layer, x, autocast_dtype=dtype, target=self.heatmap_target
                )

            self._cam_forward = autograd
            return
        pooled = _Autocast(self._pooled, device, dtype).eval()
        self._cam_forward = _inference(pooled)
        self.compiled, self.compile_error = False, None
        if not self.compile_model:
            return
        try:
            compiled = _inference(torch.compile(pooled, dynamic=False, options={"freezing": True}))
            size = self.bundle.preprocessing.size
            warm = torch.zeros(self.batch_size, 3, size, size, device=self.device)
            compiled(
                warm.contiguous(memory_format=torch.channels_last) if self.channels_last else warm
            )
        except Exception as error:  # a missing C++ compiler, an unsupported op, …: stay eager
            self.compile_error = f"{type(error).__name__}: {error}"
            log.warning("torch.compile failed, running eager: %s", self.compile_error)
            return
        self._cam_forward, self.compiled = compiled, True

    @property
    def bf16_margin(self) -> float:
        """How far from the threshold a soft vote of bf16 probabilities must lie for its class
        to be the fp32 class (0 in fp32): a case's vote moves by at most its images' largest
        difference. The larger of the measured difference and the tolerance bf16 was accepted
        under, because the few calibration crops estimate the largest difference from below."""
        if self.precision != "bf16":
            return 0.0
        return max(self.bf16_max_difference or 0.0, self.tolerance)

    def predict_fp32(
        self, batch: PreparedBatch, *, heatmaps: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """`predict` in plain fp32, eager (no autocast, no compiled graph): the reference that
        cases near the threshold are recomputed with (`cases_near_threshold`)."""
        if not heatmaps:
            saved = self.autocast_dtype
            try:
                self.autocast_dtype = None
                return self.predict(batch, heatmaps=False)
            finally:
                self.autocast_dtype = saved
        if self._fp32_forward is None:
            model = self.bundle.model
            if self._pooled is None:

                def autograd(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
                    return logits_and_cams(
                        model, self._layer, x, autocast_dtype=None, target=self.heatmap_target
                    )

                self._fp32_forward = autograd
            else:
                self._fp32_forward = _inference(
                    _Autocast(self._pooled, self.device.type, None).eval()
                )
        x = normalise(batch.inputs.to(self.device), self.bundle.preprocessing)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        logits, cams = _in_batches(self._fp32_forward, x, self.batch_size, pad=False)
        return torch.sigmoid(logits), cams

    def measure_bf16(self, calibration: np.ndarray) -> float:
        """Largest |p − p_fp32| over the calibration crops (uint8 (N, S, S)), p from the path
        in use (bf16, compiled or not), p_fp32 from the plain fp32 eager model."""
        batch = PreparedBatch(torch.from_numpy(np.ascontiguousarray(calibration)), [])
        saved = self.autocast_dtype
        try:
            self.autocast_dtype = None
            fp32, _ = self.predict(batch, heatmaps=False)
        finally:
            self.autocast_dtype = saved
        used, _ = self.predict(batch)
        return float((used - fp32).abs().max())

    def preprocess(
        self, images: Sequence[np.ndarray], rois: Sequence[Roi | None] | None = None
    ) -> PreparedBatch:
        """Full images with lesion boxes (or, with `rois=None`, ready crops) → a batch."""
        spec = self.bundle.preprocessing
        rois = [None] * len(images) if rois is None else rois
        if len(rois) != len(images):
            raise ValueError(f"{len(images)} images but {len(rois)} lesion boxes")
        crops, boxes = [], []
        for image, roi in zip(images, rois, strict=True):
            crop, box = model_input(image, roi, spec)
            crops.append(crop)
            boxes.append(box)
        return PreparedBatch(torch.from_numpy(np.stack(crops)), boxes)

    def predict(
        self, batch: PreparedBatch, *, heatmaps: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Probabilities (N,) and heatmaps (N, S, S) in [0, 1], both float32 on the device."""
        bundle = self.bundle
        x = normalise(batch.inputs.to(self.device, non_blocking=True), bundle.preprocessing)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        if heatmaps:
            if self._cam_forward is None:
                raise RuntimeError("call Predictor.load() first")
            logits, cams = _in_batches(self._cam_forward, x, self.batch_size, pad=self.compiled)
            return torch.sigmoid(logits), cams
        autocast = (
            torch.autocast(self.device.type, dtype=self.autocast_dtype)
            if self.autocast_dtype is not None
            else contextlib.nullcontext()
        )
        with torch.inference_mode(), autocast:
            logits = bundle.model(x).reshape(x.shape[0], -1)[:, 0]
        return torch.sigmoid(logits.float()), None

    def postprocess(
        self, batch: PreparedBatch, probabilities: torch.Tensor, cams: torch.Tensor | None
    ) -> Predictions:
        return Predictions(
            probabilities=probabilities.cpu().numpy().astype(np.float32),
            heatmaps=None if cams is None else to_uint8(cams),
            boxes=batch.boxes,
        )

    def __call__(
        self,
        images: Sequence[np.ndarray],
        rois: Sequence[Roi | None] | None = None,
        *,
        heatmaps: bool = True,
    ) -> Predictions:
        batch = self.preprocess(images, rois)
        probabilities, cams = self.predict(batch, heatmaps=heatmaps)
        return self.postprocess(batch, probabilities, cams)


def cases_near_threshold(
    *,
    case_ids: Sequence[str] | np.ndarray,
    probabilities: Sequence[float] | np.ndarray,
    threshold: float,
    margin: float,
) -> list[str]:
    """The cases whose soft vote lies within `margin` of `threshold` (both ends included): those
    whose class could differ between bf16 and fp32 when no image moves by more than `margin`."""
    vote = soft_vote(case_ids=case_ids, probabilities=probabilities, threshold=threshold)
    near = np.abs(vote.probabilities - threshold) <= margin
    return [case for case, is_near in zip(vote.case_ids, near, strict=True) if is_near]


class _Autocast(nn.Module):
    """`module` run under autocast to `dtype` (None: as it is), inside the module so that a
    compiled graph carries its precision."""

    def __init__(self, module: nn.Module, device_type: str, dtype: torch.dtype | None) -> None:
        super().__init__()
        self.module, self.device_type, self.dtype = module, device_type, dtype

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.dtype is None:
            return self.module(x)
        with torch.autocast(self.device_type, dtype=self.dtype):
            return self.module(x)


def _inference(forward: Callable[[torch.Tensor], Any]) -> CamForward:
    def run(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.inference_mode():
            return forward(x)

    return run


def _in_batches(
    forward: CamForward, x: torch.Tensor, size: int, *, pad: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """`forward` over chunks of `size` images; with `pad`, a short chunk is padded with zeros to
    `size` (a compiled graph has one fixed batch; images in eval mode do not interact)."""
    logits, cams = [], []
    for start in range(0, x.shape[0], size):
        chunk = x[start : start + size]
        n = chunk.shape[0]
        if pad and n < size:
            filler = chunk.new_zeros((size - n, *chunk.shape[1:]))
            chunk = torch.cat([chunk, filler]).contiguous(memory_format=_memory_format(x))
        out_logits, out_cams = forward(chunk)
        logits.append(out_logits[:n])
        cams.append(out_cams[:n])
    return torch.cat(logits), torch.cat(cams)


def _memory_format(x: torch.Tensor) -> torch.memory_format:
    return (
        torch.channels_last
        if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last)
        else torch.contiguous_format
    )
