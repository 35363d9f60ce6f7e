"""DeLong comparison of two independent ROC curves (different cases: internal vs external
cohort, or two models each tested on its own cases).

Written by hand for the same reason as ``analysis.roc`` (no maintained Python library has the
DeLong variance); it reuses that module's structural components, so each curve's variance is
exactly the one reported for it alone. With independent cases the covariance term of the paired
test is zero: Var(A1 − A2) = Var1 + Var2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from numpy.typing import ArrayLike
from scipy import stats

from analysis.roc import delong_components


@dataclass(frozen=True)
class UnpairedDelongResult:
    """AUC1 − AUC2 of two independent curves.

    ``statistic`` is D = diff/se. ``p`` and ``ci`` use Student's t with ``df`` (pROC's
    ``roc.test(..., paired = FALSE)``); ``p_normal`` and ``ci_normal`` the normal (z) test.
    """

    auc_1: float
    auc_2: float
    diff: float
    se: float
    statistic: float
    df: float
    p: float
    ci: tuple[float, float]
    p_normal: float
    ci_normal: tuple[float, float]


def delong_unpaired_test(
    *,
    truth_1: ArrayLike,
    scores_1: ArrayLike,
    truth_2: ArrayLike,
    scores_2: ArrayLike,
    level: float = 0.95,
) -> UnpairedDelongResult:
    """Test AUC1 = AUC2 for two ROC curves on independent sets of cases.

    Source: DeLong, DeLong & Clarke-Pearson 1988 for each variance; D = (A1 − A2)/√(V1 + V2),
    with the Welch–Satterthwaite-type df = (V1 + V2)²/(V1²/(N1 − 1) + V2²/(N2 − 1)) (N = all
    cases of a curve) of pROC's ``delong.unpaired.test`` (Robin et al. 2011, R/delong.R), and a
    two-sided p from t(df). The interval diff ± t·se (and ± z·se) is this module's addition:
    pROC gives no interval for unpaired curves.
    """
    first = delong_components(truth=truth_1, scores=scores_1)
    second = delong_components(truth=truth_2, scores=scores_2)
    var_1 = float(first.covariance[0, 0])
    var_2 = float(second.covariance[0, 0])
    n_1 = first.v10.shape[1] + first.v01.shape[1]
    n_2 = second.v10.shape[1] + second.v01.shape[1]
    auc_1, auc_2 = float(first.auc[0]), float(second.auc[0])
    diff = auc_1 - auc_2
    variance = var_1 + var_2
    nan = float("nan")
    if not math.isfinite(variance) or variance <= 1e-15:
        return UnpairedDelongResult(
            auc_1, auc_2, diff, nan, nan, nan, nan, (nan, nan), nan, (nan, nan)
        )
    se = math.sqrt(variance)
    statistic = diff / se
    df = variance**2 / (var_1**2 / (n_1 - 1) + var_2**2 / (n_2 - 1))
    t_half = float(stats.t.ppf(0.5 + level / 2.0, df)) * se
    z_half = float(stats.norm.ppf(0.5 + level / 2.0)) * se
    return UnpairedDelongResult(
        auc_1=auc_1,
        auc_2=auc_2,
        diff=diff,
        se=se,
        statistic=statistic,
        df=float(df),
        p=float(2.0 * stats.t.sf(abs(statistic), df)),
        ci=(diff - t_half, diff + t_half),
        p_normal=float(2.0 * stats.norm.sf(abs(statistic))),
        ci_normal=(diff - z_half, diff + z_half),
    )
