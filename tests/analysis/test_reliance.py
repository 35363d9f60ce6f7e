"""Reliance on the AI: a hand-computed six-case example for every measure, and edge cases."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.reliance import reliance_json, reliance_measures

TRUTH = np.array([1, 1, 1, 0, 0, 0], dtype=bool)
AI = np.array([0.9, 0.8, 0.2, 0.1, 0.7, 0.3])  # calls 1 1 0 0 1 0: AI wrong on cases 3 and 5
BEFORE = np.array([0, 1, 1, 0, 0, 1], dtype=bool)
AFTER = np.array([1, 1, 1, 0, 1, 0], dtype=bool)
INITIAL = np.array([20.0, 60, 70, 10, 30, 80])
FINAL = np.array([70.0, 60, 75, 10, 60, 20])


def _measures() -> dict:
    return reliance_measures(
        truth=TRUTH,
        ai_call=AI > 0.5,
        before=BEFORE,
        after=AFTER,
        initial=INITIAL,
        final=FINAL,
        ai_probability=AI,
    )


def test_hand_computed_example():
    m = _measures()
    assert m["cases"] == 6
    assert m["ai_accuracy"] == {"count": 4, "of": 6, "rate": pytest.approx(4 / 6)}
    assert m["agreement_before"] == {"count": 2, "of": 6, "rate": pytest.approx(2 / 6)}
    assert m["agreement_after"] == {"count": 5, "of": 6, "rate": pytest.approx(5 / 6)}
    # Calls differed from the AI on cases 1, 3, 5, 6 (1-based); AI right on 1 and 6 (both
    # switched), wrong on 3 (kept) and 5 (switched: automation bias).
    assert m["switch_to_ai_when_ai_right"] == {"count": 2, "of": 2, "rate": 1.0}
    assert m["switch_to_ai_when_ai_wrong"] == {"count": 1, "of": 2, "rate": 0.5}
    # RAIR: initially wrong and AI right on cases 1 and 6, both corrected. RSR: initially right
    # and AI wrong on cases 3 (kept) and 5 (switched to the wrong AI call).
    assert m["rair"] == {"count": 2, "of": 2, "rate": 1.0}
    assert m["rsr"] == {"count": 1, "of": 2, "rate": 0.5}
    # WoA: (50/70 + 0/20 + 5/−50 + 30/40 + (−60)/(−50)) / 5; case 4 has denominator 0.
    assert m["weight_of_advice_mean"] == pytest.approx((50 / 70 + 0 - 0.1 + 0.75 + 1.2) / 5)
    assert m["weight_of_advice_cases"] == 5
    right, wrong = m["by_ai_correctness"]["ai_right"], m["by_ai_correctness"]["ai_wrong"]
    assert right["accuracy_before"]["count"] == 2
    assert right["accuracy_after"]["count"] == 4
    assert right["auc_before"] == 0.5
    assert right["auc_after"] == 1.0
    assert wrong["accuracy_before"] == {"count": 2, "of": 2, "rate": 1.0}
    assert wrong["accuracy_after"] == {"count": 1, "of": 2, "rate": 0.5}


def test_no_disagreement_gives_rates_of_zero_and_null():
    calls = AI > 0.5
    m = reliance_measures(
        truth=TRUTH,
        ai_call=calls,
        before=calls,
        after=calls,
        initial=AI * 100,
        final=AI * 100,
        ai_probability=AI,
    )
    assert m["switch_to_ai_when_ai_right"] == {"count": 0, "of": 0, "rate": None}
    assert m["switch_to_ai_when_ai_wrong"] == {"count": 0, "of": 0, "rate": None}
    assert m["rair"]["rate"] is None
    assert m["weight_of_advice_mean"] is None  # every denominator is 0
    assert m["agreement_before"]["rate"] == 1.0


def test_json_pools_readers():
    decisions = np.stack([np.stack([BEFORE, BEFORE]), np.stack([AFTER, AFTER])]).astype(float)
    scores = np.stack([np.stack([INITIAL, INITIAL]), np.stack([FINAL, FINAL])])
    block = reliance_json(
        truth=TRUTH,
        scores=scores,
        decisions=decisions,
        readers=["r1", "r2"],
        ai_probability=AI,
        threshold=0.5,
    )
    assert [row["reader"] for row in block["readers"]] == ["r1", "r2"]
    pooled = block["pooled"]
    assert pooled["cases"] == 12
    assert pooled["switch_to_ai_when_ai_wrong"] == {"count": 2, "of": 4, "rate": 0.5}
    assert pooled["by_ai_correctness"]["ai_right"]["auc_before"] == 0.5
