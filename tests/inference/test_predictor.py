from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from analysis.model import soft_vote
from inference.cam import logits_and_cams
from inference.checkpoint import ModelBundle, ModelMeta, save_bundle
from inference.predictor import (
    Predictor,
    PreparedBatch,
    cases_near_threshold,
    choose_device,
    fold_batch_norm,
    native_bf16,
)
from inference.preprocess import Preprocessing, heatmap_to_display, model_input, normalise
from inference.zoo import target_layer
from tests.inference.conftest import speckle_image

SIZE = 64


@pytest.fixture
def checkpoint(tmp_path: Path, fresh_model: Callable[[str], torch.nn.Module]) -> Path:
    bundle = ModelBundle(fresh_model("resnet18"), Preprocessing(size=SIZE), ModelMeta("resnet18"))
    save_bundle(bundle, tmp_path / "m.ckpt")
    return tmp_path / "m.ckpt"


def images(n: int) -> tuple[list[np.ndarray], list[tuple[int, int, int, int]]]:
    rng = np.random.default_rng(5)
    pairs = [speckle_image(rng) for _ in range(n)]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def test_predictor_returns_probabilities_and_8_bit_heatmaps_per_image(checkpoint: Path) -> None:
    predictor = Predictor(checkpoint, device="cpu", allow_bf16=False).load()
    pictures, rois = images(3)

    out = predictor(pictures, rois)

    assert out.probabilities.dtype == np.float32
    assert out.probabilities.shape == (3,)
    assert ((out.probabilities > 0) & (out.probabilities < 1)).all()
    assert out.heatmaps is not None
    assert out.heatmaps.dtype == np.uint8
    assert out.heatmaps.shape == (3, SIZE, SIZE)
    assert [b.width for b in out.boxes] == [round(40 * 1.3)] * 3  # 1.3 × the 40 px box
    assert predictor.precision == "fp32"


def test_predictor_heatmaps_map_onto_the_displayed_image(checkpoint: Path) -> None:
    predictor = Predictor(checkpoint, device="cpu", allow_bf16=False).load()
    pictures, rois = images(1)  # 90 × 120 px, lesion box (40, 30, 40, 30)
    out = predictor(pictures, rois)

    assert out.heatmaps is not None
    shown = heatmap_to_display(
        out.heatmaps[0], out.boxes[0], display_shape=(45, 60), display_scale=0.5
    )

    # 1.3 × the box about its centre (60, 45): 60 ± 26, 45 ± 19.5 → rows round(25.5) = 26 to
    # round(64.5) = 64 (Python rounds halves to even).
    box = out.boxes[0]
    assert (box.x0, box.y0, box.x1, box.y1) == (34, 26, 86, 64)
    assert shown.shape == (45, 60)
    # Display pixel centres inside the box: rows 13..31, columns 17..42.
    assert shown[:13].max() == 0
    assert shown[32:].max() == 0
    assert shown[:, :17].max() == 0
    assert shown[:, 43:].max() == 0
    assert shown[13:32, 17:43].max() > 0


def test_predictor_probability_equals_the_plain_fp32_model(
    checkpoint: Path, fresh_model: Callable[[str], torch.nn.Module]
) -> None:
    predictor = Predictor(checkpoint, device="cpu", allow_bf16=False).load()
    pictures, rois = images(2)
    spec = Preprocessing(size=SIZE)
    x = normalise(
        torch.from_numpy(
            np.stack([model_input(p, r, spec)[0] for p, r in zip(pictures, rois, strict=True)])
        ),
        spec,
    )
    with torch.inference_mode():
        expected = torch.sigmoid(fresh_model("resnet18")(x)[:, 0]).numpy()

    np.testing.assert_allclose(predictor(pictures, rois).probabilities, expected, atol=1e-5)
    np.testing.assert_allclose(
        predictor(pictures, rois, heatmaps=False).probabilities, expected, atol=1e-5
    )


def test_predictor_accepts_ready_crops(checkpoint: Path) -> None:
    predictor = Predictor(checkpoint, device="cpu", allow_bf16=False).load()
    pictures, rois = images(2)
    spec = predictor.bundle.preprocessing
    crops = []
    for picture, roi in zip(pictures, rois, strict=True):
        box = model_input(picture, roi, spec)[1]
        crops.append(picture[box.y0 : box.y1, box.x0 : box.x1])
    np.testing.assert_array_equal(
        predictor(crops).probabilities, predictor(pictures, rois).probabilities
    )


