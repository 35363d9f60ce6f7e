"""Paired differences of proportions: Fagerland et al.'s published values and invariants."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.errors import AnalysisInputError
from analysis.paired import (
    PairedTable,
    agresti_min_ci,
    mcnemar_midp,
    newcombe_ci,
    paired_difference,
    paired_table,
    tango_ci,
)

# Cavo et al. 2012, complete response before/after consolidation therapy, as the
# ``cavo_2012`` data of github:ocbe-uio/contingencytables (R/datasets.R):
# rbind(c(59, 6), c(16, 80)); expected values from tests/testthat/test-ch8.R of that repository
# (4 decimals as printed there); Fagerland, Lydersen & Laake 2017, Table 8.x.
CAVO = PairedTable(n11=59, n12=6, n21=16, n22=80)


def test_newcombe_matches_contingencytables_cavo():
    low, high = newcombe_ci(CAVO)
    assert (low, high) == pytest.approx((-0.1186, -0.0046), abs=5e-5)


def test_tango_matches_contingencytables_cavo():
    assert tango_ci(CAVO) == pytest.approx((-0.1240, -0.0054), abs=5e-5)


def test_agresti_min_matches_contingencytables_cavo():
    assert agresti_min_ci(CAVO) == pytest.approx((-0.1182, -0.0045), abs=5e-5)


def test_mcnemar_midp_matches_contingencytables_cavo():
    assert mcnemar_midp(n12=6, n21=16) == pytest.approx(0.034690, abs=5e-7)


def test_edge_tables_match_contingencytables():
    # test-ch8.R: Newcombe on matrix(c(1, 0, 0, 1), 2); Tango on matrix(c(0, 0, 3, 0), 2)
    # (R fills by column, so n12 = 3) and on matrix(c(0, 3, 0, 0), 2) (n21 = 3).
    assert newcombe_ci(PairedTable(1, 0, 0, 1)) == pytest.approx((-0.5734, 0.5734), abs=5e-5)
    assert tango_ci(PairedTable(0, 3, 0, 0)) == pytest.approx((-0.1230, 1.0), abs=5e-5)
    assert tango_ci(PairedTable(0, 0, 3, 0)) == pytest.approx((-1.0, 0.1230), abs=5e-5)


def test_paired_difference_is_later_minus_earlier():
    a = np.array([1, 1, 1, 0, 0, 0, 1, 0], dtype=bool)
    b = np.array([1, 1, 1, 1, 1, 0, 0, 1], dtype=bool)
    result = paired_difference(success_a=a, success_b=b)
    assert result.table == PairedTable(n11=3, n12=3, n21=1, n22=1)
    assert result.proportion_a == 0.5
    assert result.proportion_b == 0.75
    assert result.estimate == pytest.approx(0.25)
    assert result.ci[0] < result.estimate < result.ci[1]
    swapped = paired_difference(success_a=b, success_b=a)
    assert swapped.estimate == pytest.approx(-0.25)
    assert swapped.ci == pytest.approx((-result.ci[1], -result.ci[0]))
    assert swapped.p == pytest.approx(result.p)


def test_no_discordant_pairs_gives_undefined_midp_and_empty_table_nan():
    assert np.isnan(mcnemar_midp(n12=0, n21=0))
    for ci in (newcombe_ci, tango_ci, agresti_min_ci):
        assert all(np.isnan(ci(PairedTable(0, 0, 0, 0))))


def test_bad_inputs():
    with pytest.raises(AnalysisInputError):
        paired_table(success_a=[1, 0], success_b=[1])
    with pytest.raises(AnalysisInputError):
        paired_difference(success_a=[1], success_b=[1], method="wald")  # type: ignore[arg-type]


tables = st.builds(PairedTable, *(st.integers(min_value=0, max_value=30) for _ in range(4))).filter(
    lambda t: t.total > 0
)


@settings(max_examples=60, deadline=None)
@given(tables)
def test_intervals_contain_estimate_and_stay_in_range(table: PairedTable):
    estimate = (table.n12 - table.n21) / table.total
    for ci in (newcombe_ci, tango_ci, agresti_min_ci):
        low, high = ci(table)
        assert -1.0 - 1e-9 <= low <= high <= 1.0 + 1e-9
        if ci is not agresti_min_ci:  # Agresti–Min is centred on the adjusted estimate
            assert low - 1e-9 <= estimate <= high + 1e-9
    p = mcnemar_midp(n12=table.n12, n21=table.n21)
    assert np.isnan(p) or 0.0 <= p <= 1.0
