"""Empirical ROC AUC with DeLong variance, the paired DeLong test and ROC curve points.

Written by hand because no maintained Python library exposes DeLong's structural components
(V10/V01) or the paired DeLong test: scikit-learn gives the AUC and the curve (used here for the
curve), not the variance. The components are exposed so that ``analysis.mrmc`` builds its
Obuchowski–Rockette covariance from the same numbers as the per-reader tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats
from sklearn.metrics import roc_curve

from analysis.errors import AnalysisInputError

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class AucResult:
    """An AUC, its DeLong standard error and a normal (pROC-style, clipped to [0, 1]) CI."""

    auc: float
    se: float
    ci: tuple[float, float]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class PairedDelongResult:
    """Two correlated AUCs on the same cases; ``diff`` is ``auc_a - auc_b``."""

    auc_a: float
    auc_b: float
    diff: float
    se: float
    z: float
    p: float
    ci: tuple[float, float]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class DelongComponents:
    """Structural components of k AUCs on the same cases (DeLong et al. 1988).

    ``v10[r, i]`` is the placement of positive case i among the negatives for score vector r
    (ties one half), ``v01[r, j]`` that of negative case j among the positives; each row of
    either averages to ``auc[r]``.
    """

    auc: FloatArray
    v10: FloatArray
    v01: FloatArray

    @property
    def covariance(self) -> FloatArray:
        """DeLong covariance S10/m + S01/n with unbiased (n − 1) sample covariances, as pROC."""
        m = self.v10.shape[1]
        n = self.v01.shape[1]
        if m < 2 or n < 2:
            k = self.auc.shape[0]
            return np.full((k, k), np.nan)
        s10 = np.atleast_2d(np.cov(self.v10))
        s01 = np.atleast_2d(np.cov(self.v01))
        return np.asarray(s10 / m + s01 / n, dtype=np.float64)


@dataclass(frozen=True)
class RocCurve:
    """Empirical ROC curve points, from (0, 0) to (1, 1), thresholds decreasing."""

    fpr: FloatArray
    tpr: FloatArray
    thresholds: FloatArray


def as_truth(truth: ArrayLike) -> BoolArray:
    """Validate a 0/1 (or boolean) truth vector with both classes present."""
    values = np.asarray(truth)
    if values.ndim != 1:
        raise AnalysisInputError("truth must be one-dimensional")
    if values.dtype != np.bool_:
        numeric = np.asarray(values, dtype=np.float64)
        if not np.all(np.isin(numeric, (0.0, 1.0))):
            raise AnalysisInputError("truth must be 0 or 1 for every case")
        values = numeric == 1.0
    if values.all() or not values.any():
        raise AnalysisInputError(
            "truth needs at least one positive and one negative case (a class has no cases)"
        )
    return np.asarray(values, dtype=np.bool_)


def _as_scores(scores: ArrayLike, n_cases: int) -> FloatArray:
    try:
        values = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise AnalysisInputError("scores must be numeric") from exc
    values = np.atleast_2d(values)
    if values.ndim != 2 or values.shape[1] != n_cases:
        raise AnalysisInputError(
            f"scores must have one value per case ({n_cases}), got shape {np.shape(scores)}"
        )
    if not np.all(np.isfinite(values)):
        raise AnalysisInputError("scores must be finite numbers (no missing values)")
    return values


def delong_components(*, truth: ArrayLike, scores: ArrayLike) -> DelongComponents:
    """DeLong structural components for one score vector (n,) or k vectors (k, n) on one truth.

    Source: DeLong, DeLong & Clarke-Pearson 1988 (Biometrics 44:837); the O(n log n) midrank
    algorithm of Sun & Xu 2014 (IEEE Signal Process. Lett. 21:1389). Higher scores mean
    "more likely positive"; ties between a positive and a negative count one half.
    """
    positive = as_truth(truth)
    values = _as_scores(scores, positive.shape[0])
    pos = values[:, positive]
    neg = values[:, ~positive]
    m = pos.shape[1]
    n = neg.shape[1]
    # Midranks inside each class and in the pooled sample give each case's placement among
    # the other class in one sort (Sun & Xu), instead of DeLong's m×n comparison matrix.
    rank_pos = stats.rankdata(pos, axis=1)
    rank_neg = stats.rankdata(neg, axis=1)
    rank_all = stats.rankdata(np.concatenate([pos, neg], axis=1), axis=1)
    auc = (rank_all[:, :m].sum(axis=1) - m * (m + 1) / 2.0) / (m * n)
    v10 = (rank_all[:, :m] - rank_pos) / n
    v01 = 1.0 - (rank_all[:, m:] - rank_neg) / m
    return DelongComponents(
        auc=np.asarray(auc, dtype=np.float64),
        v10=np.asarray(v10, dtype=np.float64),
        v01=np.asarray(v01, dtype=np.float64),
    )


def normal_ci(
    *, estimate: float, se: float, level: float = 0.95, clip: bool = True
) -> tuple[float, float]:
    """Wald interval estimate ± z·se, optionally clipped to [0, 1] as pROC's ``ci.auc`` does."""
    if not np.isfinite(se):
        return (float("nan"), float("nan"))
    half = float(stats.norm.ppf(0.5 + level / 2.0)) * se
    low, high = estimate - half, estimate + half
    if clip:
        low, high = max(low, 0.0), min(high, 1.0)
    return (float(low), float(high))


