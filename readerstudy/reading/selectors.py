"""What a reader may see: their sessions, rounds they can start, and the case in front of them.

Blinding lives here. A case payload carries only the opaque case label, the de-identified
renditions behind opaque image tokens, the lesion box, and — only where the design reads the case
with the AI (`conditions.read_assisted`) — the AI's output. Never truth, histology, patient ids, file names or other readers' reads.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q

from readerstudy.accounts.models import Reader, User
from readerstudy.errors import Conflict, NotFound
from readerstudy.reading.conditions import is_bias_control, is_sequential, read_assisted
from readerstudy.reading.files import reading_file_url
from readerstudy.reading.labels import case_label, image_name
from readerstudy.reading.models import (
    Phase,
    PracticeSession,
    Read,
    ReadingSession,
    Round,
    RoundStatus,
    WashoutOverride,
)
from readerstudy.studies.imaging.geometry import display_geometry
from readerstudy.studies.models import Case, CaseImage, Study


@dataclass(frozen=True)
class RoundState:
    """One round as a reader sees it: their session, or when they may start."""

    round: Round
    session: ReadingSession | None
    done: int
    total: int
    opens_at: datetime | None
    waiting_for: str  # "" when the reader can start or resume


def reading_cases(*, study: Study) -> list[int]:
    """The primary keys of the cases readers read, in a fixed order (before shuffling)."""
    return list(
        Case.objects.filter(study=study, cohort__in=study.reading_cohorts, practice=False)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def washout_opens_at(*, reader: Reader, round: Round) -> datetime | None:
    """When the reader may start this round: their previous round's completion + the washout.

    None for the first round. Raises Conflict when the previous round is not complete yet.
    """
    if round.index == 1:
        return None
    previous = ReadingSession.objects.filter(
        reader=reader, round__study_id=round.study_id, round__index=round.index - 1
    ).first()
    if previous is None or previous.completed_at is None:
        raise Conflict(
            f"Round {round.index - 1} must be complete before round {round.index}.",
            extra={"round": round.index},
        )
    return previous.completed_at + timedelta(days=round.study.washout_days)


# The reads that finish a case: the only read, or a sequential read's final step.
FINISHING = Q(supersedes__isnull=True, phase__in=(Phase.SINGLE, Phase.FINAL))


def session_position(
    *, session: ReadingSession, finished: Collection[int] | None = None
) -> tuple[Case | None, int]:
    """The first case in the session's order without a read (where a reader resumes), and how
    many cases are read (a sequential case once its final read is in). `finished`: those cases,
    where the caller knows them (a submit has just counted them under the session's lock)."""
    if finished is None:
        finished = set(
            Read.objects.filter(FINISHING, session=session).values_list("case_id", flat=True)
        )
    for case_pk in session.permutation:
        if case_pk not in finished:
            return Case.objects.get(pk=case_pk), len(finished)
    return None, len(finished)


def session_next_case(*, session: ReadingSession) -> Case | None:
    """The first case in the session's order without a read: where a reader resumes."""
    return session_position(session=session)[0]


def reader_rounds(*, reader: Reader) -> list[RoundState]:
    """Every round of every study the reader is enrolled in, with progress or what it waits for."""
    states: list[RoundState] = []
    rounds = Round.objects.filter(study__enrolments__reader=reader).select_related("study")
    sessions = {
        s.round_id: s
        for s in ReadingSession.objects.filter(reader=reader)
        .select_related("round")
        .annotate(
            done=Count(
                "reads",
                filter=Q(
                    reads__supersedes__isnull=True,
                    reads__phase__in=(Phase.SINGLE, Phase.FINAL),
                ),
            )
        )
    }
    overrides = set(
        WashoutOverride.objects.filter(reader=reader).values_list("round_id", flat=True)
    )
    practised = set(
        PracticeSession.objects.filter(reader=reader, completed_at__isnull=False).values_list(
            "study_id", flat=True
        )
    )
    reading_in = {s.round.study_id for s in sessions.values()}
    for round in rounds.order_by("study__slug", "index"):
        session = sessions.get(round.pk)
        if session is not None:
            done = session.done
            states.append(RoundState(round, session, done, len(session.permutation), None, ""))
            continue
        total = len(reading_cases(study=round.study))
        opens_at, waiting = None, ""
        if round.status != RoundStatus.OPEN:
            waiting = (
                "the coordinator to open the round"
                if round.status == RoundStatus.PLANNED
                else "nothing: the round is closed"
            )
        else:
            try:
                opens_at = washout_opens_at(reader=reader, round=round)
            except Conflict:
                waiting = f"round {round.index - 1} to be completed"
            if opens_at is not None and round.pk in overrides:
                opens_at = None
            # As `session_start` decides: required practice comes before the first session.
            if (
                round.study.practice_required
                and round.study_id not in reading_in
                and round.study_id not in practised
            ):
                waiting = "your practice cases (this study asks for them first)"
        states.append(RoundState(round, None, 0, total, opens_at, waiting))
    return states


def session_for_reader(*, user: Any, session_pk: int, with_study: bool = True) -> ReadingSession:
    """The user's own reading session, found through their reader profile in one query
    (`NotFound` for anyone else's, and for a user who is no reader: to them a session's URL
    answers as a missing one would, so nothing leaks). `with_study`: load its round and study
    too; a submit leaves them out, as the submit loads them afresh under its lock."""
    if not isinstance(user, User) or not user.is_authenticated:
        raise NotFound("No such reading session.")
    related = ("reader", "round__study") if with_study else ("reader",)
    session = (
        ReadingSession.objects.select_related(*related)
        .filter(pk=session_pk, reader__user=user)
        .order_by("pk")
        .first()
    )
    if session is None:
        raise NotFound("No such reading session.")
    session.reader.user = user  # the request's: no second load
    return session


def session_progress(*, session: ReadingSession) -> dict[str, int]:
    done = Read.objects.filter(FINISHING, session=session).count()
    return {"done": done, "total": len(session.permutation)}


def image_payload(
    *, seed: str, user_id: int, image: CaseImage, ai: tuple[float, str] | None
) -> dict[str, Any]:
    """An image as a reader gets it: an opaque id (keyed by the session's seed), signed URLs,
    the lesion box in display pixels; the image's AI probability and heatmap URL only when `ai`
    (probability, heatmap name) is given — only where the AI is shown."""
    scale, width, height = display_geometry(image.width, image.height)
    payload: dict[str, Any] = {
        "id": image_name(seed=seed, image_id=image.pk),
        "display": reading_file_url(user_id=user_id, name=str(image.display.name), kind="display"),
        "width": width,
        "height": height,
        "roi": [round(v * scale) for v in (image.roi_x, image.roi_y, image.roi_w, image.roi_h)],
        "plane": image.plane,
        # display pixels × scale⁻¹ = the original's pixels, where calipers are stored
        "scale": scale,
        "spacing": None
        if image.spacing_x_mm is None
        else {
            "x_mm": image.spacing_x_mm,
            "y_mm": image.spacing_y_mm,
            "source": image.spacing_source,
        },
        "frames": [
            reading_file_url(user_id=user_id, name=name, kind="frame") for name in image.frames
        ],
        "frame": image.frame,
    }
    if ai is not None:
        probability, heatmap = ai
        payload["probability"] = round(probability, 3)
        if heatmap:
            payload["heatmap"] = reading_file_url(user_id=user_id, name=heatmap, kind="heatmap")
    return payload


def case_payload(*, session: ReadingSession, case: Case, unread: bool = False) -> dict[str, Any]:
    """Everything the reading screen shows for a case — and nothing a reader must not see.

    `unread`: the caller knows the case has no read yet (the session's next case), so the
    current read is not looked up.
    """
    round = session.round
    sequential = is_sequential(session)
    locked = (
        Read.objects.filter(session=session, case=case, phase=Phase.LOCKED).first()
        if sequential
        else None
    )
    step = (Phase.FINAL if locked else Phase.LOCKED) if sequential else Phase.SINGLE
    assisted = read_assisted(session=session, case_pk=case.pk, phase=step)
    images = list(case.images.filter(needs_review=False).order_by("position"))
    outputs = (
        case_image_outputs(images=images, model_version_id=round.study.ai_model_id)
        if assisted
        else {}
    )
    order = session.permutation
    current = (
        None
        if unread
        else Read.objects.filter(
            session=session, case=case, superseded_by__isnull=True, phase=step
        ).first()
    )
    payload: dict[str, Any] = {
        "case": case_label(seed=session.seed, case_id=case.pk),
        "position": order.index(case.pk) + 1,
        "total": len(order),
        "images": [
            image_payload(
                seed=session.seed,
                user_id=session.reader.user_id,
                image=image,
                ai=outputs.get(image.pk),
            )
            for image in images
        ],
        "read": None
        if current is None
        else {
            "decision": current.decision,
            "confidence": current.confidence,
            "features": current.features,
            "comment": current.comment,
            "revision": current.revision,
        },
        "assisted": assisted,
    }
    if sequential:
        payload["step"] = step
        if locked is not None:
            # Only after the lock: the reader's own locked answer and whether the AI stays hidden.
            payload["locked_read"] = {"decision": locked.decision, "confidence": locked.confidence}
            payload["bias_control"] = is_bias_control(session=session, case_pk=case.pk)
    if assisted:
        payload["ai"] = ai_payload(
            case=case,
            study_threshold=round.study.ai_threshold,
            model_version_id=round.study.ai_model_id,
        )
    return payload


def case_image_outputs(
    *, images: list[CaseImage], model_version_id: int | None
) -> dict[int, tuple[float, str]]:
    """Each image's (probability, heatmap file) from the model: call only where the AI is shown."""
    from inference.worker.models import Prediction

    return {
        pk: (probability, heatmap)
        for pk, probability, heatmap in Prediction.objects.filter(
            image__in=images, model_version_id=model_version_id
        ).values_list("image_id", "probability", "heatmap")
    }


def ai_payload(
    *, case: Case, study_threshold: float, model_version_id: int | None
) -> dict[str, Any]:
    from inference.worker.models import CasePrediction

    prediction = CasePrediction.objects.filter(case=case, model_version_id=model_version_id).first()
    if prediction is None:
        return {"available": False}
    return {
        "available": True,
        "probability": round(prediction.probability, 3),
        "malignant": prediction.probability > study_threshold,
        "threshold": study_threshold,
    }


def session_reads(*, session: ReadingSession) -> list[dict[str, Any]]:
    """My current reads of the session, in reading order: the list a reader goes back from."""
    reads = {
        read.case_id: read
        for read in Read.objects.filter(session=session, superseded_by__isnull=True).only(
            "case_id", "decision", "confidence", "revision", "submitted_at"
        )
    }
    return [
        {
            "case": case_label(seed=session.seed, case_id=pk),
            "position": position,
            "decision": reads[pk].decision,
            "confidence": reads[pk].confidence,
            "revision": reads[pk].revision,
            "submitted_at": reads[pk].submitted_at,
        }
        for position, pk in enumerate(session.permutation, start=1)
        if pk in reads
    ]
