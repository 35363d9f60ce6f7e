"""Reading time: the Hodges–Lehmann interval inverts scipy's exact Wilcoxon test, and the
crossed mixed model recovers a known time ratio."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.reading_time import (
    hodges_lehmann_ci,
    paired_time,
    reading_time_json,
    signed_rank_null,
    time_mixed_model,
)


def test_signed_rank_null_is_a_distribution():
    # n = 3: T⁺ ∈ {0, 1, 2, 3, 3, 4, 5, 6} over the 8 sign patterns.
    assert signed_rank_null(3) * 8 == pytest.approx([1, 1, 1, 2, 1, 1, 1])
    assert signed_rank_null(20).sum() == pytest.approx(1.0)


def test_hand_computed_small_example():
    # d = 1, 2, 3: Walsh averages 1, 1.5, 2, 2, 2.5, 3; median 2. With n = 3 no 95% interval.
    estimate, ci = hodges_lehmann_ci([1.0, 2.0, 3.0])
    assert estimate == 2.0
    assert np.isnan(ci[0])
    # n = 6 at 95%: P(T⁺ ≤ 0) = 1/64 ≤ 0.025 < P(T⁺ ≤ 1) = 2/64, so c = 1: min and max Walsh.
    d = np.array([-1.0, 2.0, 3.0, 5.0, 8.0, 13.0])
    assert hodges_lehmann_ci(d)[1] == (-1.0, 13.0)


def test_interval_inverts_scipy_exact_wilcoxon():
    rng = np.random.default_rng(11)
    d = rng.normal(0.7, 1.0, size=15)
    _, (low, high) = hodges_lehmann_ci(d, 0.95)
    eps = 1e-6
    for mu in (low + eps, high - eps):
        assert stats.wilcoxon(d - mu, method="exact").pvalue > 0.05
    for mu in (low - eps, high + eps):
        assert stats.wilcoxon(d - mu, method="exact").pvalue <= 0.05


def test_paired_time_direction_and_shift_invariance():
    a = np.array([30.0, 41, 25, 60, 52, 33, 47, 38, 29, 55])
    result = paired_time(time_a=a, time_b=a - 5.0)
    assert result.hodges_lehmann == pytest.approx(-5.0)
    assert result.ci == pytest.approx((-5.0, -5.0))
    same = paired_time(time_a=a, time_b=a)
    assert np.isnan(same.p)


def _simulated(ratio: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    readers, cases = 6, 50
    reader_effect = rng.normal(0, 0.3, readers)
    case_effect = rng.normal(0, 0.4, cases)
    rows = [
        {
            "modality": m,
            "reader": f"r{r}",
            "case": f"c{c}",
            "time": np.exp(3 + reader_effect[r] + case_effect[c] + np.log(ratio) * i
                           + rng.normal(0, 0.25)),
        }
        for i, m in enumerate(["unaided", "aided"])
        for r in range(readers)
        for c in range(cases)
    ]  # fmt: skip
    return pd.DataFrame(rows)


# Seeds fixed; over seeds 100–159 the 95% interval covered the true ratio 59 times in 60.
@pytest.mark.parametrize("seed", [101, 102, 103])
def test_mixed_model_recovers_known_ratio(seed: int):
    fit = time_mixed_model(_simulated(0.8, seed))
    ratio, (low, high), p = fit.ratios["aided"]
    assert low < 0.8 < high
    assert ratio == pytest.approx(0.8, abs=0.05)
    assert p < 1e-6
    assert fit.var_case > fit.var_residual / 10
    assert fit.observations == 600


def test_json_block_shapes():
    frame = _simulated(1.0, 104)
    times = frame["time"].to_numpy().reshape(2, 6, 50)
    block = reading_time_json(
        times=times,
        modalities=["unaided", "aided"],
        readers=[f"r{r}" for r in range(6)],
        cases=[f"c{c}" for c in range(50)],
    )
    assert len(block["paired"]) == 6
    assert block["mixed_model"]["reference"] == "unaided"
    low, high = block["mixed_model"]["ratios"][0]["ci"]
    assert low < 1.0 < high
