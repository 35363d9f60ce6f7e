"""Reading: open and close rounds, start and resume sessions, the washout, and submitting reads.

Every write happens in one transaction with the rows it depends on locked, so concurrent requests
(a double click, a retried submit, two tabs) leave the same state as one request.
"""

from __future__ import annotations

import math
import secrets
from datetime import datetime
from typing import Any
from uuid import UUID

import numpy as np
from django.db import IntegrityError, connection, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from inference.worker.models import ModelVersion, PrecomputeJob
from inference.worker.services import precompute_job_create
from inference.worker.tasks import precompute_start
from readerstudy.accounts import access
from readerstudy.accounts.models import Reader, User
from readerstudy.audit.services import audit_record
from readerstudy.errors import (
    Conflict,
    NotPermitted,
    PracticeRequired,
    ReadLocked,
    RoundClosed,
    WashoutNotOver,
)
from readerstudy.reading.conditions import is_sequential, read_assisted, session_assignment
from readerstudy.reading.labels import case_label
from readerstudy.reading.measurements import (
    answer_consistency_check,
    measurements_clean,
    measurements_store,
)
from readerstudy.reading.models import (
    CaseView,
    Decision,
    Phase,
    PracticeSession,
    Read,
    ReadingSession,
    Round,
    RoundStatus,
    WashoutOverride,
)
from readerstudy.reading.selectors import reading_cases, washout_opens_at
from readerstudy.reading.study_setup import study_status_set
from readerstudy.reading.validation import read_features_clean
from readerstudy.studies.models import Case, CaseImage, Study, StudyStatus

_PERMUTATION_REDRAWS = 100


@transaction.atomic
def study_ai_use(
    *,
    study: Study,
    model_version: ModelVersion,
    actor: User | None,
    batch_size: int = 64,
    queue: bool = True,
) -> PrecomputeJob:
    """Make `model_version` the study's AI and precompute every image with it (resuming an
    unfinished job). Refused once an assisted round has started with another model: readers
    would see two AIs in one study."""
    if actor is not None:
        access.study_require(user=actor, study=study)
    study = Study.objects.select_for_update().get(pk=study.pk)
    if study.ai_model_id not in (None, model_version.pk):
        started = Round.objects.filter(study=study, assisted=True).exclude(
            status=RoundStatus.PLANNED
        )
        if started.exists():
            raise Conflict(
                "An assisted round has started with another model: the AI cannot change now."
            )
    study.ai_model = model_version
    study.save(update_fields=["ai_model"])
    job = precompute_job_create(
        study=study, model_version=model_version, actor=actor, batch_size=batch_size
    )
    if queue:
        transaction.on_commit(lambda: precompute_start.delay(job_pk=job.pk))
    return job


@transaction.atomic
def round_open(*, round: Round, actor: User, now: datetime | None = None) -> Round:
    """Open a round for reading. An assisted round needs the AI's output for every case."""
    round = Round.objects.select_for_update().get(pk=round.pk)
    study = Study.objects.select_for_update().get(pk=round.study_id)
    access.study_require(user=actor, study=study)
    if round.status == RoundStatus.OPEN:
        return round
    if round.status == RoundStatus.CLOSED:
        raise Conflict("A closed round cannot be reopened.", extra={"round": round.index})
    if study.status == StudyStatus.CLOSED:
        raise Conflict("The study is closed: no round opens any more.")
    cases = reading_cases(study=study)
    if not cases:
        raise Conflict("The study has no cases in its reading cohorts.")
    review = CaseImage.objects.filter(case_id__in=cases, needs_review=True).count()
    if review:
        raise Conflict(
            "Some images still need review: set their ultrasound region first (their burned-in "
            "text could not be removed automatically).",
            extra={"images_needing_review": review},
        )
    if round.assisted:
        from inference.worker.models import CasePrediction

        if study.ai_model_id is None:
            raise Conflict("An assisted round needs the study's AI model to be set.")
        done = CasePrediction.objects.filter(
            case_id__in=cases, model_version_id=study.ai_model_id
        ).count()
        if done < len(cases):
            raise Conflict(
                "The AI's output is missing for some cases: run the precompute first.",
                extra={"cases": len(cases), "with_ai_output": done},
            )
    round.status = RoundStatus.OPEN
    round.opened_at = now or timezone.now()
    round.save(update_fields=["status", "opened_at"])
    audit_record(actor=actor, action="round.opened", target=round, study=study, at=round.opened_at)
    study_status_set(study=study, status=StudyStatus.READING, actor=actor, now=round.opened_at)
    return round