def test_bf16_is_used_only_within_the_tolerance_of_fp32(checkpoint: Path) -> None:
    if not native_bf16(torch.device("cpu")):
        pytest.skip("this CPU has no native bf16")
    lenient = Predictor(checkpoint, device="cpu", tolerance=1.0).load()
    assert lenient.precision == "bf16"
    assert lenient.bf16_max_difference is not None
    strict = Predictor(checkpoint, device="cpu", tolerance=0.0).load()
    assert strict.bf16_max_difference == lenient.bf16_max_difference
    assert strict.precision == ("bf16" if strict.bf16_max_difference == 0 else "fp32")

    pictures, rois = images(2)
    gap = np.abs(lenient(pictures, rois).probabilities - strict(pictures, rois).probabilities)
    assert gap.max() < 0.05


def test_device_is_chosen_automatically() -> None:
    expected = (
        "cuda"
        if torch.cuda.is_available()
        else "mps"
        if torch.backends.mps.is_available()
        else "cpu"
    )
    assert choose_device().type == expected
    assert choose_device("cpu").type == "cpu"


def test_predictor_must_be_loaded_first(checkpoint: Path) -> None:
    with pytest.raises(RuntimeError, match="load"):
        Predictor(checkpoint).preprocess(*images(1))


def test_soft_vote_averages_a_cases_images_and_thresholds_strictly() -> None:
    vote = soft_vote(
        case_ids=["b", "a", "b", "c", "a", "c"],
        probabilities=[0.9, 0.2, 0.2, 0.5, 0.4, 0.5],
    )
    assert vote.case_ids == ["a", "b", "c"]
    np.testing.assert_allclose(vote.probabilities, [0.3, 0.55, 0.5])
    np.testing.assert_array_equal(vote.malignant, [False, True, False])  # 0.5 is not > 0.5
    np.testing.assert_array_equal(vote.n_images, [2, 2, 2])
    with pytest.raises(ValueError, match="case ids"):
        soft_vote(case_ids=["a"], probabilities=[0.1, 0.2])


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2"])
def test_folding_batch_norm_keeps_outputs_and_the_grad_cam_layer(
    name: str, fresh_model: Callable[[str], torch.nn.Module]
) -> None:
    model = fresh_model(name)
    generator = torch.Generator().manual_seed(0)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):  # make the statistics matter
            assert module.running_mean is not None
            assert module.running_var is not None
            module.running_mean.normal_(0, 0.2, generator=generator)
            module.running_var.uniform_(0.5, 2.0, generator=generator)
            module.weight.data.uniform_(0.5, 1.5, generator=generator)
    x = torch.randn(2, 3, 64, 64)
    with torch.inference_mode():
        expected = model(x)
    unfolded_cams = logits_and_cams(model, target_layer(model, name), x)[1]

    folded = fold_batch_norm(model)

    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    with torch.inference_mode():
        torch.testing.assert_close(folded(x), expected, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(
        logits_and_cams(folded, target_layer(folded, name), x)[1], unfolded_cams, atol=1e-3, rtol=0
    )


@pytest.mark.slow
def test_compiled_predictor_equals_eager_and_pads_short_batches(checkpoint: Path) -> None:
    eager = Predictor(checkpoint, device="cpu", allow_bf16=False, batch_size=4).load()
    compiled = Predictor(
        checkpoint, device="cpu", allow_bf16=False, batch_size=4, compile_model=True
    ).load()
    assert compiled.compiled, compiled.compile_error
    assert compiled.path == "fp32+channels_last+compiled"
    assert eager.path == "fp32+channels_last"
    pictures, rois = images(7)  # a full batch of 4, then 3 padded to 4

    expected, got = eager(pictures, rois), compiled(pictures, rois)

    np.testing.assert_allclose(got.probabilities, expected.probabilities, atol=1e-5)
    assert got.heatmaps is not None
    assert expected.heatmaps is not None
    assert np.abs(got.heatmaps.astype(int) - expected.heatmaps.astype(int)).max() <= 1
    alone = compiled(pictures[5:6], rois[5:6])  # padded with three blank images
    np.testing.assert_allclose(alone.probabilities, got.probabilities[5:6], atol=1e-6)


def test_a_failed_compile_falls_back_to_eager(
    checkpoint: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> Callable[[torch.Tensor], None]:
        def run(_x: torch.Tensor) -> None:
            raise RuntimeError("no C++ compiler")

        return run

    monkeypatch.setattr(torch, "compile", broken)
    predictor = Predictor(checkpoint, device="cpu", allow_bf16=False, compile_model=True).load()

    assert not predictor.compiled
    assert predictor.compile_error == "RuntimeError: no C++ compiler"
    eager = Predictor(checkpoint, device="cpu", allow_bf16=False).load()
    pictures, rois = images(2)
    np.testing.assert_array_equal(
        predictor(pictures, rois).probabilities, eager(pictures, rois).probabilities
    )


def test_architectures_without_a_pooled_head_take_the_autograd_path(
    fresh_model: Callable[[str], torch.nn.Module],
) -> None:
    bundle = ModelBundle(fresh_model("vgg11"), Preprocessing(size=SIZE), ModelMeta("vgg11"))
    predictor = Predictor(bundle, device="cpu", allow_bf16=False, compile_model=True).load()
    assert predictor.path == "fp32+channels_last+autograd"  # not compiled: autograd inside
    pictures, rois = images(2)
    out = predictor(pictures, rois)
    assert out.heatmaps is not None
    assert out.heatmaps.shape == (2, SIZE, SIZE)


def test_the_one_pass_heatmap_equals_the_autograd_reference(checkpoint: Path) -> None:
    fast = Predictor(checkpoint, device="cpu", allow_bf16=False).load()
    reference = Predictor(checkpoint, device="cpu", allow_bf16=False, autograd=True).load()
    assert reference.path == "fp32+channels_last+autograd"
    pictures, rois = images(4)

    got, expected = fast(pictures, rois), reference(pictures, rois)

    np.testing.assert_allclose(got.probabilities, expected.probabilities, atol=1e-6)
    assert got.heatmaps is not None
    assert expected.heatmaps is not None
    assert np.abs(got.heatmaps.astype(int) - expected.heatmaps.astype(int)).max() <= 1


def _bf16_predictor(model: torch.nn.Module, crops: np.ndarray) -> Predictor:
    """`model` in bf16 on the CPU (emulated where the CPU has no native bf16: the same
    arithmetic, only slower)."""
    bundle = ModelBundle(model, Preprocessing(size=SIZE), ModelMeta("resnet18"))
    predictor = Predictor(bundle, device="cpu", require_native_bf16=False).load(calibration=crops)
    assert predictor.precision == "bf16"
    return predictor


def test_recomputing_near_threshold_cases_in_fp32_removes_every_bf16_dependent_class(
    fresh_model: Callable[[str], torch.nn.Module],
) -> None:
    rng = np.random.default_rng(5)
    spec = Preprocessing(size=SIZE)
    crops = np.stack([model_input(*speckle_image(rng), spec)[0] for _ in range(24)])
    batch = PreparedBatch(torch.from_numpy(crops), [])
    cases = np.array([f"C{i // 2:02d}" for i in range(len(crops))])  # two images per case
    predictor = _bf16_predictor(fresh_model("resnet18").eval(), crops)
    bf16 = predictor.predict(batch)[0].double().numpy()
    fp32 = predictor.predict_fp32(batch)[0].double().numpy()

    # Put the study's threshold halfway between one case's bf16 and fp32 votes: that case's
    # class then depends on the precision whatever rounding this CPU's bf16 kernels do, and the
    # test fails without the fp32 recheck.
    v16 = soft_vote(case_ids=cases, probabilities=bf16).probabilities
    v32 = soft_vote(case_ids=cases, probabilities=fp32).probabilities
    target = int(np.argmax(np.abs(v16 - v32)))
    assert v16[target] != v32[target], "bf16 must round somewhere"
    threshold = float((v16[target] + v32[target]) / 2)
    vote16 = soft_vote(case_ids=cases, probabilities=bf16, threshold=threshold)
    vote32 = soft_vote(case_ids=cases, probabilities=fp32, threshold=threshold)
    assert (vote16.malignant != vote32.malignant).any(), "the construction must flip a class"
    assert np.abs(bf16 - fp32).max() <= predictor.bf16_margin

    near = cases_near_threshold(
        case_ids=cases, probabilities=bf16, threshold=threshold, margin=predictor.bf16_margin
    )
    assert 0 < len(near) < len(set(cases))
    redo = np.isin(cases, near)
    again, cams = predictor.predict_fp32(
        PreparedBatch(torch.from_numpy(crops[redo]), []), heatmaps=True
    )
    assert cams is not None
    assert cams.shape == (int(redo.sum()), SIZE, SIZE)
    final = bf16.copy()
    final[redo] = again.double().numpy()
    np.testing.assert_allclose(final[redo], fp32[redo], atol=1e-6)
    final_vote = soft_vote(case_ids=cases, probabilities=final, threshold=threshold)
    np.testing.assert_array_equal(final_vote.malignant, vote32.malignant)


def test_in_fp32_no_case_needs_a_recheck(checkpoint: Path) -> None:
    predictor = Predictor(checkpoint, device="cpu", allow_bf16=False).load()
    assert predictor.bf16_margin == 0.0
    assert cases_near_threshold(
        case_ids=["A", "A", "B"], probabilities=[0.5, 0.5, 0.6], threshold=0.5, margin=0.0
    ) == ["A"]
