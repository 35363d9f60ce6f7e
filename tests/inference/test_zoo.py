from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
import torchvision

from inference.cam import logits_and_cams, to_uint8
from inference.zoo import (
    ARCHITECTURES,
    create_model,
    find_imagenet_weights,
    init_from_imagenet,
    target_layer,
)


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_each_architecture_gives_a_probability_and_a_heatmap_of_the_input_size(
    name: str, fresh_model: Callable[[str], torch.nn.Module]
) -> None:
    model = fresh_model(name).requires_grad_(False)
    x = torch.randn(2, 3, 48, 48)

    logits, cams = logits_and_cams(model, target_layer(model, name), x)
    probability = torch.sigmoid(logits)
    heatmaps = to_uint8(cams)

    assert probability.shape == (2,)
    assert ((probability >= 0) & (probability <= 1)).all()
    assert heatmaps.shape == (2, 48, 48)
    assert heatmaps.dtype.name == "uint8"
    assert heatmaps.max() == 255 or heatmaps.max() == 0  # normalised per image (or all zero)


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_models_are_built_with_one_logit_and_a_grad_cam_layer(
    name: str, fresh_model: Callable[[str], torch.nn.Module]
) -> None:
    model = fresh_model(name)
    head = model.get_submodule(ARCHITECTURES[name].head)
    assert isinstance(head, torch.nn.Linear)
    assert head.out_features == 1
    assert isinstance(target_layer(model, name), torch.nn.Module)


def write_imagenet_file(
    folder: Path, name: str = "resnet18-f37072fd.pth"
) -> dict[str, torch.Tensor]:
    torch.manual_seed(123)
    state = torchvision.models.resnet18(weights=None).state_dict()  # 1000-class head, as published
    (folder / "hub" / "checkpoints").mkdir(parents=True)
    torch.save(state, folder / "hub" / "checkpoints" / name)
    return state


def test_imagenet_weights_load_from_the_torch_hub_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    published = write_imagenet_file(tmp_path)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    torch.manual_seed(0)
    model: Any = create_model("resnet18")
    fresh_head = model.fc.weight.detach().clone()

    source = init_from_imagenet(model, "resnet18")

    assert source.startswith("imagenet:resnet18-f37072fd.pth:")
    torch.testing.assert_close(model.conv1.weight, published["conv1.weight"])
    torch.testing.assert_close(
        model.layer4[1].bn2.running_var, published["layer4.1.bn2.running_var"]
    )
    assert model.fc.weight.shape == (1, 512)
    torch.testing.assert_close(model.fc.weight, fresh_head)  # the head is never ImageNet's


def test_imagenet_weights_load_from_an_explicit_path(tmp_path: Path) -> None:
    published = write_imagenet_file(tmp_path, name="my-weights.pth")
    model: Any = create_model("resnet18")
    source = init_from_imagenet(model, "resnet18", path=tmp_path / "hub/checkpoints/my-weights.pth")
    assert source.startswith("imagenet:my-weights.pth:")
    torch.testing.assert_close(model.layer1[0].conv1.weight, published["layer1.0.conv1.weight"])


def test_without_a_weights_file_the_model_trains_from_scratch(tmp_path: Path) -> None:
    assert find_imagenet_weights("resnet18", hub_dir=tmp_path) is None
    assert init_from_imagenet(create_model("resnet18"), "resnet18", hub_dir=tmp_path) == "scratch"
    with pytest.raises(FileNotFoundError):
        init_from_imagenet(create_model("resnet18"), "resnet18", path=tmp_path / "missing.pth")


def test_weights_of_another_architecture_are_refused(tmp_path: Path) -> None:
    torch.save(torchvision.models.mobilenet_v2(weights=None).state_dict(), tmp_path / "w.pth")
    with pytest.raises(ValueError, match="does not fit resnet18"):
        init_from_imagenet(create_model("resnet18"), "resnet18", path=tmp_path / "w.pth")


def test_unknown_architecture_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown architecture"):
        create_model("resnet19")
