"""Descriptive tables: cohort baseline characteristics (seed Table 1) and misjudged cases (Table 4).

scipy supplies the tests (Mann–Whitney U, Kruskal–Wallis, Pearson chi-square, Fisher's exact);
what is written here is the choice between them and the layout of a clinical "Table 1", which
no maintained Python library produces in this form (tableone exists but adds a dependency for a
few lines of logic and chooses tests differently).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import AnalysisInputError

FISHER_EXPECTED_BELOW = 5.0
# Quartile definitions: R's type 7 (numpy "linear", the default) or SPSS's HAVERAGE, R's type 6
# (numpy "weibull"), which SPSS's EXAMINE/FREQUENCIES report.
QUARTILES = {"linear": "R type 7 (linear interpolation)", "weibull": "SPSS HAVERAGE, R type 6"}


def _columns_present(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise AnalysisInputError(f"missing column(s): {', '.join(missing)}")


def _group_label(name: object, count: int) -> str:
    return f"{name} (n = {count})"


def _median_iqr(values: pd.Series, quartiles: str = "linear") -> str:
    values = values.dropna()
    if values.empty:
        return ""
    q1, median, q3 = np.quantile(
        values.to_numpy(dtype=float),
        [0.25, 0.5, 0.75],
        method=quartiles,  # type: ignore[call-overload]
    )
    return f"{median:.2f}({q1:.2f},{q3:.2f})"


def continuous_test(samples: Sequence[pd.Series]) -> tuple[float, str]:
    """Two-sided Mann–Whitney U (Mann & Whitney 1947) for two groups, Kruskal–Wallis
    (Kruskal & Wallis 1952) for more; NaN p when a group is empty or all values are equal."""
    groups = [s.dropna().to_numpy(dtype=float) for s in samples]
    groups = [g for g in groups if g.size]
    if len(groups) < 2 or np.ptp(np.concatenate(groups)) == 0:
        return float("nan"), ""
    if len(groups) == 2:
        # scipy's "auto" rule, made explicit so the table can say which variant ran.
        pooled = np.concatenate(groups)
        exact = min(g.size for g in groups) <= 8 and np.unique(pooled).size == pooled.size
        method = "exact" if exact else "asymptotic"
        result = stats.mannwhitneyu(groups[0], groups[1], alternative="two-sided", method=method)
        variant = "exact" if exact else "normal approximation, tie-corrected, continuity-corrected"
        return float(result.pvalue), f"Mann-Whitney U ({variant})"
    return float(stats.kruskal(*groups).pvalue), "Kruskal-Wallis"


def categorical_test(table: pd.DataFrame) -> tuple[float, str]:
    """Pearson chi-square without continuity correction (Pearson 1900); Fisher's exact test
    (Fisher 1922) for a 2×2 table with an expected count below 5. Levels or groups with no
    observations are dropped first, because they carry no information and break the expected
    counts. Larger sparse tables keep the chi-square (scipy has no r×c exact test)."""
    counts = table.loc[table.sum(axis=1) > 0, table.sum(axis=0) > 0].to_numpy(dtype=float)
    if counts.shape[0] < 2 or counts.shape[1] < 2:
        return float("nan"), ""
    expected = stats.contingency.expected_freq(counts)
    if counts.shape == (2, 2) and (expected < FISHER_EXPECTED_BELOW).any():
        return float(stats.fisher_exact(counts).pvalue), "Fisher exact"
    return float(stats.chi2_contingency(counts, correction=False).pvalue), "Chi-square"


def _block(
    frame: pd.DataFrame,
    *,
    group: str,
    continuous: Sequence[str],
    categorical: Sequence[str],
    levels: Mapping[str, Sequence[object]],
    with_tests: bool,
    quartiles: str = "linear",
) -> pd.DataFrame:
    groups = (
        list(levels[group]) if group in levels else sorted(frame[group].dropna().unique(), key=str)
    )
    parts = {g: frame[frame[group] == g] for g in groups}
    labels = {g: _group_label(g, len(parts[g])) for g in groups}
    rows: list[dict[str, object]] = []
    for variable in continuous:
        row: dict[str, object] = {
            "variable": variable,
            "level": f"median (Q1, Q3), quartiles {QUARTILES[quartiles]}",
        }
        row.update({labels[g]: _median_iqr(parts[g][variable], quartiles) for g in groups})
        if with_tests:
            row["p_value"], row["test"] = continuous_test([parts[g][variable] for g in groups])
        rows.append(row)
    for variable in categorical:
        order = list(levels.get(variable, sorted(frame[variable].dropna().unique(), key=str)))
        table = pd.crosstab(frame[variable], frame[group]).reindex(
            index=order, columns=groups, fill_value=0
        )
        header: dict[str, object] = {"variable": variable, "level": ""}
        header.update({labels[g]: "" for g in groups})
        if with_tests:
            header["p_value"], header["test"] = categorical_test(table)
        rows.append(header)
        counts = table.to_numpy(dtype=np.int64)
        for i, level in enumerate(order):
            row = {"variable": variable, "level": str(level)}
            for j, g in enumerate(groups):
                count, total = int(counts[i, j]), len(parts[g])
                share = 100.0 * count / total if total else float("nan")
                row[labels[g]] = f"{count} ({share:.1f}%)"
            if with_tests:
                row["p_value"], row["test"] = float("nan"), ""
            rows.append(row)
    return pd.DataFrame(rows)


def baseline_table(
    *,
    frame: pd.DataFrame,
    group: str,
    continuous: Sequence[str] = (),
    categorical: Sequence[str] = (),
    strata: str | None = None,
    levels: Mapping[str, Sequence[object]] | None = None,
    quartiles: str = "linear",
) -> pd.DataFrame:
    """Baseline characteristics by ``group`` (e.g. benign/malignant), optionally per stratum
    (e.g. cohort), as in the seed's Table 1: continuous variables as median(Q1,Q3) — quantiles
    by linear interpolation, R's type 7, or ``quartiles="weibull"`` for SPSS's — with Mann–Whitney/Kruskal–Wallis; categorical ones as
    count (%) with chi-square or Fisher exact (see ``categorical_test``). ``levels`` fixes the
    order of groups and of categorical levels (levels never seen are shown with 0)."""
    _columns_present(frame, [group, *continuous, *categorical, *([strata] if strata else [])])
    if quartiles not in QUARTILES:
        raise AnalysisInputError(f"unknown quartiles '{quartiles}' ({', '.join(QUARTILES)})")
    levels = levels or {}
    if strata is None:
        return _block(
            frame,
            group=group,
            continuous=continuous,
            categorical=categorical,
            levels=levels,
            with_tests=True,
            quartiles=quartiles,
        )
    blocks = []
    for stratum in levels.get(strata, sorted(frame[strata].dropna().unique(), key=str)):
        part = frame[frame[strata] == stratum]
        block = _block(
            part,
            group=group,
            continuous=continuous,
            categorical=categorical,
            levels=levels,
            with_tests=True,
            quartiles=quartiles,
        )
        blocks.append(block.assign(**{strata: str(stratum)})[[strata, *block.columns]])
    return pd.concat(blocks, ignore_index=True)


def misjudged_cases(
    *,
    frame: pd.DataFrame,
    truth: str = "truth",
    predictions: Sequence[str] = ("decision",),
    case: str = "case",
) -> pd.DataFrame:
    """The cases some predictor (model or reader: one 0/1 column each) got wrong, with every
    feature column kept and ``wrong_by`` naming who erred and ``error`` the kind of error."""
    _columns_present(frame, [truth, case, *predictions])
    wrong = pd.DataFrame({p: frame[p].astype(int) != frame[truth].astype(int) for p in predictions})
    selected = frame.loc[wrong.any(axis=1)].copy()
    selected["wrong_by"] = [
        ", ".join(p for p in predictions if wrong.loc[i, p]) for i in selected.index
    ]
    selected["error"] = np.where(
        selected[truth].astype(int) == 1, "false negative", "false positive"
    )
    return selected.reset_index(drop=True)


def misjudged_summary(
    *,
    frame: pd.DataFrame,
    truth: str = "truth",
    prediction: str = "decision",
    categorical: Sequence[str] = (),
    levels: Mapping[str, Sequence[object]] | None = None,
    truth_labels: tuple[str, str] = ("Benign", "Malignant"),
) -> pd.DataFrame:
    """Seed Table 4: features of the cases one predictor got wrong, count (%) by true class
    (benign cases called malignant vs malignant cases called benign); descriptive, no tests."""
    _columns_present(frame, [truth, prediction, *categorical])
    wrong = frame[frame[prediction].astype(int) != frame[truth].astype(int)]
    named = wrong.assign(
        _class=np.where(wrong[truth].astype(int) == 1, truth_labels[1], truth_labels[0])
    )
    return _block(
        named,
        group="_class",
        continuous=(),
        categorical=categorical,
        levels={**(levels or {}), "_class": list(truth_labels)},
        with_tests=False,
    )
