"""Study designs: the rounds each design lays out. A new design is one more entry in `DESIGNS`
(and its choice in `studies.models.StudyDesign`)."""

from __future__ import annotations

from dataclasses import dataclass

from readerstudy.reading.models import Round
from readerstudy.studies.models import Study, StudyDesign


@dataclass(frozen=True)
class RoundPlan:
    """One round a design asks for: its position and whether readers see the AI."""

    index: int
    assisted: bool


@dataclass(frozen=True)
class Design:
    key: str
    summary: str
    rounds: tuple[RoundPlan, ...]


DESIGNS: dict[str, Design] = {
    StudyDesign.INDEPENDENT_ROUNDS: Design(
        key=StudyDesign.INDEPENDENT_ROUNDS,
        summary=(
            "Every reader reads all cases without the AI (round 1), then, once their washout is "
            "over, all cases again with the AI's output (round 2)."
        ),
        rounds=(RoundPlan(index=1, assisted=False), RoundPlan(index=2, assisted=True)),
    ),
}


def design_rounds(design: str) -> tuple[RoundPlan, ...]:
    """The rounds of a design; `KeyError` names an unknown one (the model's choices hold it)."""
    return DESIGNS[design].rounds


def study_rounds_create(*, study: Study) -> list[Round]:
    """Create the study's rounds from its design (planned); a study that has rounds keeps them."""
    if Round.objects.filter(study=study).exists():
        return list(Round.objects.filter(study=study).order_by("index"))
    return Round.objects.bulk_create(
        Round(study=study, index=plan.index, assisted=plan.assisted)
        for plan in design_rounds(study.design)
    )
