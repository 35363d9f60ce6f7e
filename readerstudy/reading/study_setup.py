"""A study's life: created with its design's rounds, edited while that changes nothing readers
saw, reading once round 1 opens, closed by its coordinator. Every change is audited."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from readerstudy.accounts import access
from readerstudy.accounts.models import Role, User
from readerstudy.audit.services import audit_record
from readerstudy.errors import Conflict, NotPermitted
from readerstudy.reading.designs import study_rounds_create
from readerstudy.reading.models import Read, Round, RoundStatus
from readerstudy.studies.models import StaffRole, Study, StudyMembership, StudyStatus

# What readers see or may do while reading: changing it after a read would mix two protocols.
FROZEN_ONCE_READ = {
    "design": "the rounds readers read in",
    "reading_cohorts": "which cases readers read",
    "ai_threshold": "the AI's class shown to readers",
    "collect_features": "the questions readers answered",
    "allow_revisions": "whether readers could correct a read",
    "bias_control_fraction": "which cases stay without the AI after the lock",
}
EDITABLE = ("title", "description", "washout_days", *FROZEN_ONCE_READ)


def study_has_reads(*, study: Study) -> bool:
    return Read.objects.filter(session__round__study=study).exists()


def study_create_require(*, actor: User) -> None:
    """Refuse (`NotPermitted`) anyone but a platform coordinator or a superuser."""
    if not (actor.is_superuser or actor.has_role(Role.COORDINATOR)):
        raise NotPermitted("Only study coordinators create studies.")


@transaction.atomic
def study_create(*, actor: User, slug: str, title: str, **settings: Any) -> Study:
    """A new study (draft) with its design's rounds; the creator becomes its coordinator.

    `settings` are the study's other editable fields (`EDITABLE`); each is validated as the
    model validates it (a `ValidationError` names the field)."""
    study_create_require(actor=actor)
    unknown = set(settings) - set(EDITABLE)
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "Not a study setting."))
    study = Study(slug=slug, title=title, **settings)
    study.full_clean()  # the slug's uniqueness and format, choices, ranges, the cohorts
    study.save()
    StudyMembership.objects.create(study=study, user=actor, role=StaffRole.COORDINATOR)
    rounds = study_rounds_create(study=study)
    audit_record(
        actor=actor,
        action="study.created",
        target=study,
        study=study,
        data={
            "slug": study.slug,
            "design": study.design,
            "rounds": [{"index": r.index, "assisted": r.assisted} for r in rounds],
            **{name: getattr(study, name) for name in EDITABLE if name not in ("title",)},
        },
    )
    return study


@transaction.atomic
def study_update(*, study: Study, actor: User, **changes: Any) -> Study:
    """Change a study's settings. Refused for what readers saw once the first read exists, and
    for everything but the title and description once the study is closed."""
    access.study_require(user=actor, study=study)
    study = Study.objects.select_for_update().get(pk=study.pk)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "Not a study setting."))
    changed = {name: value for name, value in changes.items() if getattr(study, name) != value}
    refused: dict[str, list[str]] = {}
    if study.status == StudyStatus.CLOSED:
        for name in changed.keys() - {"title", "description"}:
            refused[name] = ["The study is closed: only its title and description may change."]
    elif study_has_reads(study=study):
        for name in changed.keys() & FROZEN_ONCE_READ.keys():
            refused[name] = [
                f"Frozen since the first read: it changes {FROZEN_ONCE_READ[name]}, and the "
                "reads made so far were made under the old setting."
            ]
    if (
        "design" in changed
        and Round.objects.filter(study=study).exclude(status=RoundStatus.PLANNED).exists()
    ):
        refused.setdefault("design", []).append("A round has opened: the design is fixed.")
    if refused:
        raise Conflict(
            "Some settings can no longer change: " + ", ".join(sorted(refused)) + ".",
            extra={"fields": refused},
        )
    if not changed:
        return study
    before = {name: getattr(study, name) for name in changed}
    for name, value in changed.items():
        setattr(study, name, value)
    study.full_clean()
    study.save(update_fields=list(changed))
    if "design" in changed:
        Round.objects.filter(study=study).delete()  # all planned, none read: the new design's
        study_rounds_create(study=study)
    audit_record(
        actor=actor,
        action="study.updated",
        target=study,
        study=study,
        data={"before": before, "after": changed},
    )
    return study


def study_status_set(
    *, study: Study, status: StudyStatus, actor: User | None, now: datetime | None = None
) -> None:
    """Move a (locked) study to `status` and audit it; call inside the change's transaction.
    `now`: when it happened (the demo's simulated past), else now."""
    if study.status == status:
        return
    previous = study.status
    study.status = status
    fields = ["status"]
    if status == StudyStatus.CLOSED:
        study.closed_at = now or timezone.now()
        fields.append("closed_at")
    study.save(update_fields=fields)
    audit_record(
        actor=actor,
        action="study.status_changed",
        target=study,
        study=study,
        data={"from": previous, "to": status.value},
        at=now,
    )


@transaction.atomic
def study_close(*, study: Study, actor: User) -> Study:
    """Close the study: its open rounds close, no read is accepted any more; the report and the
    exports stay."""
    access.study_require(user=actor, study=study)
    study = Study.objects.select_for_update().get(pk=study.pk)
    if study.status == StudyStatus.CLOSED:
        raise Conflict("The study is already closed.")
    now = timezone.now()
    for round in Round.objects.select_for_update().filter(study=study, status=RoundStatus.OPEN):
        round.status = RoundStatus.CLOSED
        round.closed_at = now
        round.save(update_fields=["status", "closed_at"])
        audit_record(actor=actor, action="round.closed", target=round, study=study)
    study_status_set(study=study, status=StudyStatus.CLOSED, actor=actor)
    return study
