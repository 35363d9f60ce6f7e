"""Confidence intervals for the difference of two paired proportions, and McNemar's mid-p test.

Used for a reader's change of sensitivity (cases with truth 1) and specificity (truth 0) between
two modalities: each case is read in both, so the two proportions are paired (McNemar layout).

Written by hand because neither scipy nor statsmodels offers a paired-difference interval
(statsmodels' ``confint_proportions_2indep`` is for independent samples); the formulas follow
Fagerland, Lydersen & Laake, *Statistical Analysis of Contingency Tables* (2017), chapter 8,
whose R package (ocbe-uio/contingencytables) supplies the reference values of the tests. The
Wilson intervals inside Newcombe's come from statsmodels.

Table layout (rows: the later modality b, columns: the earlier a; 1 = correct, 2 = wrong)::

    n11 both correct    n12 b correct, a wrong
    n21 b wrong, a correct  n22 both wrong

so that the estimate (n12 − n21)/N is p_b − p_a, the change from the earlier to the later.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize, stats
from statsmodels.stats.proportion import proportion_confint

from analysis.errors import AnalysisInputError

PairedMethod = Literal["newcombe", "tango", "agresti_min"]
PAIRED_METHODS: dict[str, str] = {
    "newcombe": "Newcombe 1998 hybrid score (square-and-add Wilson, method 10)",
    "tango": "Tango 1998 asymptotic score interval",
    "agresti_min": "Agresti & Min 2005 Wald interval with 1/2 added to each cell",
}
NAN = float("nan")


@dataclass(frozen=True)
class PairedTable:
    """Counts of the paired 2×2 table (see the module docstring for the layout)."""

    n11: int
    n12: int
    n21: int
    n22: int

    @property
    def total(self) -> int:
        return self.n11 + self.n12 + self.n21 + self.n22


@dataclass(frozen=True)
class PairedDifference:
    """p_b − p_a with its interval and the McNemar mid-p value of p_b = p_a."""

    proportion_a: float
    proportion_b: float
    estimate: float
    ci: tuple[float, float]
    p: float
    method: str
    table: PairedTable


def paired_table(*, success_a: ArrayLike, success_b: ArrayLike) -> PairedTable:
    """Cross-tabulate two boolean vectors over the same units (a = earlier, b = later)."""
    a = np.asarray(success_a, dtype=bool)
    b = np.asarray(success_b, dtype=bool)
    if a.shape != b.shape or a.ndim != 1:
        raise AnalysisInputError("paired outcomes must be two vectors of the same length")
    return PairedTable(
        n11=int(np.sum(b & a)),
        n12=int(np.sum(b & ~a)),
        n21=int(np.sum(~b & a)),
        n22=int(np.sum(~b & ~a)),
    )


def mcnemar_midp(*, n12: int, n21: int) -> float:
    """McNemar mid-p value: the exact conditional two-sided p minus the point probability.

    Source: Lancaster 1961; Fagerland, Lydersen & Laake 2013 (BMC Med Res Methodol 13:91), who
    recommend it. With no discordant pairs it is 1 − ½·P(0) = 0.5 by the same formula (as the
    contingencytables package); returned as NaN here, since there is nothing to test.
    """
    n = n12 + n21
    if n == 0:
        return NAN
    if n12 == n21:
        return float(1.0 - 0.5 * stats.binom.pmf(n12, n, 0.5))
    exact = min(2.0 * float(stats.binom.cdf(min(n12, n21), n, 0.5)), 1.0)
    return float(exact - stats.binom.pmf(n12, n, 0.5))


def _z(level: float) -> float:
    return float(stats.norm.ppf(0.5 + level / 2.0))


def newcombe_ci(table: PairedTable, level: float = 0.95) -> tuple[float, float]:
    """Newcombe's (1998, method 10) hybrid score interval for p_b − p_a.

    Wilson intervals (l, u) for each marginal proportion combined by square-and-add with the
    correlation estimate φ̂, corrected to 0 when 0 ≤ A ≤ N/2 and shrunk by N/2 above, where
    A = n11·n22 − n12·n21 (Newcombe 1998, Stat Med 17:2635; Fagerland et al. 2017, §8.5).
    """
    n = table.total
    if n == 0:
        return (NAN, NAN)
    row1, row2 = table.n11 + table.n12, table.n21 + table.n22  # b correct / wrong
    col1, col2 = table.n11 + table.n21, table.n12 + table.n22  # a correct / wrong
    p1, p2 = row1 / n, col1 / n
    alpha = 1.0 - level
    l1, u1 = (float(x) for x in proportion_confint(row1, n, alpha=alpha, method="wilson"))
    l2, u2 = (float(x) for x in proportion_confint(col1, n, alpha=alpha, method="wilson"))
    if 0 in (row1, row2, col1, col2):
        psi = 0.0
    else:
        a = table.n11 * table.n22 - table.n12 * table.n21
        root = math.sqrt(float(row1) * row2 * col1 * col2)
        psi = (a - n / 2.0) / root if a > n / 2.0 else (0.0 if a >= 0 else a / root)
    estimate = p1 - p2
    low = estimate - math.sqrt(
        max((p1 - l1) ** 2 + (u2 - p2) ** 2 - 2.0 * psi * (p1 - l1) * (u2 - p2), 0.0)
    )
    high = estimate + math.sqrt(
        max((p2 - l2) ** 2 + (u1 - p1) ** 2 - 2.0 * psi * (p2 - l2) * (u1 - p1), 0.0)
    )
    return (low, high)


def _tango_statistic(delta: float, n12: int, n21: int, n: int) -> float:
    """Tango's score statistic at δ₀ with the constrained ML estimate of p21."""
    b = -n12 - n21 + (2.0 * n - n12 + n21) * delta
    c = -n21 * delta * (1.0 - delta)
    p21 = (math.sqrt(b * b - 8.0 * n * c) - b) / (4.0 * n)
    variance = n * (2.0 * p21 + delta * (1.0 - delta))
    return (n12 - n21 - n * delta) / math.sqrt(variance) if variance > 0 else math.inf


