"""Obuchowski–Rockette MRMC on the Van Dyke data against MRMCaov/RJafroc, and its invariants.

Jackknife references are RJafroc's documented output for ``dataset02`` (the Van Dyke data),
``StSignificanceTesting(dataset02, FOM = "Wilcoxon", method = "OR")``; the DeLong reference is
the one in shared/design.md (MRMCaov).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from analysis.errors import AnalysisInputError
from analysis.mrmc import fom_components, fom_covariance, mrmc
from analysis.reads import ReadsData, reads_from_frame
from analysis.roc import empirical_auc
from tests.analysis.conftest import vandyke_reads


@pytest.fixture(scope="module")
def vandyke() -> ReadsData:
    return reads_from_frame(vandyke_reads())


def analyse(data: ReadsData, covariance: Any = "delong", fom: Any = "auc", ratings=None):
    return mrmc(
        truth=data.truth,
        ratings=data.scores if ratings is None else ratings,
        modalities=data.modalities,
        readers=data.readers,
        covariance=covariance,
        fom=fom,
    )


def test_or_delong_matches_mrmcaov_on_van_dyke(vandyke):
    result = analyse(vandyke, "delong")

    assert result.rrrc.modality_fom["1"].estimate == pytest.approx(0.8970, abs=5e-5)
    assert result.rrrc.modality_fom["2"].estimate == pytest.approx(0.9408, abs=5e-5)
    assert result.rrrc.test.statistic == pytest.approx(4.4849, abs=5e-5)
    assert result.rrrc.test.df2 == pytest.approx(15.066, abs=5e-4)
    assert result.rrrc.test.p == pytest.approx(0.05123, abs=5e-6)


def test_or_jackknife_matches_rjafroc_on_van_dyke(vandyke):
    result = analyse(vandyke, "jackknife")
    vc = result.var_components

    assert result.rrrc.test.statistic == pytest.approx(4.4563187, rel=1e-6)
    assert result.rrrc.test.df2 == pytest.approx(15.259675, rel=1e-6)
    assert result.rrrc.test.p == pytest.approx(0.051665686, rel=1e-6)
    # RJafroc reports 1 − 2; here every difference is later − earlier, 2 − 1.
    assert result.rrrc.pairs[0].diff == pytest.approx(0.043800322, rel=1e-6)
    assert result.rrrc.pairs[0].ci == pytest.approx((-0.00035885444, 0.087959499), rel=1e-6)
    assert result.rrrc.modality_fom["1"].ci == pytest.approx((0.82522360, 0.96885048), rel=1e-6)
    assert result.rrrc.modality_fom["2"].ci == pytest.approx((0.89413783, 0.98753689), rel=1e-6)
    assert (vc.var_r, vc.var_tr, vc.cov1, vc.cov2, vc.cov3, vc.var_error) == pytest.approx(
        (0.00153499935, 0.00020040252, 0.00034661371, 0.00034407483, 0.00023902837, 0.00080228827),
        rel=1e-6,
    )


def test_frrc_and_rrfc_match_rjafroc_on_van_dyke(vandyke):
    result = analyse(vandyke, "jackknife")

    assert result.frrc.test.statistic == pytest.approx(5.4759532, rel=1e-6)
    assert result.frrc.test.p == pytest.approx(0.019279843, rel=1e-6)
    assert result.frrc.pairs[0].ci == pytest.approx((0.0071147303, 0.080485914), rel=1e-6)
    assert result.frrc.modality_fom["1"].ci == pytest.approx((0.84943008, 0.94464399), rel=1e-6)
    assert result.frrc.modality_fom["2"].ci == pytest.approx((0.90795637, 0.97371835), rel=1e-6)
    assert result.rrfc.test.statistic == pytest.approx(8.704, rel=1e-6)
    assert result.rrfc.test.p == pytest.approx(0.041958752, rel=1e-6)
    assert result.rrfc.pairs[0].ci == pytest.approx((0.0025804202, 0.085020224), rel=1e-6)
    assert result.rrfc.modality_fom["1"].ci == pytest.approx((0.82809808, 0.96597599), rel=1e-6)
    first, last = result.reader_differences["1"][0], result.reader_differences["5"][0]
    assert (first.diff, first.se) == pytest.approx((0.028180354, 0.025512133), rel=1e-6)
    assert (last.se, last.p) == pytest.approx((0.044057460, 0.023000993), rel=1e-6)


def test_two_modality_pair_t_squared_equals_f(vandyke):
    result = analyse(vandyke, "delong")

    assert result.rrrc.pairs[0].statistic ** 2 == pytest.approx(result.rrrc.test.statistic)
    assert result.rrrc.pairs[0].p == pytest.approx(result.rrrc.test.p)
    assert result.frrc.pairs[0].statistic ** 2 == pytest.approx(result.frrc.test.statistic)


def test_jackknife_closed_form_equals_recomputing_without_each_case(vandyke):
    ratings = vandyke.scores.reshape(10, -1)[:3]
    truth = vandyke.truth
    c = truth.size
    dropped = np.array(
        [
            [empirical_auc(truth=np.delete(truth, k), scores=np.delete(row, k)) for k in range(c)]
            for row in ratings
        ]
    )
    centred = dropped - dropped.mean(axis=1, keepdims=True)
    expected = (c - 1) / c * centred @ centred.T

    parts = fom_components(truth=truth, ratings=ratings, fom="auc")

    np.testing.assert_allclose(
        fom_covariance(components=parts, method="jackknife"), expected, atol=1e-14
    )


def test_delong_covariance_of_a_proportion_is_its_binomial_variance():
    truth = np.array([1, 1, 1, 1, 1, 0, 0, 0])
    calls = np.array([[1, 1, 1, 0, 0, 1, 0, 0]], dtype=float)

    parts = fom_components(truth=truth, ratings=calls, fom="sensitivity")
    cov = fom_covariance(components=parts, method="delong")

    # Sample variance (n − 1) of the calls on the 5 positives, divided by 5, like DeLong's S10/m.
    assert parts.fom[0] == pytest.approx(0.6)
    assert cov[0, 0] == pytest.approx(0.6 * 0.4 * 5 / 4 / 5)


def test_relabelling_and_reordering_readers_and_cases_changes_nothing(vandyke):
    rng = np.random.default_rng(3)
    readers = rng.permutation(len(vandyke.readers))
    cases = rng.permutation(len(vandyke.cases))
    shuffled = ReadsData(
        modalities=vandyke.modalities,
        readers=[f"reader {k}" for k in readers],
        cases=[vandyke.cases[k] for k in cases],
        truth=vandyke.truth[cases],
        scores=vandyke.scores[:, readers][:, :, cases],
        decisions=None,
    )
    for covariance in ("delong", "jackknife"):
        before, after = analyse(vandyke, covariance), analyse(shuffled, covariance)
        assert after.rrrc.test.statistic == pytest.approx(before.rrrc.test.statistic, rel=1e-10)
        assert after.rrrc.test.df2 == pytest.approx(before.rrrc.test.df2, rel=1e-10)
        assert after.var_components.var_r == pytest.approx(before.var_components.var_r, rel=1e-10)
        assert after.frrc.test.p == pytest.approx(before.frrc.test.p, rel=1e-10)


def test_three_modalities_give_an_overall_f_and_every_pair(vandyke):
    third = np.clip(
        vandyke.scores[1] + np.random.default_rng(0).integers(-1, 2, size=vandyke.scores[1].shape),
        1,
        5,
    )
    data = ReadsData(
        modalities=["1", "2", "3"],
        readers=vandyke.readers,
        cases=vandyke.cases,
        truth=vandyke.truth,
        scores=np.concatenate([vandyke.scores, third[None]], axis=0),
        decisions=None,
    )

    result = analyse(data)

    assert result.rrrc.test.df1 == 2
    assert [(p.modality_a, p.modality_b) for p in result.rrrc.pairs] == [
        ("1", "2"),
        ("1", "3"),
        ("2", "3"),
    ]
    assert all(len(tests) == 3 for tests in result.reader_differences.values())
    assert set(result.rrrc.modality_fom) == {"1", "2", "3"}


def test_binary_figures_of_merit_need_binary_calls(vandyke):
    with pytest.raises(AnalysisInputError, match="0/1 decisions"):
        analyse(vandyke, fom="sensitivity")

    calls = (vandyke.scores >= 3).astype(float)
    for covariance in ("delong", "jackknife"):
        result = analyse(vandyke, covariance, fom="sensitivity", ratings=calls)
        assert result.rrrc.modality_fom["1"].estimate == pytest.approx(
            calls[0][:, vandyke.truth].mean()
        )
        assert np.isfinite(result.rrrc.test.p)


def test_one_reader_is_refused(vandyke):
    with pytest.raises(AnalysisInputError, match="two readers"):
        mrmc(
            truth=vandyke.truth,
            ratings=vandyke.scores[:, :1],
            modalities=vandyke.modalities,
            readers=vandyke.readers[:1],
        )