@transaction.atomic
def round_close(*, round: Round, actor: User) -> Round:
    round = Round.objects.select_for_update().get(pk=round.pk)
    access.study_require(user=actor, study=round.study)
    if round.status != RoundStatus.OPEN:
        raise Conflict("Only an open round can be closed.", extra={"status": round.status})
    round.status = RoundStatus.CLOSED
    round.closed_at = timezone.now()
    round.save(update_fields=["status", "closed_at"])
    audit_record(actor=actor, action="round.closed", target=round, study=round.study)
    return round


@transaction.atomic
def washout_override_grant(
    *, round: Round, reader: Reader, actor: User, reason: str
) -> WashoutOverride:
    """Let one reader start a round before their washout ends: a coordinator's audited decision."""
    access.study_require(user=actor, study=round.study)
    if not reason.strip():
        raise Conflict(
            "A washout override needs a reason.",
            extra={"fields": {"reason": ["Say why this reader may start early."]}},
        )
    if not round.study.enrolments.filter(reader=reader).exists():
        raise Conflict("The reader is not enrolled in this study.")
    override, created = WashoutOverride.objects.get_or_create(
        round=round, reader=reader, defaults={"granted_by": actor, "reason": reason.strip()}
    )
    if created:
        audit_record(
            actor=actor,
            action="washout.overridden",
            target=override,
            study=round.study,
            data={"reader": reader.user.get_username(), "round": round.index, "reason": reason},
        )
    return override


def _draw_permutation(*, cases: list[int], taken: list[list[int]]) -> tuple[str, list[int]]:
    """A CSPRNG seed and the permutation it gives, redrawn if it repeats one already in use."""
    possible = math.factorial(len(cases)) if len(cases) < 20 else math.inf
    for _ in range(_PERMUTATION_REDRAWS):
        seed = secrets.randbits(128)
        order = np.random.Generator(np.random.PCG64(seed)).permutation(np.asarray(cases))
        permutation = [int(pk) for pk in order]
        if permutation not in taken or possible <= len(taken):
            return f"{seed:032x}", permutation
    raise Conflict("Could not draw a distinct reading order.")  # pragma: no cover - p ≈ 0


