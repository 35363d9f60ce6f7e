"""Diagnostic metrics of binary calls with their CIs, and McNemar's test of a paired change
(the per-reader round comparisons themselves are in ``analysis.study``).

statsmodels supplies the Wilson intervals, Cohen's kappa with its Fleiss–Cohen–Everitt SE and
McNemar's test; what is written here is the reader-study bookkeeping around them (binary AUC
as the seed paper reports it, the McNemar variants (mid-p by default), per-reader tables, seniority
means), which no library provides. The model alone is in ``analysis.model``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.inter_rater import cohens_kappa
from statsmodels.stats.proportion import proportion_confint

from analysis.errors import AnalysisInputError
from analysis.roc import (
    AucResult,
    as_truth,
    auc_delong,
    normal_ci,
)

CI_METHOD = "wilson"
MCNEMAR_EXACT_BELOW = 25


@dataclass(frozen=True)
class Proportion:
    """successes/total with a Wilson score interval (Wilson 1927)."""

    estimate: float
    successes: int
    total: int
    ci: tuple[float, float]
    method: str = CI_METHOD


@dataclass(frozen=True)
class ConfusionMatrix:
    """Counts of a binary call against truth; ``as_array`` rows = truth, columns = call."""

    tp: int
    fn: int
    fp: int
    tn: int

    def as_array(self) -> NDArray[np.int64]:
        return np.array([[self.tn, self.fp], [self.fn, self.tp]], dtype=np.int64)


@dataclass(frozen=True)
class KappaResult:
    """Cohen's kappa with the Fleiss, Cohen & Everitt (1969) large-sample SE and a normal CI."""

    kappa: float
    se: float
    ci: tuple[float, float]


@dataclass(frozen=True)
class BinaryMetrics:
    """Everything Tables 2 and 3 of the seed report for one set of binary calls."""

    n: int
    confusion: ConfusionMatrix
    accuracy: Proportion
    sensitivity: Proportion
    specificity: Proportion
    ppv: Proportion
    npv: Proportion
    f1: float
    kappa: KappaResult
    binary_auc: AucResult
    time_mean: float | None
    time_median: float | None


@dataclass(frozen=True)
class McNemarResult:
    """McNemar test on paired correct/incorrect calls; ``method`` says which variant ran."""

    lost: int
    gained: int
    statistic: float
    p: float
    method: str


def _as_decision(decision: ArrayLike, n: int) -> NDArray[np.bool_]:
    values = np.asarray(decision, dtype=np.float64)
    if values.shape != (n,) or not np.all(np.isin(values, (0.0, 1.0))):
        raise AnalysisInputError(f"decisions must be 0 or 1, one per case ({n})")
    return values == 1.0


CiMethod = Literal["wilson", "wald"]
CI_METHODS: dict[str, str] = {
    "wilson": "Wilson score interval (Wilson 1927)",
    "wald": "Wald interval p ± z·√(p(1 − p)/n), not truncated (as the seed paper)",
}


def wilson_proportion(
    *, successes: int, total: int, level: float = 0.95, method: CiMethod = "wilson"
) -> Proportion:
    """Proportion with Wilson's score interval (Wilson 1927, via statsmodels
    ``proportion_confint``), or with ``method="wald"`` the seed paper's untruncated Wald
    interval p ± z·√(p(1 − p)/n)."""
    if total == 0:
        return Proportion(float("nan"), 0, 0, (float("nan"), float("nan")), method)
    if method == "wald":
        p = successes / total
        low, high = normal_ci(
            estimate=p, se=float(np.sqrt(p * (1 - p) / total)), level=level, clip=False
        )
    elif method == "wilson":
        low, high = proportion_confint(successes, total, alpha=1.0 - level, method="wilson")
    else:
        raise AnalysisInputError(f"unknown CI method '{method}' (wilson, wald)")
    return Proportion(
        successes / total, int(successes), int(total), (float(low), float(high)), method
    )


