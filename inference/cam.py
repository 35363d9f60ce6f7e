"""Grad-CAM (Selvaraju et al. 2017) computed in the same batched pass as the probability.

Why not pytorch-grad-cam's `GradCAM` (the reference this is tested against): its default path runs
`model.zero_grad()` and a full `loss.backward()`, i.e. the gradient of every weight of the network
back to the input, copies activations and gradients to numpy, and resizes each map with
`cv2.resize` one image at a time. Grad-CAM needs only the gradient at its layer:
- `logits_and_cams` (any network): one forward pass yields the logit and the layer's activations,
  cut from the graph (a leaf that requires grad), and `torch.autograd.grad(logits.sum(),
  activations)` differentiates only the layers after it; the weights before it never enter the
  graph when they are frozen (the predictor freezes them);
- `PooledHeadCam` (ResNets, MobileNetV2: global average pooling and one linear layer after the
  layer): that gradient is the head's weight over H·W, so the heatmap needs no backward pass at
  all and the whole pass can run under `inference_mode()` and be compiled.
Measured on the shared 2-core development CPU, ResNet18 at 224 px, batch 32, 2 threads
(tests/benchmarks/bench_precompute.py; figures in the README): the library ~12–14 images/s, ours
~100 in bf16 + channels_last and ~110 compiled, with the same maps (tests/inference/test_cam.py).

Which class the map explains: by default the predicted one (the gradient of +logit when the
model calls the image malignant, of −logit when it calls it benign — pytorch-grad-cam's
`BinaryClassifierOutputTarget(predicted)`), so every reader sees what drove the call; with
`target="malignant"` a confidently benign image has an all-zero map (nothing speaks for
malignancy), which was 16 of 41 validation images for a ResNet18 trained on phantoms. Both cost the
same: the sign is applied to the per-channel weights after the one gradient.

The model must be in eval mode: batch-norm with batch statistics would couple the images of a batch,
and then the gradient of the summed logits would no longer be each image's own gradient.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.feature_extraction import create_feature_extractor

from inference.zoo import Architecture

TARGETS = ("predicted", "malignant")


@contextlib.contextmanager
def captured_activations(layer: nn.Module) -> Iterator[list[torch.Tensor]]:
    """Record `layer`'s output on each forward pass inside the block; the hook is always removed."""
    store: list[torch.Tensor] = []

    def hook(_module: nn.Module, _inputs: object, output: object) -> torch.Tensor:
        if not isinstance(output, torch.Tensor):
            raise TypeError(f"Grad-CAM needs a tensor output, got {type(output).__name__}")
        # A fresh leaf: the backward pass starts here and never enters the earlier layers.
        leaf = output.detach().requires_grad_(True)
        store.append(leaf)
        return leaf

    handle = layer.register_forward_hook(hook)
    try:
        yield store
    finally:
        handle.remove()


def logits_and_cams(
    model: nn.Module,
    layer: nn.Module,
    inputs: torch.Tensor,
    *,
    autocast_dtype: torch.dtype | None = None,
    size: tuple[int, int] | None = None,
    target: str = "predicted",
) -> tuple[torch.Tensor, torch.Tensor]:
    """One forward pass → (logits (N,) float32, heatmaps (N, H, W) float32 in [0, 1]).

    Heatmaps are ReLU(Σ_k w_k A_k) with w_k the spatial mean of ∂(±logit)/∂A_k (the sign of
    the predicted class, or + for `target="malignant"`), bilinearly
    upsampled to `size` (default: the input's) and min-max normalised per image — the same
    steps, in an equivalent order, as pytorch-grad-cam. An all-zero map stays zero.
    """
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}, not {target!r}")
    autocast = (
        torch.autocast(inputs.device.type, dtype=autocast_dtype)
        if autocast_dtype is not None
        else contextlib.nullcontext()
    )
    with torch.enable_grad(), captured_activations(layer) as store:
        with autocast:
            logits = model(inputs).reshape(inputs.shape[0], -1)[:, 0]
        if len(store) != 1:
            raise RuntimeError(f"the target layer ran {len(store)} times in one forward pass")
        activations = store[0]
        (gradients,) = torch.autograd.grad(logits.sum(), activations)
    with torch.no_grad():
        weights = gradients.float().mean(dim=(2, 3), keepdim=True)
        if target == "predicted":
            weights = weights * _predicted_sign(logits.detach()).view(-1, 1, 1, 1)
        cams = normalised_maps(
            (weights * activations.detach().float()).sum(dim=1),
            size or (inputs.shape[-2], inputs.shape[-1]),
        )
    return logits.detach().float(), cams


