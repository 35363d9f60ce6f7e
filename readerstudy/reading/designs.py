"""Study designs: the rounds each design lays out. A new design is one more entry in `DESIGNS`
(and its choice in `studies.models.StudyDesign`); how a case is read in each design (with or
without the AI) is `readerstudy.reading.conditions`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from readerstudy.reading import crossover, sequential
from readerstudy.reading.models import Round
from readerstudy.reading.plans import RoundPlan
from readerstudy.studies.models import Study, StudyDesign


def _independent_rounds(*, washout_days: int) -> list[RoundPlan]:
    return [
        RoundPlan(index=1, assisted=False, washout_days_before=0),
        RoundPlan(index=2, assisted=True, washout_days_before=washout_days),
    ]


@dataclass(frozen=True)
class Design:
    key: str
    summary: str
    rounds: Callable[..., list[RoundPlan]]  # (washout_days=…) -> the rounds


DESIGNS: dict[str, Design] = {
    StudyDesign.INDEPENDENT_ROUNDS: Design(
        key=StudyDesign.INDEPENDENT_ROUNDS,
        summary=(
            "Every reader reads all cases without the AI (round 1), then, once their washout is "
            "over, all cases again with the AI's output (round 2)."
        ),
        rounds=_independent_rounds,
    ),
    StudyDesign.CROSSOVER: Design(
        key=StudyDesign.CROSSOVER,
        summary=(
            "Cases are split into two balanced blocks and readers into two arms: in session 1 "
            "arm A reads block 1 with the AI and block 2 without, arm B the opposite; after the "
            "washout every reader reads every case in the other condition."
        ),
        rounds=crossover.round_plan,
    ),
    StudyDesign.SEQUENTIAL: Design(
        key=StudyDesign.SEQUENTIAL,
        summary=(
            "Per case the reader submits a read without the AI, which is then locked; the AI's "
            "output appears and the reader submits the final read. A share of each reader's "
            "cases (bias control) stays without the AI after the lock."
        ),
        rounds=sequential.round_plan,
    ),
}


def design_rounds(design: str, *, washout_days: int = 28) -> list[RoundPlan]:
    """The rounds of a design; `KeyError` names an unknown one (the model's choices hold it)."""
    return DESIGNS[design].rounds(washout_days=washout_days)


def study_rounds_create(*, study: Study) -> list[Round]:
    """Create the study's rounds from its design (planned); a study that has rounds keeps them."""
    if Round.objects.filter(study=study).exists():
        return list(Round.objects.filter(study=study).order_by("index"))
    return Round.objects.bulk_create(
        Round(study=study, index=plan.index, assisted=plan.assisted)
        for plan in design_rounds(study.design, washout_days=study.washout_days)
    )
