"""Helpers for tampering with the audit log the way someone with database access could."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection

from readerstudy.audit.chain import event_hash
from readerstudy.audit.models import AuditEvent

_SQLITE_TRIGGER = """CREATE TRIGGER audit_event_append_only BEFORE UPDATE ON audit_auditevent
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;"""


def _postgresql_trigger(state: str) -> None:
    with connection.cursor() as cursor:
        # The test's inserts left deferred foreign-key checks pending, which ALTER TABLE refuses.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"ALTER TABLE audit_auditevent {state} TRIGGER audit_event_append_only")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


@contextmanager
def append_only_lifted() -> Iterator[None]:
    """Lift the database's refusal to update audit events, and restore it afterwards."""
    if connection.vendor == "postgresql":
        _postgresql_trigger("DISABLE")
    else:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER audit_event_append_only")
    try:
        yield
    finally:
        if connection.vendor == "postgresql":
            _postgresql_trigger("ENABLE")
        else:
            with connection.cursor() as cursor:
                cursor.execute(_SQLITE_TRIGGER)


def tamper(event: AuditEvent, *, rehash: bool = False, **changes: Any) -> None:
    """Overwrite stored fields of an event; `rehash` also recomputes its own hash, as a careful
    forger would."""
    for name, value in changes.items():
        setattr(event, name, value)
    if rehash:
        changes["hash"] = event_hash(
            sequence=event.sequence,
            at=event.at,
            actor_id=event.actor_id,
            action=event.action,
            study_id=event.study_id,
            target_type=event.target_type,
            target_id=event.target_id,
            data=event.data,
            previous_hash=event.previous_hash,
        )
    with append_only_lifted():
        AuditEvent.objects.filter(pk=event.pk).update(**changes)
