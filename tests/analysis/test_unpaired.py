"""Unpaired DeLong: pROC's published values on aSAH and invariants."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.roc import DelongComponents, delong_components, paired_from_components
from analysis.unpaired import delong_unpaired_test
from tests.analysis.conftest import asah_frame


def _curves(a: str, b: str):
    asah = asah_frame()
    truth = (asah["outcome"] == "Poor").astype(int).to_numpy()
    return {"truth_1": truth, "scores_1": asah[a], "truth_2": truth, "scores_2": asah[b]}


@pytest.mark.parametrize(
    ("a", "b", "statistic", "p"),
    [
        # github:xrobin/pROC tests/testthat/test-roc.test.R, "unpaired roc.test statistic and p
        # are as expected": roc.test(r.wfns, r.s100b, paired = FALSE) and the two others.
        ("wfns", "s100b", 1.43490640926908, 0.152825378808796),
        ("wfns", "ndka", 3.10125096778969, 0.00220950791756457),
        ("ndka", "s100b", -1.55995743389685, 0.120192832430845),
    ],
)
def test_matches_proc_unpaired_roc_test(a: str, b: str, statistic: float, p: float):
    result = delong_unpaired_test(**_curves(a, b))
    assert result.statistic == pytest.approx(statistic, rel=1e-9)
    assert result.p == pytest.approx(p, rel=1e-9)
    assert result.ci[0] < result.diff < result.ci[1]


def test_symmetric_in_the_two_curves():
    forward = delong_unpaired_test(**_curves("wfns", "s100b"))
    backward = delong_unpaired_test(**_curves("s100b", "wfns"))
    assert backward.statistic == pytest.approx(-forward.statistic)
    assert backward.p == pytest.approx(forward.p)
    assert backward.ci == pytest.approx((-forward.ci[1], -forward.ci[0]))


def test_normal_version_equals_paired_test_with_zero_covariance():
    curves = _curves("wfns", "s100b")
    result = delong_unpaired_test(**curves)
    joint = delong_components(
        truth=curves["truth_1"], scores=np.vstack([curves["scores_1"], curves["scores_2"]])
    )
    # The same components with the cross-covariance removed: paired DeLong then is unpaired.
    cov = joint.covariance

    class NoCov(DelongComponents):
        @property
        def covariance(self) -> np.ndarray:
            return np.diag(np.diag(cov))

    paired = paired_from_components(
        components=NoCov(auc=joint.auc, v10=joint.v10, v01=joint.v01), index_a=0, index_b=1
    )
    assert result.se == pytest.approx(paired.se, rel=1e-12)
    assert result.p_normal == pytest.approx(paired.p, rel=1e-12)
    assert result.ci_normal == pytest.approx(paired.ci, rel=1e-12)


def test_different_cohort_sizes_and_identical_curves():
    rng = np.random.default_rng(7)
    truth_1 = np.r_[np.ones(20), np.zeros(30)]
    truth_2 = np.r_[np.ones(40), np.zeros(80)]
    scores_1 = truth_1 + rng.normal(size=50)
    scores_2 = truth_2 + rng.normal(size=120)
    result = delong_unpaired_test(
        truth_1=truth_1, scores_1=scores_1, truth_2=truth_2, scores_2=scores_2
    )
    assert 0.0 <= result.p <= 1.0
    assert result.df > 0
    same = delong_unpaired_test(
        truth_1=truth_1, scores_1=scores_1, truth_2=truth_1, scores_2=scores_1
    )
    assert same.diff == 0.0
    assert same.statistic == 0.0
    assert same.p == pytest.approx(1.0)


def test_perfect_separation_gives_undefined_test():
    truth = np.array([1, 1, 0, 0])
    result = delong_unpaired_test(
        truth_1=truth, scores_1=[3, 4, 1, 2], truth_2=truth, scores_2=[5, 6, 1, 2]
    )
    assert result.diff == 0.0
    assert np.isnan(result.p)
