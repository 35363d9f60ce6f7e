"""The seed study's five architectures (torchvision) with a one-logit malignancy head, their
Grad-CAM target layers, and ImageNet initialisation from a local file (nothing is downloaded).

Models are always constructed with `weights=None`: a worker must never reach the network, and a
checkpoint restores every weight anyway. `init_from_imagenet` loads torchvision's published
ImageNet state dict from a file (an explicit path, or torch hub's cache,
`$TORCH_HOME/hub/checkpoints/<file>`) into everything but the classifier head; without one the
model trains from scratch and the provenance says so.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torchvision.models as tvm
from torch import nn


@dataclass(frozen=True)
class Architecture:
    """How to build one network and where its head and Grad-CAM layer are (dotted module paths)."""

    name: str
    label: str
    builder: Callable[..., nn.Module]
    weights: type[tvm.WeightsEnum]
    head: str  # the final nn.Linear, replaced by a one-logit layer
    target_layer: str  # the last conv block's output, before global pooling
    # True when the target layer's output reaches the logit only through global average pooling,
    # (dropout) and the head: then ∂logit/∂A is the head's weight over H·W, known without a
    # backward pass (inference.cam.PooledHeadCam). VGG has max-pooling and an MLP in between.
    pooled_head: bool


ARCHITECTURES: dict[str, Architecture] = {
    a.name: a
    for a in (
        # ResNets: the output of the last residual stage (layer4[-1]), 7×7 at 224 px.
        Architecture(
            "resnet18", "ResNet18", tvm.resnet18, tvm.ResNet18_Weights, "fc", "layer4", True
        ),
        Architecture(
            "resnet50", "ResNet50", tvm.resnet50, tvm.ResNet50_Weights, "fc", "layer4", True
        ),
        # VGGs: the ReLU after the last convolution, before the final max-pool: 14×14 at 224 px
        # rather than 7×7, and the gradient still reaches it through the pool's argmax.
        Architecture(
            "vgg11", "VGG11", tvm.vgg11, tvm.VGG11_Weights, "classifier.6", "features.19", False
        ),
        Architecture(
            "vgg16", "VGG16", tvm.vgg16, tvm.VGG16_Weights, "classifier.6", "features.29", False
        ),
        # MobileNetV2: the final 1×1 conv + BN + ReLU6 block (1280 channels), 7×7 at 224 px.
        Architecture(
            "mobilenet_v2",
            "MobileNetV2",
            tvm.mobilenet_v2,
            tvm.MobileNet_V2_Weights,
            "classifier.1",
            "features.18",
            True,
        ),
    )
}


def architecture(name: str) -> Architecture:
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise ValueError(
            f"unknown architecture {name!r}; choose one of {', '.join(ARCHITECTURES)}"
        ) from None


def create_model(name: str) -> nn.Module:
    """A freshly initialised network with a one-logit head (probability = sigmoid(logit))."""
    arch = architecture(name)
    model = arch.builder(weights=None)
    head = model.get_submodule(arch.head)
    if not isinstance(head, nn.Linear):
        raise TypeError(f"{arch.name}.{arch.head} is {type(head).__name__}, not Linear")
    parent_name, _, child = arch.head.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, nn.Linear(head.in_features, 1))
    return model


def target_layer(model: nn.Module, name: str) -> nn.Module:
    """The module whose output Grad-CAM weights (the last conv block of `name`)."""
    return model.get_submodule(architecture(name).target_layer)


def imagenet_file_names(name: str) -> list[str]:
    """torchvision's file names for this architecture's ImageNet weights, newest first."""
    weights = architecture(name).weights
    # IMAGENET1K_FEATURES (VGG16's SSD backbone) ships NaN classifier layers: never load it.
    return [
        w.url.rsplit("/", 1)[-1]
        for w in reversed(list(weights.__members__.values()))
        if w.name.startswith("IMAGENET1K_V")
    ]


def find_imagenet_weights(name: str, *, hub_dir: Path | str | None = None) -> Path | None:
    """The first of torchvision's ImageNet files for `name` present in the hub cache, if any."""
    folder = Path(hub_dir if hub_dir is not None else torch.hub.get_dir()) / "checkpoints"
    for file_name in imagenet_file_names(name):
        if (folder / file_name).is_file():
            return folder / file_name
    return None


def scratch_note(name: str, *, hub_dir: Path | str | None = None) -> str:
    """What to tell the user when `init_from_imagenet` found no weights in the hub cache."""
    folder = Path(hub_dir if hub_dir is not None else torch.hub.get_dir()) / "checkpoints"
    return (
        f"no ImageNet weights for {name} in {folder} (looked for "
        f"{', '.join(dict.fromkeys(imagenet_file_names(name)))}): trained from random initialisation, not from "
        "ImageNet as the seed did"
    )


def init_from_imagenet(
    model: nn.Module,
    name: str,
    *,
    path: Path | str | None = None,
    hub_dir: Path | str | None = None,
) -> str:
    """Load ImageNet weights (all but the head) when a file is available; say what was done.

    Returns "imagenet:<file>:<sha256 prefix>" or "scratch". An explicit `path` that does not
    exist is an error (a typo must not silently train from scratch); the hub cache is optional.
    """
    source = Path(path) if path is not None else find_imagenet_weights(name, hub_dir=hub_dir)
    if path is not None and not Path(path).is_file():
        raise FileNotFoundError(f"ImageNet weights not found: {path}")
    if source is None:
        return "scratch"
    data = source.read_bytes()
    state = torch.load(source, map_location="cpu", weights_only=True)
    head = architecture(name).head
    backbone = {k: v for k, v in state.items() if not k.startswith(f"{head}.")}
    missing, unexpected = model.load_state_dict(backbone, strict=False)
    foreign = [k for k in missing if not k.startswith(f"{head}.")]
    if foreign or unexpected:
        raise ValueError(
            f"{source.name} does not fit {name}: missing {foreign[:5]}, unexpected {unexpected[:5]}"
        )
    return f"imagenet:{source.name}:{hashlib.sha256(data).hexdigest()[:12]}"
