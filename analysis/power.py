"""Study planning: power of the Obuchowski–Rockette RRRC, FRRC and RRFC tests for a number of
readers and cases.

Written by hand because the only implementations are R's (RJafroc ``SsPowerGivenJK``,
MRMCsamplesize); scipy supplies the non-central F and χ². Two modalities (e.g. unassisted vs
assisted) are compared; the effect is their difference in reader-averaged AUC.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import AnalysisInputError
from analysis.mrmc import VarianceComponents

PowerAnalysis = Literal["rrrc", "frrc", "rrfc"]
MAX_READERS = 100


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
    analysis: PowerAnalysis = "rrrc",
) -> PowerResult:
    """Power of the two-modality OR test with ``readers`` readers and ``cases`` cases.

    Source: Hillis, Obuchowski & Berbaum 2011 (Acad. Radiol. 18:129) and Hillis & Obuchowski
    2011: the case-dependent components (var_error, cov1, cov2, cov3) from a pilot with
    ``pilot_cases`` cases are scaled by pilot_cases/cases; var_tr is not. With
    D = var_tr + (var_error − cov1) + (r − 1)·max(cov2 − cov3, 0), the non-centrality is
    λ = r·Δ²/(2D), ddf = D²(r − 1)/[var_tr + var_error − cov1 − max(cov2 − cov3, 0)]², and the
    power is P(F′(1, ddf, λ) > F₁₋α(1, ddf)). A negative pilot var_tr is taken as 0, as
    recommended there, so that planning is not optimistic.

    ``analysis="frrc"`` (readers fixed): λ = r·Δ²/(2·[(var_error − cov1) + (r − 1)·max(cov2 −
    cov3, 0)]) with the case scaling, power P(χ²′(1, λ) > χ²₁₋α(1)); ``df2`` is then infinite.
    ``analysis="rrfc"`` (cases fixed): λ = r·Δ²/(2·[var_tr + (var_error − cov1 − max(cov2 −
    cov3, 0))]), F(1, r − 1). Same source (Hillis et al. 2011, Table 2), as RJafroc's
    ``SsPowerGivenJKOrVarCom``.
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
    if analysis == "frrc":
        fixed = error + (readers - 1) * between
        if fixed <= 0:
            raise AnalysisInputError("the variance components give no positive error variance")
        lam = readers * effect**2 / (2.0 * fixed)
        critical = float(stats.chi2.ppf(1.0 - alpha, 1.0))
        power = float(stats.ncx2.sf(critical, 1.0, lam))
        return PowerResult(readers, cases, power, float(lam), 1.0, float("inf"), critical)
    if analysis == "rrfc":
        lam = readers * effect**2 / (2.0 * ms_tr)
        critical = float(stats.f.ppf(1.0 - alpha, 1.0, readers - 1))
        power = float(stats.ncf.sf(critical, 1.0, readers - 1, lam))
        return PowerResult(readers, cases, power, float(lam), 1.0, float(readers - 1), critical)
    noncentrality = readers * effect**2 / (2.0 * denominator)
    df2 = denominator**2 * (readers - 1) / ms_tr**2
    f_critical = float(stats.f.ppf(1.0 - alpha, 1.0, df2))
    power = float(stats.ncf.sf(f_critical, 1.0, df2, noncentrality))
    return PowerResult(readers, cases, power, float(noncentrality), 1.0, float(df2), f_critical)


def what_would_reach(
    *,
    components: VarianceComponents,
    pilot_cases: int,
    readers: int,
    cases: int,
    effect: float,
    power: float = 0.80,
    alpha: float = 0.05,
    analysis: PowerAnalysis = "rrrc",
) -> str:
    """When ``cases`` cases fall short of ``power``: the smallest ΔAUC, and the fewest readers
    (up to ``MAX_READERS``), that would reach it with that many cases."""

    def at(r: int, e: float) -> float:
        return or_power(
            components=components,
            pilot_cases=pilot_cases,
            readers=r,
            cases=cases,
            effect=e,
            alpha=alpha,
            analysis=analysis,
        ).power

    low, high = effect, 1.0
    if at(readers, high) < power:
        larger = "no ΔAUC up to 1"
    else:
        for _ in range(60):  # power rises with the effect: bisect on it
            middle = (low + high) / 2.0
            low, high = (low, middle) if at(readers, middle) >= power else (middle, high)
        larger = f"a ΔAUC of {high:.3f}"
    more = next((r for r in range(readers + 1, MAX_READERS + 1) if at(r, effect) >= power), None)
    readers_text = f"{more} readers" if more is not None else f"not even {MAX_READERS} readers"
    return (
        f"{cases:,} cases give power {at(readers, effect):.2f}; {power:.0%} needs {larger} "
        f"with {readers} readers, or {readers_text} at ΔAUC {effect:g}"
    )


def cases_for_power(
    *,
    components: VarianceComponents,
    pilot_cases: int,
    readers: Iterable[int],
    effect: float,
    power: float = 0.80,
    alpha: float = 0.05,
    max_cases: int = 10_000,
    analysis: PowerAnalysis = "rrrc",
) -> pd.DataFrame:
    """Smallest number of cases reaching ``power`` for each reader count (None when even
    ``max_cases`` falls short: the reader variance alone then limits the power; ``suggestion``
    then says what would reach it, see ``what_would_reach``).

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
                analysis=analysis,
            )

        best = power_at(max_cases)
        if best.power < power:
            suggestion = what_would_reach(
                components=components,
                pilot_cases=pilot_cases,
                readers=r,
                cases=max_cases,
                effect=effect,
                power=power,
                alpha=alpha,
                analysis=analysis,
            )
            rows.append(
                {"readers": r, "cases": None, "power": best.power, "suggestion": suggestion}
            )
            continue
        low, high = 2, max_cases
        while low < high:
            middle = (low + high) // 2
            if power_at(middle).power >= power:
                high = middle
            else:
                low = middle + 1
        rows.append({"readers": r, "cases": low, "power": power_at(low).power, "suggestion": None})
    frame = pd.DataFrame(rows, columns=["readers", "cases", "power", "suggestion"])
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
    analysis: PowerAnalysis = "rrrc",
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
                analysis=analysis,
            ).power,
        }
        for r in readers
        for c in case_list
    ]
    return pd.DataFrame(rows, columns=["readers", "cases", "power"]).astype({"power": np.float64})