@transaction.atomic
def session_start(*, reader: Reader, round: Round, now: datetime | None = None) -> ReadingSession:
    """The reader's session in the round: started once, then resumed. Enforces the washout."""
    now = now or timezone.now()
    round = Round.objects.select_for_update().get(pk=round.pk)
    existing = ReadingSession.objects.filter(reader=reader, round=round).first()
    if existing is not None:
        return existing
    study = round.study
    if not study.enrolments.filter(reader=reader).exists():
        raise NotPermitted("You are not enrolled in this study.")
    if round.status != RoundStatus.OPEN:
        raise RoundClosed(f"Round {round.index} is not open.", extra={"round": round.index})
    if (
        study.practice_required
        and not ReadingSession.objects.filter(reader=reader, round__study=study).exists()
        and not PracticeSession.objects.filter(
            reader=reader, study=study, completed_at__isnull=False
        ).exists()
    ):
        raise PracticeRequired(
            "Read the practice cases first: this study asks for them before the first session.",
            extra={"study": study.slug},
        )
    opens_at = washout_opens_at(reader=reader, round=round)
    if (
        opens_at is not None
        and now < opens_at
        and not WashoutOverride.objects.filter(round=round, reader=reader).exists()
    ):
        raise WashoutNotOver(
            f"Round {round.index} opens for you on {opens_at:%Y-%m-%d %H:%M} UTC.",
            extra={"opens_at": opens_at.isoformat()},
        )
    cases = reading_cases(study=study)
    # Distinct from this reader's other rounds and from the other readers in this round.
    taken = list(
        ReadingSession.objects.filter(
            Q(reader=reader, round__study=study) | Q(round=round)
        ).values_list("permutation", flat=True)
    )
    seed, permutation = _draw_permutation(cases=cases, taken=taken)
    assignment = session_assignment(
        study=study, reader_id=reader.pk, round_index=round.index, seed=seed, cases=cases
    )
    session = ReadingSession.objects.create(
        reader=reader,
        round=round,
        seed=seed,
        permutation=permutation,
        assignment=assignment,
        started_at=now,
    )
    audit_record(
        actor=reader.user,
        action="session.started",
        target=session,
        study=study,
        data={"round": round.index, "seed": seed, "design": study.design,
              **({"arm": assignment["arm"]} if "arm" in assignment else {})},
        at=now,
    )  # fmt: skip
    return session


_SHOWN_AT = CaseView._meta.get_field("first_shown_at")


def case_view_record(
    *, session: ReadingSession, case: Case, now: datetime | None = None
) -> datetime:
    """Remember when the case was first shown (the server's start of the time on case) and
    return that moment. One INSERT … ON CONFLICT DO NOTHING when it is new: the hot path of
    "submit and show the next case" records a view on every submit."""
    shown = now or timezone.now()
    # One statement, not bulk_create's transaction around it: this runs on every submit.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO reading_caseview (session_id, case_id, first_shown_at) "
            "VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
            [session.pk, case.pk, _SHOWN_AT.get_db_prep_value(shown, connection)],
        )
    return shown


def _check_can_read(*, session: ReadingSession, case: Case, actor: User) -> None:
    if session.reader.user_id != actor.pk:
        raise NotPermitted("This is not your reading session.")
    if session.round.status != RoundStatus.OPEN:
        raise RoundClosed(f"Round {session.round.index} is not open.")
    if case.pk not in session.permutation:
        raise Conflict("This case is not part of your session.")


# A read of the session as the submit counts them: (case, step, the read it supersedes).
ReadRow = tuple[int, str, int | None]


def _locked_for_read(
    *, session: ReadingSession, case: Case, nonce: UUID, actor: User, confidence: int
) -> tuple[ReadingSession, Read | None, list[ReadRow]]:
    """The session, locked so concurrent submits queue up; the read this nonce already made (a
    retry); and the session's reads, fetched once for both. Checks that the actor may read this
    case now."""
    reader = session.reader
    # Fresh under the lock: the round's status and the study's settings may have changed since
    # the caller loaded the session (the reader cannot have). With it, in the same query, when
    # the case was first shown in the session (the read's start).
    session = (
        ReadingSession.objects.select_for_update(of=("self",))
        .select_related("round__study")
        .annotate(
            case_shown_at=Subquery(  # type: ignore[no-redef]  # the model declares it
                CaseView.objects.filter(session=OuterRef("pk"), case=case.pk)
                .order_by("pk")
                .values("first_shown_at")[:1]
            )
        )
        .get(pk=session.pk)
    )
    session.reader = reader
    rows = list(
        Read.objects.filter(session=session)
        .order_by("pk")
        .values_list("pk", "case_id", "phase", "supersedes_id", "nonce")
    )
    wanted = nonce if isinstance(nonce, UUID) else UUID(str(nonce))
    retried = next((row for row in rows if row[4] == wanted), None)
    if retried is not None:
        if retried[1] != case.pk:
            raise Conflict("This submission id was already used for another case.")
        earlier = Read.objects.get(pk=retried[0])
        earlier.session = session  # this one, locked, with its round and study
        return session, earlier, []
    _check_can_read(session=session, case=case, actor=actor)
    if not 0 <= confidence <= 100:
        raise Conflict("The confidence of malignancy must be between 0 and 100.")
    return session, None, [(case_pk, step, supersedes) for _, case_pk, step, supersedes, _ in rows]


