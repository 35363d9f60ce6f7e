"""Empirical AUC and DeLong: the pROC reference on aSAH and the invariants of the AUC."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from analysis.errors import AnalysisInputError
from analysis.roc import (
    auc_delong,
    delong_components,
    delong_paired_test,
    empirical_auc,
    roc_curve_points,
)
from tests.analysis.conftest import asah_frame

FAST = settings(max_examples=40, deadline=None)


@st.composite
def labelled_scores(draw: st.DrawFn, max_size: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Truth with both classes and integer-valued scores (so that ties are frequent)."""
    n = draw(st.integers(min_value=2, max_value=max_size))
    truth = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    truth[0], truth[1] = 1, 0
    scores = np.array(draw(st.lists(st.integers(0, 6), min_size=n, max_size=n)), dtype=float)
    return truth, scores


def brute_force_delong(truth: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeLong 1988 by its definition: the m×n comparison matrix, O(mn)."""
    pos, neg = scores[:, truth == 1], scores[:, truth == 0]
    psi = (pos[:, :, None] > neg[:, None, :]) + 0.5 * (pos[:, :, None] == neg[:, None, :])
    v10, v01 = psi.mean(axis=2), psi.mean(axis=1)
    if min(pos.shape[1], neg.shape[1]) < 2:
        return psi.mean(axis=(1, 2)), np.full((scores.shape[0],) * 2, np.nan)
    cov = np.atleast_2d(np.cov(v10)) / pos.shape[1] + np.atleast_2d(np.cov(v01)) / neg.shape[1]
    return psi.mean(axis=(1, 2)), cov


def test_delong_matches_proc_on_asah():
    asah = asah_frame()
    truth = (asah["outcome"] == "Poor").astype(int)

    wfns = auc_delong(truth=truth, scores=asah["wfns"])
    s100b = auc_delong(truth=truth, scores=asah["s100b"])
    test = delong_paired_test(truth=truth, scores_a=asah["wfns"], scores_b=asah["s100b"])

    assert wfns.auc == pytest.approx(0.8237, abs=5e-5)
    assert s100b.auc == pytest.approx(0.7314, abs=5e-5)
    assert test.z == pytest.approx(2.209, abs=5e-4)
    assert test.p == pytest.approx(0.02718, abs=5e-6)
    assert test.ci[0] == pytest.approx(0.01041, abs=5e-6)
    assert test.ci[1] == pytest.approx(0.17421, abs=5e-6)
    assert test.diff == pytest.approx(wfns.auc - s100b.auc, abs=1e-12)


def test_auc_ci_is_normal_on_delong_se_and_clipped_to_unit_interval():
    truth = np.array([1, 1, 1, 0, 0, 0, 1, 0])
    scores = np.array([9, 8, 7, 1, 2, 3, 6, 6.5])

    result = auc_delong(truth=truth, scores=scores)

    assert result.auc == pytest.approx(15 / 16)
    assert result.ci[1] == 1.0
    assert result.ci[0] == pytest.approx(result.auc - 1.959964 * result.se, abs=1e-6)


@FAST
@given(labelled_scores())
def test_fast_delong_equals_the_definition(data):
    truth, scores = data
    reversed_scores = 10 - scores**1.5
    stacked = np.vstack([scores, reversed_scores])

    fast = delong_components(truth=truth, scores=stacked)
    auc, cov = brute_force_delong(truth, stacked)

    np.testing.assert_allclose(fast.auc, auc, atol=1e-12)
    np.testing.assert_allclose(fast.covariance, cov, atol=1e-12)


@FAST
@given(labelled_scores())
def test_reversed_scores_give_one_minus_auc(data):
    truth, scores = data

    assert empirical_auc(truth=truth, scores=-scores) == pytest.approx(
        1 - empirical_auc(truth=truth, scores=scores), abs=1e-12
    )


@FAST
@given(labelled_scores())
def test_auc_equals_sklearn_roc_auc_score(data):
    truth, scores = data

    assert empirical_auc(truth=truth, scores=scores) == pytest.approx(
        roc_auc_score(truth, scores), abs=1e-12
    )


@FAST
@given(labelled_scores(), st.randoms(use_true_random=False))
def test_case_order_changes_neither_auc_nor_se(data, random):
    truth, scores = data
    order = list(range(truth.size))
    random.shuffle(order)

    before = auc_delong(truth=truth, scores=scores)
    after = auc_delong(truth=truth[order], scores=scores[order])

    assert after.auc == pytest.approx(before.auc, abs=1e-12)
    assert after.se == pytest.approx(before.se, abs=1e-12, nan_ok=True)


def test_ties_between_classes_count_one_half():
    # Positives 1 and 2 against a negative 1: one tie (½) and one win (1) → 0.75.
    assert empirical_auc(truth=[1, 1, 0], scores=[1, 2, 1]) == pytest.approx(0.75)
    assert empirical_auc(truth=[1, 0, 1, 0], scores=[3, 3, 3, 3]) == pytest.approx(0.5)


def test_identical_score_vectors_give_z_0_and_p_1_with_a_note():
    # pROC's roc.test gives z 0, p 1 (with a warning) when there is nothing to compare.
    truth = [1, 0, 1, 0, 1]
    scores = [0.9, 0.1, 0.4, 0.5, 0.7]

    test = delong_paired_test(truth=truth, scores_a=scores, scores_b=scores)

    assert test.diff == 0.0
    assert (test.z, test.p) == (0.0, 1.0)
    assert test.notes


def test_perfect_separation_has_variance_0_and_two_perfect_curves_p_1():
    truth = [1, 1, 0, 0, 0]
    perfect = auc_delong(truth=truth, scores=[5, 4, 3, 2, 1])
    assert (perfect.auc, perfect.se) == (1.0, 0.0)
    assert "perfect separation" in perfect.notes[0]
    test = delong_paired_test(truth=truth, scores_a=[5, 4, 3, 2, 1], scores_b=[9, 8, 1, 2, 3])
    assert (test.z, test.p) == (0.0, 1.0)
    assert "both AUCs are 1" in test.notes[0]
    tied = auc_delong(truth=truth, scores=[1, 1, 1, 1, 1])
    assert (tied.auc, tied.se) == (0.5, 0.0)
    assert "all scores tied" in tied.notes[0]


def test_roc_curve_runs_from_origin_to_top_right():
    curve = roc_curve_points(truth=[1, 0, 1, 0, 1], scores=[0.9, 0.1, 0.4, 0.5, 0.7])

    assert (curve.fpr[0], curve.tpr[0]) == (0.0, 0.0)
    assert (curve.fpr[-1], curve.tpr[-1]) == (1.0, 1.0)
    assert np.all(np.diff(curve.fpr) >= 0)
    assert np.trapezoid(curve.tpr, curve.fpr) == pytest.approx(
        empirical_auc(truth=[1, 0, 1, 0, 1], scores=[0.9, 0.1, 0.4, 0.5, 0.7])
    )


@pytest.mark.parametrize(
    ("truth", "scores", "message"),
    [
        ([1, 1, 1], [0.1, 0.2, 0.3], "a class has no cases"),
        ([0, 2, 1], [0.1, 0.2, 0.3], "0 or 1"),
        ([0, 1, 1], [0.1, float("nan"), 0.3], "finite"),
        ([0, 1, 1], [0.1, 0.3], "one value per case"),
    ],
)
def test_bad_truth_or_scores_are_refused(truth, scores, message):
    with pytest.raises(AnalysisInputError, match=message):
        auc_delong(truth=truth, scores=scores)
