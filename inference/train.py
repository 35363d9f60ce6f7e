"""Training as in the seed study: augmented, class-balanced epochs, early stopping on validation
AUC, five-fold cross-validation grouped by patient, the best architecture by validation AUC, and a
checkpoint bundle with provenance and metrics.

The study's unit is the case (a lesion, soft vote over its images), so early stopping and model
selection use the case-level AUC by default (`TrainConfig.select_on`); the image-level AUC is
recorded beside it in every epoch. Cross-validation holds each fold out of both training and
early stopping (stopping uses a patient-grouped part of the other folds), so its AUC is not the
optimistic figure of the data the epoch was chosen on; the validation cohort's own metrics are
(the checkpoint's provenance says so, `selection`).

Hand-written because the loop is short and every choice in it is the seed's (oversampling the
malignant class to the benign count, stopping on AUC rather than loss), which a trainer framework
would only hide; data handling is `inference.data`, metrics `inference.evaluate`.

Early stopping and selection break a tie on the validation AUC by the validation loss: on a
small validation cohort the case AUC often reaches 1.0 (or another plateau) epochs before the
model is done, and the first epoch of the plateau was chosen.

Determinism: seeds for torch and numpy, deterministic algorithms, and a forked RNG so the caller's
random state is untouched; on the CPU the same seed gives the same weights and history.
`TrainConfig.quick()` with `Preprocessing(size=112)` is the small preset (bf16 autocast where the
CPU has it, few epochs): ResNet18 on 200 phantom cases (~300 training images) trained 8 epochs in
70–85 s on one thread and reached a validation AUC of 0.96. On the shared 2-core machine one
thread (`threads=1`) was several times faster than two: OpenMP barriers wait for a descheduled
thread.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import torch
import torchvision
from torch import nn
from tqdm import tqdm

from inference.checkpoint import ModelBundle, ModelMeta
from inference.data import (
    Augmentation,
    Dataset,
    augmentation,
    oversampled_indices,
    patient_folds,
)
from inference.evaluate import evaluate, quick_auc, quick_case_auc
from inference.predictor import native_bf16
from inference.preprocess import Preprocessing, normalise
from inference.zoo import architecture, create_model, init_from_imagenet, scratch_note

log = logging.getLogger(__name__)
CALIBRATION_IMAGES = 32
SELECT_ON = ("case", "image")
CALIBRATE_ON = (None, "validation")
STOPPING_FOLDS = 8  # cross-validation stops on 1/8 of each fold's training patients


@dataclass(frozen=True)
class TrainConfig:
    architecture: str = "resnet18"
    epochs: int = 30
    patience: int = 6  # epochs without a better validation AUC before stopping
    batch_size: int = 32
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    seed: int = 0
    imagenet: str | None = "auto"  # "auto" (hub cache if present), a file path, or None
    augment: bool = True
    oversample: bool = True
    bf16: bool = False  # autocast the forward pass (only where the hardware has native bf16)
    channels_last: bool = True
    device: str = "cpu"  # "cuda" trains on a GPU (deterministic only up to cuDNN's choices)
    threads: int | None = None
    progress: bool = True
    select_on: str = "case"  # early stopping and model selection: "case" (soft vote) or "image" AUC
    augmentation: Augmentation = field(default_factory=Augmentation)
    # None: the probabilities as trained (the seed's). "validation": recalibrated on the
    # validation images (`validation_calibration`), folded into the head.
    calibrate_on: str | None = None

    def __post_init__(self) -> None:
        if self.select_on not in SELECT_ON:
            raise ValueError(f"select_on must be one of {SELECT_ON}, not {self.select_on!r}")
        if self.calibrate_on not in CALIBRATE_ON:
            raise ValueError(
                f"calibrate_on must be one of {CALIBRATE_ON}, not {self.calibrate_on!r}"
            )
        if isinstance(self.augmentation, Mapping):  # a config read back from its JSON
            object.__setattr__(self, "augmentation", Augmentation.from_dict(self.augmentation))

    @classmethod
    def quick(cls, **overrides: Any) -> TrainConfig:
        """Small and fast: for phantoms and tests on a CPU (use with Preprocessing(size=112))."""
        values: dict[str, Any] = {"epochs": 12, "patience": 4, "bf16": True, "batch_size": 32}
        return cls(**{**values, **overrides})


@dataclass(frozen=True)
class EpochRecord:
    epoch: int
    train_loss: float
    validation_loss: float
    validation_auc: float  # image level
    learning_rate: float
    seconds: float
    validation_case_auc: float = math.nan  # soft vote per case


# Called after every epoch with the run's stage (its architecture, or "resnet18 fold 2/5"), the
# epoch's record and the most epochs the run may take: how an adapter reports progress (the
# worker's training job writes it to the database). A plain callable: the core knows no framework.
EpochCallback = Callable[[str, EpochRecord, int], None]


@dataclass
class TrainResult:
    model: nn.Module  # the best epoch's weights, eval mode, on the CPU
    history: list[EpochRecord]
    best_epoch: int
    best_validation_auc: float  # the AUC selected on (config.select_on) at the best epoch
    initialisation: str
    config: TrainConfig
    n_train: int = 0
    n_validation: int = 0
    initialisation_note: str = ""  # why it trained from scratch, when it did
    calibration: tuple[float, float] = (1.0, 0.0)  # logit ↦ scale·logit + offset, in the head

    @property
    def best_record(self) -> EpochRecord:
        return self.history[max(self.best_epoch, 1) - 1]


@contextlib.contextmanager
def _reproducible(seed: int, threads: int | None, device: torch.device) -> Iterator[None]:
    previous_threads = torch.get_num_threads()
    previous_deterministic = torch.are_deterministic_algorithms_enabled()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # also seeds CUDA
        # Strict on the CPU; on a GPU some kernels have no deterministic variant: warn instead.
        torch.use_deterministic_algorithms(True, warn_only=device.type != "cpu")
        if threads:
            torch.set_num_threads(threads)
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(previous_deterministic)
            torch.set_num_threads(previous_threads)


def _autocast(enabled: bool, device: torch.device) -> contextlib.AbstractContextManager[Any]:
    if enabled:
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def predict_probabilities(
    model: nn.Module,
    inputs: torch.Tensor,
    spec: Preprocessing,
    *,
    batch_size: int = 64,
    bf16: bool = False,
    channels_last: bool = True,
    device: torch.device | None = None,
) -> np.ndarray:
    """Probabilities (float32) of uint8 crops (N, S, S), batched, in eval mode."""
    device = device or torch.device("cpu")
    model.eval()
    out = []
    with torch.inference_mode(), _autocast(bf16, device):
        for start in range(0, len(inputs), batch_size):
            x = normalise(inputs[start : start + batch_size].to(device), spec)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            out.append(torch.sigmoid(model(x).float().reshape(-1)).cpu())
    return torch.cat(out).numpy() if out else np.empty(0, dtype=np.float32)


def train_model(
    train: Dataset,
    validation: Dataset,
    spec: Preprocessing,
    config: TrainConfig,
    *,
    on_epoch: EpochCallback | None = None,
    stage: str | None = None,
) -> TrainResult:
    """Train one architecture; keep the weights of the epoch with the best validation AUC.
    `on_epoch(stage, record, config.epochs)` follows every epoch (`stage`: the architecture's
    name unless given); an exception it raises stops the training.

    Long because it is one epoch loop with early stopping; its steps share the loop's state.
    """
    if len(np.unique(validation.labels > 0.5)) < 2:
        raise ValueError("early stopping on AUC needs benign and malignant validation images")
    note = ""
    device = torch.device(config.device)
    bf16 = config.bf16 and native_bf16(device)
    with _reproducible(config.seed, config.threads, device):
        model = create_model(config.architecture)
        if config.imagenet == "auto":
            initialisation = init_from_imagenet(model, config.architecture)
            if initialisation == "scratch":
                note = scratch_note(config.architecture)
                log.warning("%s", note)
        elif config.imagenet:
            initialisation = init_from_imagenet(model, config.architecture, path=config.imagenet)
        else:
            initialisation = "scratch"
        memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
        model = model.to(device).to(memory_format=memory_format)
        optimiser = torch.optim.AdamW(
            model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
        )
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=config.epochs)
        loss_fn = nn.BCEWithLogitsLoss()
        augment = augmentation(spec.size, config.augmentation)
        rng = np.random.default_rng(config.seed)
        history: list[EpochRecord] = []
        best_auc, best_loss, best_epoch = -math.inf, math.inf, 0
        best_state = copy.deepcopy(model.state_dict())
        bar = tqdm(range(1, config.epochs + 1), desc=config.architecture, unit="epoch",
                   disable=not config.progress)  # fmt: skip
        for epoch in bar:
            started = time.perf_counter()
            order = (
                oversampled_indices(train.labels, rng)
                if config.oversample
                else rng.permutation(len(train))
            )
            model.train()
            losses = []
            for start in range(0, len(order), config.batch_size):
                batch = order[start : start + config.batch_size]
                if len(batch) < 2:  # batch-norm needs two images
                    continue
                crops = [train.inputs[int(i)][None] for i in batch]
                if config.augment:
                    crops = [augment(crop) for crop in crops]
                x = normalise(torch.stack(crops).to(device), spec)
                x = x.contiguous(memory_format=memory_format)
                y = torch.from_numpy(train.labels[batch]).to(device)
                optimiser.zero_grad(set_to_none=True)
                with _autocast(bf16, device):
                    logits = model(x).float().reshape(-1)
                loss = loss_fn(logits, y)
                loss.backward()
                optimiser.step()
                losses.append(loss.item())
            scheduler.step()
            prob = predict_probabilities(model, validation.inputs, spec, bf16=bf16,
                                         channels_last=config.channels_last, device=device)  # fmt: skip
            val_loss = float(
                nn.functional.binary_cross_entropy(
                    torch.from_numpy(prob).double().clamp(1e-7, 1 - 1e-7),
                    torch.from_numpy(validation.labels).double(),
                )
            )
            image_auc = quick_auc(validation.labels, prob)
            case_auc = quick_case_auc(validation.labels, prob, validation.case_ids)
            record = EpochRecord(
                epoch, float(np.mean(losses)) if losses else float("nan"), val_loss, image_auc,
                optimiser.param_groups[0]["lr"], time.perf_counter() - started, case_auc,
            )  # fmt: skip
            history.append(record)
            if on_epoch is not None:
                on_epoch(stage or config.architecture, record, config.epochs)
            auc = case_auc if config.select_on == "case" else image_auc
            bar.set_postfix(
                loss=f"{record.train_loss:.3f}",
                val_auc=f"{image_auc:.3f}",
                case_auc=f"{case_auc:.3f}",
            )
            # A tie on the AUC goes to the lower validation loss: a small validation cohort's
            # case AUC saturates (every pair ranked right), and the first epoch to get there is
            # rarely the best-trained one.
            if auc > best_auc or (auc == best_auc and val_loss < best_loss):
                best_auc, best_loss, best_epoch = auc, val_loss, epoch
                best_state = copy.deepcopy(model.state_dict())
            elif epoch - best_epoch >= config.patience:
                break
        model.load_state_dict(best_state)
    model = model.to("cpu").to(memory_format=torch.contiguous_format).eval()
    calibration = (1.0, 0.0)
    if config.calibrate_on == "validation":
        prob = predict_probabilities(model, validation.inputs, spec, channels_last=False)
        calibration = validation_calibration(validation.labels, prob)
        _calibrate_head(model, config.architecture, *calibration)
    return TrainResult(
        model, history, best_epoch, float(best_auc), initialisation, config,
        len(train), len(validation), note, calibration,
    )  # fmt: skip


def validation_calibration(truth: np.ndarray, probabilities: np.ndarray) -> tuple[float, float]:
    """Logistic recalibration (Platt scaling) on the validation images: the (scale, offset) for
    which sigmoid(scale·logit + offset) best fits their truth (maximum likelihood with
    scikit-learn's default light L2 penalty, C = 1, so that a validation set the model separates
    perfectly still gives a finite scale).

    Why: trained from scratch on a few hundred cases, the model is overconfident (its logits
    span ±10) and its 0.5 is no operating point (the 400-case demo's: sensitivity 0.54 at
    specificity 0.96 on the internal test, uncalibrated). Readers are shown the probability and the class at
    the study's threshold, so the probability should mean what it says: calibrated on the
    validation cohort, which early stopping used already, 0.5 becomes "as likely malignant as
    not" at that cohort's prevalence, the seed's kind of operating point. The map is increasing
    (a scale ≤ 0 is refused), so the image AUC and the heatmaps stay as they were; the case
    AUC can move a little (the soft vote averages probabilities); the test cohorts, unseen,
    say how well it carries over."""
    from sklearn.linear_model import LogisticRegression

    labels = np.asarray(truth) > 0.5
    if labels.all() or not labels.any():
        raise ValueError("calibration needs benign and malignant validation images")
    clipped = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-7, 1 - 1e-7)
    logits = np.log(clipped) - np.log1p(-clipped)
    fit = LogisticRegression(C=1.0, solver="lbfgs", max_iter=1000)
    fit.fit(logits[:, None], labels)
    scale, offset = float(fit.coef_[0, 0]), float(fit.intercept_[0])
    if not scale > 0:
        raise ValueError(f"the validation logits do not rise with malignancy (scale {scale:.3g})")
    return scale, offset


def _calibrate_head(model: nn.Module, name: str, scale: float, offset: float) -> None:
    """logit ↦ scale·logit + offset, folded into the head (a Linear layer)."""
    head = model.get_submodule(architecture(name).head)
    assert isinstance(head, nn.Linear)
    assert head.bias is not None
    with torch.no_grad():
        head.weight.mul_(scale)
        head.bias.mul_(scale).add_(offset)


@dataclass
class CrossValidation:
    """Each fold's AUC on its held-out patients, at case level (`validation_aucs`, the study's
    unit) and image level; `stopping_aucs` are those of the data early stopping used (the
    held-out fold itself when `held_out_stopping` is False: then the fold AUCs are optimistic)."""

    folds: list[TrainResult]
    validation_aucs: list[float] = field(default_factory=list)
    image_aucs: list[float] = field(default_factory=list)
    stopping_aucs: list[float] = field(default_factory=list)
    held_out_stopping: bool = True
    splits: list[dict[str, np.ndarray]] = field(default_factory=list)  # fit/stop/held indices

    @property
    def mean_auc(self) -> float:
        return float(np.mean(self.validation_aucs))

    @property
    def std_auc(self) -> float:
        return _std(self.validation_aucs)

    @property
    def mean_image_auc(self) -> float:
        return float(np.mean(self.image_aucs))

    @property
    def std_image_auc(self) -> float:
        return _std(self.image_aucs)

    @property
    def method(self) -> str:
        if self.held_out_stopping:
            return (
                "each fold's AUC is on patients used neither for training nor for early stopping "
                "(stopping used a patient-grouped part of the other folds' patients)"
            )
        return "each fold's AUC is on the patients early stopping chose the epoch on: optimistic"


def _std(values: Sequence[float]) -> float:
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def cross_validate(
    data: Dataset,
    spec: Preprocessing,
    config: TrainConfig,
    *,
    n_folds: int = 5,
    stopping_folds: int | None = STOPPING_FOLDS,
    on_epoch: EpochCallback | None = None,
) -> CrossValidation:
    """Five-fold cross-validation grouped by patient; each fold is held out once. The seed reports
    the mean of the five runs. Early stopping uses 1/`stopping_folds` of the other folds'
    patients (grouped and stratified), so the held-out fold stays unseen; `stopping_folds=None`
    stops on the held-out fold itself (the optimistic figure, kept for comparison)."""
    results, case_aucs, image_aucs, stopping_aucs, splits = [], [], [], [], []
    for fold, (train_idx, held_idx) in enumerate(
        patient_folds(data.patient_ids, data.labels, n_folds=n_folds, seed=config.seed)
    ):
        fold_config = replace(config, seed=config.seed + fold)
        held = data.subset(held_idx)
        if stopping_folds is None:
            fit_idx, stop_idx = train_idx, held_idx
        else:
            inner_fit, inner_stop = _stopping_split(
                data, train_idx, stopping_folds, config.seed + fold
            )
            fit_idx, stop_idx = train_idx[inner_fit], train_idx[inner_stop]
        splits.append({"fit": fit_idx, "stop": stop_idx, "held": held_idx})
        result = train_model(
            data.subset(fit_idx), data.subset(stop_idx), spec, fold_config, on_epoch=on_epoch,
            stage=f"{config.architecture} fold {fold + 1}/{n_folds}",
        )  # fmt: skip
        prob = predict_probabilities(result.model, held.inputs, spec, channels_last=False)
        results.append(result)
        case_aucs.append(quick_case_auc(held.labels, prob, held.case_ids))
        image_aucs.append(quick_auc(held.labels, prob))
        stopping_aucs.append(result.best_validation_auc)
    return CrossValidation(
        results, case_aucs, image_aucs, stopping_aucs, stopping_folds is not None, splits
    )


def _stopping_split(
    data: Dataset, train_idx: np.ndarray, stopping_folds: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(fit, stop) positions within `train_idx`: one of `stopping_folds` patient-grouped,
    stratified folds, fewer folds when there are fewer patients of a class."""
    patients, labels = data.patient_ids[train_idx], data.labels[train_idx]
    worst = dict.fromkeys(patients, 0)
    for p, y in zip(patients, labels, strict=True):
        worst[p] = max(worst[p], int(y > 0.5))
    malignant = sum(worst.values())
    k = min(stopping_folds, malignant, len(worst) - malignant)
    if k < 2:
        raise ValueError(
            "too few patients to hold early-stopping data out of a fold (needs two benign and two "
            "malignant patients in the other folds); use stopping_folds=None to stop on the fold"
        )
    return patient_folds(patients, labels, n_folds=k, seed=seed)[0]


