"""Figures of merit of an MRMC analysis and their case-sampling covariance (DeLong, jackknife).

The empirical AUC, sensitivity and specificity, as per-case contributions from which both the
DeLong covariance and the exact leave-one-case-out jackknife follow in closed form. For
sensitivity and specificity the "DeLong" covariance is the covariance of proportions — the
sample covariance of the 0/1 calls over the positive (resp. negative) cases divided by their
number — which is what DeLong's method reduces to for a U-statistic of degree one; the
jackknife of a binary figure of merit runs over the cases it is computed from only (diseased
cases for sensitivity, non-diseased for specificity), as MRMCaov does (it subsets the data by
truth before jackknifing ``binary_sens``/``binary_spec``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from analysis.errors import AnalysisInputError
from analysis.roc import as_truth, delong_components

Fom = Literal["auc", "sensitivity", "specificity"]
Covariance = Literal["delong", "jackknife"]
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class FomComponents:
    """Per-case contributions to k figures of merit: ``fom[r] = positive[r].mean()``.

    For the AUC these are DeLong's V10/V01; for sensitivity the 0/1 calls on positive cases
    (negatives carry the constant FOM); for specificity the reverse.
    """

    fom: FloatArray
    positive: FloatArray
    negative: FloatArray
    # Which classes carry information (a binary FOM ignores one class); a class that does
    # needs two cases before any case-sampling variance can be estimated.
    informative: tuple[bool, bool] = (True, True)


def fom_components(*, truth: ArrayLike, ratings: ArrayLike, fom: Fom) -> FomComponents:
    """Per-case contributions of the chosen FOM for each row of ``ratings`` (k, cases).

    AUC: DeLong, DeLong & Clarke-Pearson 1988 via Sun & Xu 2014 (``analysis.roc``).
    Sensitivity/specificity: ``ratings`` must be 0/1 calls.
    """
    truth = as_truth(truth)
    ratings = np.atleast_2d(np.asarray(ratings, dtype=np.float64))
    if fom == "auc":
        parts = delong_components(truth=truth, scores=ratings)
        return FomComponents(fom=parts.auc, positive=parts.v10, negative=parts.v01)
    if not np.all(np.isin(ratings, (0.0, 1.0))):
        raise AnalysisInputError(f"{fom} needs 0/1 decisions, not continuous scores")
    pos = ratings[:, truth]
    neg = 1.0 - ratings[:, ~truth]
    if fom == "sensitivity":
        value = pos.mean(axis=1)
        return FomComponents(
            fom=value,
            positive=pos,
            negative=np.repeat(value[:, None], neg.shape[1], 1),
            informative=(True, False),
        )
    if fom == "specificity":
        value = neg.mean(axis=1)
        return FomComponents(
            fom=value,
            positive=np.repeat(value[:, None], pos.shape[1], 1),
            negative=neg,
            informative=(False, True),
        )
    raise AnalysisInputError(f"unknown figure of merit '{fom}' (auc, sensitivity, specificity)")


def fom_covariance(*, components: FomComponents, method: Covariance) -> FloatArray:
    """Case-sampling covariance of the k FOMs.

    ``delong``: S10/m + S01/n (DeLong et al. 1988); for a binary FOM the covariance of
    proportions. ``jackknife``: (c − 1)/c · Σ (θ₍ₖ₎ − θ̄)(θ₍ₖ₎ − θ̄)ᵀ over the c leave-one-case-out
    estimates (Efron 1982), which for these FOMs follow exactly from the per-case contributions:
    dropping positive i gives (m·θ − P_i)/(m − 1), dropping negative j gives (n·θ − N_j)/(n − 1).
    The c cases are those the FOM is computed from: all of them for the AUC, the m positives
    for sensitivity, the n negatives for specificity (MRMCaov's ``binary_sens``/``binary_spec``).
    """
    pos, neg, fom = components.positive, components.negative, components.fom
    m, n = pos.shape[1], neg.shape[1]
    k = fom.size
    if method not in ("delong", "jackknife"):
        raise AnalysisInputError(f"unknown covariance method '{method}' (delong, jackknife)")
    if any(used and size < 2 for used, size in zip(components.informative, (m, n), strict=True)):
        return np.full((k, k), np.nan)
    if method == "delong":
        zero = np.zeros((k, k))
        s10 = np.atleast_2d(np.cov(pos)) if components.informative[0] else zero
        s01 = np.atleast_2d(np.cov(neg)) if components.informative[1] else zero
        return np.asarray(s10 / m + s01 / n, dtype=np.float64)
    blocks = []
    if components.informative[0]:
        blocks.append((m * fom[:, None] - pos) / (m - 1))
    if components.informative[1]:
        blocks.append((n * fom[:, None] - neg) / (n - 1))
    pseudo = np.concatenate(blocks, axis=1)
    c = pseudo.shape[1]
    centred = pseudo - pseudo.mean(axis=1, keepdims=True)
    return np.asarray((c - 1) / c * centred @ centred.T, dtype=np.float64)
