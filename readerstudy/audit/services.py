"""The one function that records an audit event, as the next link of the hash chain."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from readerstudy.accounts.models import User
from readerstudy.audit.chain import GENESIS, event_hash
from readerstudy.audit.models import AuditEvent

# pg_advisory_xact_lock key for appending to the chain (any constant unique to this purpose).
CHAIN_LOCK = 0x61756469745F6C67  # b"audit_lg"
_CLOCK: ContextVar[Callable[[], datetime] | None] = ContextVar("audit_clock", default=None)


@contextmanager
def audit_clock(clock: Callable[[], datetime]) -> Iterator[None]:
    """Stamp the events recorded inside the block with `clock()` instead of the wall clock.

    For replaying a simulated history (the demo's readers read in the past): the stamp must be
    given when the event is written, because the hash chain covers it. The chain's order is
    still the order of writing; only the caller is trusted for the time, as it always is.
    """
    token = _CLOCK.set(clock)
    try:
        yield
    finally:
        _CLOCK.reset(token)


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


def _current_time() -> datetime:
    clock = _CLOCK.get()
    return clock() if clock is not None else timezone.now()


def audit_record(
    *,
    actor: User | None,
    action: str,
    target: models.Model | None = None,
    study: Any | None = None,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Append an event. Call inside the transaction of the change it records, so both or neither land.

    `at` is when it happened: the caller's `now` where a service takes one, else the
    `audit_clock` in force, else the wall clock.

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
            at=at or _current_time(),
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