def select_best(validation_aucs: Mapping[str, float]) -> str:
    """The architecture with the highest validation AUC (the seed's model selection; case level
    unless the configs said otherwise); ties go to the first listed, NaNs never win."""
    finite = {k: v for k, v in validation_aucs.items() if not math.isnan(v)}
    if not finite:
        raise ValueError("no architecture has a validation AUC")
    return max(finite, key=lambda k: finite[k])


def compare_architectures(
    train: Dataset,
    validation: Dataset,
    spec: Preprocessing,
    config: TrainConfig,
    architectures: Sequence[str],
    *,
    on_epoch: EpochCallback | None = None,
) -> tuple[str, dict[str, TrainResult]]:
    """Train each architecture on the same split; return the best one's name and all results."""
    results = {
        name: train_model(
            train, validation, spec, replace(config, architecture=name), on_epoch=on_epoch
        )
        for name in architectures
    }
    return select_best({k: r.best_validation_auc for k, r in results.items()}), results


def make_bundle(
    result: TrainResult,
    spec: Preprocessing,
    validation: Dataset,
    *,
    data_provenance: Mapping[str, Any] | None = None,
) -> ModelBundle:
    """A checkpoint bundle of the best epoch: provenance, validation metrics (image and case
    level, with CIs) and a few validation crops for the predictor's bf16 check."""
    prob = predict_probabilities(result.model, validation.inputs, spec, channels_last=False)
    metrics = evaluate(truth=validation.labels, probabilities=prob, case_ids=validation.case_ids)
    best = result.best_record
    training = {
        "initialisation": result.initialisation,
        "initialisation_note": result.initialisation_note,
        "config": asdict(result.config),
        "augmentation": {
            **result.config.augmentation.to_dict(),
            "applied": result.config.augment,
            "source": (
                "seed Methods: rotation up to 15°, horizontal flip, scaling with maximum scale 1, "
                "translation ±20 px, mixed; smallest scale and probabilities are not in the seed "
                "(inference.data.Augmentation)"
            ),
        },
        "calibration": {
            "on": result.config.calibrate_on,
            "scale": result.calibration[0],
            "offset": result.calibration[1],
            "note": (
                "logistic recalibration on the validation images, folded into the head: "
                "logit ↦ scale·logit + offset (inference.train.validation_calibration)"
                if result.config.calibrate_on == "validation"
                else "as trained"
            ),
        },
        "selection": {
            "early_stopping_and_model_selection_on": f"{result.config.select_on}_auc",
            "best_epoch_validation_case_auc": best.validation_case_auc,
            "best_epoch_validation_image_auc": best.validation_auc,
            "note": (
                "the validation cohort chose the epoch (and the architecture), so its metrics "
                "are optimistic; the internal and external test cohorts are not"
            ),
        },
        "best_epoch": result.best_epoch,
        "epochs_run": len(result.history),
        "history": [asdict(r) for r in result.history],
        "n_train_images": result.n_train,
        "n_validation_images": result.n_validation,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "data": dict(data_provenance or {}),
    }
    calibration = validation.inputs[:CALIBRATION_IMAGES].numpy().copy()
    meta = ModelMeta(result.config.architecture, training, metrics)
    return ModelBundle(result.model, spec, meta, calibration)
