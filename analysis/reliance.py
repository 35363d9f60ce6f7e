"""Reliance on the AI: how readers' calls move toward (or away from) the AI's between an
unassisted and an assisted reading of the same cases ("algorithm aversion" and automation bias).

Written by hand: these are counting definitions from the human–AI decision-making literature,
with no library implementation; the AUCs come from ``analysis.roc``.

For each reader and case: the AI's call is probability > threshold; the reader's unassisted
call (modality ``before``) and assisted call (``after``) come from the ``decision`` column;
the reader's confidence is the ``score`` column, taken to be on a 0–100 scale for the weight of
advice. Every rate is returned with its numerator and denominator; a rate over no cases is
None (undefined), not 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from analysis.roc import delong_components

BoolArray = NDArray[np.bool_]


def _rate(count: int, of: int) -> dict[str, Any]:
    return {"count": int(count), "of": int(of), "rate": (count / of) if of else None}


def _auc(truth: BoolArray, scores: NDArray[np.float64]) -> float | None:
    if truth.all() or not truth.any():
        return None  # one class only among these cases: AUC undefined
    return float(delong_components(truth=truth, scores=scores).auc[0])


def reliance_measures(
    *,
    truth: BoolArray,
    ai_call: BoolArray,
    before: BoolArray,
    after: BoolArray,
    initial: NDArray[np.float64],
    final: NDArray[np.float64],
    ai_probability: NDArray[np.float64],
) -> dict[str, Any]:
    """Every reliance measure over one reader's cases (or the stacked cases of all readers).

    - agreement_before/after: the call equals the AI's call.
    - switch_to_ai_when_ai_right / _wrong: over cases whose unassisted call differed from the
      AI's, the assisted call now equals the AI's, split by whether the AI was right.
    - rair (Schemmer et al. 2023, relative AI reliance): positive AI reliance / (positive AI
      reliance + negative self-reliance), over cases with the reader initially wrong and the AI
      right: the share where the reader switched to the AI.
    - rsr (relative self-reliance): positive self-reliance / (positive self-reliance + negative
      AI reliance), over cases with the reader initially right and the AI wrong: the share
      where the reader kept the own call.
    - weight_of_advice_mean: mean of (final − initial)/(100·AI − initial) over cases where the
      denominator is not 0 (Yaniv 2004; Harvey & Fischer 1997), with the count used.
    - accuracy and AUC on AI-right and AI-wrong cases, unassisted and assisted.
    """
    ai_right = ai_call == truth
    differed = before != ai_call
    switched = differed & (after == ai_call)
    right_before = before == truth
    # With binary calls, "differed from a right AI" is "initially wrong while the AI was right".
    rair_pool = ~right_before & ai_right
    rsr_pool = right_before & ~ai_right
    kept = after == before
    denominator = 100.0 * ai_probability - initial
    defined = denominator != 0
    woa = (final[defined] - initial[defined]) / denominator[defined]
    by_ai: dict[str, Any] = {}
    for label, mask in (("ai_right", ai_right), ("ai_wrong", ~ai_right)):
        by_ai[label] = {
            "cases": int(mask.sum()),
            "accuracy_before": _rate(int((right_before & mask).sum()), int(mask.sum())),
            "accuracy_after": _rate(int(((after == truth) & mask).sum()), int(mask.sum())),
            "auc_before": _auc(truth[mask], initial[mask]),
            "auc_after": _auc(truth[mask], final[mask]),
        }
    return {
        "cases": int(truth.size),
        "ai_accuracy": _rate(int(ai_right.sum()), int(truth.size)),
        "agreement_before": _rate(int((before == ai_call).sum()), int(truth.size)),
        "agreement_after": _rate(int((after == ai_call).sum()), int(truth.size)),
        "switch_to_ai_when_ai_right": _rate(
            int((switched & ai_right).sum()), int((differed & ai_right).sum())
        ),
        "switch_to_ai_when_ai_wrong": _rate(
            int((switched & ~ai_right).sum()), int((differed & ~ai_right).sum())
        ),
        "rair": _rate(int((rair_pool & (after == truth)).sum()), int(rair_pool.sum())),
        "rsr": _rate(int((rsr_pool & kept).sum()), int(rsr_pool.sum())),
        "weight_of_advice_mean": float(np.mean(woa)) if woa.size else None,
        "weight_of_advice_cases": int(woa.size),
        "by_ai_correctness": by_ai,
    }


def reliance_json(
    *,
    truth: BoolArray,
    scores: NDArray[np.float64],
    decisions: NDArray[np.float64],
    readers: list[str],
    ai_probability: NDArray[np.float64],
    threshold: float,
    before: int = 0,
    after: int = 1,
) -> dict[str, Any]:
    """The ``reliance`` block: one entry per reader and ``pooled`` over every reader's cases;
    ``scores``/``decisions`` are [modality, reader, case], ``before``/``after`` modality
    indices (unassisted, assisted)."""
    return reliance_readers_json(
        readers=[
            ReaderPairs(
                reader=reader,
                truth=truth,
                before=decisions[before, j] == 1.0,
                after=decisions[after, j] == 1.0,
                initial=scores[before, j],
                final=scores[after, j],
                ai_probability=ai_probability,
            )
            for j, reader in enumerate(readers)
        ],
        threshold=threshold,
    )


@dataclass(frozen=True)
class ReaderPairs:
    """One reader's paired reads of their own cases: the unassisted (``before``, ``initial``)
    and the assisted (``after``, ``final``) call and confidence, aligned by case."""

    reader: str
    truth: BoolArray
    before: BoolArray
    after: BoolArray
    initial: NDArray[np.float64]
    final: NDArray[np.float64]
    ai_probability: NDArray[np.float64]


def reliance_readers_json(*, readers: list[ReaderPairs], threshold: float) -> dict[str, Any]:
    """The reliance block over readers who may each have read different cases (a sequential
    study's bias-control cases differ by reader): per reader, and ``pooled`` over the stacked
    cases, its AUCs the readers' mean (stacking would mix the readers' confidence scales)."""
    per_reader = [
        {
            "reader": r.reader,
            **reliance_measures(
                truth=r.truth,
                ai_call=r.ai_probability > threshold,
                before=r.before,
                after=r.after,
                initial=r.initial,
                final=r.final,
                ai_probability=r.ai_probability,
            ),
        }
        for r in readers
    ]

    def stacked(name: str) -> NDArray[Any]:
        return np.concatenate([getattr(r, name) for r in readers])

    probability = stacked("ai_probability")
    pooled = reliance_measures(
        truth=stacked("truth"),
        ai_call=probability > threshold,
        before=stacked("before"),
        after=stacked("after"),
        initial=stacked("initial"),
        final=stacked("final"),
        ai_probability=probability,
    )
    for label in ("ai_right", "ai_wrong"):
        for key in ("auc_before", "auc_after"):
            values = [row["by_ai_correctness"][label][key] for row in per_reader]
            defined = [v for v in values if v is not None]
            pooled["by_ai_correctness"][label][key] = float(np.mean(defined)) if defined else None
    return {"threshold": threshold, "readers": per_reader, "pooled": pooled}
