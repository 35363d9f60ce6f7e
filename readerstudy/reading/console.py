"""The coordinator's view of a study: counts, precompute, readers' progress and washouts."""

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
    from inference.worker.models import CasePrediction, ModelVersion, PrecomputeJob

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
    overrides = set(
        WashoutOverride.objects.filter(round__study=study).values_list("reader_id", "round_id")
    )
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
        "rounds": rounds,
        "readers": readers,
    }
