"""Agreement: Fleiss 1971's psychiatric diagnoses (kappa 0.430) and invariants."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from analysis.agreement import agreement_json, cohen_kappa_matrix, fleiss_kappa_ci

# Fleiss 1971 (Psychol Bull 76:378), 30 patients × 6 psychiatrists, 5 diagnoses, as typed in
# statsmodels' statsmodels/stats/tests/test_inter_rater.py (``diagnoses``, the R irr data set).
DIAGNOSES = np.array(
    [
        [4, 4, 4, 4, 4, 4], [2, 2, 2, 5, 5, 5], [2, 3, 3, 3, 3, 5], [5, 5, 5, 5, 5, 5],
        [2, 2, 2, 4, 4, 4], [1, 1, 3, 3, 3, 3], [3, 3, 3, 3, 5, 5], [1, 1, 3, 3, 3, 4],
        [1, 1, 4, 4, 4, 4], [5, 5, 5, 5, 5, 5], [1, 4, 4, 4, 4, 4], [1, 2, 4, 4, 4, 4],
        [2, 2, 2, 3, 3, 3], [1, 4, 4, 4, 4, 4], [2, 2, 4, 4, 4, 5], [3, 3, 3, 3, 3, 5],
        [1, 1, 1, 4, 5, 5], [1, 1, 1, 1, 1, 2], [2, 2, 4, 4, 4, 4], [1, 3, 3, 5, 5, 5],
        [5, 5, 5, 5, 5, 5], [2, 4, 4, 4, 4, 4], [2, 2, 4, 5, 5, 5], [1, 1, 4, 4, 4, 4],
        [1, 4, 4, 4, 4, 5], [2, 2, 2, 2, 2, 4], [1, 1, 1, 1, 5, 5], [2, 2, 4, 4, 4, 4],
        [1, 3, 3, 3, 3, 3], [5, 5, 5, 5, 5, 5],
    ]
)  # fmt: skip


def test_fleiss_1971_kappa_and_irr_z():
    result = fleiss_kappa_ci(DIAGNOSES, replicates=500)
    # Fleiss 1971 reports kappa = .430; R irr::kappam.fleiss(diagnoses) gives 0.4302445 and
    # z = 17.65183 (both quoted in statsmodels' test_inter_rater.py, test_fleiss_kappa_irr).
    assert result.kappa == pytest.approx(0.4302445, abs=5e-8)
    assert result.z == pytest.approx(17.65183, abs=5e-5)
    assert result.ci[0] < result.kappa < result.ci[1]
    assert result.cases == 30
    assert result.raters == 6


def test_bootstrap_is_reproducible_with_the_stored_seed():
    first = fleiss_kappa_ci(DIAGNOSES, replicates=200)
    second = fleiss_kappa_ci(DIAGNOSES, replicates=200)
    assert first.ci == second.ci


def test_perfect_agreement_is_one():
    ratings = np.repeat(np.array([[0], [1], [1], [0], [1]]), 4, axis=1)
    result = fleiss_kappa_ci(ratings, replicates=100)
    assert result.kappa == pytest.approx(1.0)
    matrix = cohen_kappa_matrix(ratings)
    assert np.allclose(matrix, 1.0)


def test_cohen_matrix_symmetric_and_matches_sklearn():
    rng = np.random.default_rng(3)
    ratings = rng.integers(0, 2, size=(40, 3))
    matrix = cohen_kappa_matrix(ratings)
    assert np.allclose(matrix, matrix.T)
    assert np.allclose(np.diag(matrix), 1.0)
    assert matrix[0, 2] == pytest.approx(cohen_kappa_score(ratings[:, 0], ratings[:, 2]))


def test_constant_pair_is_undefined_and_json_has_null():
    decisions = np.array([[[1, 1, 1, 1], [1, 1, 1, 1], [0, 1, 0, 1]]], dtype=float)
    block = agreement_json(
        decisions=decisions, modalities=["A"], readers=["r1", "r2", "r3"], level=0.95
    )
    assert block[0]["cohen_kappa"][0][1] is None
    assert block[0]["cohen_kappa"][0][0] == 1.0
    assert block[0]["cases"] == 4
