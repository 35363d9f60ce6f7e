"""The coordinator's view of a study: counts, training and precompute, readers' progress and
washouts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from readerstudy.reading.models import ReadingSession, Round, WashoutOverride
from readerstudy.reading.selectors import reading_cases
from readerstudy.studies.models import CaseImage, Enrolment, Study
from readerstudy.studies.pacs import endpoint_names


@dataclass
class ReaderProgress:
    username: str
    reader_id: int
    seniority: str
    years_experience: int
    rounds: list[dict[str, Any]] = field(default_factory=list)


def study_console(*, study: Study, now: datetime | None = None) -> dict[str, Any]:
    """Everything the coordinator console shows, as plain data (also served by the API).

    Long because it assembles the console's one nested payload.
    """
    from inference.worker.models import CasePrediction, ModelVersion, PrecomputeJob, TrainingJob

    now = now or timezone.now()
    cases = reading_cases(study=study)
    images = CaseImage.objects.filter(case__study=study)
    rounds = list(Round.objects.filter(study=study).order_by("index"))
    sessions = {
        (s.reader_id, s.round_id): s
        for s in ReadingSession.objects.filter(round__study=study).annotate(
            done=Count("reads", filter=Q(reads__supersedes__isnull=True))
        )
    }
    overrides = {
        (o.reader_id, o.round_id): o
        for o in WashoutOverride.objects.filter(round__study=study).select_related("granted_by")
    }
    readers: list[ReaderProgress] = []
    for enrolment in (
        Enrolment.objects.filter(study=study)
        .select_related("reader__user")
        .order_by("reader__seniority", "reader__user__username")
    ):
        reader = enrolment.reader
        row = ReaderProgress(
            reader.user.get_username(), reader.pk, reader.seniority, reader.years_experience
        )
        previous_completed: datetime | None = None
        for round in rounds:
            session = sessions.get((reader.pk, round.pk))
            opens_at = None
            if round.index > 1 and previous_completed is not None:
                opens_at = previous_completed + timedelta(days=study.washout_days)
            row.rounds.append(
                {
                    "round": round.index,
                    "round_id": round.pk,
                    "done": session.done if session else 0,
                    "total": len(session.permutation) if session else len(cases),
                    "started_at": session.started_at if session else None,
                    "completed_at": session.completed_at if session else None,
                    "washout_opens_at": opens_at,
                    "washout_days_left": max(
                        0, (opens_at - now).days + ((opens_at - now).seconds > 0)
                    )
                    if opens_at and opens_at > now
                    else 0,
                    "override": (reader.pk, round.pk) in overrides,
                    "override_by": _override_field(overrides, reader.pk, round.pk, "by"),
                    "override_at": _override_field(overrides, reader.pk, round.pk, "at"),
                    "override_reason": _override_field(overrides, reader.pk, round.pk, "reason"),
                }
            )
            previous_completed = session.completed_at if session else None
        readers.append(row)
    job = PrecomputeJob.objects.filter(study=study).order_by("-created_at").first()
    with_ai = (
        CasePrediction.objects.filter(case_id__in=cases, model_version_id=study.ai_model_id).count()
        if study.ai_model_id
        else 0
    )
    return {
        "study": study,
        "washout_pending": _washout_pending(rounds=rounds, readers=readers),
        "cases": study.cases.count(),
        "reading_cases": len(cases),
        "images": images.count(),
        "images_needing_review": images.filter(needs_review=True).count(),
        "review_images": list(
            images.filter(needs_review=True)
            .select_related("case")
            .order_by("case__key", "position")[:200]
        ),
        "cohorts": dict(
            study.cases.values_list("cohort").annotate(n=Count("pk")).order_by("cohort")
        ),
        "ai_model": study.ai_model,
        "model_versions": list(ModelVersion.objects.order_by("-created_at")[:50]),
        "pacs_endpoints": endpoint_names(),  # names only: URLs and credentials stay in settings
        "reading_cases_with_ai": with_ai,
        "precompute": job,
        "training": TrainingJob.objects.filter(study=study)
        .select_related("model_version")
        .order_by("-created_at", "-pk")
        .first(),
        "rounds": rounds,
        "readers": readers,
    }


def _override_field(
    overrides: dict[tuple[int, int], WashoutOverride], reader_id: int, round_id: int, what: str
) -> Any:
    override = overrides.get((reader_id, round_id))
    if override is None:
        return None
    return {
        "by": override.granted_by.get_username(),
        "at": override.granted_at,
        "reason": override.reason,
    }[what]


def _washout_pending(*, rounds: list[Round], readers: list[ReaderProgress]) -> list[dict[str, Any]]:
    """Per later round, the readers who may not start it yet: still in washout (until when, and
    whether overridden) or not done with the round before."""
    pending = []
    for position, round in enumerate(rounds):
        if position == 0:
            continue
        for reader in readers:
            this, before = reader.rounds[position], reader.rounds[position - 1]
            if this["started_at"] is not None:
                continue
            if before["completed_at"] is None:
                pending.append(
                    {"round": round.index, "round_id": round.pk, "username": reader.username,
                     "until": None, "override": this["override"],
                     "why": f"has not finished round {rounds[position - 1].index}"}
                )  # fmt: skip
            elif this["washout_days_left"]:
                pending.append(
                    {"round": round.index, "round_id": round.pk, "username": reader.username,
                     "until": this["washout_opens_at"], "override": this["override"],
                     "why": "in washout"}
                )  # fmt: skip
    return pending
