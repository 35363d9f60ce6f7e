"""Agreement between readers within a modality: Fleiss' kappa and pairwise Cohen's kappa.

statsmodels gives Fleiss' kappa (``fleiss_kappa``) and scikit-learn Cohen's kappa
(``cohen_kappa_score``). Written here: the Fleiss, Nee & Landis (1979) standard error under
the null of chance agreement (for the z test; neither library reports it) and a case bootstrap
for the interval, since that standard error is valid only at κ = 0 and no library offers a
non-null one for many raters.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

BOOTSTRAP_SEED = 20_240_601
BOOTSTRAP_REPLICATES = 2000
FLEISS_CI_METHOD = (
    f"percentile case bootstrap, {BOOTSTRAP_REPLICATES} replicates, seed {BOOTSTRAP_SEED}"
)


@dataclass(frozen=True)
class FleissKappa:
    """Fleiss' kappa of n cases × m raters, the null SE and z test, and a bootstrap CI."""

    kappa: float
    cases: int
    raters: int
    se_null: float
    z: float
    p: float
    ci: tuple[float, float]
    ci_method: str = FLEISS_CI_METHOD


def _counts(ratings: NDArray[Any]) -> NDArray[np.float64]:
    """Cases × categories counts (statsmodels' ``aggregate_raters``) for cases × raters."""
    table, _ = aggregate_raters(ratings)
    return np.asarray(table, dtype=np.float64)


def _kappa(table: NDArray[np.float64]) -> float:
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(fleiss_kappa(table, method="fleiss"))


def fleiss_null_se(table: NDArray[np.float64]) -> float:
    """SE of Fleiss' kappa when agreement is by chance (Fleiss, Nee & Landis 1979, eq. 12):
    √(2/(n·m(m − 1))) · √((Σ p_j q_j)² − Σ p_j q_j (q_j − p_j)) / Σ p_j q_j."""
    n = table.shape[0]
    m = float(table[0].sum())
    p = table.sum(axis=0) / (n * m)
    pq = p * (1.0 - p)
    total = float(pq.sum())
    if n == 0 or m < 2 or total == 0.0:
        return float("nan")
    inner = total**2 - float(np.sum(pq * ((1.0 - p) - p)))
    return math.sqrt(2.0 / (n * m * (m - 1.0))) * math.sqrt(max(inner, 0.0)) / total


def fleiss_kappa_ci(
    ratings: ArrayLike,
    *,
    level: float = 0.95,
    replicates: int = BOOTSTRAP_REPLICATES,
    seed: int = BOOTSTRAP_SEED,
) -> FleissKappa:
    """Fleiss' (1971) kappa for ``ratings[case, rater]`` (category labels), with the z test of
    κ = 0 on the Fleiss–Nee–Landis SE and a percentile bootstrap CI resampling cases."""
    values = np.asarray(ratings)
    table = _counts(values)
    n, m = values.shape
    kappa = _kappa(table)
    se = fleiss_null_se(table)
    z = kappa / se if math.isfinite(se) and se > 0 and math.isfinite(kappa) else float("nan")
    p = float(2.0 * stats.norm.sf(abs(z))) if math.isfinite(z) else float("nan")
    rng = np.random.default_rng(seed)
    draws = np.array([_kappa(table[rng.integers(0, n, n)]) for _ in range(replicates)])
    draws = draws[np.isfinite(draws)]
    tail = (1.0 - level) / 2.0
    ci = (
        (float(np.quantile(draws, tail)), float(np.quantile(draws, 1.0 - tail)))
        if draws.size
        else (float("nan"), float("nan"))
    )
    return FleissKappa(kappa=kappa, cases=n, raters=m, se_null=se, z=z, p=p, ci=ci)


def cohen_kappa_matrix(ratings: ArrayLike) -> NDArray[np.float64]:
    """Cohen's (1960) kappa between every two raters (columns) of ``ratings[case, rater]``;
    1 on the diagonal, NaN where a pair's kappa is undefined (both raters constant)."""
    values = np.asarray(ratings)
    m = values.shape[1]
    matrix = np.eye(m)
    for i in range(m):
        for j in range(i + 1, m):
            if len(np.unique(values[:, [i, j]])) < 2:
                kappa = float("nan")  # one category used by both: chance agreement is 1
            else:
                kappa = float(cohen_kappa_score(values[:, i], values[:, j]))
            matrix[i, j] = matrix[j, i] = kappa
    return matrix


def agreement_json(
    *, decisions: NDArray[np.float64], modalities: list[str], readers: list[str], level: float
) -> list[dict[str, Any]]:
    """The ``agreement`` block of results.json: per modality, Fleiss' kappa across readers and
    the pairwise Cohen's kappa matrix, from ``decisions[modality, reader, case]``."""
    out = []
    for i, modality in enumerate(modalities):
        ratings = decisions[i].T  # cases × readers
        fleiss = fleiss_kappa_ci(ratings, level=level)
        cohen = cohen_kappa_matrix(ratings)
        out.append(
            {
                "modality": modality,
                "fleiss_kappa": fleiss.kappa,
                "fleiss_kappa_ci": list(fleiss.ci),
                "fleiss_kappa_ci_method": fleiss.ci_method,
                "fleiss_kappa_se_null": fleiss.se_null,
                "fleiss_kappa_z": fleiss.z,
                "fleiss_kappa_p": fleiss.p,
                "cases": fleiss.cases,
                "readers": readers,
                "cohen_kappa": [[None if np.isnan(v) else float(v) for v in row] for row in cohen],
            }
        )
    return out
