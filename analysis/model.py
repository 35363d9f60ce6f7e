"""The model alone (seed Table 2): soft voting of image probabilities into case predictions,
metrics at image and case level per cohort, and the model against each reader (paired DeLong).

The statistics come from ``analysis.roc`` and ``analysis.metrics``; soft voting and the Table 2
layout are the seed paper's protocol, which no library implements.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from analysis.errors import AnalysisInputError
from analysis.metrics import BinaryMetrics, binary_metrics, metrics_row
from analysis.roc import AucResult, PairedDelongResult, auc_delong, delong_paired_test

MODEL_THRESHOLD = 0.5


@dataclass(frozen=True)
class ModelMetrics:
    """The model alone: AUC of its probability plus the metrics of probability > threshold."""

    auc: AucResult
    threshold: float
    metrics: BinaryMetrics


@dataclass(frozen=True)
class CaseVote:
    case_ids: list[str]
    probabilities: np.ndarray  # float64, mean image probability per case
    malignant: np.ndarray  # bool, probability > threshold
    n_images: np.ndarray  # int


def soft_vote(
    *,
    case_ids: Sequence[str] | np.ndarray,
    probabilities: Sequence[float] | np.ndarray,
    threshold: float = MODEL_THRESHOLD,
) -> CaseVote:
    """The seed's case prediction: the mean probability over a case's images, malignant when
    > threshold (strictly). Cases come out sorted by id. Needs no truth (precompute has none);
    `soft_vote_frame` is this on a frame with truth."""
    ids = np.asarray([str(c) for c in case_ids])
    prob = np.asarray(probabilities, dtype=np.float64)
    if ids.shape != prob.shape:
        raise AnalysisInputError(f"{ids.size} case ids but {prob.size} probabilities")
    unique, inverse, counts = np.unique(ids, return_inverse=True, return_counts=True)
    means = np.bincount(inverse, weights=prob, minlength=unique.size) / counts
    return CaseVote([str(u) for u in unique], means, means > threshold, counts)


def soft_vote_frame(
    *,
    images: pd.DataFrame,
    case_column: str = "case",
    probability_column: str = "probability",
    truth_column: str = "truth",
    threshold: float = MODEL_THRESHOLD,
) -> pd.DataFrame:
    """`soft_vote` of a frame of images with truth: a row per case (case, truth, probability,
    n_images, decision)."""
    missing = [c for c in (case_column, probability_column, truth_column) if c not in images]
    if missing:
        raise AnalysisInputError(f"missing column(s): {', '.join(missing)}")
    truth = images.groupby(images[case_column].astype(str), sort=True)[truth_column]
    if (truth.nunique() > 1).any():
        raise AnalysisInputError("a case's images disagree on its truth")
    vote = soft_vote(
        case_ids=images[case_column].to_numpy(),
        probabilities=images[probability_column].to_numpy(),
        threshold=threshold,
    )
    return pd.DataFrame(
        {
            "case": vote.case_ids,
            "truth": truth.first().loc[vote.case_ids].astype(int).to_numpy(),
            "probability": vote.probabilities,
            "n_images": vote.n_images,
            "decision": vote.malignant.astype(int),
        }
    )


def model_metrics(
    *,
    truth: ArrayLike,
    probability: ArrayLike,
    threshold: float = MODEL_THRESHOLD,
    level: float = 0.95,
) -> ModelMetrics:
    """The model alone (seed Table 2) at image or case level: DeLong AUC + metrics at threshold."""
    prob = np.asarray(probability, dtype=np.float64)
    return ModelMetrics(
        auc=auc_delong(truth=truth, scores=prob, level=level),
        threshold=threshold,
        metrics=binary_metrics(truth=truth, decision=(prob > threshold).astype(float), level=level),
    )


def model_vs_readers(
    *,
    truth: ArrayLike,
    model_scores: ArrayLike,
    reader_scores: Mapping[str, ArrayLike],
    level: float = 0.95,
) -> dict[str, PairedDelongResult]:
    """Paired DeLong test of the model against each reader on the same cases (diff = model − reader)."""
    return {
        reader: delong_paired_test(truth=truth, scores_a=model_scores, scores_b=scores, level=level)
        for reader, scores in reader_scores.items()
    }


def model_table(
    *,
    images: pd.DataFrame,
    cohort_column: str | None = None,
    case_column: str = "case",
    probability_column: str = "probability",
    truth_column: str = "truth",
    threshold: float = MODEL_THRESHOLD,
    level: float = 0.95,
) -> pd.DataFrame:
    """Seed Table 2 for one model: a row per cohort and level (image, case) with the DeLong AUC
    and its CI, and the metrics of probability > threshold (Wilson CIs, F1, kappa)."""
    missing = [
        c
        for c in (case_column, probability_column, truth_column, cohort_column)
        if c and c not in images
    ]
    if missing:
        raise AnalysisInputError(f"missing column(s): {', '.join(missing)}")
    cohorts = (
        [(None, images)]
        if cohort_column is None
        else list(images.groupby(cohort_column, sort=True))
    )
    rows = []
    for cohort, frame in cohorts:
        cases = soft_vote_frame(
            images=frame,
            case_column=case_column,
            probability_column=probability_column,
            truth_column=truth_column,
            threshold=threshold,
        )
        levels = {
            "image": (frame[truth_column], frame[probability_column]),
            "case": (cases["truth"], cases["probability"]),
        }
        for name, (truth, probability) in levels.items():
            result = model_metrics(
                truth=truth, probability=probability, threshold=threshold, level=level
            )
            row: dict[str, object] = {"level": name}
            if cohort_column is not None:
                row["cohort"] = cohort
            row.update(
                auc=result.auc.auc, auc_ci_low=result.auc.ci[0], auc_ci_high=result.auc.ci[1]
            )
            row.update(metrics_row(result.metrics))
            rows.append(row)
    return pd.DataFrame(rows)
