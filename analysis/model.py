"""The model alone (seed Table 2): soft voting of image probabilities into case predictions,
metrics at image and case level per cohort, and the model against each reader (paired DeLong).

The statistics come from ``analysis.roc`` and ``analysis.metrics``; soft voting and the Table 2
layout are the seed paper's protocol, which no library implements.
"""

from __future__ import annotations

from collections.abc import Mapping
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


def soft_vote(
    *,
    images: pd.DataFrame,
    case_column: str = "case",
    probability_column: str = "probability",
    truth_column: str = "truth",
    threshold: float = MODEL_THRESHOLD,
) -> pd.DataFrame:
    """Case-level prediction = mean image probability; malignant when > threshold (seed paper)."""
    missing = [c for c in (case_column, probability_column, truth_column) if c not in images]
    if missing:
        raise AnalysisInputError(f"missing column(s): {', '.join(missing)}")
    grouped = images.groupby(images[case_column].astype(str), sort=True)
    if (grouped[truth_column].nunique() > 1).any():
        raise AnalysisInputError("a case's images disagree on its truth")
    cases = pd.DataFrame(
        {
            "truth": grouped[truth_column].first().astype(int),
            "probability": grouped[probability_column].mean(),
            "n_images": grouped.size(),
        }
    )
    cases["decision"] = (cases["probability"] > threshold).astype(int)
    return cases.rename_axis("case").reset_index()


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
        cases = soft_vote(
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
