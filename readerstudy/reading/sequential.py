"""The sequential design with the guidance's bias control.

One session: per case the reader submits an unassisted read, which is locked; then the AI's
output appears (except on the bias-control cases) and the reader submits the final read. The
bias-control cases, a fraction of each reader's cases the study sets, stay unassisted after the
lock, so the change a re-read alone brings can be told from the AI's effect; the reader learns
that a case is one only after locking it. Drawn from the session's own stored seed.
"""

from __future__ import annotations

import numpy as np

from readerstudy.reading.plans import RoundPlan

_CONTROL_STREAM = 3

METHOD = (
    "One session per reader. Per case an unassisted read is submitted and locked, then the AI's "
    "output is shown and the final read submitted. Bias control: for each reader, round(f × n) "
    "cases drawn without replacement (numpy PCG64 stream of the session's stored 128-bit seed) "
    "stay unassisted after the lock; the reader is told only after locking."
)


def round_plan(*, washout_days: int) -> list[RoundPlan]:
    """The one round a sequential study derives (a later round comes after the washout)."""
    return [RoundPlan(index=1, assisted=True, washout_days_before=0)]


def bias_control_cases(*, seed: str, cases: list[int], fraction: float) -> list[int]:
    """The reader's bias-control cases: round(fraction × n) of them, drawn from the seed."""
    if not 0 <= fraction < 1:
        raise ValueError("The bias-control fraction must be in [0, 1).")
    count = round(fraction * len(cases))
    rng = np.random.default_rng([int(seed, 16), _CONTROL_STREAM])
    if not count:
        return []
    chosen = rng.choice(np.asarray(sorted(cases)), size=count, replace=False)
    return sorted(int(pk) for pk in chosen)


def sequential_assignment(*, seed: str, cases: list[int], fraction: float) -> dict[str, object]:
    return {"control": bias_control_cases(seed=seed, cases=cases, fraction=fraction)}
