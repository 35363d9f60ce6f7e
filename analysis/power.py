"""Study planning: power of an Obuchowski–Rockette RRRC test for a number of readers and cases.

Written by hand because the only implementations are R's (RJafroc ``SsPowerGivenJK``,
MRMCsamplesize); scipy supplies the non-central F. Two modalities (e.g. unassisted vs assisted)
are compared; the effect is their difference in reader-averaged AUC.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import AnalysisInputError
from analysis.mrmc import VarianceComponents


@dataclass(frozen=True)
class PowerResult:
    """Power of the RRRC F test with its non-centrality and Hillis denominator df."""

    readers: int
    cases: int
    power: float
    noncentrality: float
    df1: float
    df2: float
    f_critical: float


def or_power(
    *,
    components: VarianceComponents,
    pilot_cases: int,
    readers: int,
    cases: int,
    effect: float,
    alpha: float = 0.05,
) -> PowerResult:
    """Power of the two-modality OR RRRC test with ``readers`` readers and ``cases`` cases.

    Source: Hillis, Obuchowski & Berbaum 2011 (Acad. Radiol. 18:129) and Hillis & Obuchowski
    2011: the case-dependent components (var_error, cov1, cov2, cov3) from a pilot with
    ``pilot_cases`` cases are scaled by pilot_cases/cases; var_tr is not. With
    D = var_tr + (var_error − cov1) + (r − 1)·max(cov2 − cov3, 0), the non-centrality is
    λ = r·Δ²/(2D), ddf = D²(r − 1)/[var_tr + var_error − cov1 − max(cov2 − cov3, 0)]², and the
    power is P(F′(1, ddf, λ) > F₁₋α(1, ddf)). A negative pilot var_tr is taken as 0, as
    recommended there, so that planning is not optimistic.
    """
    if readers < 2 or cases < 2 or pilot_cases < 2:
        raise AnalysisInputError("power needs at least two readers, two cases and a pilot of two")
    if not 0.0 < alpha < 1.0:
        raise AnalysisInputError("alpha must lie strictly between 0 and 1")
    scale = pilot_cases / cases
    var_tr = max(components.var_tr, 0.0)
    error = (components.var_error - components.cov1) * scale
    between = max(components.cov2 - components.cov3, 0.0) * scale
    denominator = var_tr + error + (readers - 1) * between
    ms_tr = var_tr + error - between
    if denominator <= 0 or ms_tr <= 0:
        raise AnalysisInputError("the variance components give no positive error variance")
    noncentrality = readers * effect**2 / (2.0 * denominator)
    df2 = denominator**2 * (readers - 1) / ms_tr**2
    f_critical = float(stats.f.ppf(1.0 - alpha, 1.0, df2))
    power = float(stats.ncf.sf(f_critical, 1.0, df2, noncentrality))
    return PowerResult(readers, cases, power, float(noncentrality), 1.0, float(df2), f_critical)


def cases_for_power(
    *,
    components: VarianceComponents,
    pilot_cases: int,
    readers: Iterable[int],
    effect: float,
    power: float = 0.80,
    alpha: float = 0.05,
    max_cases: int = 10_000,
) -> pd.DataFrame:
    """Smallest number of cases reaching ``power`` for each reader count (None when even
    ``max_cases`` falls short: the reader variance alone then limits the power).

    Found by bisection, which assumes power grows with cases. It does from five readers on; with
    two to four readers and a reader-by-modality variance that dominates the case variance, the
    Hillis ddf falls towards r − 1 faster than the non-centrality rises, and power can dip by up
    to about 0.02 (a property of the method, shared by RJafroc). Same source as ``or_power``.
    """
    rows = []
    for r in readers:

        def power_at(c: int, r: int = r) -> PowerResult:
            return or_power(
                components=components,
                pilot_cases=pilot_cases,
                readers=r,
                cases=c,
                effect=effect,
                alpha=alpha,
            )

        best = power_at(max_cases)
        if best.power < power:
            rows.append({"readers": r, "cases": None, "power": best.power})
            continue
        low, high = 2, max_cases
        while low < high:
            middle = (low + high) // 2
            if power_at(middle).power >= power:
                high = middle
            else:
                low = middle + 1
        rows.append({"readers": r, "cases": low, "power": power_at(low).power})
    frame = pd.DataFrame(rows, columns=["readers", "cases", "power"])
    frame["cases"] = frame["cases"].astype("Int64")
    return frame


def power_grid(
    *,
    components: VarianceComponents,
    pilot_cases: int,
    readers: Iterable[int],
    cases: Iterable[int],
    effect: float,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Power for every (readers, cases) pair, as a long frame (see ``or_power``)."""
    case_list = list(cases)
    rows = [
        {
            "readers": r,
            "cases": c,
            "power": or_power(
                components=components,
                pilot_cases=pilot_cases,
                readers=r,
                cases=c,
                effect=effect,
                alpha=alpha,
            ).power,
        }
        for r in readers
        for c in case_list
    ]
    return pd.DataFrame(rows, columns=["readers", "cases", "power"]).astype({"power": np.float64})