def _predicted_sign(logits: torch.Tensor) -> torch.Tensor:
    """+1 where the model calls the image malignant, −1 where it calls it benign."""
    return torch.where(logits > 0, 1.0, -1.0)


def normalised_maps(raw: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Σ_k w_k A_k (N, h, w) → ReLU, bilinear upsampling to `size`, per-image min-max to [0, 1];
    an all-zero map stays zero. Float32 throughout, also under autocast."""
    cams = F.relu(raw.float()).unsqueeze(1)
    cams = F.interpolate(cams, size=size, mode="bilinear", align_corners=False)[:, 0]
    low = cams.amin(dim=(1, 2), keepdim=True)
    span = cams.amax(dim=(1, 2), keepdim=True) - low
    return torch.where(span > 0, (cams - low) / span.clamp_min(1e-12), torch.zeros_like(cams))


class PooledHeadCam(nn.Module):
    """Grad-CAM with no backward pass, for networks whose Grad-CAM layer reaches the logit only
    through global average pooling, eval-mode dropout and one linear layer (ResNets,
    MobileNetV2: `Architecture.pooled_head`). There logit = b + Σ_k w_k · mean_ij A_k(i, j), so
    ∂logit/∂A_k(i, j) = w_k / (H·W) at every position, and Grad-CAM's channel weight (the
    spatial mean of that gradient) is w_k / (H·W): exactly what autograd gives
    (tests/inference/test_cam.py), with no graph, so the whole pass can run under
    `inference_mode()` and be compiled with frozen weights (`torch.compile`, see
    inference.predictor). One pure forward: x → (logits (N,) float32, heatmaps (N, S, S)).

    torchvision's `create_feature_extractor` (an FX graph of the model) returns the layer's
    activations and the head's output from the one pass, with no hooks.
    """

    def __init__(self, model: nn.Module, architecture: Architecture, *, target: str) -> None:
        super().__init__()
        if not architecture.pooled_head:
            raise ValueError(f"{architecture.label}'s head is not pooled-linear: use autograd")
        if target not in TARGETS:
            raise ValueError(f"target must be one of {TARGETS}, not {target!r}")
        head = model.get_submodule(architecture.head)
        if not isinstance(head, nn.Linear) or head.out_features != 1:
            raise TypeError(f"{architecture.head} must be a one-logit nn.Linear")
        self.target = target
        self.extractor = create_feature_extractor(
            model, {architecture.target_layer: "activations", architecture.head: "logits"}
        )
        self.head = head

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.extractor(x)
        activations = out["activations"].float()
        logits = out["logits"].reshape(x.shape[0], -1)[:, 0].float()
        height, width = activations.shape[-2:]
        weights = self.head.weight[0].float() / (height * width)  # ∂logit/∂A_k(i, j)
        raw = (activations * weights.view(1, -1, 1, 1)).sum(dim=1)  # no matmul: stays fp32
        if self.target == "predicted":
            raw = raw * _predicted_sign(logits).view(-1, 1, 1)
        return logits, normalised_maps(raw, (x.shape[-2], x.shape[-1]))


def to_uint8(cams: torch.Tensor) -> np.ndarray:
    """[0, 1] heatmaps → 8-bit arrays (rounded, not truncated)."""
    return cams.mul(255.0).round_().clamp_(0, 255).to(torch.uint8).cpu().numpy()


def heatmap_png(heatmap: np.ndarray, *, compression: int = 1) -> bytes:
    """An 8-bit heatmap as PNG bytes; level 1 because precompute writes thousands of them and
    smooth heatmaps compress well even at the fastest setting."""
    ok, data = cv2.imencode(".png", heatmap, [cv2.IMWRITE_PNG_COMPRESSION, compression])
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return data.tobytes()
