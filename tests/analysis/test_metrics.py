"""Reader and model metrics: seed-paper figures, library cross-checks and hand examples."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.proportion import proportion_confint

from analysis.errors import AnalysisInputError
from analysis.metrics import (
    ConfusionMatrix,
    binary_metrics,
    kappa_against_truth,
    mcnemar_paired,
    reader_metrics_frame,
    seniority_means,
    wilson_proportion,
)
from analysis.model import model_metrics, model_table, model_vs_readers, soft_vote_frame

FAST = settings(max_examples=40, deadline=None)


def calls(tp: int, fn: int, fp: int, tn: int) -> tuple[np.ndarray, np.ndarray]:
    truth = np.array([1] * (tp + fn) + [0] * (fp + tn))
    decision = np.array([1] * tp + [0] * fn + [1] * fp + [0] * tn)
    return truth, decision


def test_point_estimates_reproduce_seed_table_2_resnet18_internal_test():
    # Fig. 5 of the seed: 55 malignant and 137 benign images, 12 and 10 of them misjudged.
    truth, decision = calls(tp=43, fn=12, fp=10, tn=127)

    m = binary_metrics(truth=truth, decision=decision)

    assert m.accuracy.estimate == pytest.approx(0.885, abs=5e-4)
    assert m.sensitivity.estimate == pytest.approx(0.782, abs=5e-4)
    assert m.specificity.estimate == pytest.approx(0.927, abs=5e-4)
    assert m.ppv.estimate == pytest.approx(0.811, abs=5e-4)
    assert m.npv.estimate == pytest.approx(0.914, abs=5e-4)
    assert m.f1 == pytest.approx(0.796, abs=5e-4)
    assert m.kappa.kappa == pytest.approx(0.717, abs=5e-4)


def test_binary_auc_is_mean_of_sensitivity_and_specificity_as_in_seed_table_3():
    # Radiologist C, round 1: sensitivity 0.727, specificity 0.825, AUC 0.776.
    truth, decision = calls(tp=40, fn=15, fp=24, tn=113)

    m = binary_metrics(truth=truth, decision=decision)

    assert m.binary_auc.auc == pytest.approx(
        (m.sensitivity.estimate + m.specificity.estimate) / 2, abs=1e-12
    )
    assert m.binary_auc.auc == pytest.approx(0.776, abs=5e-4)
    assert m.ppv.estimate == pytest.approx(0.625, abs=5e-4)
    assert m.f1 == pytest.approx(0.672, abs=5e-4)


@FAST
@given(st.integers(0, 300), st.integers(1, 300))
def test_wilson_ci_matches_statsmodels(successes, total):
    successes = min(successes, total)

    result = wilson_proportion(successes=successes, total=total)

    low, high = proportion_confint(successes, total, alpha=0.05, method="wilson")
    assert result.ci == pytest.approx((low, high), abs=1e-12)
    assert result.method == "wilson"


@FAST
@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 1)), min_size=4, max_size=60))
def test_kappa_matches_sklearn_cohen_kappa_score(pairs):
    truth = np.array([p[0] for p in pairs])
    decision = np.array([p[1] for p in pairs])
    truth[0], truth[1] = 1, 0
    expected = cohen_kappa_score(truth, decision)

    m = binary_metrics(truth=truth, decision=decision)

    assert m.kappa.kappa == pytest.approx(expected, abs=1e-12, nan_ok=True)


def test_kappa_se_is_fleiss_cohen_everitt_by_hand():
    table = ConfusionMatrix(tp=20, fn=10, fp=5, tn=15)
    # Rows truth (neg, pos), columns call: p = [[15, 5], [10, 20]] / 50.
    p = np.array([[15, 5], [10, 20]]) / 50
    row, col = p.sum(1), p.sum(0)
    po, pe = np.trace(p), float(row @ col)
    kappa = (po - pe) / (1 - pe)
    a = sum(p[i, i] * (1 - (row[i] + col[i]) * (1 - kappa)) ** 2 for i in range(2))
    b = (1 - kappa) ** 2 * sum(
        p[i, j] * (col[i] + row[j]) ** 2 for i in range(2) for j in range(2) if i != j
    )
    c = (kappa - pe * (1 - kappa)) ** 2
    se = np.sqrt((a + b - c) / (50 * (1 - pe) ** 2))

    result = kappa_against_truth(table=table)

    assert result.kappa == pytest.approx(0.4, abs=1e-12)
    assert result.se == pytest.approx(se, abs=1e-12)
    assert result.ci == pytest.approx((0.4 - 1.959964 * se, 0.4 + 1.959964 * se), abs=1e-6)


def _pairs(lost: int, gained: int, same: int = 5) -> tuple[np.ndarray, np.ndarray]:
    before = np.array([True] * lost + [False] * gained + [True] * same)
    after = np.array([False] * lost + [True] * gained + [True] * same)
    return before, after


def test_mcnemar_default_is_mid_p_on_fagerland_bentur_example():
    # Fagerland, Lydersen & Laake 2013 (BMC Med Res Methodol 13:91), Table 1 (Bentur et al.):
    # 1 and 7 discordant pairs. Their p-values: mid-p 0.039, exact conditional 0.070,
    # asymptotic 0.034, asymptotic with continuity correction 0.077.
    before, after = _pairs(1, 7, same=13)

    result = mcnemar_paired(correct_before=before, correct_after=after)

    assert (result.lost, result.gained) == (1, 7)
    assert result.p == pytest.approx(0.039, abs=5e-4)
    assert result.p == pytest.approx(2 * 9 / 256 - 8 / 256, abs=1e-12)
    assert result.method.startswith("mid-p McNemar")
    expected: dict[Any, float] = {"exact": 0.070, "asymptotic": 0.034, "asymptotic-cc": 0.077}
    for method, p in expected.items():
        variant = mcnemar_paired(correct_before=before, correct_after=after, method=method)
        assert variant.p == pytest.approx(p, abs=5e-4), method


def test_mcnemar_mid_p_is_one_when_lost_equals_gained_and_symmetric():
    before, after = _pairs(4, 4)
    assert mcnemar_paired(correct_before=before, correct_after=after).p == 1.0
    one, other = _pairs(2, 9), _pairs(9, 2)
    p_one = mcnemar_paired(correct_before=one[0], correct_after=one[1]).p
    p_other = mcnemar_paired(correct_before=other[0], correct_after=other[1]).p
    assert p_one == pytest.approx(p_other, abs=1e-15)
    exact = mcnemar_paired(correct_before=one[0], correct_after=one[1], method="exact").p
    assert p_one < exact


def test_mcnemar_auto_keeps_the_former_exact_then_corrected_chi_square_rule():
    before, after = _pairs(2, 8)
    result = mcnemar_paired(correct_before=before, correct_after=after, method="auto")
    assert result.p == pytest.approx(112 / 1024, abs=1e-12)
    assert result.method == "exact conditional binomial McNemar"
    before = np.array([True] * 10 + [False] * 20)
    result = mcnemar_paired(correct_before=before, correct_after=~before, method="auto")
    assert result.statistic == pytest.approx((abs(10 - 20) - 1) ** 2 / 30, abs=1e-12)
    assert result.p == pytest.approx(stats.chi2.sf(2.7, 1), abs=1e-12)


def test_mcnemar_without_discordant_pairs_is_not_significant():
    same = np.array([True, False, True])

    assert mcnemar_paired(correct_before=same, correct_after=same).p == 1.0


def test_soft_vote_averages_a_case_images_and_calls_malignant_only_above_threshold():
    images = pd.DataFrame(
        {
            "case": ["a", "a", "b", "b", "c"],
            "probability": [0.2, 0.8, 0.9, 0.7, 0.3],
            "truth": [1, 1, 1, 1, 0],
        }
    )

    cases = soft_vote_frame(images=images)

    assert cases["probability"].tolist() == pytest.approx([0.5, 0.8, 0.3])
    assert cases["decision"].tolist() == [0, 1, 0]
    assert cases["n_images"].tolist() == [2, 2, 1]


def test_soft_vote_refuses_a_case_whose_images_disagree_on_truth():
    images = pd.DataFrame({"case": ["a", "a"], "probability": [0.2, 0.8], "truth": [1, 0]})

    with pytest.raises(AnalysisInputError, match="disagree"):
        soft_vote_frame(images=images)


def test_model_metrics_threshold_and_comparison_with_readers():
    truth = np.array([1, 1, 1, 0, 0, 0])
    probability = np.array([0.9, 0.6, 0.5, 0.4, 0.2, 0.55])
    reader = np.array([80, 20, 60, 50, 10, 30])

    model = model_metrics(truth=truth, probability=probability)
    versus = model_vs_readers(truth=truth, model_scores=probability, reader_scores={"C": reader})

    assert model.metrics.confusion == ConfusionMatrix(tp=2, fn=1, fp=1, tn=2)
    assert model.auc.auc == pytest.approx(8 / 9)
    assert versus["C"].diff == pytest.approx(model.auc.auc - 7 / 9)


def test_model_table_has_image_and_case_rows_per_cohort():
    images = pd.DataFrame(
        {
            "cohort": ["internal"] * 6 + ["external"] * 4,
            "case": ["a", "a", "b", "c", "d", "d", "e", "f", "g", "h"],
            "probability": [0.9, 0.7, 0.3, 0.6, 0.1, 0.4, 0.8, 0.2, 0.6, 0.3],
            "truth": [1, 1, 1, 0, 0, 0, 1, 0, 1, 0],
        }
    )

    table = model_table(images=images, cohort_column="cohort")

    assert table[["cohort", "level"]].values.tolist() == [
        ["external", "image"],
        ["external", "case"],
        ["internal", "image"],
        ["internal", "case"],
    ]
    internal_case = table[(table.cohort == "internal") & (table.level == "case")].iloc[0]
    assert internal_case["n"] == 4
    assert internal_case["auc"] == pytest.approx(0.75)
    assert internal_case["accuracy"] == pytest.approx(0.5)


def test_reader_metrics_frame_and_seniority_means():
    truth = [1, 1, 0, 0]
    reads = pd.DataFrame(
        {
            "reader": ["C"] * 4 + ["G"] * 4,
            "modality": ["1"] * 8,
            "case": list("abcd") * 2,
            "truth": truth * 2,
            "decision": [1, 1, 0, 0, 1, 0, 1, 0],
            "score": [90, 80, 10, 20, 70, 30, 60, 40],
            "reading_time": [10, 20, 30, 40, 5, 5, 5, 25],
        }
    )

    frame = reader_metrics_frame(reads=reads)
    means = seniority_means(metrics=frame, seniority={"C": "senior", "G": "junior"})

    assert frame["accuracy"].tolist() == pytest.approx([1.0, 0.5])
    assert frame["time_median"].tolist() == pytest.approx([25.0, 5.0])
    assert frame["auc"].tolist() == pytest.approx([1.0, 0.5])
    assert means.set_index("seniority")["accuracy"].to_dict() == pytest.approx(
        {"junior": 0.5, "senior": 1.0}
    )
    with pytest.raises(AnalysisInputError, match="no seniority"):
        seniority_means(metrics=frame, seniority={"C": "senior"})


def test_kappa_ci_is_truncated_to_minus_one_one():
    from analysis.metrics import ConfusionMatrix, kappa_against_truth

    result = kappa_against_truth(table=ConfusionMatrix(tp=9, fn=1, fp=0, tn=5))
    assert result.ci[1] <= 1.0
    assert result.ci[0] >= -1.0
    assert result.kappa + 1.96 * result.se > 1.0  # the raw Wald bound would exceed 1


def test_wald_intervals_follow_the_seed_paper_and_are_not_truncated():
    from analysis.metrics import wald_auc, wilson_proportion

    p = wilson_proportion(successes=19, total=20, method="wald")
    half = 1.959963984540054 * np.sqrt(0.95 * 0.05 / 20)
    assert p.ci == pytest.approx((0.95 - half, 0.95 + half), abs=1e-12)
    assert p.ci[1] > 1.0
    assert p.method == "wald"
    assert wald_auc(auc=0.9, n=100) == pytest.approx(
        (0.9 - 1.959963984540054 * 0.03, 0.9 + 1.959963984540054 * 0.03), abs=1e-12
    )