@transaction.atomic
def read_submit(
    *,
    session: ReadingSession,
    case: Case,
    decision: Decision,
    confidence: int,
    nonce: UUID,
    active_ms: int,
    actor: User,
    features: dict[str, Any] | None = None,
    comment: str = "",
    measurements: list[dict[str, Any]] | None = None,
    phase: Phase | None = None,
    now: datetime | None = None,
) -> Read:
    """Record a reader's answer. Idempotent by the client's nonce: a retry returns the same read.

    In a sequential session `phase` says which step this is: the unassisted read (`locked`),
    then the `final` read; the locked read is never replaced and the final read needs it.
    The read's session is the one locked here; its `finished_cases` are the cases finished once
    this read is in (counted under the lock), so the next case needs no second count.
    """
    session, earlier, reads = _locked_for_read(
        session=session, case=case, nonce=nonce, actor=actor, confidence=confidence
    )
    if earlier is not None:
        return earlier
    answer_consistency_check(study=session.round.study, decision=decision, confidence=confidence)
    calipers = measurements_clean(session=session, case=case, items=measurements or [])
    done = {step for case_pk, step, _ in reads if case_pk == case.pk}
    finished = {
        case_pk
        for case_pk, step, supersedes in reads
        if supersedes is None and step in (Phase.SINGLE, Phase.FINAL)
    }
    phase = _phase_check(session=session, case=case, phase=phase, done=done)
    now = now or timezone.now()
    if phase == Phase.FINAL:
        # The final read's own time starts when the lock revealed the AI (or the control notice).
        first_shown = Read.objects.get(session=session, case=case, phase=Phase.LOCKED).submitted_at
    else:
        # Shown before (the usual case), or now, recorded, if it never was.
        first_shown = session.case_shown_at or case_view_record(session=session, case=case, now=now)
    try:
        # No savepoint: a failed insert ends this whole transaction with the Conflict below.
        with transaction.atomic(savepoint=False):
            read = Read.objects.create(
                session=session,
                case=case,
                decision=decision,
                confidence=confidence,
                features=read_features_clean(features or {}),
                comment=comment.strip(),
                nonce=nonce,
                started_at=first_shown,
                submitted_at=now,
                active_ms=active_ms,
                phase=phase,
                assisted=read_assisted(session=session, case_pk=case.pk, phase=phase),
            )
    except IntegrityError as error:  # pragma: no cover - the session lock makes this a race guard
        raise Conflict("The read could not be stored; reload and try again.") from error
    measurements_store(read=read, calipers=calipers)
    if phase in (Phase.SINGLE, Phase.FINAL):
        finished.add(case.pk)
    complete = _session_read_through(session=session, finished=finished)
    # The audit chain's lock is the one every submit waits for: take it last, just before commit.
    audit_record(
        actor=actor,
        action="read.submitted",
        target=read,
        study=session.round.study,
        data={"session": session.pk, "case": case.pk, "phase": phase},
        at=now,
    )
    if complete:
        _session_complete(session=session, now=now)
    session.finished_cases = frozenset(finished)
    return read


