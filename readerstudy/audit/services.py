"""The one function that records an audit event, as the next link of the hash chain."""

from __future__ import annotations

import json
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from readerstudy.accounts.models import User
from readerstudy.audit.chain import GENESIS, event_hash
from readerstudy.audit.models import AuditEvent

# pg_advisory_xact_lock key for appending to the chain (any constant unique to this purpose).
CHAIN_LOCK = 0x61756469745F6C67  # b"audit_lg"


def _chain_lock() -> None:
    """Hold the chain's head until the caller's transaction ends, so appends never fork it.

    On PostgreSQL an advisory lock makes the next writer wait until this transaction commits or
    rolls back, and then (read committed) it sees the new head. SQLite's IMMEDIATE transactions
    (the settings' transaction_mode) already admit one writer at a time. Should either ever fail,
    the unique `sequence` and `previous_hash` make a fork an IntegrityError, not a silent branch.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK])


def audit_record(
    *,
    actor: User | None,
    action: str,
    target: models.Model | None = None,
    study: Any | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an event. Call inside the transaction of the change it records, so both or neither land.

    Appends wait for each other until the earlier one's transaction ends: record the event late
    in a transaction, after its other row locks, to keep that wait short and free of deadlocks.
    """
    # Stored as JSON reads it back (tuples become lists), so the hash is over what is kept.
    content = json.loads(json.dumps(data or {}))
    # No savepoint: should the insert fail, the caller's change must roll back with it anyway.
    with transaction.atomic(savepoint=False):
        _chain_lock()
        head = AuditEvent.objects.order_by("-sequence").values_list("sequence", "hash").first()
        sequence, previous_hash = (head[0] + 1, head[1]) if head else (1, GENESIS)
        event = AuditEvent(
            at=timezone.now(),
            actor=actor,
            action=action,
            study=study,
            target_type=target._meta.label_lower if target is not None else "",
            target_id=str(target.pk) if target is not None else "",
            data=content,
            sequence=sequence,
            previous_hash=previous_hash,
        )
        event.hash = event_hash(
            sequence=sequence,
            at=event.at,
            actor_id=event.actor_id,
            action=event.action,
            study_id=event.study_id,
            target_type=event.target_type,
            target_id=event.target_id,
            data=content,
            previous_hash=previous_hash,
        )
        event.save(force_insert=True)
        return event
