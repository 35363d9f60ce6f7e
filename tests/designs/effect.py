"""The report's assisted − unassisted difference beside the effect the simulated readers imply,
as the tests that recover that effect read it (and print it, for `pytest -s`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ReportedEffect:
    diff: float
    low: float
    high: float
    modalities: tuple[str, str]  # what was compared: the unassisted one first

    def covers(self, expected: float) -> bool:
        return self.low <= expected <= self.high


def reported_effect(payload: dict[str, Any], *, label: str, expected: float) -> ReportedEffect:
    """The report's RRRC modality difference (DeLong covariance) and its 95% CI."""
    rrrc = payload["mrmc"]["delong"]["rrrc"]
    low, high = rrrc["ci"]
    before, after = payload["mrmc"]["delong"]["modalities"]
    print(
        f"{label}: expected ΔAUC {expected:.3f}; report {after} − {before} "
        f"{rrrc['diff']:.3f} [{low:.3f}, {high:.3f}], {payload['input']['paired_cases']} cases"
    )
    return ReportedEffect(rrrc["diff"], low, high, (before, after))