def _phase_check(
    *, session: ReadingSession, case: Case, phase: Phase | None, done: set[str]
) -> Phase:
    """The step this submit is, refused when that step (in `done`: the case's steps read in
    this session) is already done."""
    label = case_label(seed=session.seed, case_id=case.pk)
    if not is_sequential(session):
        if phase not in (None, Phase.SINGLE):
            raise Conflict("This session reads each case once: no sequential steps.")
        if done:
            raise Conflict(
                "This case is already read in this session.",
                extra={"case": label, "revisions_allowed": session.round.study.allow_revisions},
            )
        return Phase.SINGLE
    if phase not in (Phase.LOCKED, Phase.FINAL):
        raise Conflict(
            "A sequential read names its step: `locked` (without the AI) or `final`.",
            extra={"case": label},
        )
    if phase == Phase.LOCKED and Phase.LOCKED in done:
        raise ReadLocked(
            "The unassisted read of this case is locked: it cannot be submitted again.",
            extra={"case": label},
        )
    if phase == Phase.FINAL:
        if Phase.LOCKED not in done:
            raise Conflict("Submit and lock the unassisted read first.", extra={"case": label})
        if Phase.FINAL in done:
            raise ReadLocked(
                "The final read of this case is already submitted.", extra={"case": label}
            )
    return phase


@transaction.atomic
def read_revise(
    *,
    session: ReadingSession,
    case: Case,
    decision: Decision,
    confidence: int,
    nonce: UUID,
    active_ms: int,
    reason: str,
    actor: User,
    features: dict[str, Any] | None = None,
    comment: str = "",
    measurements: list[dict[str, Any]] | None = None,
    now: datetime | None = None,
) -> Read:
    """A correction: a new revision that supersedes the current read; the old one is kept."""
    session, earlier, _ = _locked_for_read(
        session=session, case=case, nonce=nonce, actor=actor, confidence=confidence
    )
    if earlier is not None:
        return earlier
    if not session.round.study.allow_revisions:
        raise Conflict("This study does not allow going back to change a read.")
    if is_sequential(session):
        raise ReadLocked("Sequential reads are locked once submitted: they cannot be corrected.")
    current = Read.objects.filter(session=session, case=case, superseded_by__isnull=True).first()
    if current is None:
        raise Conflict("There is no read of this case to correct.")
    if not current.assisted and (
        ReadingSession.objects.filter(
            reader=session.reader, round__study=session.round.study, round__assisted=True
        ).exists()
    ):
        # Once the reader has seen the AI, an unassisted read changed now would no longer be one.
        raise Conflict(
            "This read was made without the AI, and you have since read with the AI's output: "
            "it can no longer be changed."
        )
    if not reason.strip():
        raise Conflict("A correction needs a reason.")
    answer_consistency_check(study=session.round.study, decision=decision, confidence=confidence)
    calipers = measurements_clean(session=session, case=case, items=measurements or [])
    now = now or timezone.now()
    read = Read.objects.create(
        session=session,
        case=case,
        decision=decision,
        confidence=confidence,
        features=read_features_clean(features or {}),
        comment=comment.strip(),
        nonce=nonce,
        started_at=current.started_at,
        submitted_at=now,
        active_ms=active_ms,
        revision=current.revision + 1,
        supersedes=current,
        revision_reason=reason.strip(),
        phase=current.phase,
        assisted=current.assisted,
    )
    measurements_store(read=read, calipers=calipers)
    audit_record(
        actor=actor,
        action="read.revised",
        target=read,
        study=session.round.study,
        data={"supersedes": current.pk, "reason": reason.strip()},
    )
    return read


def _session_read_through(*, session: ReadingSession, finished: set[int]) -> bool:
    """Has the session just had its last case read (and is not yet marked complete)?
    `finished`: the cases with their last step read, this submit's included."""
    return session.completed_at is None and len(finished) >= len(session.permutation)


def _session_complete(*, session: ReadingSession, now: datetime) -> None:
    session.completed_at = now
    session.save(update_fields=["completed_at"])
    audit_record(
        actor=session.reader.user,
        action="session.completed",
        target=session,
        study=session.round.study,
        data={"round": session.round.index},
        at=now,
    )
