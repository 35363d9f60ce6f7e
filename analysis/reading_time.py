"""Reading time: each reader's paired change of time per case between modalities, and a
crossed mixed model of log time.

scipy gives the Wilcoxon signed-rank test (``scipy.stats.wilcoxon``) and statsmodels the mixed
model (``MixedLM`` with variance components). Written here: the Hodges–Lehmann estimate and its
distribution-free interval from the Walsh averages, which scipy does not offer (R's
``wilcox.test(conf.int = TRUE)`` does), with the exact null distribution of the signed-rank
statistic computed by a short recursion.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import stats

EXACT_UP_TO = 100
NAN = float("nan")


@dataclass(frozen=True)
class PairedTime:
    """Change of time (b − a) over paired cases: medians, Hodges–Lehmann shift and Wilcoxon."""

    cases: int
    median_a: float
    median_b: float
    hodges_lehmann: float
    ci: tuple[float, float]
    statistic: float
    p: float


@dataclass(frozen=True)
class TimeModel:
    """exp(β) of log time for each later modality against the first, with Wald CIs."""

    ratios: dict[str, tuple[float, tuple[float, float], float]]  # modality: (ratio, ci, p)
    var_reader: float
    var_case: float
    var_residual: float
    observations: int
    converged: bool


def signed_rank_null(n: int) -> NDArray[np.float64]:
    """P(T⁺ = t), t = 0 … n(n+1)/2, for n untied non-zero differences (each sign ½)."""
    counts = np.zeros(n * (n + 1) // 2 + 1)
    counts[0] = 1.0
    for k in range(1, n + 1):
        counts[k:] = counts[k:] + counts[:-k].copy()
    return counts / 2.0**n


def hodges_lehmann_ci(
    differences: ArrayLike, level: float = 0.95
) -> tuple[float, tuple[float, float]]:
    """Median of the Walsh averages (dᵢ + dⱼ)/2, i ≤ j, with the interval [W₍c₎, W₍N+1−c₎]
    where c − 1 is the largest t with P(T⁺ ≤ t) ≤ (1 − level)/2 (Hodges & Lehmann 1963;
    Hollander, Wolfe & Chicken 2014, §3.3). Exact up to 100 cases, normal approximation above.
    Ties make the coverage approximate."""
    d = np.asarray(differences, dtype=np.float64)
    n = d.size
    if n == 0:
        return NAN, (NAN, NAN)
    i, j = np.triu_indices(n)
    walsh = np.sort((d[i] + d[j]) / 2.0)
    total = walsh.size
    estimate = float(np.median(walsh))
    tail = (1.0 - level) / 2.0
    if n <= EXACT_UP_TO:
        cdf = np.cumsum(signed_rank_null(n))
        c = int(np.searchsorted(cdf, tail, side="right"))  # P(T⁺ ≤ c − 1) ≤ tail
    else:
        z = float(stats.norm.ppf(1.0 - tail))
        c = math.floor(n * (n + 1) / 4.0 - z * math.sqrt(n * (n + 1) * (2 * n + 1) / 24.0))
    if c < 1:
        return estimate, (NAN, NAN)  # too few cases for any interval at this level
    return estimate, (float(walsh[c - 1]), float(walsh[total - c]))


def paired_time(*, time_a: ArrayLike, time_b: ArrayLike, level: float = 0.95) -> PairedTime:
    """Wilcoxon signed-rank test of time_b − time_a (scipy, zero differences dropped as in
    Wilcoxon's original method) and the Hodges–Lehmann shift with its interval."""
    a = np.asarray(time_a, dtype=np.float64)
    b = np.asarray(time_b, dtype=np.float64)
    d = b - a
    estimate, ci = hodges_lehmann_ci(d, level)
    if np.count_nonzero(d) == 0:
        statistic, p = NAN, NAN
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            test = stats.wilcoxon(d, zero_method="wilcox")
        statistic, p = float(test.statistic), float(test.pvalue)
    return PairedTime(
        cases=int(d.size),
        median_a=float(np.median(a)) if a.size else NAN,
        median_b=float(np.median(b)) if b.size else NAN,
        hodges_lehmann=estimate,
        ci=ci,
        statistic=statistic,
        p=p,
    )


def time_mixed_model(frame: pd.DataFrame, *, level: float = 0.95) -> TimeModel:
    """log(time) ~ modality, with crossed random intercepts for reader and case.

    statsmodels ``MixedLM`` with one group holding every read and the two random effects as
    variance components (``vc_formula``), the documented way to fit crossed effects; REML. The
    ratio exp(β) is the multiplicative change of time against the first modality of
    ``frame['modality']`` (a categorical's order, else order of appearance). Needs columns
    ``reader``, ``case``, ``modality`` and ``time`` (> 0).
    """
    from statsmodels.regression.mixed_linear_model import MixedLM

    data = frame[["reader", "case", "modality", "time"]].copy()
    data["log_time"] = np.log(data["time"].astype(float))
    order = (
        list(data["modality"].cat.categories)
        if isinstance(data["modality"].dtype, pd.CategoricalDtype)
        else list(dict.fromkeys(data["modality"]))
    )
    data["modality"] = pd.Categorical(data["modality"], categories=order)
    data["group"] = 1
    model = MixedLM.from_formula(
        "log_time ~ C(modality)",
        groups="group",
        vc_formula={"reader": "0 + C(reader)", "case": "0 + C(case)"},
        data=data,
        # One group holds every read, so the dense fit inverts an n × n matrix: 6 readers × 2
        # rounds × 100 cases took 127 s; the sparse design gives the same fit (to 1e-14) in
        # seconds.
        use_sparse=True,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # L-BFGS first: statsmodels' default (BFGS) often stops unconverged when a variance
        # component is near 0, as the reader one often is; the others are fallbacks.
        fit = model.fit(reml=True, method=["lbfgs", "bfgs", "powell"])
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    ratios: dict[str, tuple[float, tuple[float, float], float]] = {}
    for name in order[1:]:
        key = f"C(modality)[T.{name}]"
        beta, se = float(fit.fe_params[key]), float(fit.bse_fe[key])
        p = float(2.0 * stats.norm.sf(abs(beta / se))) if se > 0 else NAN
        ratios[name] = (math.exp(beta), (math.exp(beta - z * se), math.exp(beta + z * se)), p)
    vcomp = dict(zip(model.exog_vc.names, np.atleast_1d(fit.vcomp), strict=True))
    return TimeModel(
        ratios=ratios,
        var_reader=float(vcomp.get("reader", NAN)),
        var_case=float(vcomp.get("case", NAN)),
        var_residual=float(fit.scale),
        observations=len(data),
        converged=bool(fit.converged),
    )


def reading_time_json(
    *,
    times: NDArray[np.float64],
    modalities: list[str],
    readers: list[str],
    cases: list[str],
    level: float = 0.95,
) -> dict[str, Any]:
    """The ``reading_time`` block of results.json from ``times[modality, reader, case]``
    (seconds): per reader and pair of modalities the paired change, and the mixed model."""
    t = len(modalities)
    paired = []
    for a in range(t):
        for b in range(a + 1, t):
            for j, reader in enumerate(readers):
                result = paired_time(time_a=times[a, j], time_b=times[b, j], level=level)
                paired.append(
                    {
                        "reader": reader,
                        "modality_a": modalities[a],
                        "modality_b": modalities[b],
                        "cases": result.cases,
                        "median_a": result.median_a,
                        "median_b": result.median_b,
                        "hodges_lehmann": result.hodges_lehmann,
                        "hodges_lehmann_ci": list(result.ci),
                        "wilcoxon_statistic": result.statistic,
                        "wilcoxon_p": result.p,
                    }
                )
    model: dict[str, Any] | None = None
    if t >= 2 and len(readers) >= 2:
        frame = pd.DataFrame(
            [
                {"modality": m, "reader": r, "case": c, "time": times[i, j, k]}
                for i, m in enumerate(modalities)
                for j, r in enumerate(readers)
                for k, c in enumerate(cases)
            ]
        )
        frame["modality"] = pd.Categorical(frame["modality"], categories=modalities)
        fit = time_mixed_model(frame, level=level)
        model = {
            "ratios": [
                {"modality": name, "ratio": ratio, "ci": list(ci), "p": p}
                for name, (ratio, ci, p) in fit.ratios.items()
            ],
            "reference": modalities[0],
            "var_reader": fit.var_reader,
            "var_case": fit.var_case,
            "var_residual": fit.var_residual,
            "observations": fit.observations,
            "converged": fit.converged,
        }
    return {"paired": paired, "mixed_model": model}
