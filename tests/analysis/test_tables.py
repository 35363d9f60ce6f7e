"""Baseline-characteristics and misjudged-case tables: test choice and layout."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.errors import AnalysisInputError
from analysis.tables import baseline_table, misjudged_cases, misjudged_summary


@pytest.fixture
def cohort() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "truth": [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1],
            "cohort": ["internal"] * 6 + ["internal"] * 3 + ["external"] * 3,
            "age": [40, 45, 50, 55, 60, 65, 58, 62, 70, 71, 75, 80],
            "shape": ["regular"] * 5 + ["irregular"] + ["irregular"] * 5 + ["regular"],
            "location": ["superficial", "deep"] * 6,
            "decision": [0, 0, 1, 0, 0, 1, 1, 0, 1, 1, 1, 0],
            "reader_c": [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1],
        }
    )


def test_continuous_rows_show_median_iqr_with_mann_whitney_for_two_groups(cohort):
    table = baseline_table(frame=cohort, group="truth", continuous=["age"])

    row = table.iloc[0]
    assert row["0 (n = 6)"] == "52.50(46.25,58.75)"
    assert row["test"] in (
        "Mann-Whitney U (exact)",
        "Mann-Whitney U (normal approximation, tie-corrected, continuity-corrected)",
    )
    assert row["level"] == "median (Q1, Q3), quartiles R type 7 (linear interpolation)"
    expected = stats.mannwhitneyu(cohort.age[:6], cohort.age[6:], alternative="two-sided").pvalue
    assert row["p_value"] == pytest.approx(expected, abs=1e-12)


def test_spss_quartiles_are_an_option_and_are_named(cohort):
    table = baseline_table(frame=cohort, group="truth", continuous=["age"], quartiles="weibull")

    row = table.iloc[0]
    q1, median, q3 = np.quantile(cohort.age[:6], [0.25, 0.5, 0.75], method="weibull")
    assert row["0 (n = 6)"] == f"{median:.2f}({q1:.2f},{q3:.2f})"
    assert "SPSS" in row["level"]


def test_kruskal_wallis_for_more_than_two_groups(cohort):
    cohort = cohort.assign(group=["a", "b", "c"] * 4)

    table = baseline_table(frame=cohort, group="group", continuous=["age"])

    assert table.iloc[0]["test"] == "Kruskal-Wallis"
    groups = [cohort.age[cohort.group == g] for g in "abc"]
    assert table.iloc[0]["p_value"] == pytest.approx(stats.kruskal(*groups).pvalue, abs=1e-12)


def test_fisher_exact_when_a_2x2_expected_count_is_below_five(cohort):
    table = baseline_table(frame=cohort, group="truth", categorical=["shape"])

    header = table.iloc[0]
    assert header["test"] == "Fisher exact"
    crosstab = pd.crosstab(cohort["shape"], cohort["truth"])
    assert header["p_value"] == pytest.approx(stats.fisher_exact(crosstab).pvalue, abs=1e-12)
    assert table.iloc[1]["level"] == "irregular"
    assert table.iloc[1]["1 (n = 6)"] == "5 (83.3%)"


def test_pearson_chi_square_without_correction_when_counts_are_large():
    frame = pd.DataFrame(
        {
            "truth": [0] * 40 + [1] * 40,
            "margin": ["clear"] * 30 + ["unclear"] * 10 + ["clear"] * 15 + ["unclear"] * 25,
        }
    )

    header = baseline_table(frame=frame, group="truth", categorical=["margin"]).iloc[0]

    expected = stats.chi2_contingency(
        pd.crosstab(frame.margin, frame.truth), correction=False
    ).pvalue
    assert header["test"] == "Chi-square"
    assert header["p_value"] == pytest.approx(expected, abs=1e-12)


def test_levels_never_seen_are_shown_with_zero_and_do_not_enter_the_test(cohort):
    table = baseline_table(
        frame=cohort,
        group="truth",
        categorical=["location"],
        levels={"location": ["superficial", "deep", "both"]},
    )

    assert table.iloc[3]["level"] == "both"
    assert table.iloc[3]["0 (n = 6)"] == "0 (0.0%)"
    assert table.iloc[0]["p_value"] == pytest.approx(1.0)


def test_strata_give_one_block_per_cohort(cohort):
    table = baseline_table(frame=cohort, group="truth", continuous=["age"], strata="cohort")

    assert table["cohort"].tolist() == ["external", "internal"]


def test_misjudged_cases_lists_who_got_each_case_wrong(cohort):
    wrong = misjudged_cases(
        frame=cohort.assign(case=range(12)), predictions=["decision", "reader_c"]
    )

    assert wrong["case"].tolist() == [2, 5, 7, 11]
    assert wrong["wrong_by"].tolist() == ["decision"] * 4
    assert wrong["error"].tolist() == [
        "false positive",
        "false positive",
        "false negative",
        "false negative",
    ]
    assert "shape" in wrong.columns


def test_misjudged_summary_counts_features_by_true_class(cohort):
    table = misjudged_summary(frame=cohort, categorical=["shape"])

    irregular = table[(table.variable == "shape") & (table.level == "irregular")].iloc[0]
    assert irregular["Benign (n = 2)"] == "1 (50.0%)"
    assert irregular["Malignant (n = 2)"] == "1 (50.0%)"
    assert "p_value" not in table.columns


def test_missing_columns_are_named(cohort):
    with pytest.raises(AnalysisInputError, match="missing column"):
        baseline_table(frame=cohort, group="truth", continuous=["weight"])
