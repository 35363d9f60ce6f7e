"""Verifying the audit log's hash chain, for the `audit_verify` command, the API and the console.

What a verified chain proves: no stored event has been edited, removed from the middle or moved
since it was written, unless someone with write access to the database also recomputed the hash
of that event and of every event after it. What it cannot prove: that events at the end were not
deleted, or the chain not rewritten from some point on. Both leave a consistent but shorter or
different chain, detectable only against a head hash noted outside the database — which is why
every report gives the head hash: operators note it (in the study file, a ticket, an email) and
a later report must still contain that event with that hash. Events written before the chain
existed were chained by the migration that added it: they are covered from then on.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from django.db.models import QuerySet

from readerstudy.audit.chain import GENESIS, event_hash
from readerstudy.audit.models import AuditEvent

_CHUNK = 2000


class BreakKind(StrEnum):
    EDITED = "edited"  # its content no longer matches its hash
    MISSING = "missing"  # events before it are gone (a gap in the sequence)
    REORDERED = "reordered"  # it links to another event than the one before it
    UNLINKED = "unlinked"  # it links to a hash no event has: its predecessor was rewritten


@dataclass(frozen=True)
class ChainBreak:
    """The first event where the chain does not hold, and why."""

    event_id: int
    sequence: int
    study_id: int | None
    kind: BreakKind
    detail: str


@dataclass(frozen=True)
class ChainReport:
    count: int
    head_sequence: int | None
    head_hash: str
    first_break: ChainBreak | None
    study_counts: dict[int, int] = field(default_factory=dict)  # events per study id

    @property
    def ok(self) -> bool:
        return self.first_break is None


def _link_break(
    *, event_id: int, sequence: int, study_id: int | None, previous_hash: str, expected: str
) -> ChainBreak:
    linked = AuditEvent.objects.filter(hash=previous_hash).values_list("pk", "sequence").first()
    if linked is not None:
        return ChainBreak(
            event_id,
            sequence,
            study_id,
            BreakKind.REORDERED,
            f"it follows event {linked[0]} (sequence {linked[1]}), not the event before it",
        )
    what = "the start of the chain" if expected == GENESIS else "the event before it"
    return ChainBreak(
        event_id,
        sequence,
        study_id,
        BreakKind.UNLINKED,
        f"its predecessor's hash matches no event: {what} was rewritten or replaced",
    )


def audit_chain_verify() -> ChainReport:
    """Walk the whole chain in order and report its head, or the first event where it breaks.

    The chain runs through every study's events, so it is always verified whole; the report
    counts each study's events for those who may see only their own.
    """
    rows = AuditEvent.objects.order_by("sequence").values_list(
        "pk",
        "sequence",
        "at",
        "actor_id",
        "action",
        "study_id",
        "target_type",
        "target_id",
        "data",
        "previous_hash",
        "hash",
    )
    count = 0
    expected_sequence, expected_hash = 1, GENESIS
    first_break: ChainBreak | None = None
    studies: Counter[int] = Counter()
    for row in rows.iterator(chunk_size=_CHUNK):
        pk, sequence, at, actor_id, action, study_id, target_type, target_id, data = row[:9]
        previous_hash, stored_hash = row[9], row[10]
        count += 1
        if study_id is not None:
            studies[study_id] += 1
        if first_break is None:
            recomputed = event_hash(
                sequence=sequence,
                at=at,
                actor_id=actor_id,
                action=action,
                study_id=study_id,
                target_type=target_type,
                target_id=target_id,
                data=data,
                previous_hash=previous_hash,
            )
            if recomputed != stored_hash:
                first_break = ChainBreak(
                    pk,
                    sequence,
                    study_id,
                    BreakKind.EDITED,
                    "its content no longer matches its hash",
                )
            elif sequence != expected_sequence:
                gap = (
                    f"sequence {expected_sequence}"
                    if sequence == expected_sequence + 1
                    else f"sequences {expected_sequence} to {sequence - 1}"
                )
                first_break = ChainBreak(
                    pk, sequence, study_id, BreakKind.MISSING, f"the events of {gap} are missing"
                )
            elif previous_hash != expected_hash:
                first_break = _link_break(
                    event_id=pk,
                    sequence=sequence,
                    study_id=study_id,
                    previous_hash=previous_hash,
                    expected=expected_hash,
                )
        expected_sequence, expected_hash = sequence + 1, stored_hash
    return ChainReport(
        count=count,
        head_sequence=expected_sequence - 1 if count else None,
        head_hash=expected_hash,
        first_break=first_break,
        study_counts=dict(studies),
    )


# --- browsing a study's events --------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilter:
    """Which of a study's events to list or export. Empty fields filter nothing.

    ``since`` and ``until`` are datetimes (the form turns its dates into the local day's bounds);
    ``until`` is exclusive.
    """

    action: str = ""
    actor: str = ""
    since: datetime | None = None
    until: datetime | None = None

    @property
    def active(self) -> bool:
        return bool(self.action or self.actor or self.since or self.until)


def study_audit_events(
    *, study_id: int, where: AuditFilter = AuditFilter()
) -> QuerySet[AuditEvent]:
    """A study's events matching ``where``, in chain order."""
    events = AuditEvent.objects.filter(study_id=study_id)
    if where.action:
        events = events.filter(action=where.action)
    if where.actor:
        events = events.filter(actor__username=where.actor)
    if where.since is not None:
        events = events.filter(at__gte=where.since)
    if where.until is not None:
        events = events.filter(at__lt=where.until)
    return events.order_by("sequence")


def study_audit_actions(*, study_id: int) -> list[str]:
    """The actions that occur in a study's log, for the filter's choices."""
    return list(
        AuditEvent.objects.filter(study_id=study_id)
        .order_by("action")
        .values_list("action", flat=True)
        .distinct()
    )
