"""Training cases: a practice set each reader reads before their first session.

Practice cases are flagged (`Case.practice`), never part of a round, and their reads live in
their own table (`PracticeRead`): exported apart, never analysed. After each answer the reader
is told the truth and, in assisted practice, the AI's output (shown with the case as well).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from readerstudy.accounts.models import Reader, User
from readerstudy.audit.services import audit_record
from readerstudy.errors import Conflict, NotFound, NotPermitted
from readerstudy.reading.labels import case_label
from readerstudy.reading.models import Decision, PracticeRead, PracticeSession
from readerstudy.reading.selectors import ai_payload, case_image_outputs, image_payload
from readerstudy.reading.services import _draw_permutation
from readerstudy.studies.models import Case, Study


def practice_cases(*, study: Study) -> list[int]:
    return list(
        Case.objects.filter(study=study, practice=True).order_by("pk").values_list("pk", flat=True)
    )


@dataclass(frozen=True)
class PracticeState:
    """A study's practice set as one reader sees it on their home page."""

    study: Study
    session: PracticeSession | None
    done: int
    total: int  # the reader's practice cases (the study's practice set before they start)

    @property
    def complete(self) -> bool:
        return self.session is not None and self.session.completed_at is not None


def practice_states(*, reader: Reader) -> list[PracticeState]:
    """The practice sets of the reader's studies: every study with practice cases, and every
    study that requires practice (even before its cases are imported)."""
    studies = Study.objects.filter(enrolments__reader=reader).order_by("slug")
    sessions = {s.study_id: s for s in PracticeSession.objects.filter(reader=reader)}
    done = dict(
        PracticeRead.objects.filter(session__reader=reader)
        .values_list("session__study_id")
        .annotate(n=Count("pk"))
        .values_list("session__study_id", "n")
    )
    counts = dict(
        Case.objects.filter(study__in=studies, practice=True)
        .values_list("study_id")
        .annotate(n=Count("pk"))
        .values_list("study_id", "n")
    )
    states = []
    for study in studies:
        session = sessions.get(study.pk)
        total = len(session.permutation) if session else counts.get(study.pk, 0)
        if total or study.practice_required:
            states.append(PracticeState(study, session, done.get(study.pk, 0), total))
    return states


@transaction.atomic
def practice_start(*, reader: Reader, study: Study, now: datetime | None = None) -> PracticeSession:
    """The reader's practice in the study: started once, then resumed."""
    existing = PracticeSession.objects.filter(reader=reader, study=study).first()
    if existing is not None:
        return existing
    study = Study.objects.select_for_update().get(pk=study.pk)
    if not study.enrolments.filter(reader=reader).exists():
        raise NotPermitted("You are not enrolled in this study.")
    cases = practice_cases(study=study)
    if not cases:
        raise Conflict("This study has no practice cases.")
    if study.practice_assisted:
        from inference.worker.models import CasePrediction

        done = CasePrediction.objects.filter(
            case_id__in=cases, model_version_id=study.ai_model_id
        ).count()
        if study.ai_model_id is None or done < len(cases):
            raise Conflict("Assisted practice needs the AI's output for every practice case.")
    seed, permutation = _draw_permutation(cases=cases, taken=[])
    session = PracticeSession.objects.create(
        reader=reader,
        study=study,
        seed=seed,
        permutation=permutation,
        assisted=study.practice_assisted,
        started_at=now or timezone.now(),
    )
    audit_record(
        actor=reader.user, action="practice.started", target=session, study=study,
        data={"seed": seed, "assisted": session.assisted},
    )  # fmt: skip
    return session


def practice_for_reader(*, reader: Reader, practice_pk: int) -> PracticeSession:
    found = (
        PracticeSession.objects.select_related("study", "reader")
        .filter(pk=practice_pk, reader=reader)
        .first()
    )
    if found is None:
        raise NotFound("No such practice session.")
    return found


def practice_position(*, session: PracticeSession) -> tuple[Case | None, int]:
    read = set(PracticeRead.objects.filter(session=session).values_list("case_id", flat=True))
    for pk in session.permutation:
        if pk not in read:
            return Case.objects.get(pk=pk), len(read)
    return None, len(read)


def practice_case_payload(*, session: PracticeSession, case: Case) -> dict[str, Any]:
    """The practice case as the reading screen shows it: the truth only after the answer."""
    images = list(case.images.filter(needs_review=False).order_by("position"))
    study = session.study
    outputs = (
        case_image_outputs(images=images, model_version_id=study.ai_model_id)
        if session.assisted
        else {}
    )
    payload: dict[str, Any] = {
        "case": case_label(seed=session.seed, case_id=case.pk),
        "position": session.permutation.index(case.pk) + 1,
        "total": len(session.permutation),
        "images": [
            image_payload(
                seed=session.seed,
                user_id=session.reader.user_id,
                image=image,
                ai=outputs.get(image.pk),
            )
            for image in images
        ],
        "read": None,
        "assisted": session.assisted,
    }
    if session.assisted:
        payload["ai"] = _ai(session, case)
    return payload


def _ai(session: PracticeSession, case: Case) -> dict[str, Any]:
    study = session.study
    return ai_payload(
        case=case, study_threshold=study.ai_threshold, model_version_id=study.ai_model_id
    )


def practice_feedback(*, session: PracticeSession, case: Case) -> dict[str, Any]:
    """What the reader learns after answering a practice case."""
    feedback: dict[str, Any] = {
        "pathology": Decision.MALIGNANT if case.truth_malignant else Decision.BENIGN,
    }
    if session.assisted:
        feedback["ai"] = _ai(session, case)
    return feedback


@transaction.atomic
def practice_submit(
    *,
    session: PracticeSession,
    case: Case,
    decision: Decision,
    confidence: int,
    nonce: UUID,
    active_ms: int,
    actor: User,
    now: datetime | None = None,
) -> PracticeRead:
    """Record a practice answer (idempotent by the nonce); the practice completes with its last.
    Its start is the submit less the client's active time: practice reads are never analysed,
    so no server-side view is recorded for them."""
    session = PracticeSession.objects.select_for_update().get(pk=session.pk)
    if session.reader.user_id != actor.pk:
        raise NotPermitted("This is not your practice session.")
    earlier = PracticeRead.objects.filter(session=session, nonce=nonce).first()
    if earlier is not None:
        if earlier.case_id != case.pk:
            raise Conflict("This submission id was already used for another case.")
        return earlier
    if case.pk not in session.permutation:
        raise Conflict("This case is not part of your practice.")
    if PracticeRead.objects.filter(session=session, case=case).exists():
        raise Conflict("This practice case is already answered.")
    if not 0 <= confidence <= 100:
        raise Conflict("The confidence of malignancy must be between 0 and 100.")
    now = now or timezone.now()
    read = PracticeRead.objects.create(
        session=session, case=case, decision=decision, confidence=confidence, nonce=nonce,
        started_at=now - timedelta(milliseconds=active_ms), submitted_at=now,
        active_ms=active_ms,
    )  # fmt: skip
    if PracticeRead.objects.filter(session=session).count() >= len(session.permutation):
        session.completed_at = now
        session.save(update_fields=["completed_at"])
        audit_record(actor=actor, action="practice.completed", target=session, study=session.study)
    return read
