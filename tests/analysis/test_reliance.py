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


def test_rair_and_rsr_follow_schemmer_et_al_2023_definitions():
    # Schemmer, Kühl, Benz, Bartos & Satzger (IUI '23, "Appropriate Reliance on AI Advice",
    # arXiv 2302.02187, section 3): over cases with the initial human decision wrong and the AI
    # right, correct AI reliance (CAIR: final = AI) against incorrect self-reliance (ISR: the
    # own wrong call kept): RAIR = ΣCAIR / (ΣCAIR + ΣISR); over cases with the initial decision
    # right and the AI wrong, correct self-reliance (CSR: own call kept) against incorrect AI
    # reliance (IAIR: final = AI): RSR = ΣCSR / (ΣCSR + ΣIAIR). Cases where human and AI agreed
    # at first are in neither. Worked by hand, case by case (1-based):
    #   case truth AI before after  kind
    #   1    1     1  0      1      CAIR
    #   2    1     1  0      1      CAIR
    #   3    0     0  1      1      ISR
    #   4    1     0  1      1      CSR
    #   5    0     1  0      1      IAIR
    #   6    0     1  0      0      CSR
    #   7    0     1  0      1      IAIR
    #   8    1     1  1      1      agreed at first (right): neither
    #   9    1     0  0      1      agreed at first (wrong), then left the AI: neither
    # RAIR = 2 / (2 + 1) = 2/3; RSR = 2 / (2 + 2) = 1/2.
    truth = np.array([1, 1, 0, 1, 0, 0, 0, 1, 1], dtype=bool)
    ai = np.array([0.9, 0.8, 0.1, 0.2, 0.7, 0.6, 0.9, 0.8, 0.3])
    before = np.array([0, 0, 1, 1, 0, 0, 0, 1, 0], dtype=bool)
    after = np.array([1, 1, 1, 1, 1, 0, 1, 1, 1], dtype=bool)
    m = reliance_measures(
        truth=truth,
        ai_call=ai > 0.5,
        before=before,
        after=after,
        initial=np.full(9, 50.0),
        final=np.full(9, 50.0),
        ai_probability=ai,
    )
    assert m["rair"] == {"count": 2, "of": 3, "rate": pytest.approx(2 / 3)}
    assert m["rsr"] == {"count": 2, "of": 4, "rate": 0.5}
    # The issue's switch rates, over the cases whose unassisted call differed from the AI's:
    # AI right on 1, 2, 3 (two switched), AI wrong on 4, 5, 6, 7 (5 and 7 switched).
    assert m["switch_to_ai_when_ai_right"] == {"count": 2, "of": 3, "rate": pytest.approx(2 / 3)}
    assert m["switch_to_ai_when_ai_wrong"] == {"count": 2, "of": 4, "rate": 0.5}


def test_weight_of_advice_is_yaniv_s_shift_toward_the_advice():
    # WoA = (final − initial) / (advice − initial) (Yaniv 2004; Harvey & Fischer 1997), advice
    # = 100 × AI probability: moving all the way is 1, not moving 0, half way 0.5, away < 0.
    truth = np.array([1, 1, 0, 0], dtype=bool)
    ai = np.array([0.8, 0.6, 0.2, 0.5])
    initial = np.array([40.0, 60.0, 60.0, 50.0])  # case 4: advice equals initial, undefined
    final = np.array([80.0, 60.0, 40.0, 70.0])
    m = reliance_measures(
        truth=truth,
        ai_call=ai > 0.5,
        before=initial > 50,
        after=final > 50,
        initial=initial,
        final=final,
        ai_probability=ai,
    )
    # case 1: 40/40 = 1; case 2: 0/0 → advice 60 = initial, undefined too; case 3: −20/−40 = 0.5.
    assert m["weight_of_advice_cases"] == 2
    assert m["weight_of_advice_mean"] == pytest.approx((1.0 + 0.5) / 2)


def test_reliance_object_has_the_issue_s_keys():
    keys = {
        "cases",
        "agreement_before",
        "agreement_after",
        "switch_to_ai_when_ai_right",
        "switch_to_ai_when_ai_wrong",
        "rair",
        "rsr",
        "weight_of_advice_mean",
    }
    assert keys <= set(_measures())
