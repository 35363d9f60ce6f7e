from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
from pytorch_grad_cam import GradCAM
from pytorch_grad_cam.utils.model_targets import (
    BinaryClassifierOutputTarget,
    ClassifierOutputTarget,
)

from inference.cam import (
    PooledHeadCam,
    captured_activations,
    heatmap_png,
    logits_and_cams,
    to_uint8,
)
from inference.predictor import fold_batch_norm
from inference.zoo import ARCHITECTURES, architecture, create_model, target_layer


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_our_grad_cam_equals_pytorch_grad_cam(
    name: str, fresh_model: Callable[[str], torch.nn.Module]
) -> None:
    torch.manual_seed(1)
    model = fresh_model(name)
    layer = target_layer(model, name)
    x = torch.randn(4, 3, 64, 64)
    expected_logits = model(x).detach()[:, 0]
    predicted = (expected_logits > 0).int().tolist()
    with GradCAM(model=model, target_layers=[layer]) as library:
        malignant = library(input_tensor=x, targets=[ClassifierOutputTarget(0)] * 4)
        explained = library(
            input_tensor=x, targets=[BinaryClassifierOutputTarget(c) for c in predicted]
        )

    model.requires_grad_(False)
    for target, reference in (("malignant", malignant), ("predicted", explained)):
        logits, cams = logits_and_cams(model, layer, x, target=target)

        torch.testing.assert_close(logits, expected_logits, rtol=1e-5, atol=1e-5)
        assert cams.shape == reference.shape == (4, 64, 64)
        # The library divides by (max + 1e-7); with maps of order 1e-3 that shifts values ~1e-4.
        np.testing.assert_allclose(cams.numpy(), reference, atol=2e-3)
        assert np.abs(to_uint8(cams).astype(int) - np.round(reference * 255)).max() <= 1


@pytest.mark.parametrize("name", [n for n, a in ARCHITECTURES.items() if a.pooled_head])
@pytest.mark.parametrize("target", ["predicted", "malignant"])
def test_pooled_head_grad_cam_needs_no_backward_pass_and_equals_autograd(
    name: str, target: str, fresh_model: Callable[[str], torch.nn.Module]
) -> None:
    torch.manual_seed(3)
    model = fold_batch_norm(fresh_model(name).requires_grad_(False))
    head = model.get_submodule(architecture(name).head)
    assert isinstance(head, torch.nn.Linear)
    with torch.no_grad():  # a head of either sign per channel, and a bias (not in the heatmap)
        head.weight.normal_()
        head.bias.fill_(0.01)
    x = torch.randn(6, 3, 64, 64)
    expected_logits, expected = logits_and_cams(model, target_layer(model, name), x, target=target)

    with torch.inference_mode():  # no graph at all
        logits, cams = PooledHeadCam(model, architecture(name), target=target)(x)

    torch.testing.assert_close(logits, expected_logits, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(cams, expected, rtol=0, atol=1e-5)
    if target == "predicted":  # a random trunk's maps share one sign: "malignant" may zero them
        assert (cams.amax(dim=(1, 2)) == 1.0).all()


def test_pooled_head_grad_cam_refuses_other_heads(
    fresh_model: Callable[[str], torch.nn.Module],
) -> None:
    with pytest.raises(ValueError, match="not pooled-linear"):
        PooledHeadCam(fresh_model("vgg11"), architecture("vgg11"), target="predicted")
    with pytest.raises(ValueError, match="target must be"):
        PooledHeadCam(fresh_model("resnet18"), architecture("resnet18"), target="benign")


def test_grad_cam_gives_each_image_its_own_gradient_in_a_batch() -> None:
    torch.manual_seed(2)
    model = create_model("resnet18").eval().requires_grad_(False)
    layer = target_layer(model, "resnet18")
    x = torch.randn(4, 3, 64, 64)
    _, together = logits_and_cams(model, layer, x)
    for i in range(4):
        _, alone = logits_and_cams(model, layer, x[i : i + 1])
        torch.testing.assert_close(together[i], alone[0], atol=1e-4, rtol=1e-4)


def test_grad_cam_computes_no_weight_gradients_and_releases_its_hook() -> None:
    model = create_model("resnet18").eval()  # weights still require grad here
    layer = target_layer(model, "resnet18")
    logits_and_cams(model, layer, torch.randn(2, 3, 64, 64))
    assert all(p.grad is None for p in model.parameters())
    assert not layer._forward_hooks


def test_hook_is_released_when_the_forward_pass_fails() -> None:
    model = create_model("resnet18").eval()
    layer = target_layer(model, "resnet18")
    with pytest.raises(RuntimeError), captured_activations(layer):
        model(torch.randn(1, 2, 64, 64))  # wrong channel count
    assert not layer._forward_hooks


def test_heatmap_png_round_trips() -> None:
    import cv2

    heat = np.arange(64 * 64, dtype=np.uint32).reshape(64, 64).astype(np.uint8)
    decoded = cv2.imdecode(np.frombuffer(heatmap_png(heat), np.uint8), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(decoded, heat)
