"""Sample-size planning: a hand-computed example, RJafroc's Van Dyke figure, monotonicity."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats

from analysis.errors import AnalysisInputError
from analysis.mrmc import VarianceComponents, mrmc
from analysis.power import PowerAnalysis, cases_for_power, or_power, power_grid
from analysis.reads import reads_from_frame
from tests.analysis.conftest import vandyke_reads

PILOT = VarianceComponents(
    var_r=0.0015, var_tr=0.0002, cov1=0.00035, cov2=0.00034, cov3=0.00024, var_error=0.0008
)


def test_power_matches_a_hand_computed_example():
    # 5 readers, 200 cases from a 114-case pilot, ΔAUC 0.05: scale = 114/200 = 0.57.
    error = (0.0008 - 0.00035) * 0.57  # 0.0002565
    between = (0.00034 - 0.00024) * 0.57  # 0.000057
    denominator = 0.0002 + error + 4 * between  # 0.0006845
    noncentrality = 5 * 0.05**2 / (2 * denominator)  # 9.1308...
    ddf = denominator**2 * 4 / (0.0002 + error - between) ** 2  # 11.743...
    expected = stats.ncf.sf(stats.f.ppf(0.95, 1, ddf), 1, ddf, noncentrality)

    result = or_power(components=PILOT, pilot_cases=114, readers=5, cases=200, effect=0.05)

    assert result.noncentrality == pytest.approx(9.130752, rel=1e-6)
    assert result.df2 == pytest.approx(ddf, rel=1e-12)
    assert result.power == pytest.approx(expected, rel=1e-12)


def test_power_matches_rjafroc_on_van_dyke():
    # RJafroc tests: SsPowerGivenJK(dataset02, "Wilcoxon", method = "OR",
    # effectSize = -0.043800322, J = 10, K = 165) gives power 0.80541995 (jackknife pilot).
    data = reads_from_frame(vandyke_reads())
    pilot = mrmc(
        truth=data.truth,
        ratings=data.scores,
        modalities=data.modalities,
        readers=data.readers,
        covariance="jackknife",
    ).var_components

    result = or_power(components=pilot, pilot_cases=114, readers=10, cases=165, effect=-0.043800322)

    assert result.power == pytest.approx(0.80541995, abs=1e-7)


@st.composite
def components(draw: st.DrawFn) -> VarianceComponents:
    """Coherent OR components: correlations r1, r2 ≥ r3 and 1 − r1 − r2 + r3 > 0."""
    var_error = draw(st.floats(0.0005, 0.002))
    r1, r2 = draw(st.floats(0.1, 0.6)), draw(st.floats(0.1, 0.6))
    r3 = draw(st.floats(0.0, min(r1, r2)))
    assume(1 - r1 - r2 + r3 > 0.05)
    return VarianceComponents(
        var_r=draw(st.floats(0, 0.01)),
        var_tr=draw(st.floats(-0.0005, 0.002)),
        cov1=r1 * var_error,
        cov2=r2 * var_error,
        cov3=r3 * var_error,
        var_error=var_error,
    )


@settings(max_examples=40, deadline=None)
@given(components(), st.integers(2, 20), st.integers(20, 400), st.floats(0.02, 0.15))
def test_power_grows_with_readers(pilot, readers, cases, effect):
    def power(r: int) -> float:
        return or_power(
            components=pilot, pilot_cases=100, readers=r, cases=cases, effect=effect
        ).power

    assert power(readers + 1) >= power(readers) - 1e-12


@settings(max_examples=40, deadline=None)
@given(components(), st.integers(5, 20), st.integers(20, 400), st.floats(0.02, 0.15))
def test_power_grows_with_cases_from_five_readers(pilot, readers, cases, effect):
    def power(c: int) -> float:
        return or_power(
            components=pilot, pilot_cases=100, readers=readers, cases=c, effect=effect
        ).power

    assert power(cases + 25) >= power(cases) - 1e-12


def test_power_in_cases_can_dip_slightly_with_few_readers_when_reader_variance_dominates():
    # A property of the Hillis df, not a bug: as cases grow the ddf falls towards r − 1 faster
    # than the non-centrality rises. With 2 readers and var_tr ≫ case variance the dip is tiny.
    pilot = VarianceComponents(
        var_r=0.0,
        var_tr=0.001953125,
        cov1=0.00060269,
        cov2=0.00030134,
        cov3=0.0,
        var_error=0.00120537,
    )

    def power(c: int) -> float:
        return or_power(components=pilot, pilot_cases=100, readers=2, cases=c, effect=0.125).power

    assert power(61) < power(36)
    assert power(36) - power(61) < 0.001


def test_case_table_gives_the_smallest_case_count_reaching_the_target():
    table = cases_for_power(
        components=PILOT, pilot_cases=114, readers=[5, 8, 12], effect=0.05, power=0.8
    )

    assert table["cases"].notna().all()
    for readers, cases, reached in zip(
        table["readers"].astype(int), table["cases"].astype(int), table["power"], strict=True
    ):
        assert reached >= 0.8
        below = or_power(
            components=PILOT, pilot_cases=114, readers=readers, cases=cases - 1, effect=0.05
        )
        assert below.power < 0.8
    assert table["cases"].is_monotonic_decreasing


def test_case_table_says_none_when_readers_alone_cannot_reach_the_target():
    noisy = VarianceComponents(
        var_r=0.01, var_tr=0.01, cov1=0.0003, cov2=0.0003, cov3=0.0002, var_error=0.0008
    )

    table = cases_for_power(
        components=noisy, pilot_cases=100, readers=[2], effect=0.02, max_cases=2000
    )

    assert table["cases"].isna().all()


def test_power_grid_has_one_row_per_reader_and_case_count():
    grid = power_grid(
        components=PILOT, pilot_cases=114, readers=[4, 6], cases=[100, 200], effect=0.05
    )

    assert len(grid) == 4
    assert grid["power"].between(0, 1).all()


def test_power_refuses_a_single_reader():
    with pytest.raises(AnalysisInputError, match="two readers"):
        or_power(components=PILOT, pilot_cases=114, readers=1, cases=100, effect=0.05)


def _vandyke_jackknife_pilot() -> VarianceComponents:
    data = reads_from_frame(vandyke_reads())
    return mrmc(
        truth=data.truth,
        ratings=data.scores,
        modalities=data.modalities,
        readers=data.readers,
        covariance="jackknife",
    ).var_components


@pytest.mark.parametrize(
    ("analysis", "cases", "expected"),
    [
        # github:dpc10ster/RJafroc tests/testthat/test-SsSampleSizeRoc.R: SsPowerGivenJK(dataset02,
        # FOM = "Wilcoxon", method = "OR", effectSize = -0.043800322, J = 10, K = 131,
        # analysisOption = "FRRC") gives 0.80091813; K = 53, "RRFC" gives 0.80496663.
        ("frrc", 131, 0.80091813),
        ("rrfc", 53, 0.80496663),
    ],
)
def test_frrc_and_rrfc_power_match_rjafroc_on_van_dyke(analysis, cases, expected):
    result = or_power(
        components=_vandyke_jackknife_pilot(),
        pilot_cases=114,
        readers=10,
        cases=cases,
        effect=-0.043800322,
        analysis=analysis,
    )
    assert result.power == pytest.approx(expected, abs=1e-7)


def test_fixed_readers_are_at_least_as_powerful_and_ignore_reader_variance():
    def power(components: VarianceComponents, analysis: PowerAnalysis) -> float:
        return or_power(
            components=components,
            pilot_cases=114,
            readers=5,
            cases=200,
            effect=0.05,
            analysis=analysis,
        ).power

    frrc = power(PILOT, "frrc")
    assert frrc >= power(PILOT, "rrrc")
    noisier = VarianceComponents(**{**PILOT.__dict__, "var_tr": 0.01})
    assert power(noisier, "frrc") == pytest.approx(frrc)


def test_short_plan_says_what_would_reach_the_target():
    noisy = VarianceComponents(
        var_r=0.01, var_tr=0.01, cov1=0.0003, cov2=0.0003, cov3=0.0002, var_error=0.0008
    )
    table = cases_for_power(
        components=noisy, pilot_cases=100, readers=[5], effect=0.02, max_cases=2000
    )
    text = table["suggestion"].iloc[0]
    assert text.startswith("2,000 cases give power")
    effect = float(text.split("ΔAUC of ")[1].split(" ")[0])

    def power(e: float) -> float:
        return or_power(components=noisy, pilot_cases=100, readers=5, cases=2000, effect=e).power

    assert power(effect) >= 0.8 - 1e-3
    assert power(effect - 0.002) < 0.8
    assert "not even 100 readers" in text