def tango_ci(table: PairedTable, level: float = 0.95) -> tuple[float, float]:
    """Tango's (1998, Stat Med 17:891) score interval: the δ₀ where the score statistic is ±z.

    Fagerland et al. 2017, §8.5; found with scipy's ``brentq`` on (−1, 1).
    """
    n, n12, n21 = table.total, table.n12, table.n21
    if n == 0:
        return (NAN, NAN)
    z, tol = _z(level), 1e-9
    estimate = (n12 - n21) / n

    def lower(d: float) -> float:
        return _tango_statistic(d, n12, n21, n) - z

    def upper(d: float) -> float:
        return _tango_statistic(d, n12, n21, n) + z

    low = -1.0 if estimate == -1.0 else optimize.brentq(lower, -1 + tol, 1 - tol, xtol=1e-12)
    high = 1.0 if estimate == 1.0 else optimize.brentq(upper, -1 + tol, 1 - tol, xtol=1e-12)
    return (float(low), float(high))


def agresti_min_ci(table: PairedTable, level: float = 0.95) -> tuple[float, float]:
    """Agresti & Min (2005, Stat Med 24:729) Wald interval after adding ½ to each cell,
    truncated to [−1, 1] (Fagerland et al. 2017, §8.5)."""
    if table.total == 0:
        return (NAN, NAN)
    n12, n21 = table.n12 + 0.5, table.n21 + 0.5
    n = table.total + 2.0
    se = math.sqrt((n12 + n21) - (n12 - n21) ** 2 / n) / n
    centre = (n12 - n21) / n
    half = _z(level) * se
    return (max(-1.0, centre - half), min(1.0, centre + half))


_CI = {"newcombe": newcombe_ci, "tango": tango_ci, "agresti_min": agresti_min_ci}


def paired_difference(
    *,
    success_a: ArrayLike,
    success_b: ArrayLike,
    method: PairedMethod = "newcombe",
    level: float = 0.95,
) -> PairedDifference:
    """p_b − p_a (later − earlier) of two paired binary outcomes, its CI and the mid-p value."""
    if method not in _CI:
        raise AnalysisInputError(f"unknown paired interval {method!r} (use {', '.join(_CI)})")
    table = paired_table(success_a=success_a, success_b=success_b)
    n = table.total
    p_a = (table.n11 + table.n21) / n if n else NAN
    p_b = (table.n11 + table.n12) / n if n else NAN
    return PairedDifference(
        proportion_a=p_a,
        proportion_b=p_b,
        estimate=p_b - p_a,
        ci=_CI[method](table, level),
        p=mcnemar_midp(n12=table.n12, n21=table.n21),
        method=method,
        table=table,
    )