def wald_auc(*, auc: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """The seed paper's AUC interval AUC ± z·√(AUC(1 − AUC)/n), n cases, not truncated."""
    return normal_ci(estimate=auc, se=float(np.sqrt(auc * (1 - auc) / n)), level=level, clip=False)


def confusion(*, truth: ArrayLike, decision: ArrayLike) -> ConfusionMatrix:
    """Confusion matrix of 0/1 calls against 0/1 truth (positive = malignant)."""
    positive = as_truth(truth)
    called = _as_decision(decision, positive.size)
    return ConfusionMatrix(
        tp=int(np.sum(positive & called)),
        fn=int(np.sum(positive & ~called)),
        fp=int(np.sum(~positive & called)),
        tn=int(np.sum(~positive & ~called)),
    )


def kappa_against_truth(*, table: ConfusionMatrix, level: float = 0.95) -> KappaResult:
    """Cohen's kappa (1960) of calls vs truth; SE of Fleiss, Cohen & Everitt 1969 (statsmodels).

    Undefined (NaN) when chance agreement is 1, i.e. truth and calls are one constant class.
    """
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = cohens_kappa(table.as_array(), return_results=True)
    kappa, se = float(result.kappa), float(result.std_kappa)
    if not np.isfinite(kappa):
        return KappaResult(float("nan"), float("nan"), (float("nan"), float("nan")))
    low, high = normal_ci(estimate=kappa, se=se, level=level, clip=False)
    # Kappa lives in [−1, 1]: the Wald interval is truncated there.
    return KappaResult(kappa, se, (max(low, -1.0), min(high, 1.0)))


def binary_metrics(
    *,
    truth: ArrayLike,
    decision: ArrayLike,
    reading_time: ArrayLike | None = None,
    level: float = 0.95,
    ci_method: CiMethod = "wilson",
) -> BinaryMetrics:
    """Accuracy, sensitivity, specificity, PPV, NPV (Wilson CIs), F1, kappa, binary AUC, times.

    The binary AUC is the empirical AUC of the 0/1 calls, which equals (sens + spec)/2 — the
    figure the seed paper reports — and carries a DeLong SE (DeLong et al. 1988).
    """
    table = confusion(truth=truth, decision=decision)
    n = table.tp + table.fn + table.fp + table.tn
    f1_den = 2 * table.tp + table.fp + table.fn
    times = None if reading_time is None else np.asarray(reading_time, dtype=np.float64)
    return BinaryMetrics(
        n=n,
        confusion=table,
        accuracy=wilson_proportion(
            successes=table.tp + table.tn, total=n, level=level, method=ci_method
        ),
        sensitivity=wilson_proportion(
            successes=table.tp, total=table.tp + table.fn, level=level, method=ci_method
        ),
        specificity=wilson_proportion(
            successes=table.tn, total=table.tn + table.fp, level=level, method=ci_method
        ),
        ppv=wilson_proportion(
            successes=table.tp, total=table.tp + table.fp, level=level, method=ci_method
        ),
        npv=wilson_proportion(
            successes=table.tn, total=table.tn + table.fn, level=level, method=ci_method
        ),
        f1=2 * table.tp / f1_den if f1_den else float("nan"),
        kappa=kappa_against_truth(table=table, level=level),
        binary_auc=auc_delong(
            truth=truth, scores=np.asarray(decision, dtype=np.float64), level=level
        ),
        time_mean=float(np.mean(times)) if times is not None and times.size else None,
        time_median=float(np.median(times)) if times is not None and times.size else None,
    )


McNemarMethod = Literal["mid-p", "exact", "asymptotic", "asymptotic-cc", "auto"]
MCNEMAR_METHODS: dict[str, str] = {
    "mid-p": "mid-p McNemar (Fagerland, Lydersen & Laake 2013)",
    "exact": "exact conditional binomial McNemar",
    "asymptotic": "asymptotic McNemar chi-square, no continuity correction",
    "asymptotic-cc": "asymptotic McNemar chi-square with continuity correction",
}


def mcnemar_paired(
    *, correct_before: ArrayLike, correct_after: ArrayLike, method: McNemarMethod = "mid-p"
) -> McNemarResult:
    """McNemar's test (1947) of paired correctness; by default the mid-p test.

    Fagerland, Lydersen & Laake 2013 (BMC Med Res Methodol 13:91) recommend the mid-p test:
    with b < c discordant pairs (n = b + c), mid-p = 2·P(X ≤ b) − P(X = b), X ~ Bin(n, ½),
    i.e. the exact conditional p minus the point probability; for b = c it is 1 here (their
    doubled formula; their supplement's 1 − ½·P(X = b) convention is not used). Also by name:
    ``exact`` (2·P(X ≤ b), at most 1), ``asymptotic`` ((b − c)²/(b + c), chi-square 1 df),
    ``asymptotic-cc`` (Edwards' continuity correction, statsmodels) and ``auto`` (the former
    rule: exact below 25 discordant pairs, else continuity-corrected chi-square).
    """
    before = np.asarray(correct_before, dtype=bool)
    after = np.asarray(correct_after, dtype=bool)
    lost = int(np.sum(before & ~after))
    gained = int(np.sum(~before & after))
    if method == "auto":
        method = "exact" if lost + gained < MCNEMAR_EXACT_BELOW else "asymptotic-cc"
    if method not in MCNEMAR_METHODS:
        raise AnalysisInputError(
            f"unknown McNemar method '{method}' ({', '.join(MCNEMAR_METHODS)})"
        )
    name = MCNEMAR_METHODS[method]
    n, low = lost + gained, min(lost, gained)
    if n == 0:
        return McNemarResult(0, 0, 0.0, 1.0, f"{name}; no discordant pairs")
    if method == "asymptotic-cc":
        table = [[int(np.sum(before & after)), lost], [gained, int(np.sum(~before & ~after))]]
        result = mcnemar(table, exact=False, correction=True)
        return McNemarResult(lost, gained, float(result.statistic), float(result.pvalue), name)
    if method == "asymptotic":
        statistic = (lost - gained) ** 2 / n
        return McNemarResult(lost, gained, statistic, float(stats.chi2.sf(statistic, 1)), name)
    exact = min(1.0, float(2.0 * stats.binom.cdf(low, n, 0.5)))
    if method == "exact":
        return McNemarResult(lost, gained, float(low), exact, name)
    mid = 1.0 if lost == gained else exact - float(stats.binom.pmf(low, n, 0.5))
    return McNemarResult(lost, gained, float(low), mid, name)


def metrics_row(metrics: BinaryMetrics) -> dict[str, float | int | str | None]:
    """Flatten ``BinaryMetrics`` into one CSV-friendly row."""
    row: dict[str, float | int | str | None] = {"n": metrics.n}
    for name in ("accuracy", "sensitivity", "specificity", "ppv", "npv"):
        value: Proportion = getattr(metrics, name)
        row[name] = value.estimate
        row[f"{name}_ci_low"], row[f"{name}_ci_high"] = value.ci
    row["ci_method"] = metrics.accuracy.method
    row["f1"] = metrics.f1
    row["kappa"] = metrics.kappa.kappa
    row["kappa_se"] = metrics.kappa.se
    row["kappa_ci_low"], row["kappa_ci_high"] = metrics.kappa.ci
    row["binary_auc"] = metrics.binary_auc.auc
    row["binary_auc_ci_low"], row["binary_auc_ci_high"] = metrics.binary_auc.ci
    table = metrics.confusion
    row.update(tp=table.tp, fn=table.fn, fp=table.fp, tn=table.tn)
    row["time_mean"], row["time_median"] = metrics.time_mean, metrics.time_median
    return row


def reader_metrics_frame(*, reads: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """One row per reader and modality (round) from reads with reader, modality, case, truth,
    decision and optionally score (AUC from the confidence) and reading_time columns."""
    rows = []
    for (reader, modality), group in reads.groupby(["reader", "modality"], sort=True):
        metrics = binary_metrics(
            truth=group["truth"].to_numpy(),
            decision=group["decision"].to_numpy(),
            reading_time=group["reading_time"].to_numpy() if "reading_time" in group else None,
            level=level,
        )
        row: dict[str, float | int | str | None] = {
            "reader": str(reader),
            "modality": str(modality),
        }
        if "score" in group:
            auc = auc_delong(
                truth=group["truth"].to_numpy(), scores=group["score"].to_numpy(), level=level
            )
            row.update(auc=auc.auc, auc_se=auc.se, auc_ci_low=auc.ci[0], auc_ci_high=auc.ci[1])
        row.update(metrics_row(metrics))
        rows.append(row)
    return pd.DataFrame(rows)


def seniority_means(*, metrics: pd.DataFrame, seniority: Mapping[str, str]) -> pd.DataFrame:
    """Mean of each numeric metric per seniority group and modality (seed: senior/intermediate/junior)."""
    unknown = sorted(set(metrics["reader"]) - set(seniority))
    if unknown:
        raise AnalysisInputError(f"no seniority for reader(s): {', '.join(unknown)}")
    frame = metrics.assign(seniority=metrics["reader"].map(seniority))
    numeric = [
        c for c in frame.columns if c not in ("reader", "modality", "seniority", "ci_method")
    ]
    means = frame.groupby(["seniority", "modality"], sort=True)[numeric].mean(numeric_only=True)
    return means.assign(n_readers=frame.groupby(["seniority", "modality"]).size()).reset_index()
