"""Benchmark of the analysis core; prints its figures (a script, not a timed test).

Run: ``.venv/bin/python tests/benchmarks/bench_analysis.py``. Targets: the whole study analysis
(per-reader metrics, comparisons, MRMC with both covariances, all figures) for 6 readers ×
2 rounds × 200 cases in ≤ 2 s; DeLong AUC and variance for 100,000 cases in ≤ 1 s.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from analysis.cli import write_figures
from analysis.reads import ReadsData
from analysis.roc import auc_delong
from analysis.study import analyse_study

REPEATS = 5


def simulated_study(*, readers: int, rounds: int, cases: int, seed: int = 7) -> ReadsData:
    """Binormal confidences (0–100) and calls at 50, the second round a little better."""
    rng = np.random.default_rng(seed)
    truth = rng.random(cases) < 0.3
    truth[:2] = [True, False]
    skill = rng.uniform(0.6, 1.6, size=readers)
    case_effect = rng.normal(size=cases)
    scores = np.empty((rounds, readers, cases))
    for t in range(rounds):
        for r in range(readers):
            signal = (skill[r] + 0.3 * t) * truth + 0.5 * case_effect + rng.normal(size=cases)
            scores[t, r] = np.clip(np.round(50 + 20 * signal), 0, 100)
    return ReadsData(
        modalities=[f"round {t + 1}" for t in range(rounds)],
        readers=[f"R{r + 1}" for r in range(readers)],
        cases=[str(c) for c in range(cases)],
        truth=truth,
        scores=scores,
        decisions=(scores >= 60).astype(float),
    )


def median_seconds(work: Callable[[], object], repeats: int = REPEATS) -> float:
    work()  # warm-up: imports, caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    data = simulated_study(readers=6, rounds=2, cases=200)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)

        def full_study() -> None:
            results = analyse_study(data=data, covariance="delong")
            analyse_study(data=data, covariance="jackknife")
            write_figures(data=data, results=results, out=out)

        def numbers_only() -> None:
            analyse_study(data=data, covariance="delong")
            analyse_study(data=data, covariance="jackknife")

        study_s = median_seconds(full_study)
        numbers_s = median_seconds(numbers_only)
        figures = sorted(p.name for p in out.iterdir())

    rng = np.random.default_rng(1)
    n = 100_000
    truth = rng.random(n) < 0.4
    scores = rng.normal(size=n) + truth
    delong_s = median_seconds(lambda: auc_delong(truth=truth, scores=scores))

    print(f"median of {REPEATS} repeats each")
    print(
        f"study 6 readers x 2 rounds x 200 cases, per-reader + comparisons + MRMC (DeLong and "
        f"jackknife) + {len(figures)} figure files: {study_s:.3f} s (target <= 2 s)"
    )
    print(f"  of which numbers without figures: {numbers_s:.3f} s")
    print(f"DeLong AUC + SE, 100,000 cases: {delong_s:.3f} s (target <= 1 s)")


if __name__ == "__main__":
    main()
