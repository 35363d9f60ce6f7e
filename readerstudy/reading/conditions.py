"""In which condition a reader reads a case: the one question every design answers.

Independent rounds: the round says (round 1 unassisted, round 2 assisted). Crossover: the case's
block and the reader's arm (stored in the session's assignment). Sequential: the locked step is
always unassisted; the final step shows the AI unless the case is one of the reader's
bias-control cases. The reading API's payload carries the AI exactly when this says so.
"""

from __future__ import annotations

from readerstudy.reading import crossover, sequential
from readerstudy.reading.designs import design_rounds
from readerstudy.reading.models import Phase, ReadingSession
from readerstudy.reading.plans import RoundPlan
from readerstudy.studies.models import Case, Enrolment, Study, StudyDesign


def round_plan(*, study: Study) -> list[RoundPlan]:
    """The rounds the study's design derives (the console creates them from this)."""
    return design_rounds(study.design, washout_days=study.washout_days)


def reader_rank(*, study: Study, reader_id: int) -> int:
    """The reader's place in the study's order of enrolment (from 0): what arms are dealt by."""
    order = list(
        Enrolment.objects.filter(study=study).order_by("pk").values_list("reader_id", flat=True)
    )
    return order.index(reader_id)


def session_assignment(
    *, study: Study, reader_id: int, round_index: int, seed: str, cases: list[int]
) -> dict[str, object]:
    """What the design assigns a new session, from the study's and the session's seeds."""
    if study.design == StudyDesign.CROSSOVER:
        triples = Case.objects.filter(pk__in=cases).values_list("pk", "truth_malignant", "cohort")
        earlier = (
            ReadingSession.objects.filter(reader_id=reader_id, round__study=study)
            .exclude(assignment__arm=None)
            .order_by("round__index")
            .values_list("assignment", flat=True)
            .first()
        )
        return crossover.crossover_assignment(
            seed=study.design_seed,
            # A reader keeps the arm of their first session, whoever enrols later or leaves.
            arm=earlier["arm"] if earlier else None,
            rank=reader_rank(study=study, reader_id=reader_id),
            round_index=round_index,
            cases=list(triples),
        )
    if study.design == StudyDesign.SEQUENTIAL:
        return sequential.sequential_assignment(
            seed=seed, cases=cases, fraction=study.bias_control_fraction
        )
    return {}


def is_sequential(session: ReadingSession) -> bool:
    return bool(session.round.study.design == StudyDesign.SEQUENTIAL)


def is_bias_control(*, session: ReadingSession, case_pk: int) -> bool:
    return is_sequential(session) and case_pk in session.assignment.get("control", [])


def read_assisted(*, session: ReadingSession, case_pk: int, phase: str) -> bool:
    """Whether the AI is shown for this case in this step of the session."""
    design = session.round.study.design
    if design == StudyDesign.CROSSOVER:
        return case_pk in session.assignment.get("assisted", [])
    if design == StudyDesign.SEQUENTIAL:
        return phase == Phase.FINAL and not is_bias_control(session=session, case_pk=case_pk)
    return bool(session.round.assisted)
