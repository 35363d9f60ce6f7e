from __future__ import annotations

import csv
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from inference.data import (
    Augmentation,
    Dataset,
    augmentation,
    oversampled_indices,
    patient_folds,
    prepare_dataset,
    read_manifest,
    split_by_patient,
)
from inference.evaluate import evaluate
from inference.preprocess import Preprocessing
from inference.train import (
    EpochRecord,
    TrainConfig,
    compare_architectures,
    cross_validate,
    make_bundle,
    predict_probabilities,
    select_best,
    train_model,
    validation_calibration,
)
from tests.inference.conftest import speckle_image


def cohort_labels(n_patients: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Images of patients with 1–3 images each; about 30 % of patients malignant."""
    rng = np.random.default_rng(seed)
    patients, labels = [], []
    for p in range(n_patients):
        malignant = rng.random() < 0.3
        for _ in range(rng.integers(1, 4)):
            patients.append(f"P{p:03d}")
            labels.append(float(malignant))
    return np.array(patients), np.array(labels, dtype=np.float32)


def test_split_is_8_1_1_by_patient_and_stratified() -> None:
    patients, labels = cohort_labels(200)
    split = split_by_patient(patients, labels, seed=4)

    sets = {name: set(patients[index]) for name, index in split.items()}
    assert not sets["train"] & sets["validation"]
    assert not sets["train"] & sets["internal_test"]
    assert not sets["validation"] & sets["internal_test"]
    assert sum(len(i) for i in split.values()) == len(labels)
    shares = {name: len(s) / 200 for name, s in sets.items()}
    assert shares["train"] == pytest.approx(0.8, abs=0.03)
    assert shares["validation"] == pytest.approx(0.1, abs=0.03)
    rate = labels.mean()
    for index in split.values():
        assert labels[index].mean() == pytest.approx(rate, abs=0.1)


def test_five_folds_hold_out_each_patient_exactly_once() -> None:
    patients, labels = cohort_labels(60)
    folds = patient_folds(patients, labels, n_folds=5, seed=1)
    assert len(folds) == 5
    held = np.concatenate([validation for _, validation in folds])
    assert sorted(held) == list(range(len(labels)))
    for train, validation in folds:
        assert not set(patients[train]) & set(patients[validation])


def test_malignant_images_are_oversampled_to_the_benign_count() -> None:
    labels = np.array([0.0] * 30 + [1.0] * 8, dtype=np.float32)
    order = oversampled_indices(labels, np.random.default_rng(0))
    chosen = labels[order]
    assert (chosen == 0).sum() == (chosen == 1).sum() == 30
    assert set(np.flatnonzero(labels)) <= set(order)  # every malignant image at least once


def test_augmentation_keeps_shape_and_type_and_follows_the_seed() -> None:
    crop = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (1, 48, 48), dtype=np.uint8))
    augment = augmentation(48)
    torch.manual_seed(7)
    first = torch.stack([augment(crop) for _ in range(8)])
    torch.manual_seed(7)
    second = torch.stack([augment(crop) for _ in range(8)])
    assert first.shape == (8, 1, 48, 48)
    assert first.dtype == torch.uint8
    torch.testing.assert_close(first, second)
    assert any(not torch.equal(a, crop) for a in first)


def test_augmentation_interpolates_bilinearly_as_the_seed_implies() -> None:
    # A black-and-white crop: nearest-neighbour keeps two grey levels, bilinear blends edges.
    crop = torch.zeros((1, 48, 48), dtype=torch.uint8)
    crop[:, 12:36, 12:36] = 255
    torch.manual_seed(0)
    out = torch.stack([augmentation(48)(crop) for _ in range(4)])
    assert ((out > 0) & (out < 255)).any()
    torch.manual_seed(0)
    nearest = augmentation(48, Augmentation(interpolation="nearest"))(crop)
    assert set(nearest.unique().tolist()) <= {0, 255}


def test_augmentation_scales_down_at_most_never_up() -> None:
    # "maximum scale is set to 1": with rotation and shift off, a bright square never grows.
    assert Augmentation().scale[1] == 1.0
    assert Augmentation().affine_p == 1.0
    crop = torch.zeros((1, 64, 64), dtype=torch.uint8)
    crop[:, 16:48, 16:48] = 255
    augment = augmentation(64, Augmentation(rotation_degrees=0, translation_px_at_224=0))
    torch.manual_seed(1)
    areas = [int((augment(crop) > 127).sum()) for _ in range(20)]
    assert max(areas) <= 32 * 32
    assert min(areas) < 32 * 32 * 0.95  # it does shrink (scale down to 0.9)
    with pytest.raises(ValueError, match="scale"):
        Augmentation(scale=(1.1, 1.0))


def tiny_dataset(n: int, size: int = 32, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    labels = ((np.arange(n) // 2) % 3 == 0).astype(np.float32)  # two images per case
    inputs = rng.integers(0, 256, (n, size, size), dtype=np.uint8)
    inputs[labels == 1, size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] //= 4  # a dark lesion
    ids = np.array([f"C{i // 2}" for i in range(n)])
    return Dataset(torch.from_numpy(inputs), labels, ids, ids, np.array(["train"] * n))


def test_training_with_a_fixed_seed_is_deterministic() -> None:
    data = tiny_dataset(8)
    spec = Preprocessing(size=32)
    config = TrainConfig(epochs=1, batch_size=4, imagenet=None, progress=False, seed=3)

    first = train_model(data, data, spec, config)
    second = train_model(data, data, spec, config)
    third = train_model(data, data, spec, TrainConfig(**{**config.__dict__, "seed": 4}))

    assert [r.train_loss for r in first.history] == [r.train_loss for r in second.history]
    assert [r.validation_auc for r in first.history] == [r.validation_auc for r in second.history]
    for key, value in first.model.state_dict().items():
        assert torch.equal(value, second.model.state_dict()[key]), key
    assert first.history[0].train_loss != third.history[0].train_loss
    assert first.initialisation == "scratch"
    assert not first.model.training


def test_training_refuses_a_validation_set_of_one_class() -> None:
    data = tiny_dataset(12)
    benign = data.subset(np.flatnonzero(data.labels == 0))
    with pytest.raises(ValueError, match="benign and malignant"):
        train_model(data, benign, Preprocessing(size=32), TrainConfig(imagenet=None))


def test_training_history_and_bundle_carry_per_epoch_metrics() -> None:
    data = tiny_dataset(12)
    spec = Preprocessing(size=32)
    result = train_model(
        data, data, spec, TrainConfig(epochs=2, batch_size=6, imagenet=None, progress=False)
    )

    assert [r.epoch for r in result.history] == [1, 2]
    assert all(math.isfinite(r.train_loss) and 0 <= r.validation_auc <= 1 for r in result.history)
    assert result.best_epoch in (1, 2)
    bundle = make_bundle(result, spec, data, data_provenance={"manifest": "test"})
    assert bundle.meta.training["epochs_run"] == 2
    augment = bundle.meta.training["augmentation"]
    assert augment["interpolation"] == "bilinear"
    assert augment["scale"] == [0.9, 1.0]
    assert augment["rotation_degrees"] == 15.0
    assert augment["applied"] is True
    assert bundle.meta.training["selection"]["early_stopping_and_model_selection_on"] == "case_auc"
    assert set(bundle.meta.validation_metrics) == {"image", "case"}
    assert bundle.calibration is not None
    assert bundle.calibration.shape == (12, 32, 32)


def test_cross_validation_trains_one_model_per_patient_fold() -> None:
    data = tiny_dataset(12)
    # One memory layout in training and after it: after one epoch from scratch the images'
    # probabilities nearly tie, and the last-bit difference between channels-last and contiguous
    # convolutions (it differs between CPUs) could reorder them.
    config = TrainConfig(
        epochs=1, batch_size=4, imagenet=None, progress=False, architecture="mobilenet_v2",
        channels_last=False,
    )  # fmt: skip

    result = cross_validate(data, Preprocessing(size=32), config, n_folds=2, stopping_folds=None)

    assert len(result.folds) == 2
    assert sum(fold.n_validation for fold in result.folds) == len(data)
    assert result.mean_auc == pytest.approx(np.mean(result.validation_aucs))
    assert not result.held_out_stopping
    assert "optimistic" in result.method
    # Stopping on the held-out fold: its AUC is the one the best epoch was chosen on.
    for split in result.splits:
        np.testing.assert_array_equal(split["stop"], split["held"])
    assert result.validation_aucs == pytest.approx(result.stopping_aucs)


def test_cross_validation_holds_each_fold_out_of_early_stopping() -> None:
    data = tiny_dataset(40)  # 20 patients, 7 malignant
    config = TrainConfig(
        epochs=1, batch_size=8, imagenet=None, progress=False, architecture="mobilenet_v2"
    )

    result = cross_validate(data, Preprocessing(size=32), config, n_folds=2)

    assert result.held_out_stopping
    held_all = np.concatenate([split["held"] for split in result.splits])
    assert sorted(held_all.tolist()) == list(range(len(data)))
    for split, fold in zip(result.splits, result.folds, strict=True):
        fit, stop, held = (set(data.patient_ids[split[k]]) for k in ("fit", "stop", "held"))
        assert not fit & stop
        assert not (fit | stop) & held
        assert fold.n_validation == len(split["stop"])  # it stopped on the stopping part
        assert set(data.labels[split["stop"]]) == {0.0, 1.0}
    assert len(result.image_aucs) == len(result.validation_aucs) == 2
    assert result.mean_image_auc == pytest.approx(np.mean(result.image_aucs))
    with pytest.raises(ValueError, match="too few patients"):
        cross_validate(tiny_dataset(12), Preprocessing(size=32), config, n_folds=2)


def test_early_stopping_selects_the_epoch_of_the_best_case_level_auc() -> None:
    data = tiny_dataset(24)
    spec = Preprocessing(size=32)
    config = TrainConfig(epochs=4, patience=10, batch_size=8, imagenet=None, progress=False)

    by_case = train_model(data, data, spec, config)
    case_aucs = [r.validation_case_auc for r in by_case.history]
    assert all(0 <= auc <= 1 for auc in case_aucs)
    # The best case AUC; of epochs tied on it, the one with the lowest validation loss.
    best = min(by_case.history, key=lambda r: (-r.validation_case_auc, r.validation_loss))
    assert by_case.best_epoch == best.epoch
    assert by_case.best_validation_auc == max(case_aucs)

    by_image = train_model(
        data, data, spec, TrainConfig(**{**config.__dict__, "select_on": "image"})
    )
    best = min(by_image.history, key=lambda r: (-r.validation_auc, r.validation_loss))
    assert by_image.best_epoch == best.epoch
    with pytest.raises(ValueError, match="select_on"):
        TrainConfig(select_on="loss")


def test_training_without_imagenet_weights_says_it_started_from_scratch(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An empty hub cache, unset again afterwards (set_dir(get_dir()) would hide $TORCH_HOME).
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path))
    data = tiny_dataset(8)
    result = train_model(
        data, data, Preprocessing(size=32), TrainConfig(epochs=1, batch_size=4, seed=1)
    )
    assert result.initialisation == "scratch"
    assert "no ImageNet weights for resnet18" in result.initialisation_note
    assert str(tmp_path) in result.initialisation_note
    assert any(
        r.levelname == "WARNING" and "no ImageNet weights" in r.getMessage() for r in caplog.records
    )
    bundle = make_bundle(result, Preprocessing(size=32), data)
    assert bundle.meta.training["initialisation_note"] == result.initialisation_note


def test_architectures_are_compared_on_the_same_split() -> None:
    data = tiny_dataset(12)
    config = TrainConfig(epochs=1, batch_size=4, imagenet=None, progress=False)

    best, results = compare_architectures(
        data, data, Preprocessing(size=32), config, ["resnet18", "mobilenet_v2"]
    )

    assert set(results) == {"resnet18", "mobilenet_v2"}
    assert results[best].best_validation_auc == max(r.best_validation_auc for r in results.values())


def test_best_architecture_is_the_one_with_the_highest_validation_auc() -> None:
    assert select_best({"resnet18": 0.91, "vgg16": 0.93, "mobilenet_v2": float("nan")}) == "vgg16"
    with pytest.raises(ValueError, match="no architecture"):
        select_best({"resnet18": float("nan")})


def test_evaluation_reports_image_and_case_level_metrics() -> None:
    # Case A (benign): 0.2, 0.7 → mean 0.45 benign; case B (malignant): 0.6, 0.3 → 0.45 benign;
    # case C (malignant): 0.8 → malignant; case D (benign): 0.1.
    report = evaluate(
        truth=np.array([0, 0, 1, 1, 1, 0]),
        probabilities=np.array([0.2, 0.7, 0.6, 0.3, 0.8, 0.1]),
        case_ids=["A", "A", "B", "B", "C", "D"],
    )
    image, case = report["image"], report["case"]
    assert (image["tp"], image["fn"], image["fp"], image["tn"]) == (2, 1, 1, 2)
    assert image["sensitivity"] == pytest.approx(2 / 3)
    assert image["ppv"] == pytest.approx(2 / 3)
    assert image["f1"] == pytest.approx(2 / 3)
    assert image["auc"] == pytest.approx(7 / 9)
    assert (case["tp"], case["fn"], case["fp"], case["tn"]) == (1, 1, 0, 2)
    assert case["accuracy"] == pytest.approx(3 / 4)
    assert case["specificity"] == 1.0
    assert case["npv"] == pytest.approx(2 / 3)
    assert case["auc"] == pytest.approx(0.875)  # B ties A (0.45): half a pair
    assert case["auc_ci_low"] <= case["auc"] <= case["auc_ci_high"]


def test_manifest_images_are_read_and_preprocessed(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    rows = []
    for i in range(3):
        rgb, roi = speckle_image(rng)
        cv2.imwrite(str(tmp_path / f"{i}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        rows.append({"patient_id": f"P{i}", "case_id": f"C{i}", "file": f"{i}.png",
                     "truth": "malignant" if i else "benign", "cohort": "train",
                     "roi_x": roi[0], "roi_y": roi[1], "roi_w": roi[2], "roi_h": roi[3]})  # fmt: skip
    with (tmp_path / "manifest.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    data = prepare_dataset(read_manifest(tmp_path / "manifest.csv"), Preprocessing(size=24))

    assert data.inputs.shape == (3, 24, 24)
    assert data.inputs.dtype == torch.uint8
    np.testing.assert_array_equal(data.labels, [0, 1, 1])
    assert len(data.cohort("train")) == 3


def test_every_epoch_is_reported_to_the_callback_with_its_stage() -> None:
    data = tiny_dataset(12)
    calls: list[tuple[str, int, int]] = []

    def on_epoch(stage: str, record: EpochRecord, epochs: int) -> None:
        calls.append((stage, record.epoch, epochs))

    config = TrainConfig(epochs=2, patience=5, batch_size=6, imagenet=None, progress=False)
    result = train_model(data, data, Preprocessing(size=32), config, on_epoch=on_epoch)
    assert calls == [("resnet18", 1, 2), ("resnet18", 2, 2)]
    assert len(result.history) == 2

    calls.clear()
    folds = TrainConfig(epochs=1, batch_size=4, imagenet=None, progress=False)
    cross_validate(data, Preprocessing(size=32), folds, n_folds=2, stopping_folds=None,
                   on_epoch=on_epoch)  # fmt: skip
    assert calls == [("resnet18 fold 1/2", 1, 1), ("resnet18 fold 2/2", 1, 1)]


def test_a_callback_that_raises_stops_the_training() -> None:
    def stop(stage: str, record: EpochRecord, epochs: int) -> None:
        raise RuntimeError(f"stopped at {record.epoch}")

    config = TrainConfig(epochs=3, batch_size=6, imagenet=None, progress=False)
    with pytest.raises(RuntimeError, match="stopped at 1"):
        train_model(tiny_dataset(12), tiny_dataset(12), Preprocessing(size=32), config,
                    on_epoch=stop)  # fmt: skip


def test_validation_calibration_recovers_a_known_logistic_map() -> None:
    # Truth drawn from sigmoid(0.5·z − 1) for logits z: the fit gives back about (0.5, −1).
    rng = np.random.default_rng(4)
    logits = rng.normal(0, 4, 4000)
    truth = rng.random(4000) < 1 / (1 + np.exp(-(0.5 * logits - 1)))
    scale, offset = validation_calibration(truth.astype(np.float32), 1 / (1 + np.exp(-logits)))
    assert scale == pytest.approx(0.5, abs=0.05)
    assert offset == pytest.approx(-1.0, abs=0.15)
    with pytest.raises(ValueError, match="benign and malignant"):
        validation_calibration(np.zeros(10), np.linspace(0.1, 0.9, 10))
    with pytest.raises(ValueError, match="do not rise with malignancy"):
        validation_calibration(truth.astype(np.float32), 1 / (1 + np.exp(logits)))


def test_calibrate_on_validation_folds_the_map_into_the_head_and_keeps_the_ranking() -> None:
    data = tiny_dataset(16)
    spec = Preprocessing(size=32)
    config = TrainConfig(epochs=1, batch_size=6, imagenet=None, progress=False, seed=2)
    plain = train_model(data, data, spec, config)
    calibrated = train_model(
        data, data, spec, TrainConfig(**{**config.__dict__, "calibrate_on": "validation"})
    )
    before = predict_probabilities(plain.model, data.inputs, spec, channels_last=False)
    after = predict_probabilities(calibrated.model, data.inputs, spec, channels_last=False)
    scale, offset = calibrated.calibration
    assert plain.calibration == (1.0, 0.0)
    assert (scale, offset) == validation_calibration(data.labels, before)
    logit = lambda p: np.log(p / (1 - p))  # noqa: E731
    unsaturated = (np.minimum(before, 1 - before) > 1e-4) & (np.minimum(after, 1 - after) > 1e-4)
    assert unsaturated.sum() >= 4
    assert np.allclose(
        logit(after[unsaturated]), scale * logit(before[unsaturated]) + offset, atol=1e-2
    )
    assert np.array_equal(np.argsort(after, kind="stable"), np.argsort(before, kind="stable"))
    recorded = make_bundle(calibrated, spec, data).meta.training["calibration"]
    assert (recorded["on"], recorded["scale"], recorded["offset"]) == ("validation", scale, offset)
    with pytest.raises(ValueError, match="calibrate_on must be one of"):
        TrainConfig(calibrate_on="test")


def test_a_tie_on_the_validation_auc_goes_to_the_lower_validation_loss() -> None:
    # An easy validation set: the case AUC reaches 1.0 early and stays; the loss keeps falling.
    data = tiny_dataset(24)
    config = TrainConfig(epochs=5, patience=10, batch_size=8, imagenet=None, progress=False)
    result = train_model(data, data, Preprocessing(size=32), config)
    top = max(r.validation_case_auc for r in result.history)
    tied = [r for r in result.history if r.validation_case_auc == top]
    assert result.best_record == min(tied, key=lambda r: r.validation_loss)
