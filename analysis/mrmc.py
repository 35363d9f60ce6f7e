"""Obuchowski–Rockette MRMC analysis with Hillis degrees of freedom (RRRC, FRRC, RRFC).

Written by hand because no Python library implements it (the references are R's MRMCaov and
RJafroc, whose published Van Dyke results the tests reproduce). Figures of merit and their
error covariance (DeLong or case jackknife) come from ``analysis.fom``. Every covariance term
that Hillis (2007, 2008) constrains is constrained here as in OR-DBM MRMC 2.51, RJafroc and
MRMCaov: max(Cov2 − Cov3, 0) in the RRRC error term, its df and the FRRC error term, and
max(Cov2, 0) in the single-modality intervals.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from analysis.errors import AnalysisInputError
from analysis.fom import (
    Covariance,
    FloatArray,
    Fom,
    FomComponents,
    fom_components,
    fom_covariance,
)
from analysis.roc import normal_ci

__all__ = [
    "Analysis",
    "Covariance",
    "Fom",
    "FomComponents",
    "Interval",
    "MrmcResult",
    "OverallTest",
    "PairTest",
    "VarianceComponents",
    "fom_components",
    "fom_covariance",
    "mrmc",
    "or_analysis",
]


@dataclass(frozen=True)
class VarianceComponents:
    """OR variance components (Obuchowski & Rockette 1995; Hillis 2007 notation)."""

    var_r: float
    var_tr: float
    cov1: float
    cov2: float
    cov3: float
    var_error: float


@dataclass(frozen=True)
class Interval:
    """An estimate with its standard error, degrees of freedom (None = normal) and CI."""

    estimate: float
    se: float
    df: float | None
    ci: tuple[float, float]


@dataclass(frozen=True)
class PairTest:
    """``diff = fom(modality_b) − fom(modality_a)``, later − earlier (modality_a comes first in
    study order), with its test (t, or z when df is None)."""

    modality_a: str
    modality_b: str
    diff: float
    se: float
    df: float | None
    statistic: float
    p: float
    ci: tuple[float, float]


@dataclass(frozen=True)
class OverallTest:
    """The global test of equal modality FOMs: F (RRRC, RRFC) or chi-square (FRRC)."""

    statistic: float
    df1: float
    df2: float | None
    p: float


@dataclass(frozen=True)
class Analysis:
    """One of RRRC, FRRC, RRFC: overall test, modality-pair differences, per-modality CIs."""

    test: OverallTest
    pairs: list[PairTest]
    modality_fom: dict[str, Interval]


@dataclass(frozen=True)
class MrmcResult:
    """The full OR analysis; ``fom[t, r]`` is modality t, reader r."""

    covariance: Covariance
    fom_name: Fom
    modalities: list[str]
    readers: list[str]
    fom: FloatArray
    error_covariance: FloatArray
    var_components: VarianceComponents
    rrrc: Analysis
    frrc: Analysis
    rrfc: Analysis
    reader_differences: dict[str, list[PairTest]]


def _mean_covariances(cov: FloatArray, t: int, r: int) -> tuple[float, float, float, float]:
    """Average Var, Cov1 (same reader), Cov2 (same modality), Cov3 (neither) of a (t·r)² matrix."""
    c = cov.reshape(t, r, t, r)
    same_t = np.eye(t, dtype=bool)[:, None, :, None]
    same_r = np.eye(r, dtype=bool)[None, :, None, :]
    var = float(c[same_t & same_r].mean())
    cov1 = float(c[~same_t & same_r].mean()) if t > 1 else float("nan")
    cov2 = float(c[same_t & ~same_r].mean()) if r > 1 else float("nan")
    cov3 = float(c[~same_t & ~same_r].mean()) if t > 1 and r > 1 else float("nan")
    return var, cov1, cov2, cov3


def _t_interval(estimate: float, se: float, df: float, level: float) -> Interval:
    if not (np.isfinite(se) and np.isfinite(df) and df > 0):
        return Interval(estimate, se, df, (float("nan"), float("nan")))
    half = float(stats.t.ppf(0.5 + level / 2.0, df)) * se
    return Interval(estimate, se, df, (estimate - half, estimate + half))


def _pair(a: str, b: str, diff: float, se: float, df: float | None, level: float) -> PairTest:
    statistic = diff / se if se > 0 else float("nan")
    if df is None:
        p = float(2 * stats.norm.sf(abs(statistic)))
        ci = normal_ci(estimate=diff, se=se, level=level, clip=False)
    else:
        p = float(2 * stats.t.sf(abs(statistic), df))
        ci = _t_interval(diff, se, df, level).ci
    return PairTest(a, b, diff, se, df, float(statistic), p, ci)


def _safe_div(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else float("nan")


def or_analysis(
    *,
    fom: FloatArray,
    covariance: FloatArray,
    modalities: list[str],
    readers: list[str],
    level: float = 0.95,
    covariance_method: Covariance = "delong",
    fom_name: Fom = "auc",
) -> MrmcResult:
    """Obuchowski–Rockette analysis of a (modalities × readers) FOM matrix and its covariance.

        Sources: Obuchowski & Rockette 1995 (Commun. Stat. Simul. 24:285); denominator df of
        Hillis 2007 (Stat. Med. 26:596), ddf = [MS(T×R) + r·max(Cov2 − Cov3, 0)]² /
        {MS(T×R)²/[(t − 1)(r − 1)]}; FRRC, RRFC and single-modality intervals as in Hillis,
        Berbaum & Metz 2008 (Acad. Radiol. 15:647) and RJafroc/MRMCaov. Pairwise differences with
        more than two modalities use the overall error term, as those packages do. ``modalities`` are
    in study order and every difference is later − earlier (the printouts' "1 − 2" negated).

        Long because it follows the published formulas step by step; split, they would be harder to
        check against the sources.
    """
    t, r = fom.shape
    if t < 2:
        raise AnalysisInputError("MRMC analysis needs at least two modalities")
    if r < 2:
        raise AnalysisInputError("MRMC analysis needs at least two readers")
    var, cov1, cov2, cov3 = _mean_covariances(covariance, t, r)
    modality_mean = fom.mean(axis=1)
    reader_mean = fom.mean(axis=0)
    grand = float(fom.mean())
    ms_t = float(r * np.sum((modality_mean - grand) ** 2) / (t - 1))
    ms_r = float(t * np.sum((reader_mean - grand) ** 2) / (r - 1))
    interaction = fom - modality_mean[:, None] - reader_mean[None, :] + grand
    ms_tr = float(np.sum(interaction**2) / ((t - 1) * (r - 1)))
    var_tr = ms_tr - var + cov1 + cov2 - cov3
    components = VarianceComponents(
        var_r=(ms_r - ms_tr) / t - cov1 + cov3,
        var_tr=var_tr,
        cov1=cov1,
        cov2=cov2,
        cov3=cov3,
        var_error=var,
    )
    df1 = float(t - 1)
    pairs = list(combinations(range(t), 2))

    # Random readers and cases: Hillis's denominator with the max(·, 0) constraint.
    rrrc_den = ms_tr + r * max(cov2 - cov3, 0.0)
    rrrc_f = _safe_div(ms_t, rrrc_den)
    rrrc_df2 = _safe_div(rrrc_den**2, ms_tr**2 / ((t - 1) * (r - 1)))
    rrrc_se = float(np.sqrt(2.0 * rrrc_den / r))
    # Fixed readers, random cases: chi-square with the covariance-based error term, Cov2 − Cov3
    # constrained as in the RRRC term (Hillis 2007; OR-DBM MRMC 2.51 and RJafroc's FRRC).
    frrc_den = var - cov1 + (r - 1) * max(cov2 - cov3, 0.0)
    frrc_chi2 = _safe_div((t - 1) * ms_t, frrc_den)
    frrc_se = float(np.sqrt(2.0 * frrc_den / r)) if frrc_den > 0 else float("nan")
    # Random readers, fixed cases: the conventional two-way ANOVA F.
    rrfc_df2 = float((t - 1) * (r - 1))
    rrfc_se = float(np.sqrt(2.0 * ms_tr / r))

    rrrc_single, frrc_single, rrfc_single = {}, {}, {}
    for i, name in enumerate(modalities):
        block = covariance[i * r : (i + 1) * r, i * r : (i + 1) * r]
        var_i = float(np.diag(block).mean())
        cov2_i = float(block[~np.eye(r, dtype=bool)].mean())
        ms_r_i = float(np.sum((fom[i] - modality_mean[i]) ** 2) / (r - 1))
        den_i = ms_r_i + r * max(cov2_i, 0.0)
        df_i = _safe_div(den_i**2, ms_r_i**2 / (r - 1))
        estimate = float(modality_mean[i])
        rrrc_single[name] = _t_interval(estimate, float(np.sqrt(den_i / r)), df_i, level)
        se_fixed = float(np.sqrt(max((var_i + (r - 1) * max(cov2_i, 0.0)) / r, 0.0)))
        frrc_single[name] = Interval(
            estimate,
            se_fixed,
            None,
            normal_ci(estimate=estimate, se=se_fixed, level=level, clip=False),
        )
        rrfc_single[name] = _t_interval(estimate, float(np.sqrt(ms_r_i / r)), float(r - 1), level)

    def pair_tests(se: float, df: float | None) -> list[PairTest]:
        return [
            _pair(
                modalities[a],
                modalities[b],
                float(modality_mean[b] - modality_mean[a]),
                se,
                df,
                level,
            )
            for a, b in pairs
        ]

    rrrc = Analysis(
        OverallTest(rrrc_f, df1, rrrc_df2, _f_sf(rrrc_f, df1, rrrc_df2)),
        pair_tests(rrrc_se, rrrc_df2),
        rrrc_single,
    )
    frrc = Analysis(
        OverallTest(
            frrc_chi2,
            df1,
            None,
            float(stats.chi2.sf(frrc_chi2, df1)) if np.isfinite(frrc_chi2) else float("nan"),
        ),
        pair_tests(frrc_se, None),
        frrc_single,
    )
    rrfc_f = _safe_div(ms_t, ms_tr)
    rrfc = Analysis(
        OverallTest(rrfc_f, df1, rrfc_df2, _f_sf(rrfc_f, df1, rrfc_df2)),
        pair_tests(rrfc_se, rrfc_df2),
        rrfc_single,
    )

    # Each reader alone, cases random: SE √(2·(Var_j − Cov1_j)) from that reader's error variance
    # and Cov1 averaged over modalities, the same for every pair (OR-DBM MRMC 2.51, RJafroc,
    # MRMCaov); with two modalities this is the pair's own variance of the difference.
    reader_differences: dict[str, list[PairTest]] = {}
    for j, reader in enumerate(readers):
        own = covariance[j::r, j::r]
        var_j = float(np.diag(own).mean())
        cov1_j = float(own[~np.eye(t, dtype=bool)].mean())
        variance = 2.0 * (var_j - cov1_j)
        se = float(np.sqrt(variance)) if variance > 1e-15 else float("nan")
        reader_differences[reader] = [
            _pair(modalities[a], modalities[b], float(fom[b, j] - fom[a, j]), se, None, level)
            for a, b in pairs
        ]

    return MrmcResult(
        covariance=covariance_method,
        fom_name=fom_name,
        modalities=list(modalities),
        readers=list(readers),
        fom=fom,
        error_covariance=covariance,
        var_components=components,
        rrrc=rrrc,
        frrc=frrc,
        rrfc=rrfc,
        reader_differences=reader_differences,
    )


def _f_sf(f: float, df1: float, df2: float) -> float:
    if not (np.isfinite(f) and np.isfinite(df2) and df2 > 0):
        return float("nan")
    return float(stats.f.sf(f, df1, df2))


def mrmc(
    *,
    truth: NDArray[np.bool_],
    ratings: FloatArray,
    modalities: list[str],
    readers: list[str],
    fom: Fom = "auc",
    covariance: Covariance = "delong",
    level: float = 0.95,
) -> MrmcResult:
    """OR MRMC analysis from ratings[t, r, c] (modality, reader, case) and the case truth.

    Combines ``fom_components``, ``fom_covariance`` and ``or_analysis`` (see their sources).
    """
    ratings = np.asarray(ratings, dtype=np.float64)
    t, r, c = ratings.shape
    parts = fom_components(truth=truth, ratings=ratings.reshape(t * r, c), fom=fom)
    cov = fom_covariance(components=parts, method=covariance)
    return or_analysis(
        fom=parts.fom.reshape(t, r),
        covariance=cov,
        modalities=modalities,
        readers=readers,
        level=level,
        covariance_method=covariance,
        fom_name=fom,
    )
