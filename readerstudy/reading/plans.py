"""What a design derives for the rounds of a study: shared by the designs' modules."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RoundPlan:
    """One round a design derives: its number, whether it shows the AI (to at least some cases)
    and the washout before it, per reader, after their previous round."""

    index: int
    assisted: bool
    washout_days_before: int