def empirical_auc(*, truth: ArrayLike, scores: ArrayLike) -> float:
    """Mann–Whitney AUC, P(score_pos > score_neg) + ½·P(tie) (Bamber 1975; Hanley & McNeil 1982)."""
    return float(delong_components(truth=truth, scores=scores).auc[0])


def auc_delong(*, truth: ArrayLike, scores: ArrayLike, level: float = 0.95) -> AucResult:
    """Empirical AUC with DeLong SE and a normal CI clipped to [0, 1].

    Source: DeLong, DeLong & Clarke-Pearson 1988; fast algorithm of Sun & Xu 2014; the CI is
    pROC's ``ci.auc(method = "delong")`` (Robin et al. 2011).
    """
    components = delong_components(truth=truth, scores=scores)
    auc = float(components.auc[0])
    se = float(np.sqrt(components.covariance[0, 0]))
    notes = auc_notes(components=components, index=0)
    return AucResult(auc=auc, se=se, ci=normal_ci(estimate=auc, se=se, level=level), notes=notes)


def auc_notes(*, components: DelongComponents, index: int) -> tuple[str, ...]:
    """Why a DeLong variance is zero: perfect separation (AUC 0 or 1; pROC warns and keeps
    variance 0, as here) or every score tied (no ranking at all)."""
    v10, v01 = components.v10[index], components.v01[index]
    auc = float(components.auc[index])
    if np.ptp(v10) > 0 or np.ptp(v01) > 0:
        return ()
    if auc in (0.0, 1.0):
        return (f"AUC {auc:g}: perfect separation, DeLong variance 0 (as pROC, with a warning)",)
    return (f"AUC {auc:g} with DeLong variance 0: all scores tied, no ranking of cases",)


def delong_paired_test(
    *, truth: ArrayLike, scores_a: ArrayLike, scores_b: ArrayLike, level: float = 0.95
) -> PairedDelongResult:
    """Paired DeLong test of AUC(a) = AUC(b) for two score vectors on the same cases.

    Source: DeLong, DeLong & Clarke-Pearson 1988, z = (A − B)/sqrt(Var A + Var B − 2 Cov);
    two-sided normal p-value and Wald CI of the difference as pROC's ``roc.test``.
    """
    components = delong_components(truth=truth, scores=np.vstack([scores_a, scores_b]))
    return paired_from_components(components=components, index_a=0, index_b=1, level=level)


def paired_from_components(
    *, components: DelongComponents, index_a: int, index_b: int, level: float = 0.95
) -> PairedDelongResult:
    """Paired DeLong test between two rows of already computed components (see above)."""
    cov = components.covariance
    auc_a = float(components.auc[index_a])
    auc_b = float(components.auc[index_b])
    diff = auc_a - auc_b
    variance = cov[index_a, index_a] + cov[index_b, index_b] - 2.0 * cov[index_a, index_b]
    se = float(np.sqrt(variance)) if variance > 1e-15 else float("nan")
    z = diff / se if np.isfinite(se) else float("nan")
    p = float(2.0 * stats.norm.sf(abs(z))) if np.isfinite(z) else float("nan")
    notes: tuple[str, ...] = ()
    if not np.isfinite(se) and abs(diff) < 1e-15:
        # pROC's roc.test: two perfect (or identical) curves give z 0, p 1 with a warning.
        z, p = 0.0, 1.0
        notes = (
            "both AUCs are 1 (perfect separation): z 0, p 1 (as pROC, with a warning)"
            if auc_a == auc_b == 1.0
            else "identical ROC results (difference 0, variance 0): z 0, p 1",
        )
    elif not np.isfinite(se):
        notes = (f"difference {diff:g} with DeLong variance 0: test undefined",)
    return PairedDelongResult(
        auc_a=auc_a,
        auc_b=auc_b,
        diff=diff,
        se=se,
        z=float(z),
        p=p,
        ci=normal_ci(estimate=diff, se=se, level=level, clip=False),
        notes=notes,
    )


def roc_curve_points(*, truth: ArrayLike, scores: ArrayLike) -> RocCurve:
    """Every empirical ROC operating point (scikit-learn's ``roc_curve``, nothing dropped)."""
    positive = as_truth(truth)
    values = _as_scores(scores, positive.shape[0])[0]
    fpr, tpr, thresholds = roc_curve(positive, values, drop_intermediate=False)
    return RocCurve(
        fpr=np.asarray(fpr, dtype=np.float64),
        tpr=np.asarray(tpr, dtype=np.float64),
        thresholds=np.asarray(thresholds, dtype=np.float64),
    )
