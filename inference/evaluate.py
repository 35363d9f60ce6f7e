"""The model's diagnostic performance at image and case level (seed Table 2), as plain dicts.

The statistics are `analysis.roc.auc_delong` (AUC with DeLong CI) and `analysis.metrics.binary_metrics`
(Wilson CIs for accuracy, sensitivity, specificity, PPV and NPV; F1; Cohen's kappa), so the model's figures and the readers'
come from one implementation; this module only applies it at the two levels the seed reports —
each image, and each case by soft vote (`analysis.model.soft_vote`) — and flattens the
result into JSON for the checkpoint and the model version.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from analysis.metrics import binary_metrics, metrics_row
from analysis.model import MODEL_THRESHOLD, soft_vote
from analysis.roc import auc_delong


def quick_auc(truth: np.ndarray, probabilities: np.ndarray) -> float:
    """AUC for early stopping (no CI); NaN when only one class is present."""
    truth = np.asarray(truth) > 0.5
    if truth.all() or not truth.any():
        return float("nan")
    return float(roc_auc_score(truth, probabilities))


def quick_case_auc(
    truth: np.ndarray, probabilities: np.ndarray, case_ids: Sequence[str] | np.ndarray
) -> float:
    """The AUC of the cases' soft votes (the study's unit), for early stopping; NaN when only
    one class of case is present."""
    vote = soft_vote(case_ids=case_ids, probabilities=np.asarray(probabilities, np.float64))
    case_truth = soft_vote(case_ids=case_ids, probabilities=np.asarray(truth, np.float64))
    return quick_auc(case_truth.probabilities, vote.probabilities)


def level_metrics(
    truth: np.ndarray, probabilities: np.ndarray, *, threshold: float = MODEL_THRESHOLD
) -> dict[str, Any]:
    """AUC (95% CI) and the metrics of probability > threshold, flat and JSON-ready."""
    truth = np.asarray(truth) > 0.5
    probabilities = np.asarray(probabilities, dtype=np.float64)
    auc = auc_delong(truth=truth, scores=probabilities)
    row = metrics_row(
        binary_metrics(truth=truth, decision=(probabilities > threshold).astype(np.float64))
    )
    row.pop("binary_auc", None)  # the AUC of the calls; the model's AUC is of its probabilities
    row.pop("binary_auc_ci_low", None)
    row.pop("binary_auc_ci_high", None)
    for key in ("time_mean", "time_median"):
        row.pop(key, None)
    row["auc"] = auc.auc
    row["auc_ci_low"], row["auc_ci_high"] = auc.ci
    row["threshold"] = threshold
    return {k: _plain(v) for k, v in row.items()}


def evaluate(
    *,
    truth: np.ndarray,
    probabilities: np.ndarray,
    case_ids: Sequence[str] | np.ndarray,
    threshold: float = MODEL_THRESHOLD,
) -> dict[str, dict[str, Any]]:
    """{"image": metrics, "case": metrics}; a case's truth is that of its images."""
    truth = np.asarray(truth, dtype=np.float64)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    vote = soft_vote(case_ids=case_ids, probabilities=probabilities, threshold=threshold)
    case_truth = soft_vote(case_ids=case_ids, probabilities=truth).probabilities
    if np.any((case_truth > 0) & (case_truth < 1)):
        raise ValueError("a case's images disagree on its truth")
    return {
        "image": level_metrics(truth, probabilities, threshold=threshold),
        "case": level_metrics(case_truth, vote.probabilities, threshold=threshold),
    }


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
